#!/usr/bin/env python3
"""Retrieval engine benchmark: indexing speed, index size, memory and search latency (prints numbers).

    python bench/retrieval_bench.py --lecard /work/shared/data/lecard [--synth 100000] [--workers N]
                                    [--queries 200] [--embed-sample 200] [--quick] [--work DIR]
                                    [--keep] [--reuse] [--build-minutes M] [--min-free-mib 2048]

``--quick``: 20k synthetic docs, 50 searches, 32 embedded docs (a first run). ``--work DIR --keep``
keeps the indexes; a later run with ``--reuse`` skips every stage whose settings are unchanged (e.g.
the LeCaRD builds while the synthetic size changes). ``--build-minutes`` stops the synthetic build
after that long and benchmarks the partial index (printed as PARTIAL); the build also stops when less
than ``--min-free-mib`` of memory is left, rather than let the OOM killer pick a process.

For each corpus — LeCaRD (9,088 real judgments) and a synthetic one recombined from them
(``bench/synth_corpus.py``, 100k by default) — it prints:

- text-side indexing docs/s: load + extract + jieba + BM25/SQLite write + charge model, no embeddings,
  with the number of worker processes (``leian.indexer.pipeline.prepare``);
- embedding docs/s and chunks/s of the default e5 model on a sample of real judgments (chunked as the
  indexer does, cache off), and the projected time to embed the whole corpus;
- index size on disk per file (cases.sqlite, bm25.npz, vectors.faiss, …);
- peak RSS of the build (its main process, and the largest worker) and of the search process;
- search latency p50/p95 for one client over LeCaRD's dev queries (``q``), query embedding included,
  through the real searcher (``open_searcher``: BM25 + dense + structure rerank), with the mean of the
  searcher's per-stage timings. The queries are cycled, and the searcher's in-memory memo of query
  vectors is cleared before each search, so every search embeds its query as a new case would.

Each build and each search runs in its own subprocess, so its peak RSS is its own. The LeCaRD index
with vectors is built by the real ``IndexJob`` from the embedding cache (``scripts/embed_corpus.py``
fills it; chunks missing from it are embedded, slowly, on CPU). The synthetic corpus cannot be
embedded on 2 CPU cores (~10 docs/s: 100k docs ≈ 3 h), so each synthetic doc gets a vector DERIVED
from the real vectors of its sources (the normalised, length-weighted mean of its facts doc and
spliced doc, plus small deterministic noise); queries are still embedded with the real model.
The machine is shared: the load average is printed next to the numbers. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NOISE = 0.05  # norm of the noise added to a derived vector (cosine to the clean mean ≈ 0.999)


# ------------------------------------------------------------------------------------------- helpers
def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) of this process and of its finished children (the spawned workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"main": round(me.ru_utime + me.ru_stime, 1), "workers": round(kids.ru_utime + kids.ru_stime, 1)}


def mem_available_mib() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("inf")


def peak_rss_mib() -> dict[str, float]:
    """Peak RSS of this process and of its largest (waited-for) child, MiB (ru_maxrss is KiB on Linux)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(me, 1), "largest_child": round(kids, 1)}


def index_files(index: Path) -> dict[str, int]:
    """Bytes on disk per file of the live generation (allocated blocks, so sparse files count true)."""
    gen = index / (index / "CURRENT").read_text().strip()
    return {p.name: p.stat().st_blocks * 512 for p in sorted(gen.iterdir()) if p.is_file()}


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


def load_line() -> str:
    a, b, c = os.getloadavg()
    return f"load average {a:.2f} {b:.2f} {c:.2f} on {len(os.sched_getaffinity(0))} CPU(s)"


REUSE = False  # --reuse: a stage whose spec is unchanged since an earlier run in --work is not rerun


def child(stage: str, spec: dict, out: Path) -> dict:
    """Run one stage of this script in a fresh process (its own peak RSS) and return its JSON result."""
    spec_path = out.with_suffix(".spec.json")
    text = json.dumps(spec, sort_keys=True)
    if REUSE and out.is_file() and spec_path.is_file() and spec_path.read_text() == text:
        print(f"(stage {stage}: reusing {out} from an earlier run)", file=sys.stderr)
        res = json.loads(out.read_text())
        res["reused"] = True
        return res
    out.unlink(missing_ok=True)
    spec_path.write_text(text)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_stage", stage, str(spec_path), str(out)]
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"retrieval_bench: stage {stage!r} failed (exit {proc.returncode})")
    return json.loads(out.read_text())


