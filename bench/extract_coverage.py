"""How often each field is found on all LeCaRD judgments (9,088), plus distributions.

    python bench/extract_coverage.py [--limit N] [--docs PATH] [--misses FIELD]

Coverage is not accuracy (see bench/extract_eval.py for that); it finds failure modes: a field that
is missing in 5% of the corpus points at a pattern the rules do not know. ``--misses FIELD`` prints
the ids and the relevant text of up to 20 judgments where FIELD was not found.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lecard_docs import DEFAULT, lecard_records  # noqa: E402

from leian.indexer.extract import extract  # noqa: E402

FIELDS = (
    "case_number",
    "court",
    "court_level",
    "province",
    "procedure",
    "doc_type",
    "judgment_date",
    "defendants",
    "charges (all defendants)",
    "sentence (all defendants)",
    "statutes",
    "circumstances",
    "amount_yuan",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--misses", default=None, help="print up to 20 judgments where this field is missing")
    args = ap.parse_args()

    found = collections.Counter()
    n_def = collections.Counter()
    kinds = collections.Counter()
    procs = collections.Counter()
    levels = collections.Counter()
    circ = collections.Counter()
    misses: list[tuple[str, str]] = []
    n = 0
    t0 = time.perf_counter()
    for rec in lecard_records(args.docs, args.limit):
        r = extract(rec)
        n += 1
        ds = r.defendants
        have = {
            "case_number": r.case_number,
            "court": r.court,
            "court_level": r.court_level,
            "province": r.province,
            "procedure": r.procedure,
            "doc_type": r.doc_type,
            "judgment_date": r.judgment_date,
            "defendants": ds,
            "charges (all defendants)": ds and all(d.charges for d in ds),
            "sentence (all defendants)": ds and all(d.sentence and d.sentence.kind for d in ds),
            "statutes": r.statutes,
            "circumstances": r.circumstances,
            "amount_yuan": r.amount_yuan,
        }
        for k, v in have.items():
            if v:
                found[k] += 1
            elif k == args.misses and len(misses) < 20:
                misses.append((r.id, r.text[:160] + " … " + r.sections.judgment[:300]))
        n_def[min(len(ds), 5)] += 1
        for d in ds:
            kinds[d.sentence.kind if d.sentence else None] += 1
            circ.update(d.circumstances)
        procs[r.procedure] += 1
        levels[r.court_level] += 1
    dt = time.perf_counter() - t0

    print(f"LeCaRD judgments: {n}   ({dt:.1f} s, {n / dt:.0f} judgments/s wall, extraction only)")
    print(f"\n{'field':28s} {'found':>7s} {'share':>7s}")
    for k in FIELDS:
        print(f"{k:28s} {found[k]:7d} {found[k] / max(n, 1):7.1%}")
    print("\ndefendants per judgment:", {("5+" if k == 5 else k): v for k, v in sorted(n_def.items())})
    print("procedure:", dict(procs.most_common()))
    print("court level:", dict(levels.most_common()))
    print("sentence kinds (per defendant):", dict(kinds.most_common()))
    print("circumstances (per defendant):", dict(circ.most_common()))
    if misses:
        print(f"\nmissing {args.misses}:")
        for i, t in misses:
            print(f"  [{i}] {t}")


if __name__ == "__main__":
    main()
