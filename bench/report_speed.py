"""How long a 类案检索报告 takes: building it (one search + statistics) and rendering it in
each format, plus the size of each file. Also what the sentencing figures rest on (n per report).

    python bench/report_speed.py --index DIR --queries FILE.jsonl [--limit 10] [--top 10] [--stats-k 50]

``--queries`` is a JSONL file of {"id", "q"[, "source_doc_id"]} (e.g. the sample's demo queries or
LeCaRD's queries.dev.jsonl). Numbers are printed (median and max per stage), never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from leian.errors import LeianError
from leian.retrieval.backends import BackendKind
from leian.retrieval.models import Query
from leian.retrieval.report import FORMATS, build_report, render, verify
from leian.retrieval.search import open_searcher


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--backend", default=BackendKind.embedded, choices=[k.value for k in BackendKind])
    ap.add_argument("--queries", required=True)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--stats-k", type=int, default=50)
    args = ap.parse_args()

    with open(args.queries, encoding="utf-8") as fh:
        queries = [json.loads(x) for x in fh if x.strip()][: args.limit]
    t = time.perf_counter()
    searcher = open_searcher(args.backend, args.index)
    print(f"open searcher: {time.perf_counter() - t:.2f} s ({searcher.backend.count()} cases)")
    times: dict[str, list[float]] = {k: [] for k in ("build", *FORMATS, "verify_docx")}
    sizes: dict[str, list[int]] = {k: [] for k in FORMATS}
    ns: list[int] = []
    for q in queries:
        exclude = [str(q["source_doc_id"])] if q.get("source_doc_id") else []
        query = Query(facts=q["q"], exclude_ids=exclude)
        t = time.perf_counter()
        rep = build_report(searcher, query, top_k=args.top, stats_k=args.stats_k)
        times["build"].append(time.perf_counter() - t)
        ns.append(rep.sentencing.n_cases if rep.sentencing else 0)
        for fmt in FORMATS:
            t = time.perf_counter()
            data = render(rep, fmt)
            times[fmt].append(time.perf_counter() - t)
            sizes[fmt].append(len(data))
            if fmt == "docx":
                t = time.perf_counter()
                ok = verify(data).ok
                times["verify_docx"].append(time.perf_counter() - t)
                if not ok:
                    print(f"query {q.get('id')}: a fresh DOCX did not verify", file=sys.stderr)
    searcher.close()
    print(f"{len(queries)} reports, top {args.top}, stats from up to {args.stats_k} same-charge cases")
    print(f"{'stage':<12} {'median ms':>10} {'max ms':>10} {'median KiB':>11}")
    for k, v in times.items():
        size = f"{statistics.median(sizes[k]) / 1024:>11.1f}" if k in sizes else ""
        print(f"{k:<12} {1000 * statistics.median(v):>10.1f} {1000 * max(v):>10.1f} {size}")
    print(f"comparable cases per report: median {statistics.median(ns)}, min {min(ns)}, max {max(ns)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LeianError as e:
        print(f"report_speed: error: {e.message}", file=sys.stderr)
        sys.exit(1)