# ------------------------------------------------------------------------------------------- stages
def stage_embed(spec: dict) -> dict:
    """Embedding speed of the default model on a spread-out sample of real judgments, cache off."""
    from itertools import islice

    from leian.corpora.loaders import load
    from leian.indexer.embedding import Embedder
    from leian.indexer.pipeline import embed_text, extract_keeping_sections

    n, stride = spec["sample"], spec["stride"]
    records = [extract_keeping_sections(r) for r in islice(load(spec["corpus"]), 0, None, stride)]
    texts = [embed_text(r) for r in records[:n]]
    t = time.perf_counter()
    emb = Embedder.load(None, cache=None)
    load_s = time.perf_counter() - t
    chunks = sum(len(emb.chunks(x)) for x in texts)
    emb.embed_documents(texts[:2])  # warm-up: first-call allocations are not throughput
    t = time.perf_counter()
    emb.embed_documents(texts)
    secs = time.perf_counter() - t
    return {
        "docs": len(texts),
        "chunks": chunks,
        "chars": sum(map(len, texts)),
        "seconds": secs,
        "model_load_s": load_s,
        "model": emb.name,
        "device": emb.device,
        "runtime": emb.runtime,
        "precision": emb.document_precision,
        "max_chunks": emb.max_chunks,
        "rss": peak_rss_mib(),
    }


def stage_build_job(spec: dict) -> dict:
    """The real ``leian index`` job (IndexJob.build), with or without embeddings."""
    from leian.indexer.embedding import default_cache_path
    from leian.retrieval.indexing import IndexJob

    shutil.rmtree(spec["index"], ignore_errors=True)
    problems: list[str] = []
    job = IndexJob(
        corpus=spec["corpus"],
        index=spec["index"],
        embeddings=spec["embeddings"],
        # IndexJob's own default is no cache at all; `leian index` documents $LEIAN_HOME's cache
        embedding_cache=str(default_cache_path()) if spec["embeddings"] else None,
        workers=spec["workers"],
        corpus_name=spec["name"],
        on_problem=lambda p: problems.append(str(p)),
    )
    s = job.build()
    out = {"docs": s.indexed, "skipped": s.skipped, "seconds": s.seconds, "problems": problems[:5]}
    out["files"] = index_files(Path(spec["index"]))
    if spec.get("dump_vectors"):
        from leian.retrieval.backends.embedded import EmbeddedBackend

        be = EmbeddedBackend(spec["index"])
        st = be._fresh()
        ids = [str(i) for i in st.ids]
        np.savez(spec["dump_vectors"], ids=np.array(ids), vectors=st.vectors)
        m = be.manifest()
        # how the derived vectors of the synthetic corpus are said to be made: as these, whose means they are
        keys = ("model", "model_path", "model_fingerprint", "dim", "embed_chunks", "embed_precision")
        out["manifest"] = {k: getattr(m, k) for k in keys}
        be.close()
    out["rss"] = peak_rss_mib()
    out["cpu"] = cpu_seconds()
    return out


def _derived_vectors(spec: dict):
    """id -> vector for the synthetic docs: mean of the real vectors of their sources + noise."""
    with np.load(spec["vectors"]) as z:
        row = {str(i): j for j, i in enumerate(z["ids"])}
        real = z["vectors"].astype(np.float32)
    prov: dict[str, tuple[str, str, int]] = {}
    with open(spec["provenance"], encoding="utf-8") as f:
        for line in f:
            sid, _header, facts, splice, chars = line.rstrip("\n").split("\t")
            prov[sid] = (facts, splice, int(chars))
    dim = real.shape[1]

    def vector(cid: str) -> np.ndarray:
        facts, splice, facts_chars = prov[cid]
        v = real[row[facts]].copy()
        if splice and splice in row:
            # the spliced paragraph is a small share of the facts (≤ 400 chars): weight it by length
            w = min(400.0, facts_chars) / max(facts_chars, 1)
            v = (1 - w) * v + w * real[row[splice]]
        rng = np.random.default_rng(int(cid.rsplit("-", 1)[1]))
        v = v / max(float(np.linalg.norm(v)), 1e-12) + rng.standard_normal(dim).astype(np.float32) * (
            NOISE / np.sqrt(dim)
        )
        return (v / np.linalg.norm(v)).astype(np.float32)

    return vector


