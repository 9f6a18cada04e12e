"""Choosing among finished runs (another model, index or setting), cross-validated over the queries.

    leian eval --index IDX1 --data ../shared/data/lecard --per-query --format json > first.json
    leian eval --index IDX2 --data ../shared/data/lecard --per-query --format json > second.json
    python bench/choice_cv.py first.json second.json [...] [--folds 5] [--repeats 20] [--seed 0]

What ``config_cv.py`` does for a grid of ranking settings, for runs that cannot share one searcher
(two embedding models need two indexes): on each training part of repeated K-fold cross-validation the
run with the best mean of the four headline numbers is chosen and scored on the held-out part. It
prints each run's in-sample means, the cross-validated means of choosing that way, and how often each
run was chosen. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from ablation import HEADLINE  # noqa: E402
from config_cv import TARGETS, cross_validate  # noqa: E402
from paired import per_query  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="`leian eval --per-query --format json` outputs")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if len(a.runs) < 2:
        p.error("give at least two runs to choose among")
    tables = [per_query(path) for path in a.runs]
    keys = [(protocol.value, metric) for _, protocol, metric in HEADLINE]
    qids = sorted(tables[0][keys[0]])
    for path, table in zip(a.runs, tables, strict=True):
        missing = [k for k in keys if sorted(table.get(k, {})) != qids]
        if missing:
            raise SystemExit(
                f"choice_cv: {path} lacks {missing[0]} for the same queries: use the same --split"
            )
    scores = np.array([[[t[k][q] for k in keys] for q in qids] for t in tables])  # [run, query, metric]
    cv, chosen = cross_validate(scores, len(TARGETS), a.folds, a.repeats, a.seed)
    heads = [h for h, _, _ in HEADLINE]
    width = max(len(str(r)) for r in a.runs) + 2
    print(f"{len(qids)} queries; {a.folds}-fold cross-validation × {a.repeats}")
    print(" " * width + "".join(f"{h:>9}" for h in heads) + "   chosen")
    for r, path in enumerate(a.runs):
        share = chosen[r] / chosen.sum()
        print(
            f"{path!s:<{width}}" + "".join(f"{v:9.4f}" for v in scores[r].mean(axis=0)) + f"   {share:6.1%}"
        )
    print(f"{'chosen by the folds':<{width}}" + "".join(f"{v:9.4f}" for v in cv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
