"""Embedded vs Elasticsearch on LeCaRD: the same cases, the same configuration, side by side.

    python bench/parity.py --index DIR --data ../shared/data/lecard --es-url URL [--es-index NAME]
                           [--config KEY=VALUE …] [--reuse]

Copies the embedded index's cases (records, tokens, vectors, charge model — nothing is re-extracted
or re-embedded) into an Elasticsearch index (alias NAME, default ``leian-parity``), then runs
protocols A, B and C of ``leian eval`` on both backends and prints them side by side with the
difference. ``--reuse`` skips the copy when the alias already exists. Numbers are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from leian.api.commands._common import parse_config, progress
from leian.corpora.lecard import load_lecard
from leian.errors import LeianError
from leian.retrieval.backends.elastic import ElasticBackend, ElasticOptions, open_elastic
from leian.retrieval.backends.embedded import EmbeddedBackend
from leian.retrieval.evaluate import Protocol, collect_runs, evaluate_split
from leian.retrieval.search import CHARGE_MODEL_ARTIFACT, open_searcher

METRICS = [
    (Protocol.A, "ndcg@10"),
    (Protocol.A, "ndcg@30"),
    (Protocol.B, "ndcg@10"),
    (Protocol.B, "ndcg@30"),
    (Protocol.C, "ndcg@30"),
    (Protocol.C, "recall@100"),
    (Protocol.C, "ndcg'@30"),
]


def copy_to_elastic(index_dir: str, options: ElasticOptions, name: str) -> float:
    src = EmbeddedBackend(index_dir)
    manifest = src.manifest().model_copy(update={"backend": "elasticsearch", "name": name})
    t0 = time.perf_counter()
    with ElasticBackend.building(options, name, manifest) as dst, progress(src.count(), "copy to ES") as tick:
        batch = []
        for case in src.iter_indexed():
            batch.append(case)
            if len(batch) == 500:
                dst.upsert(batch)
                tick(len(batch))
                batch = []
        if batch:
            dst.upsert(batch)
            tick(len(batch))
        blob = src.get_artifact(CHARGE_MODEL_ARTIFACT)
        if blob:
            dst.put_artifact(CHARGE_MODEL_ARTIFACT, blob)
    return time.perf_counter() - t0


def evaluate(backend: str, index: str, split, config, es_options=None) -> tuple[dict, float]:
    searcher = open_searcher(backend, index, es_options=es_options, config=config)
    t0 = time.perf_counter()
    with progress(len(split.queries), f"eval {backend}", unit="query") as tick:
        runs = collect_runs(searcher.rank, split, list(Protocol), tick)
    seconds = time.perf_counter() - t0
    return {r.protocol: r.metrics for r in evaluate_split(split, runs)}, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", required=True, help="embedded index directory")
    p.add_argument(
        "--data", default=os.environ.get("LEIAN_LECARD"), required=not os.environ.get("LEIAN_LECARD")
    )
    p.add_argument("--split", default="dev")
    p.add_argument("--es-url", default=os.environ.get("LEIAN_ES_URL", "http://127.0.0.1:9200"))
    p.add_argument("--es-index", default="leian-parity")
    p.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--reuse", action="store_true", help="do not copy when the Elasticsearch alias exists")
    args = p.parse_args(argv)
    try:
        options = ElasticOptions(url=args.es_url, request_timeout=60)
        config = parse_config(args.config)
        split = load_lecard(args.data, args.split)
        copied = None
        if not args.reuse:
            copied = copy_to_elastic(args.index, options, args.es_index)
        else:
            open_elastic(options, args.es_index)  # fails clearly when it does not exist
        emb, t_emb = evaluate("embedded", args.index, split, config)
        es, t_es = evaluate("elasticsearch", args.es_index, split, config, es_options=options)
    except LeianError as e:
        print(f"parity: error: {e.message}", file=sys.stderr)
        return 1
    print(f"LeCaRD {split.name}, {len(split.queries)} queries; config: {' '.join(args.config) or 'default'}")
    if copied is not None:
        print(f"copied the index to Elasticsearch alias {args.es_index} in {copied:.1f} s")
    print(f"{'metric':<14}{'embedded':>10}{'elastic':>10}{'diff':>9}")
    worst = 0.0
    for proto, metric in METRICS:
        a, b = emb[proto][metric], es[proto][metric]
        worst = max(worst, abs(a - b)) if metric.startswith("ndcg@30") else worst
        print(f"{proto.value} {metric:<12}{a:>10.4f}{b:>10.4f}{b - a:>+9.4f}")
    print(
        f"largest NDCG@30 difference: {worst:.4f}; eval time embedded {t_emb:.0f} s, elasticsearch {t_es:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