def stage_build_synth(spec: dict) -> dict:
    """Build an embedded index of the synthetic corpus exactly as IndexJob.build does (same pipeline,
    backend and charge model), except that each vector is derived from its sources' real vectors."""
    from leian.corpora.loaders import load
    from leian.indexer.charge_model import ChargeModel
    from leian.indexer.pipeline import prepare
    from leian.indexer.tokenize import Tokenizer
    from leian.retrieval.backends import build_backend, new_manifest
    from leian.retrieval.search import CHARGE_MODEL_ARTIFACT

    shutil.rmtree(spec["index"], ignore_errors=True)
    t0 = time.perf_counter()
    vector = _derived_vectors(spec)
    prep_s = time.perf_counter() - t0
    tokenizer = Tokenizer()
    m = spec["manifest"]
    manifest = new_manifest(
        "embedded",
        Path(spec["index"]).name,
        tokenizer=tokenizer.fingerprint,
        model=m["model"],
        model_path=m["model_path"],
        model_fingerprint=m["model_fingerprint"],
        dim=m["dim"],
        embed_chunks=m["embed_chunks"],
        embed_precision=m["embed_precision"],
        corpus={"name": "synthetic (LeCaRD recombined)", "path": spec["corpus"]},
    )
    t0 = time.perf_counter()
    vec_s = write_s = 0.0
    n = 0
    min_free = spec.get("min_free_mib", 2048)
    deadline = time.monotonic() + spec["max_build_s"] if spec.get("max_build_s") else None
    stopped = None
    batch = []
    with build_backend("embedded", index=spec["index"], manifest=manifest) as b:
        for case in prepare(
            load(spec["corpus"], fmt="lecard"), tokenizer, None, batch_size=32, workers=spec["workers"]
        ):
            t = time.perf_counter()
            v = vector(case.id)  # from the provenance file: the build itself never rebuilds the records
            vec_s += time.perf_counter() - t
            case.vector = v
            batch.append(case)
            if len(batch) >= 256:
                t = time.perf_counter()
                n += b.upsert(batch).written
                write_s += time.perf_counter() - t
                batch.clear()
                if deadline is not None and time.monotonic() > deadline:
                    stopped = f"stopped by --build-minutes after {n:,} docs"
                    break
                if mem_available_mib() < min_free:
                    # the machine is shared: stop (and benchmark what was built) rather than let the OOM
                    # killer pick a victim
                    stopped = (
                        f"stopped after {n:,} docs: under {min_free:,} MiB of memory left "
                        f"(this process: {peak_rss_mib()['self']:,.0f} MiB peak)"
                    )
                    break
        t = time.perf_counter()
        n += b.upsert(batch).written if batch else 0
        write_s += time.perf_counter() - t
        t = time.perf_counter()
        # as IndexJob.build: the builder's postings are the charge model's term counts
        model = ChargeModel.train_counts(b.term_counts)
        if model is not None:
            b.put_artifact(CHARGE_MODEL_ARTIFACT, model.to_bytes())
        train_s = time.perf_counter() - t
        t = time.perf_counter()
    finish_s = time.perf_counter() - t  # the backend's finish: BM25 postings, faiss, swap
    return {
        "docs": n,
        "seconds": time.perf_counter() - t0,
        "stopped": stopped,
        "files": index_files(Path(spec["index"])),
        "vector_seconds": vec_s,
        "vector_setup_seconds": prep_s,
        "upsert_seconds": write_s,
        "charge_model_seconds": train_s,
        "finish_seconds": finish_s,
        "rss": peak_rss_mib(),
        "cpu": cpu_seconds(),
    }


def _search_settings() -> dict:
    """What shapes a search besides the index (a stage is reused only when these are unchanged)."""
    from leian.indexer.runtime import torch_threads
    from leian.retrieval.search import SearchConfig

    return {
        "config": SearchConfig().model_dump(),
        "torch_threads": torch_threads(),
        "runtime": os.environ.get("LEIAN_EMBED_RUNTIME", "auto"),
        "query_precision": os.environ.get("LEIAN_QUERY_PRECISION", "int8"),
        "memo": False,
    }


