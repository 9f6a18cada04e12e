#!/usr/bin/env python3
"""Embedding speed and chunk statistics on LeCaRD (prints numbers; nothing is asserted).

    python bench/embed_speed.py [--docs 16] [--queries 20] [--stats-docs 2000] [--device cpu] [--max-chunks 4]
                                [--runtime auto|onnx|torch] [--query-precision int8|float32]
                                [--document-precision int8|float32]

- documents/s and chunks/s for the facts of LeCaRD judgments (``document_text`` of the extracted
  record, exactly what the indexer embeds), cache disabled;
- query embedding latency (p50 / p90) on the dev queries, one query per call, as the API does;
- chunk statistics over ``--stats-docs`` documents: characters per token of the e5 tokenizer on
  Chinese facts, tokens per document, mean/median/max chunks per document before and after the cap.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from leian.api.settings import load_settings
from leian.corpora.record import CaseRecord
from leian.indexer.embedding import DEFAULT_MAX_CHUNKS, Embedder, Precision, RuntimeKind, document_text
from leian.indexer.extract import extract
from leian.indexer.runtime import torch_threads

LECARD = Path(os.environ.get("LEIAN_LECARD", "/work/shared/data/lecard"))


def facts(n: int, skip: int = 0) -> list[str]:
    out = []
    with gzip.open(LECARD / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            d = json.loads(line)
            out.append(document_text(extract(CaseRecord(id=str(d["id"]), text=d.get("qw") or ""))))
            if len(out) >= n:
                break
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=16, help="documents embedded for the docs/s figure")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--stats-docs", type=int, default=2000, help="documents for the chunk statistics")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--max-chunks", type=int, default=DEFAULT_MAX_CHUNKS, help="chunks embedded per document (0 = all)"
    )
    ap.add_argument(
        "--runtime",
        choices=[k.value for k in RuntimeKind],
        default=None,
        help="default: $LEIAN_EMBED_RUNTIME or auto",
    )
    ap.add_argument(
        "--query-precision",
        choices=[p.value for p in Precision],
        default=None,
        help="queries on onnxruntime (default: $LEIAN_QUERY_PRECISION or int8)",
    )
    ap.add_argument(
        "--document-precision",
        choices=[p.value for p in Precision],
        default=None,
        help="documents on onnxruntime (default: int8 when the export has its int8 copy, as a new index)",
    )
    args = ap.parse_args()
    if not (LECARD / "docs.jsonl.gz").exists():
        print(f"LeCaRD not found at {LECARD} (set LEIAN_LECARD)", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    options = load_settings().embedding  # LEIAN_HOME, LEIAN_EMBED_RUNTIME, LEIAN_TORCH_THREADS …
    emb = Embedder.load(
        args.model, options=options, device=args.device, cache=None, max_chunks=args.max_chunks, runtime=args.runtime,
        query_precision=args.query_precision, document_precision=args.document_precision,
    )  # fmt: skip
    threads = torch_threads(options.threads)
    print(f"model {emb.name} ({emb.fingerprint}) on {emb.device} with {emb.runtime} (queries in "
          f"{emb.query_precision}, documents in {emb.document_precision}), {threads} threads, load {time.perf_counter() - t0:.1f} s")  # fmt: skip

    # ---- chunk statistics
    t0 = time.perf_counter()
    texts = facts(args.stats_docs)
    t_extract = time.perf_counter() - t0
    enc = emb._token_offsets(texts)
    n_tok = np.array([len(e.ids) for e in enc])
    n_chr = np.array([len(t) for t in texts])
    capped = np.array([len(c) for c in emb._chunk_many(texts, emb.passage_prompt)])
    saved, emb.max_chunks = emb.max_chunks, None
    full = np.array([len(c) for c in emb._chunk_many(texts, emb.passage_prompt)])
    emb.max_chunks = saved
    print(f"\nchunk statistics over {len(texts)} LeCaRD facts (extracted in {t_extract:.1f} s):")
    print(f"  characters per token: {n_chr.sum() / max(n_tok.sum(), 1):.3f} (corpus), "
          f"median per doc {np.median(n_chr / np.maximum(n_tok, 1)):.3f}")  # fmt: skip
    print(f"  facts length: mean {n_chr.mean():.0f} chars / {n_tok.mean():.0f} tokens, median {np.median(n_chr):.0f} "
          f"chars, max {n_chr.max()} chars")  # fmt: skip
    print(f"  chunks per doc (cap {emb.max_chunks}): mean {capped.mean():.2f}, median {np.median(capped):.0f}, "
          f"max {capped.max()}; uncapped: mean {full.mean():.2f}, max {full.max()}; "
          f"docs cut by the cap {np.mean(full > capped) * 100:.1f}%")  # fmt: skip

    # ---- documents/s (no cache)
    docs = facts(args.docs, skip=args.stats_docs)  # not the documents above, so nothing is warm
    n_chunks = sum(len(c) for c in emb._chunk_many(docs, emb.passage_prompt))
    emb.embed_documents(docs[:1])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    emb.embed_documents(docs)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\ndocuments: {len(docs)} in {dt:.1f} s = {len(docs) / dt:.2f} docs/s, {n_chunks / dt:.2f} chunks/s "
          f"({n_chunks} chunks of <= {emb.max_tokens} tokens)")  # fmt: skip
    # On a shared machine wall time mostly measures the neighbours; CPU seconds per document do not.
    print(f"  CPU time: {cpu:.1f} s = {cpu / len(docs):.2f} CPU-s/doc, {cpu / n_chunks:.2f} CPU-s/chunk; "
          f"on {threads} otherwise idle cores at most {threads * len(docs) / cpu:.2f} docs/s")  # fmt: skip

    # ---- query latency
    qs = []
    with open(LECARD / "queries.dev.jsonl", encoding="utf-8") as f:
        for line, _ in zip(f, range(args.queries), strict=False):
            qs.append(json.loads(line)["q"])
    emb.embed_queries(qs[:1])
    lat, cpu_ms = [], []
    for q in qs:
        t0, c0 = time.perf_counter(), time.process_time()
        emb.embed_queries([q])
        lat.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
    qlen = np.array([len(q) for q in qs])
    short = []
    for q in qs:
        t0 = time.perf_counter()
        emb.embed_queries([q[:100]])
        short.append((time.perf_counter() - t0) * 1000)
    print(f"\nquery latency over {len(qs)} dev queries (mean {qlen.mean():.0f} chars): p50 {np.percentile(lat, 50):.0f} ms, "
          f"p90 {np.percentile(lat, 90):.0f} ms (CPU time p50 {np.percentile(cpu_ms, 50):.0f} ms); "
          f"first 100 chars only: p50 {np.percentile(short, 50):.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
