"""Embedded vs Elasticsearch on the same corpus, in one run: indexing docs/s and query latency.

    python bench/backends.py [--docs PATH] [--limit N] [--es-url URL] [--vectors random|model|none]
                             [--queries PATH] [--k 100] [--repeat 1]

Both backends get exactly the same ``IndexedCase`` objects (extracted, jieba-tokenised once, before
any timing), so the index timings measure the backends only. Queries are LeCaRD's dev queries (facts),
tokenised the way the searcher does (``unique_terms``); each is run against BM25, kNN, and BM25 with a
filter. Printed: docs/s, p50/p95/mean latency per backend and query kind, the ES/embedded ratio, and
how much the two top-10s agree. Numbers are printed, never asserted.

``--vectors random`` (default) gives every case a deterministic random 384-d unit vector: backends
only store and search vectors, so their speed does not depend on the model (embedding the corpus
with the real model takes ~20 min on 2 cores; use ``--vectors model`` for that).
Start the server first: ``scripts/start-elasticsearch`` (prints the URL).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DIM = 384


def unit(seed: str, dim: int = DIM) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


def timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t) * 1000, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--docs", default=os.environ.get("LEIAN_LECARD_DOCS", "/work/shared/data/lecard/docs.jsonl.gz")
    )
    ap.add_argument(
        "--queries", default=None, help="JSONL with 'q' (default: queries.dev.jsonl next to --docs)"
    )
    ap.add_argument("--limit", type=int, default=None, help="index only the first N judgments")
    ap.add_argument("--es-url", default=os.environ.get("LEIAN_ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--vectors", choices=["random", "model", "none"], default="random")
    ap.add_argument("--k", type=int, default=100, help="candidates per query (the searcher asks for ~100)")
    ap.add_argument("--repeat", type=int, default=1, help="run the query set this many times")
    ap.add_argument("--keep", action="store_true", help="keep the Elasticsearch index afterwards")
    args = ap.parse_args()

    from _lecard_docs import lecard_records

    from leian.indexer.pipeline import prepare
    from leian.indexer.tokenize import Tokenizer, unique_terms
    from leian.retrieval.backends import build_backend, new_manifest, open_backend
    from leian.retrieval.backends.elastic import ElasticOptions, drop_elastic
    from leian.retrieval.models import Filters

    tok = Tokenizer()
    t0 = time.perf_counter()
    embedder = None
    if args.vectors == "model":
        from leian.indexer.embedding import Embedder

        embedder = Embedder.load(None)
    cases = list(prepare(lecard_records(Path(args.docs), args.limit), tok, embedder))
    if args.vectors == "random":
        for c in cases:
            c.vector = unit(c.record.id)
    dim = None if args.vectors == "none" else (embedder.dim if embedder else DIM)
    prep_s = time.perf_counter() - t0
    n = len(cases)
    print(f"prepared {n} judgments (extract + jieba{' + embed' if embedder else ''}) in {prep_s:.1f} s")

    qpath = Path(args.queries) if args.queries else Path(args.docs).with_name("queries.dev.jsonl")
    queries = [json.loads(x) for x in qpath.read_text(encoding="utf-8").splitlines() if x.strip()]
    q_terms = [unique_terms(tok.tokenize(q["q"])) for q in queries]
    if embedder is not None:
        q_vecs = list(embedder.embed_queries([q["q"] for q in queries]))
    else:
        q_vecs = [unit("query:" + q["id"]) for q in queries]
    # A filter a user would set: the most common court level and a recent-years window.
    flt = Filters(court_level=["基层"], year_from=2015)

    es_opts = ElasticOptions(url=args.es_url, request_timeout=30)
    es_name = f"leian-bench-{os.getpid()}"
    results: dict[str, dict] = {}
    tops: dict[str, list[list[str]]] = {}
    with tempfile.TemporaryDirectory(prefix="leian-bench-") as tmp:
        targets = {
            "embedded": dict(index=str(Path(tmp) / "emb")),
            "elasticsearch": dict(index=es_name, es_options=es_opts),
        }
        try:
            for kind, where in targets.items():
                manifest = new_manifest(
                    kind,
                    where["index"],
                    tokenizer=tok.fingerprint,
                    model=(embedder.name if embedder else ("random" if dim else None)),
                    dim=dim,
                    corpus={"name": "LeCaRD"},
                )
                t = time.perf_counter()
                with build_backend(kind, manifest=manifest, **where) as b:
                    for i in range(0, n, 256):  # the batch size leian index uses
                        rep = b.upsert(cases[i : i + 256])
                        if rep.failed:
                            print(f"{kind}: {len(rep.failed)} failed, e.g. {next(iter(rep.failed.items()))}")
                build_s = time.perf_counter() - t
                backend = open_backend(kind, **where)
                assert backend.count() == n, (kind, backend.count())
                lat: dict[str, list[float]] = {"bm25": [], "knn": [], "bm25+filter": [], "get10": []}
                top: list[list[str]] = []
                backend.lexical(q_terms[0], None, args.k)  # warm-up (caches, JIT, connections)
                for _ in range(args.repeat):
                    for terms, vec in zip(q_terms, q_vecs, strict=True):
                        ms, hits = timed(backend.lexical, terms, None, args.k)
                        lat["bm25"].append(ms)
                        top.append([i for i, _ in hits[:10]])
                        if dim:
                            lat["knn"].append(timed(backend.dense, vec, None, args.k)[0])
                        lat["bm25+filter"].append(timed(backend.lexical, terms, flt, args.k)[0])
                        lat["get10"].append(timed(backend.get, [i for i, _ in hits[:10]])[0])
                backend.close()
                results[kind] = {"build_s": build_s, "docs_per_s": n / build_s, "lat": lat}
                tops[kind] = top
        finally:
            if not args.keep:
                drop_elastic(es_opts, es_name)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\ncorpus {n} judgments, {len(queries)} queries x {args.repeat}, k={args.k}, vectors={args.vectors}"
    )
    print(f"{'backend':<14} {'index s':>8} {'docs/s':>8}")
    for kind, r in results.items():
        print(f"{kind:<14} {r['build_s']:>8.1f} {r['docs_per_s']:>8.0f}")
    print(f"\n{'query':<12} {'backend':<14} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for what in ("bm25", "bm25+filter", "knn", "get10"):
        for kind, r in results.items():
            xs = r["lat"][what]
            if xs:
                print(
                    f"{what:<12} {kind:<14} {pct(xs, 50):>8.2f} {pct(xs, 95):>8.2f} {statistics.mean(xs):>8.2f}"
                )
    e, s = results.get("embedded"), results.get("elasticsearch")
    if e and s:
        print("\nelasticsearch / embedded:")
        print(f"  indexing time  x{s['build_s'] / e['build_s']:.2f}")
        for what in ("bm25", "bm25+filter", "knn", "get10"):
            if e["lat"][what]:
                print(f"  {what:<12} p50 x{pct(s['lat'][what], 50) / pct(e['lat'][what], 50):.2f}")
        agree = [
            len(set(a) & set(b)) / max(len(a), 1)
            for a, b in zip(tops["embedded"], tops["elasticsearch"], strict=True)
        ]
        print(f"  BM25 top-10 agreement: mean {np.mean(agree):.3f}, min {np.min(agree):.2f}")
    print(f"\npeak RSS of this process: {rss:.0f} MiB (the Elasticsearch JVM is a separate process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