def stage_search(spec: dict) -> dict:
    """One client: queries one after another through the real searcher, query embedding included."""
    from leian.retrieval.models import Query
    from leian.retrieval.search import open_searcher

    queries = [
        json.loads(x) for x in Path(spec["queries"]).read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    t = time.perf_counter()
    searcher = open_searcher("embedded", spec["index"])
    open_s = time.perf_counter() - t
    rss_open = peak_rss_mib()["self"]
    for q in queries[:3]:  # warm-up: first-call allocations, page cache of the index files
        searcher.search(Query(facts=q["q"], top_k=10))
    walls, stages = [], {}
    for i in range(spec["n"]):
        q = queries[i % len(queries)]
        searcher.clear_query_memo()  # a repeated query is embedded again, as a new case would be
        t = time.perf_counter()
        res = searcher.search(Query(facts=q["q"], top_k=10))
        walls.append((time.perf_counter() - t) * 1000)
        for k, v in res.timings_ms.items():
            stages.setdefault(k, []).append(v)
    return {
        "n": len(walls),
        "distinct": min(len(queries), spec["n"]),
        "open_seconds": open_s,
        "p50": pct(walls, 50),
        "p95": pct(walls, 95),
        "mean": float(np.mean(walls)),
        "max": float(np.max(walls)),
        "stages": {k: float(np.mean(v)) for k, v in stages.items()},
        "stages_p95": {k: pct(v, 95) for k, v in stages.items()},
        "docs": searcher.backend.count(),
        "embedding_runtime": searcher.embedder.runtime if searcher.embedder else None,
        "query_precision": searcher.embedder.query_precision if searcher.embedder else None,
        "rss_after_open": rss_open,
        "rss": peak_rss_mib(),
        "load": os.getloadavg(),
    }


def stage_synth(spec: dict) -> dict:
    sys.path.insert(0, str(HERE))
    from synth_corpus import load_sources, write_corpus

    t = time.perf_counter()
    sources = load_sources(spec["source"])
    src_s = time.perf_counter() - t
    s = write_corpus(spec["out"], sources, spec["n"], seed=spec["seed"], provenance=spec["provenance"])
    return {
        "docs": s.docs,
        "sources": s.sources,
        "groups": s.groups,
        "seconds": s.seconds,
        "source_seconds": src_s,
        "bytes": s.bytes,
        "rss": peak_rss_mib(),
    }


STAGES = {
    "embed": stage_embed,
    "build_job": stage_build_job,
    "build_synth": stage_build_synth,
    "search": stage_search,
    "synth": stage_synth,
}


# ------------------------------------------------------------------------------------------ printing
def mib(b: float) -> str:
    return f"{b / 2**20:,.1f} MiB"


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k.ljust(w)}  {v}")
    sys.stdout.flush()


def size_rows(files: dict[str, int]) -> list[tuple[str, str]]:
    rows = [(f"  {name}", mib(b)) for name, b in files.items()]
    return [("index size on disk", mib(sum(files.values())))] + rows


def search_rows(s: dict, targets: bool) -> list[tuple[str, str]]:
    tgt = "   (target p50 <= 150 ms, p95 <= 300 ms at 100k)" if targets else ""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in s["stages"].items() if k != "total")
    return [
        ("search latency, 1 client", f"p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms{tgt}"),
        (
            "  mean / max",
            f"{s['mean']:.0f} ms / {s['max']:.0f} ms over {s['n']} searches "
            f"({s['distinct']} distinct dev queries, cycled, each embedded every time; top_k 10)",
        ),
        ("  mean per stage (ms)", stages),
        (
            "  p95 per stage (ms)",
            ", ".join(f"{k} {v:.1f}" for k, v in s["stages_p95"].items() if k != "total"),
        ),
        (
            "  open index + model",
            f"{s['open_seconds']:.1f} s ({s['docs']:,} docs; query embedding on "
            f"{s.get('embedding_runtime') or 'torch'}, {s.get('query_precision') or 'float32'})",
        ),
        (
            "peak RSS, search process",
            f"{s['rss']['self']:,.0f} MiB (after open: {s['rss_after_open']:,.0f} MiB)",
        ),
        ("load during search", " ".join(f"{x:.2f}" for x in s["load"])),
    ]


