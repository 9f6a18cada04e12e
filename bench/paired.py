"""Is one LeCaRD run better than another, or is the difference noise? Paired over the queries (prints numbers).

    leian eval --index IDX --data ../shared/data/lecard --per-query --format json > first.json
    LEIAN_QUERY_PRECISION=float32 leian eval … --per-query --format json > second.json
    python bench/paired.py first.json second.json [--samples 10000] [--seed 0]

The second run may differ in anything: an environment setting as above, ``--config KEY=VALUE``,
another index or model. For each protocol and metric both files hold, it prints the two means, the
mean of the per-query differences (second − first), the 95% percentile interval of that mean when
the queries are resampled with replacement, and how many queries went up and down. An interval that
excludes zero says the difference would most likely survive another draw of queries like these; it
says nothing about queries unlike them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config_cv import bootstrap_interval  # noqa: E402


def per_query(path: Path) -> dict[tuple[str, str], dict[str, float]]:
    """(protocol, metric) → {query id: value}, from ``leian eval --per-query --format json``."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        out: dict[tuple[str, str], dict[str, float]] = {}
        for result in report["results"]:
            for qid, metrics in result["per_query"].items():
                for metric, value in metrics.items():
                    out.setdefault((result["protocol"], metric), {})[qid] = float(value)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(
            f"paired: {path}: not the output of `leian eval --per-query --format json` ({type(e).__name__}: {e})"
        ) from e
    if not out:
        raise SystemExit(f"paired: {path} has no per-query numbers (run `leian eval` with --per-query)")
    return out


def compare(first: dict, second: dict, samples: int, seed: int) -> list[dict]:
    """One row per (protocol, metric) in both runs; the runs must cover the same queries."""
    rows = []
    for key in sorted(first.keys() & second.keys()):
        a, b = first[key], second[key]
        if a.keys() != b.keys():
            raise SystemExit(
                f"paired: the runs cover different queries for {key[0]} {key[1]} ({len(a)} against {len(b)}): "
                "use the same --split and --limit"
            )
        qids = sorted(a)
        diff = np.array([b[q] - a[q] for q in qids])
        low, high = bootstrap_interval(diff[:, None], samples, seed)[:, 0]
        rows.append({
            "protocol": key[0],
            "metric": key[1],
            "first": float(np.mean([a[q] for q in qids])),
            "second": float(np.mean([b[q] for q in qids])),
            "diff": float(diff.mean()),
            "low": float(low),
            "high": float(high),
            "up": int((diff > 1e-12).sum()),
            "down": int((diff < -1e-12).sum()),
            "queries": len(qids),
        })  # fmt: skip
    if not rows:
        raise SystemExit("paired: the two runs share no protocol and metric")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path, help="`leian eval --per-query --format json` output")
    ap.add_argument("second", type=Path, help="the same for the run compared with it")
    ap.add_argument("--samples", type=int, default=10_000, help="bootstrap resamplings (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.samples < 100:
        ap.error("--samples must be at least 100")
    rows = compare(per_query(args.first), per_query(args.second), args.samples, args.seed)
    print(f"{args.second} against {args.first}: {rows[0]['queries']} queries, "
          f"{args.samples:,} paired resamplings")  # fmt: skip
    print(f"{'':<14}{'first':>8}{'second':>8}{'diff':>9}   95% interval        up  down")
    for r in rows:
        print(
            f"{r['protocol'] + ' ' + r['metric']:<14}{r['first']:>8.4f}{r['second']:>8.4f}{r['diff']:>+9.4f}"
            f"   {r['low']:+.4f}..{r['high']:+.4f}  {r['up']:>4}  {r['down']:>4}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
