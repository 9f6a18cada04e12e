"""`leian batch CASES.jsonl --index DIR --out DIR`: one report per case, resumable."""

from __future__ import annotations

import argparse
import sys

from leian.api.commands._common import add_backend_arguments, add_ranking_argument, settings_from_args
from leian.api.opening import open_searcher
from leian.errors import InvalidInput
from leian.retrieval.batch import BatchRunner, parse_formats, read_cases
from leian.retrieval.report import FORMATS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cases", help="JSONL: one case per line, {id, facts (or q), charges?, proposed_sentence?}")
    add_backend_arguments(p)
    p.add_argument("--out", required=True, help="output directory (rerun with the same one to resume)")
    p.add_argument("--formats", default="json,md,docx", help=f"comma-separated: {','.join(FORMATS)}")
    p.add_argument("--top-k", type=int, default=10, help="similar cases listed per report")
    p.add_argument("--stats-k", type=int, default=50, help="similar cases used for the sentencing picture")
    p.add_argument("--limit", type=int, help="stop after this many cases (the rest on the next run)")
    p.add_argument("--requester-name", help="检索主体: who runs the retrieval")
    p.add_argument("--requester-org", help="检索主体: their organisation")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_ranking_argument(p)


def run(args: argparse.Namespace) -> int:
    formats = parse_formats(args.formats)
    if args.top_k < 1 or args.stats_k < 1 or (args.limit is not None and args.limit < 0):
        raise InvalidInput("--top-k and --stats-k must be at least 1, --limit at least 0")
    cases, problems = read_cases(args.cases)
    for p in problems:
        print(f"leian batch: skipped {p.error}", file=sys.stderr)
    if not cases:
        raise InvalidInput(f"{args.cases}: no usable case (each line needs an id and facts)")
    requester = None
    if args.requester_name or args.requester_org:
        requester = {"name": args.requester_name, "organisation": args.requester_org}
    settings = settings_from_args(args)
    searcher = open_searcher(settings)
    try:
        runner = BatchRunner(
            searcher, args.out, formats=formats, top_k=args.top_k, stats_k=args.stats_k, requester=requester
        )
        summary = runner.run(
            cases, problems, limit=args.limit, progress_bar=settings.progress and not args.no_progress
        )
    finally:
        searcher.close()
    print(
        f"{summary.ok}/{summary.total} reports in {summary.out_dir} ({summary.written_now} new, "
        f"{summary.resumed} already done, {summary.failed} failed) in {summary.seconds:.1f}s; "
        f"summary: {summary.out_dir}/summary.csv",
        file=sys.stderr,
    )
    for case_id, err in summary.errors.items():
        print(f"leian batch: {case_id}: {err}", file=sys.stderr)
    # Exit 1 when a case failed, so scripts notice; the finished reports are kept either way.
    return 1 if summary.failed else 0
