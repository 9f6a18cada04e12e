"""Ablation on LeCaRD: what each ranking stage is worth, under protocols A, B and C.

    python bench/ablation.py --index DIR --data ../shared/data/lecard [--split dev] [--limit N]
                             [--config KEY=VALUE …] [--rows bm25,dense,fused,structure,bm25+structure,oracle] [--format json]

Rows: BM25 alone, dense alone, z-score fusion of both, fusion + the structure rerank (charges,
statutes, circumstances, amount), BM25 + the structure rerank, and (``oracle``) fusion + the rerank
given each query's true charges, the label, to show what better charge prediction could still gain.
Every row uses the same searcher (the index and the embedding model are opened once) with
``SearchConfig`` switches; ``--config`` overrides apply to every row.
Columns are the headline numbers: A NDCG@30, B NDCG@10, B NDCG@30, C NDCG@30, C Recall@100, and the
seconds each row took. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from leian.api.commands._common import parse_config, progress
from leian.corpora.lecard import load_lecard
from leian.errors import InvalidInput, LeianError
from leian.retrieval.backends import BackendKind
from leian.retrieval.evaluate import Protocol, collect_runs, evaluate_split
from leian.retrieval.models import Query
from leian.retrieval.search import SearchConfig, open_searcher

ORACLE = "oracle"
# row name -> (label, the SearchConfig switches)
ROWS: dict[str, tuple[str, dict[str, bool]]] = {
    "bm25": ("BM25 alone", {"use_bm25": True, "use_dense": False, "use_structure": False}),
    "dense": ("dense alone", {"use_bm25": False, "use_dense": True, "use_structure": False}),
    "fused": ("BM25 + dense (fused)", {"use_bm25": True, "use_dense": True, "use_structure": False}),
    "structure": ("fused + structure rerank", {"use_bm25": True, "use_dense": True, "use_structure": True}),
    # the structure rerank's own worth, and the best row an index without vectors can give
    "bm25+structure": (
        "BM25 + structure rerank",
        {"use_bm25": True, "use_dense": False, "use_structure": True},
    ),
    # the ceiling of charge prediction: the rerank given each query's TRUE charges (LeCaRD's label,
    # passed as a user who names the charges would); a diagnosis, never a product configuration
    ORACLE: (
        "… with the true charges",
        {"use_bm25": True, "use_dense": True, "use_structure": True},
    ),
}
HEADLINE = [
    ("A@30", Protocol.A, "ndcg@30"),
    ("B@10", Protocol.B, "ndcg@10"),
    ("B@30", Protocol.B, "ndcg@30"),
    ("C@30", Protocol.C, "ndcg@30"),
    ("C R@100", Protocol.C, "recall@100"),
    ("C' @30", Protocol.C, "ndcg'@30"),  # C without the unlabelled cases: the order of what LeCaRD judged
]


def lecard_parser(description: str, index_help: str) -> argparse.ArgumentParser:
    """The options every LeCaRD quality bench takes (also bench/config_cv.py)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--index", required=True, help=index_help)
    p.add_argument("--backend", default=BackendKind.embedded, choices=[k.value for k in BackendKind])
    p.add_argument("--data", default=os.environ.get("LEIAN_LECARD"), help="LeCaRD folder [env LEIAN_LECARD]")
    p.add_argument("--split", default="dev")
    return p


def run_reporting_errors(name: str, run, args: argparse.Namespace) -> int:
    """``run(args)``; a LeianError becomes one line on stderr and exit status 1."""
    try:
        return run(args)
    except LeianError as e:
        print(f"{name}: error: {e.message}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    p = lecard_parser(
        __doc__.split("\n\n")[0], "embedded index directory (built with vectors for dense rows)"
    )
    p.add_argument("--limit", type=int, help="only the first N queries (quick look; not comparable)")
    p.add_argument(
        "--config", nargs="*", default=[], metavar="KEY=VALUE", help="SearchConfig overrides, all rows"
    )
    p.add_argument("--rows", default=",".join(ROWS), help=f"which rows, of {','.join(ROWS)}")
    p.add_argument("--format", choices=["table", "json"], default="table")
    return run_reporting_errors("ablation", _run, p.parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    if not args.data:
        raise InvalidInput("pass --data DIR (the LeCaRD folder) or set LEIAN_LECARD")
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or not rows:
        raise InvalidInput(f"unknown row(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(ROWS)}")
    base = parse_config(args.config).model_dump()
    split = load_lecard(args.data, args.split)
    if args.limit:
        split = split.head(args.limit)
    protocols = list(Protocol)
    # one searcher for every row (the model loads once); each row swaps in its own config
    searcher = open_searcher(args.backend, args.index, config=SearchConfig.model_validate(base))
    out = []
    for name in rows:
        label, switches = ROWS[name]
        config = SearchConfig.model_validate(base | switches)
        if config.use_dense and searcher.embedder is None:
            out.append({"row": name, "label": label, "skipped": "the index has no vectors"})
            continue
        searcher.config = config
        rank = _with_true_charges(searcher.rank, split) if name == ORACLE else searcher.rank
        t0 = time.perf_counter()
        with progress(len(split.queries), label, unit="query") as advance:
            runs = collect_runs(rank, split, protocols, advance)
        seconds = time.perf_counter() - t0
        results = {r.protocol: r.metrics for r in evaluate_split(split, runs)}
        cells = {head: results[p][m] for head, p, m in HEADLINE}
        out.append({"row": name, "label": label, "seconds": round(seconds, 1), **cells})
    if args.format == "json":
        print(
            json.dumps(
                {"split": split.name, "n_queries": len(split.queries), "config": base, "rows": out}, indent=2
            )
        )
        return 0
    print(
        f"LeCaRD {split.name}, {len(split.queries)} queries; index {args.index}; "
        f"overrides: {' '.join(args.config) or 'none'}"
    )
    print(f"{'':<26}" + "".join(f"{h:>9}" for h, _, _ in HEADLINE) + f"{'seconds':>9}")
    for row in out:
        if "skipped" in row:
            print(f"{row['label']:<26}  skipped: {row['skipped']}")
            continue
        print(
            f"{row['label']:<26}"
            + "".join(f"{row[h]:>9.4f}" for h, _, _ in HEADLINE)
            + f"{row['seconds']:>9.1f}"
        )
    return 0


def _with_true_charges(rank, split):
    """``rank`` with each query's labelled charges given, as ``leian search --charges`` gives them."""
    crimes = {q.q: q.crime for q in split.queries}

    def oracle(query: Query, ids):
        return rank(Query.model_validate(query.model_dump() | {"charges": crimes[query.facts] or None}), ids)

    return oracle


if __name__ == "__main__":
    sys.exit(main())
