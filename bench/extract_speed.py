"""Judgments per second: extraction alone, and extraction + jieba tokenisation, on one core.

    python bench/extract_speed.py [--limit 2000] [--docs PATH]

The process pins itself to one CPU (``os.sched_setaffinity``) when the OS allows it and says so;
otherwise the figures are wall time on a shared machine; CPU time (``time.process_time``) is printed
too, as the throughput of one free core. Texts are loaded first (not timed). Three
passes over the same judgments: ``extract`` only; ``extract`` + tokenising the full text (what a
full-text BM25 index does); ``extract`` + tokenising the facts section only. Target: >= 300
judgments/s for extraction + tokenisation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lecard_docs import DEFAULT, lecard_records  # noqa: E402

from leian.indexer.extract import extract  # noqa: E402
from leian.indexer.tokenize import Tokenizer  # noqa: E402


def _pin() -> str:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return f"pinned to CPU {sorted(os.sched_getaffinity(0))[0]}"
    except (AttributeError, OSError):
        return "not pinned: wall time on a shared machine"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=2000, help="judgments to time (default 2000)")
    args = ap.parse_args()
    pinned = _pin()
    records = list(lecard_records(args.docs, args.limit))
    chars = sum(len(r.text) for r in records)
    tok = Tokenizer()
    tok.tokenize("预热：被告人张某犯盗窃罪")  # load the dictionary outside the timing

    def timed(fn) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process): on a shared machine the CPU time is the
        throughput one free core would give."""
        w0, c0 = time.perf_counter(), time.process_time()
        for r in records:
            fn(r)
        return time.perf_counter() - w0, time.process_time() - c0

    t_tok = timed(lambda r: tok.tokenize(r.text))
    t_ext = timed(extract)
    t_full = timed(lambda r: tok.tokenize(extract(r).text))
    t_facts = timed(lambda r: tok.tokenize(extract(r).sections.facts))
    n = len(records)
    print(f"{n} LeCaRD judgments, mean {chars / n:,.0f} characters; tokenizer engine {tok.engine}; {pinned}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'pass':36s} {'judg/s wall':>12s} {'judg/s CPU':>12s} {'ms CPU/judg':>12s}")
    for name, (w, c) in (
        ("tokenise full text only (reference)", t_tok),
        ("extract", t_ext),
        ("extract + tokenise full text", t_full),
        ("extract + tokenise facts section", t_facts),
    ):
        print(f"{name:36s} {n / w:12.0f} {n / c:12.0f} {1000 * c / n:12.2f}")
    # per-judgment latency of extraction alone, to show the tail (long judgments)
    lat = []
    for r in records[:500]:
        t0 = time.perf_counter()
        extract(r)
        lat.append(1000 * (time.perf_counter() - t0))
    lat.sort()
    print(
        f"extract latency over {len(lat)}: median {statistics.median(lat):.2f} ms, "
        f"p99 {lat[int(0.99 * (len(lat) - 1))]:.2f} ms, max {lat[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
