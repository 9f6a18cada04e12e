"""`leian eval`: retrieval quality on LeCaRD, protocols A, B and C (see leian.retrieval.evaluate).

Each query's facts (``q``) go to the searcher; its charges (``crime``) are labels and do not, unless
``--given-charges`` asks for them as the prosecutor's input (the product's recommended mode, whose
numbers are not comparable with facts-only results). The report's setup says which (``charges``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from leian import __version__
from leian.api.commands._common import (
    add_backend_arguments,
    add_ranking_argument,
    progress,
    settings_from_args,
)
from leian.api.opening import open_searcher
from leian.corpora.lecard import load_lecard
from leian.errors import InvalidInput
from leian.retrieval.evaluate import (
    CHARGE_INPUT_DESCRIPTIONS,
    PROTOCOL_METRICS,
    ChargeInput,
    EvalReport,
    Protocol,
    collect_runs,
    evaluate_split,
    parse_protocols,
    read_trec_run,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_backend_arguments(p)
    p.add_argument(
        "--run",
        metavar="FILE",
        help="score a TREC run file instead of searching (qid Q0 docid rank score tag; "
        "A and B restrict it to the candidates, C drops the query's own judgment)",
    )
    p.add_argument(
        "--data", required=True, help="LeCaRD folder with queries/qrels/pools.{split}.* (e.g. data/lecard)"
    )
    p.add_argument("--split", default="dev", help="which files to read: *.{split}.* (default: dev)")
    p.add_argument("--protocols", default="A,B,C", help="comma-separated, of A, B, C (default: A,B,C)")
    p.add_argument(
        "--given-charges",
        action="store_true",
        help="give the searcher each query's labelled charges (crime), as a prosecutor gives the "
        "suspected 罪名: the product's recommended mode, not comparable with facts-only results "
        "(default: facts only, charges predicted)",
    )
    p.add_argument("--per-query", action="store_true", help="also print every query's numbers")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--model", help="embedding model name or directory (default: the index's model)")
    add_ranking_argument(p)
    p.add_argument("--limit", type=int, help="only the first N queries (a quick check; not comparable)")


def run(args: argparse.Namespace) -> int:
    protocols = parse_protocols(args.protocols)
    settings = settings_from_args(args)
    if bool(args.run) == bool(settings.index):
        raise InvalidInput(
            "give either --index (search it) or --run FILE (score a saved run), not both or neither"
        )
    if args.given_charges and args.run:
        raise InvalidInput(
            "--given-charges decides what the searcher is sent; a --run file was searched already: "
            "drop one of them"
        )
    charges = ChargeInput.GIVEN if args.given_charges else ChargeInput.PREDICTED
    split = load_lecard(args.data, args.split)  # read the labels before paying for a model load
    if args.limit is not None:
        split = split.head(args.limit)
    t0 = time.perf_counter()
    if args.run:
        run_file = read_trec_run(args.run)
        absent = [qid for qid in split.query_ids() if qid not in run_file]
        if absent:
            print(
                f"leian eval: note: {args.run} has no results for {len(absent)} of the {len(split.queries)} "
                f"queries (e.g. {', '.join(absent[:3])}); they score 0",
                file=sys.stderr,
            )
        runs = dict.fromkeys(protocols, run_file)
        source, used = {"run": args.run}, {}
    else:
        searcher = open_searcher(settings, model=args.model)
        bar = progress(
            len(split.queries), f"eval {'/'.join(protocols)}", unit="query", enabled=settings.progress
        )
        with bar as advance:
            runs = collect_runs(searcher.rank, split, protocols, advance, charges=charges)
        source = {
            "index": settings.index,
            "backend": settings.backend.value,
            "config": " ".join(args.config) or "default",
            "charges": charges.value,  # what the searcher was sent: keep the two modes apart
        }
        used = searcher.config.model_dump()
    seconds = time.perf_counter() - t0
    report = EvalReport(
        split=split.name,
        data_dir=split.data_dir,
        n_queries=len(split.queries),
        setup={
            "leian": __version__,
            **source,
            "seconds": round(seconds, 1),
            "ms_per_query_per_protocol": round(
                1000 * seconds / max(1, len(split.queries) * len(protocols)), 1
            ),
        },
        config=used,
        results=evaluate_split(split, runs, per_query=args.per_query),
    )
    if args.format == "json":
        sys.stdout.write(report.model_dump_json(indent=2, exclude_none=True) + "\n")
    else:
        types = {q.id: q.query_type for q in split.queries}
        write_table(report, sys.stdout, types if args.per_query else None)
    return 0


def write_table(report: EvalReport, out: TextIO, query_types: dict[str, str] | None = None) -> None:
    """The summary (one row per protocol) and, given ``query_types``, one row per query."""
    setup = report.setup
    what = (
        f"run {setup['run']}"
        if "run" in setup
        else f"index {setup.get('index')} ({setup.get('backend')}); config {setup.get('config')}"
    )
    if "charges" in setup:
        what += f"; charges {setup['charges']}: {CHARGE_INPUT_DESCRIPTIONS[ChargeInput(setup['charges'])]}"
    out.write(
        f"LeCaRD {report.split}: {report.n_queries} queries ({report.data_dir}); {what}; {setup.get('seconds')} s\n"
    )
    columns = list(dict.fromkeys(m for p in Protocol for m in PROTOCOL_METRICS[p]))
    out.write(f"{'protocol':<9}" + "".join(f"{c:>11}" for c in columns) + "  what\n")
    for r in report.results:
        cells = "".join(f"{r.metrics[c]:>11.4f}" if c in r.metrics else f"{'-':>11}" for c in columns)
        out.write(f"{r.protocol.value:<9}{cells}  {r.description}\n")
    for r in report.results:
        for qtype, means in (r.by_query_type or {}).items():
            cells = "".join(f"{means[c]:>11.4f}" if c in means else f"{'-':>11}" for c in columns)
            out.write(f"{'':<3}{r.protocol.value:<6}{cells}  {qtype} queries only (n={int(means['n'])})\n")
    if query_types is None:
        return
    heads = [(r, m) for r in report.results for m in PROTOCOL_METRICS[r.protocol]]
    out.write(
        "\n" + f"{'query':<8}{'type':<15}" + "".join(f"{f'{r.protocol.value}.{m}':>13}" for r, m in heads)
    )
    out.write("\n")
    for qid, qtype in query_types.items():
        cells = "".join(f"{r.per_query[qid][m]:>13.4f}" for r, m in heads)
        out.write(f"{qid:<8}{qtype:<15}{cells}\n")