def embed_rows(e: dict, n_docs: int) -> list[tuple[str, str]]:
    dps = e["docs"] / e["seconds"]
    cps = e["chunks"] / e["seconds"]
    proj = n_docs / dps
    return [
        ("embedding (real model, CPU)", f"{dps:.1f} docs/s, {cps:.1f} chunks/s"),
        (
            "  sample",
            f"{e['docs']} real judgments' facts, {e['chunks'] / e['docs']:.2f} chunks/doc "
            f"(max {e['max_chunks']}), {e['chars'] / e['docs']:,.0f} chars/doc; {e['model']} on "
            f"{e['device']} with {e.get('runtime', 'torch')}, {e.get('precision') or 'float32'}",
        ),
        (f"  projected for {n_docs:,} docs", f"{proj / 60:,.0f} min ({proj / 3600:.1f} h)"),
    ]


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_stage"]:
        stage, spec_path, out = argv[1:4]
        res = STAGES[stage](json.loads(Path(spec_path).read_text()))
        res.setdefault("load", os.getloadavg())  # at the end of the stage
        res["finished_at"] = time.strftime("%H:%M:%S")
        Path(out).write_text(json.dumps(res))
        return 0

    from leian.indexer.pipeline import default_workers

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lecard", default="/work/shared/data/lecard", help="LeCaRD directory")
    ap.add_argument("--synth", type=int, default=100_000, help="synthetic corpus size (0: skip)")
    ap.add_argument("--workers", type=int, default=default_workers(), help="text-side worker processes")
    ap.add_argument("--queries", type=int, default=200, help="searches per corpus (dev queries, cycled)")
    ap.add_argument("--embed-sample", type=int, default=200, help="judgments embedded for docs/s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-free-mib", type=int, default=2048, help="stop a build when less memory is left")
    ap.add_argument(
        "--build-minutes",
        type=float,
        default=None,
        help="stop the synthetic build after this long (partial index)",
    )
    ap.add_argument("--quick", action="store_true", help="20k synthetic, 50 searches, 32 embedded docs")
    ap.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the indexes and the synthetic corpus")
    ap.add_argument(
        "--reuse", action="store_true", help="with --work: reuse stages (builds) whose settings are unchanged"
    )
    args = ap.parse_args(argv)
    global REUSE
    REUSE = bool(args.reuse and args.work)
    if args.quick:
        args.synth = min(args.synth, 20_000)
        args.queries = min(args.queries, 50)
        args.embed_sample = min(args.embed_sample, 32)
    lecard = Path(args.lecard)
    docs, queries = lecard / "docs.jsonl.gz", lecard / "queries.dev.jsonl"
    for p in (docs, queries):
        if not p.is_file():
            print(f"retrieval_bench: {p} not found (pass --lecard DIR)", file=sys.stderr)
            return 1
    if args.workers < 1 or args.queries < 1 or args.embed_sample < 2:
        print("retrieval_bench: --workers, --queries must be >= 1 and --embed-sample >= 2", file=sys.stderr)
        return 1

    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="leian-bench-")
        work = Path(tmp.name)
    try:
        return run(args, work, docs, queries)
    finally:
        if tmp is not None and not args.keep:
            tmp.cleanup()


