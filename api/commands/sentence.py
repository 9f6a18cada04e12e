"""`leian sentence --index DIR --queries FILE.jsonl [--out FILE]`: 量刑测算 for every case of a file.

Each line ``{id, facts (or LeCaRD's q), charges?}`` is searched once, as for a report (charges given,
else those settled on from the facts), and answered by one JSON line::

    {"id", "charges", "months", "low_months", "high_months", "basis", "estimates": [...]}

``months``/``low_months``/``high_months`` are the first charge's median and 80 % interval (null where it
cannot estimate, with the reason in ``basis``); ``estimates`` holds every charge's explained estimate
with the elements and circumstances it rests on (the API's ``ChargeEstimateOut``). A line that cannot
be read is named on stderr and skipped; the command fails only when no line could be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from leian.api.commands._common import (
    add_backend_arguments,
    add_ranking_argument,
    progress,
    settings_from_args,
)
from leian.api.opening import open_searcher
from leian.api.schemas import ChargeEstimateOut, SentencingOut, sentencing_from_run
from leian.errors import DISK_ERRNOS, InvalidInput, OutputWriteFailed
from leian.retrieval.batch import read_cases
from leian.retrieval.models import Query, normalise_province

NAME = "leian sentence"


class SentenceLine(BaseModel):
    """One output line: the first charge's estimate at the top, every charge's in ``estimates``."""

    id: str
    charges: list[str]
    months: float | None
    low_months: float | None = None
    high_months: float | None = None
    basis: str
    estimates: list[ChargeEstimateOut] = Field(default_factory=list)

    @classmethod
    def of(cls, case_id: str, out: SentencingOut) -> SentenceLine:
        if not out.estimates:
            return cls(id=case_id, charges=out.charges, months=None, basis="未能从事实中确定罪名，无法测算。")
        first = out.estimates[0]
        return cls(
            id=case_id,
            charges=out.charges,
            months=first.months,
            low_months=first.low_months,
            high_months=first.high_months,
            basis=first.basis,
            estimates=out.estimates,
        )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queries", required=True, metavar="FILE", help="JSONL: one {id, facts (or q), charges?} per line"
    )
    add_backend_arguments(p)
    p.add_argument("--out", metavar="FILE", help="write the JSON lines here (default: stdout)")
    p.add_argument("--province", help="where the cases are tried: its amount thresholds apply (e.g. 浙江省)")
    p.add_argument("--model", help="embedding model name or directory (default: the index's model)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_ranking_argument(p)


@contextmanager
def _output(path: str | None):
    """stdout, or ``path`` written whole: a temporary file renamed at the end, so an interrupted run
    never leaves a partial file under the final name."""
    if path is None:
        yield sys.stdout
        return
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno in DISK_ERRNOS:
            raise OutputWriteFailed(f"cannot write {path}: {e.strerror}") from None
        raise InvalidInput(f"cannot write {path}: {e.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    province = normalise_province(args.province, "--province") if args.province else None
    cases, problems = read_cases(args.queries)
    for p in problems:
        print(f"{NAME}: skipped {p.id}: {(p.error or '').replace('Value error, ', '')}", file=sys.stderr)
    if not cases:
        raise InvalidInput(f"{args.queries}: no usable case (each line needs an id and facts)")
    settings = settings_from_args(args)
    searcher = open_searcher(settings, model=args.model)
    estimated = unestimated = 0
    try:
        bar = progress(
            len(cases), "estimating", unit="case", enabled=settings.progress and not args.no_progress
        )
        with _output(args.out) as out, bar as tick:
            for case in cases:
                try:
                    query = Query(facts=case.facts, charges=case.charges, exclude_ids=case.exclude_ids)
                    run_ = searcher.run(query, stats_k=0)
                except InvalidInput as e:  # facts with nothing searchable, an unknown 罪名: this case only
                    print(f"{NAME}: case {case.id}: {e.message}", file=sys.stderr)
                    line = SentenceLine(id=case.id, charges=case.charges or [], months=None,
                                        basis=f"无法测算：{e.message}")  # fmt: skip
                else:
                    given = bool(case.charges)
                    line = SentenceLine.of(
                        case.id, sentencing_from_run(searcher.sentencing_model, run_, province, given)
                    )
                if line.months is None:
                    unestimated += 1
                else:
                    estimated += 1
                out.write(json.dumps(line.model_dump(mode="json"), ensure_ascii=False) + "\n")
                tick(1)
    finally:
        searcher.close()
    print(
        f"{NAME}: {len(cases)} cases: {estimated} estimated, {unestimated} without an estimate (see basis)"
        + (f", {len(problems)} lines skipped" if problems else "")
        + (f"; wrote {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0
