"""`leian report`: a 类案检索报告 for one new case, as JSON, Markdown, HTML or DOCX.

    leian report --index DIR --facts-file facts.txt --proposed "有期徒刑1年6个月，缓刑2年，罚金5000元" \\
        --requester-org "某某区人民检察院" --requester-name "张检察官" --out report.docx

The proposed sentence is written as a judgment writes it (``--proposed``), or field by field
(``--proposed-kind 有期徒刑 --proposed-months 18 --proposed-probation 24 --proposed-fine 5000``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import get_args

from leian.api.commands._common import (
    add_backend_arguments,
    add_ranking_argument,
    filters_from_args,
    settings_from_args,
)
from leian.api.opening import open_searcher
from leian.corpora.record import TIERS, CourtLevel, SentenceKind
from leian.corpora.text import normalise_text
from leian.errors import InvalidInput, validation_message
from leian.retrieval.models import Query
from leian.retrieval.report import FORMATS, ReportFormat, Requester, build_report, render
from leian.retrieval.sentencing import ProposedSentence, parse_proposed


def add_arguments(p: argparse.ArgumentParser) -> None:
    q = p.add_mutually_exclusive_group(required=True)
    q.add_argument("--facts", help="the facts of the new case")
    q.add_argument("--facts-file", metavar="FILE", help="a UTF-8 text file with the facts ('-' = stdin)")
    add_backend_arguments(p)
    p.add_argument("--charges", nargs="+", help="the new case's charges (default: predicted from the facts)")
    f = p.add_argument_group("filters")
    f.add_argument("--court-level", nargs="+", choices=get_args(CourtLevel))
    f.add_argument("--province", nargs="+")
    f.add_argument("--year-from", type=int)
    f.add_argument("--year-to", type=int)
    f.add_argument("--tier", nargs="+", choices=TIERS)
    f.add_argument("--exclude-id", nargs="+", default=[], metavar="ID", help="never return these cases")
    s = p.add_argument_group("proposed sentence (量刑建议) to check against the similar cases")
    s.add_argument("--proposed", metavar="TEXT", help='e.g. "有期徒刑1年6个月，缓刑2年，罚金5000元"')
    s.add_argument("--proposed-kind", choices=get_args(SentenceKind))
    s.add_argument("--proposed-months", type=int, metavar="N", help="term in months (有期徒刑/拘役/管制)")
    s.add_argument("--proposed-probation", type=int, metavar="N", help="缓刑 in months")
    s.add_argument("--proposed-fine", type=float, metavar="YUAN", help="罚金 in yuan")
    r = p.add_argument_group("report")
    r.add_argument("--requester-name", help="检索主体: the person")
    r.add_argument("--requester-org", help="检索主体: the organisation (院/检察院)")
    r.add_argument("--top", type=int, default=10, help="similar cases listed (default 10)")
    r.add_argument(
        "--stats-k", type=int, default=50, help="same-charge cases the sentencing figures use (default 50)"
    )
    r.add_argument("--format", choices=FORMATS, help="default: from --out's suffix, else md")
    r.add_argument("--out", metavar="FILE", help="write here (default: stdout; docx needs --out)")
    p.add_argument("--model", help="embedding model name or directory (default: the index's model)")
    add_ranking_argument(p)


def _facts(args) -> str:
    if args.facts is not None:
        return args.facts
    try:
        if args.facts_file == "-":
            return sys.stdin.read()
        return Path(args.facts_file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(
            f"cannot read --facts-file {args.facts_file}: {getattr(e, 'strerror', None) or e}"
        ) from None


def _proposed(args):
    fields = (args.proposed_kind, args.proposed_months, args.proposed_probation, args.proposed_fine)
    if args.proposed and any(v is not None for v in fields):
        raise InvalidInput(
            "give the proposed sentence either as --proposed TEXT or with --proposed-kind/-months/…, not both"
        )
    if args.proposed:
        return parse_proposed(args.proposed)
    if all(v is None for v in fields):
        return None
    if args.proposed_kind is None:
        raise InvalidInput("--proposed-months/--proposed-probation/--proposed-fine need --proposed-kind")
    try:
        return ProposedSentence(
            kind=args.proposed_kind,
            months=args.proposed_months,
            probation_months=args.proposed_probation,
            fine_yuan=args.proposed_fine,
        )
    except ValueError as e:  # pydantic range errors (e.g. months 0)
        raise InvalidInput(f"bad proposed sentence: {str(e).splitlines()[-1].strip()}") from None


def _format(args) -> ReportFormat:
    if args.format:
        fmt = ReportFormat(args.format)
    elif args.out:
        fmt = ReportFormat.from_suffix(Path(args.out).suffix)
        if fmt is None:
            raise InvalidInput(
                f"cannot tell the format from {args.out!r}: add --format ({', '.join(FORMATS)})"
            )
    else:
        fmt = ReportFormat.MD
    if fmt is ReportFormat.DOCX and not args.out:
        raise InvalidInput("a DOCX report is binary: add --out FILE.docx")
    return fmt


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
    proposed = _proposed(args)
    filters = filters_from_args(args)
    try:
        requester = Requester(
            name=args.requester_name and normalise_text(args.requester_name),
            organisation=args.requester_org and normalise_text(args.requester_org),
        )
    except ValueError as e:
        raise InvalidInput(f"bad option: {validation_message(e)}") from None
    if not 1 <= args.top <= 1000 or not 0 <= args.stats_k <= 1000:
        raise InvalidInput(f"--top must be 1..1000 and --stats-k 0..1000 (got {args.top}, {args.stats_k})")
    query = Query(
        facts=_facts(args), charges=args.charges, filters=filters, top_k=args.top, exclude_ids=args.exclude_id
    )
    searcher = open_searcher(settings_from_args(args), model=args.model)
    try:
        report = build_report(searcher, query, requester, proposed, top_k=args.top, stats_k=args.stats_k)
    finally:
        searcher.close()
    data = render(report, fmt)
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, out)  # never leave a half-written report under the final name
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise InvalidInput(f"cannot write {args.out}: {e.strerror}") from None
        print(f"wrote {out} ({fmt}): report {report.id} sha256 {report.sha256}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    checks = [(p.charge, p.proposed) for p in report.pictures if p.proposed is not None]
    for charge, check in checks:
        if check.conflict:
            marks = ("【超出法定刑幅度】", "【冲突】")
            why = [
                r.removeprefix(marks[0]).removeprefix(marks[1]) for r in check.reasons if r.startswith(marks)
            ]
            where = f"（{charge}）" if len(checks) > 1 else ""
            print(f"{check.status}{where}: " + " ".join(why), file=sys.stderr)
    return 0