def run(args, work: Path, docs: Path, queries: Path) -> int:

    n_lecard = sum(1 for _ in _lines(docs))
    print(f"leian retrieval bench — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {load_line()}")
    print(f"work dir {work}; text-side workers {args.workers}; searches per corpus {args.queries}")

    # ---- embedding speed (shared by both corpora: same model, same kind of text)
    e = child(
        "embed",
        {"corpus": str(docs), "sample": args.embed_sample, "stride": max(1, n_lecard // args.embed_sample)},
        work / "embed.json",
    )
    print(f"(embedding sample done; {load_line()})", file=sys.stderr)

    # ---- LeCaRD: text side only (the real job, embeddings off)
    text_idx, full_idx = work / "lecard-text", work / "lecard-full"
    spec = {
        "corpus": str(docs),
        "index": str(text_idx),
        "embeddings": False,
        "workers": args.workers,
        "name": "LeCaRD",
    }
    bt = child("build_job", spec, work / "lecard-text.json")
    # ---- LeCaRD with vectors (the real job, vectors from the embedding cache), then search
    vec_file = work / "lecard-vectors.npz"
    spec.update(index=str(full_idx), embeddings=True, dump_vectors=str(vec_file))
    bf = child("build_job", spec, work / "lecard-full.json")
    ls = child(
        "search",
        {"index": str(full_idx), "queries": str(queries), "n": args.queries, **_search_settings()},
        work / "lecard-search.json",
    )
    print_table(
        f"LeCaRD — {bt['docs']:,} real judgments",
        [
            (
                "text-side indexing",
                f"{bt['docs'] / bt['seconds']:,.0f} docs/s ({bt['seconds']:.1f} s, "
                f"{args.workers} worker(s); load, extract, jieba, BM25 + SQLite, charge model)",
            ),
            ("  CPU time", f"{bt['cpu']['main']:,.0f} s main process, {bt['cpu']['workers']:,.0f} s workers"),
            ("  load during it", _load_note(bt)),
            (
                "peak RSS, text build",
                f"{bt['rss']['self']:,.0f} MiB main, {bt['rss']['largest_child']:,.0f} MiB largest worker",
            ),
            *embed_rows(e, bt["docs"]),
            (
                "index with vectors (IndexJob)",
                f"{bf['docs'] / bf['seconds']:,.0f} docs/s ({bf['seconds']:.1f} s; "
                "chunk vectors from the embedding cache)",
            ),
            (
                "peak RSS, build with vectors",
                f"{bf['rss']['self']:,.0f} MiB main, {bf['rss']['largest_child']:,.0f} MiB largest worker",
            ),
            *size_rows(bf["files"]),
            ("  (text-only index)", mib(sum(bt["files"].values())) if "files" in bt else "not recorded"),
            *search_rows(ls, targets=False),
        ],
    )
    if not args.keep:
        shutil.rmtree(text_idx, ignore_errors=True)

    if args.synth <= 0:
        return 0
    # ---- synthetic corpus
    n = args.synth
    corpus, prov = work / f"synth-{n}.jsonl.gz", work / f"synth-{n}.sources.tsv"
    sy = child(
        "synth",
        # the provenance columns are part of the spec: an older file without facts_chars is rewritten
        {
            "source": str(docs),
            "out": str(corpus),
            "provenance": str(prov),
            "n": n,
            "seed": args.seed,
            "provenance_columns": "id header facts splice facts_chars",
        },
        work / "synth.json",
    )
    syn_idx = work / f"synth-{n}"
    bs = child(
        "build_synth",
        {
            "corpus": str(corpus),
            "index": str(syn_idx),
            "workers": args.workers,
            "vectors": str(vec_file),
            "provenance": str(prov),
            "manifest": bf["manifest"],
            "min_free_mib": args.min_free_mib,
            "max_build_s": args.build_minutes * 60 if args.build_minutes else None,
        },
        work / "synth-build.json",
    )

    ss = child(
        "search",
        {"index": str(syn_idx), "queries": str(queries), "n": args.queries, **_search_settings()},
        work / "synth-search.json",
    )
    text_s = bs["seconds"] - bs["vector_seconds"]
    print_table(
        f"synthetic — {bs['docs']:,} judgments recombined from LeCaRD (bench/synth_corpus.py, seed {args.seed})"
        + (f" — PARTIAL: {bs['stopped']} of {n:,} generated" if bs.get("stopped") else ""),
        [
            (
                "corpus",
                f"{mib(sy['bytes'])} gzip, written in {sy['seconds']:.1f} s from {sy['sources']:,} real "
                f"judgments in {sy['groups']} charge groups",
            ),
            (
                "text-side indexing",
                f"{bs['docs'] / text_s:,.0f} docs/s ({text_s:.1f} s, {args.workers} worker(s); "
                "target >= 1,000 docs/s)",
            ),
            (
                "  of which",
                f"SQLite upserts {bs['upsert_seconds']:.1f} s, charge model {bs['charge_model_seconds']:.1f}"
                f" s, finish (BM25 postings, faiss, swap) {bs['finish_seconds']:.1f} s",
            ),
            ("  CPU time", f"{bs['cpu']['main']:,.0f} s main process, {bs['cpu']['workers']:,.0f} s workers"),
            ("  load during it", _load_note(bs)),
            (
                "vectors",
                f"DERIVED, not embedded: mean of the sources' real e5 vectors + noise "
                f"({bs['vector_seconds']:.1f} s); queries ARE embedded with the real model",
            ),
            (
                "peak RSS, build",
                f"{bs['rss']['self']:,.0f} MiB main, {bs['rss']['largest_child']:,.0f} MiB largest worker",
            ),
            *embed_rows(e, bs["docs"]),
            *size_rows(bs["files"]),
            *search_rows(ss, targets=True),
        ],
    )
    if not args.keep:
        shutil.rmtree(syn_idx, ignore_errors=True)
        corpus.unlink(missing_ok=True)
        prov.unlink(missing_ok=True)
    return 0


def _load_note(res: dict) -> str:
    if "load" not in res:
        return "not recorded"
    note = " ".join(f"{x:.2f}" for x in res["load"]) + f" (at {res.get('finished_at', '?')})"
    return note + (", reused from an earlier run (--reuse)" if res.get("reused") else "")


def _lines(path: Path):
    import gzip

    with gzip.open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield line


if __name__ == "__main__":
    raise SystemExit(main())
