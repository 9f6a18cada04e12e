"""`leian search`: the most similar decided cases for new facts (table, JSON or a TREC run)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from typing import NamedTuple, get_args

from leian.api.commands._common import (
    add_backend_arguments,
    add_ranking_argument,
    filters_from_args,
    progress,
    settings_from_args,
)
from leian.api.opening import open_searcher
from leian.corpora.record import TIERS, CourtLevel
from leian.errors import CorpusReadError, InvalidInput, validation_message
from leian.retrieval.models import MAX_TOP_K, Query


def add_arguments(p: argparse.ArgumentParser) -> None:
    q = p.add_mutually_exclusive_group(required=True)
    q.add_argument("--query", help="the facts of the new case")
    q.add_argument("--queries", help="JSONL file: one {id, q[, source_doc_id, charges]} per line")
    add_backend_arguments(p)
    p.add_argument(
        "--top", type=int, default=None, help="number of cases (default 10; trec: every case in the index)"
    )
    p.add_argument("--format", choices=["table", "json", "trec"], default="table")
    p.add_argument("--charges", nargs="+", help="the new case's charges (default: predicted from the facts)")
    p.add_argument("--court-level", nargs="+", choices=get_args(CourtLevel))
    p.add_argument("--province", nargs="+")
    p.add_argument("--year-from", type=int)
    p.add_argument("--year-to", type=int)
    p.add_argument("--tier", nargs="+", choices=TIERS)
    p.add_argument(
        "--charge-filter", nargs="+", metavar="CHARGE", help="only cases with one of these charges"
    )
    p.add_argument("--model", help="embedding model name or directory (default: the index's model)")
    add_ranking_argument(p)
    p.add_argument("--run-tag", default="leian", help="trec: the run tag column")


class _Asked(NamedTuple):
    id: str
    query: Query
    where: str  # "FILE:LINE" of a --queries line; "" for --query


def _queries(args, filters) -> list[_Asked]:
    """--query, or every line of --queries, as checked queries. A bad line is an error naming it
    before anything is searched: a batch never stops halfway, and a run never silently lacks a query."""
    top_k = args.top or 10
    if args.query is not None:
        return [_Asked("q", Query(facts=args.query, charges=args.charges, filters=filters, top_k=top_k), "")]
    out = []
    first_line: dict[str, int] = {}  # a run holds one ranking per query id: a repeated id would merge two
    try:
        with open(args.queries, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{args.queries}:{n}"
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict) or "q" not in obj:
                        raise InvalidInput("not a JSON object with 'id' and 'q'")
                    own = obj.get("source_doc_id")
                    query = Query(
                        facts=str(obj["q"]),
                        charges=args.charges or obj.get("charges"),
                        filters=filters,
                        top_k=top_k,
                        exclude_ids=[str(own)] if own not in (None, "") else [],
                    )
                except InvalidInput as e:
                    raise InvalidInput(f"{where}: {e.message}") from None
                except json.JSONDecodeError as e:
                    raise InvalidInput(f"{where}: not a line of JSON ({e.msg})") from None
                except ValueError as e:  # a field of the wrong type
                    raise InvalidInput(f"{where}: {validation_message(e)}") from None
                qid = str(obj.get("id", n))
                if qid in first_line:
                    raise InvalidInput(
                        f"{where}: duplicate query id {qid!r} (first on line {first_line[qid]})"
                    )
                first_line[qid] = n
                out.append(_Asked(qid, query, where))
    except OSError as e:
        raise CorpusReadError(f"cannot read queries: {e.strerror}", args.queries) from None
    if not out:
        raise InvalidInput(f"{args.queries}: no query lines")
    return out


def run(args: argparse.Namespace) -> int:
    filters = filters_from_args(args)
    if args.top is not None and not 1 <= args.top <= MAX_TOP_K:
        raise InvalidInput(f"--top {args.top}: give a number of cases from 1 to {MAX_TOP_K}")
    asked = _queries(args, filters)
    settings = settings_from_args(args)
    searcher = open_searcher(settings, model=args.model)
    for a in asked:
        try:
            searcher.query_terms(a.query.facts)
        except InvalidInput as e:
            raise InvalidInput(f"{a.where}: {e.message}" if a.where else e.message) from None
    whole = args.format == "trec" and args.top is None  # a TREC run for evaluation ranks every case
    out = sys.stdout
    bar = (
        progress(len(asked), "searching", unit="query", enabled=settings.progress)
        if len(asked) > 1
        else nullcontext(lambda n: None)
    )
    with bar as tick:
        for qid, query, _ in asked:
            if args.format == "trec":
                ranked = searcher.rank_all(query) if whole else searcher.rank(query)
                out.writelines(
                    f"{qid} Q0 {cid} {rank} {score:.6f} {args.run_tag}\n"
                    for rank, (cid, score) in enumerate(ranked, 1)
                )
            else:
                res = searcher.search(query)
                if args.format == "json":
                    data = res.model_dump(mode="json", exclude={"hits": {"__all__": {"record"}}})
                    data["query_id"] = qid
                    out.write(json.dumps(data, ensure_ascii=False) + "\n")
                else:
                    _table(qid, res, out)
            tick(1)
    return 0


def _table(qid, res, out) -> None:
    pred = "、".join(f"{c.charge}({c.probability:.2f})" for c in res.charges_predicted) or "—"
    out.write(f"# query {qid}  charges: {'、'.join(res.charges_used) or '—'}  predicted: {pred}\n")
    for h in res.hits:
        s = h.sentence
        sent = ""
        if s and s.kind:
            sent = (
                s.kind
                + (f" {s.months}个月" if s.months else "")
                + (f" 缓{s.probation_months}" if s.probation_months else "")
            )
        out.write(
            f"{h.rank:>3}  {h.score:7.3f}  {h.id:<10} {h.case_number or '':<26} {h.judgment_date or '':<10} "
            f"{'、'.join(h.charges):<16} {sent}\n"
        )
        if h.reasons:
            out.write("       " + "；".join(h.reasons) + "\n")
