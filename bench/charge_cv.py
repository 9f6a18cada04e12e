#!/usr/bin/env python3
"""How well the charge model predicts a judgment's charges from its facts, by cross-validation on an index.

    python bench/charge_cv.py --index DIR [--c 0.5,1,2,4,8] [--folds 5] [--lecard ../shared/data/lecard]

The index's own judgments are split into K folds (seeded); for each SVM regularisation ``C`` a model is
trained on K−1 folds exactly as a build trains it (``ChargeModel.train_counts``: same tokens, same
labels — the charge groups extracted from each judgment — same negative sampling) and asked for the
charges of every judgment of the held-out fold from its facts. It prints top-1 (the likeliest charge
is one of the judgment's) and top-3 accuracy, and the fit time. The labels come from the corpus, not
from any benchmark's queries, so choosing ``C`` here is not tuning to LeCaRD. ``--lecard`` also prints
the top-1 accuracy on that split's queries against their ``crime`` labels (a model trained on the whole
index, as a search uses it), for comparison only. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from leian.corpora.dictionaries import charge_group
from leian.indexer.charge_model import ChargeModel
from leian.indexer.postings import TermCounts
from leian.retrieval.backends import BackendKind, open_backend


def _counts(cases: Iterable[tuple[list[str], list[str]]]) -> TermCounts:
    counts = TermCounts()
    for toks, labels in cases:
        counts.add(toks, labels)
    return counts


def cross_validate(
    cases: Sequence[tuple[list[str], list[str]]], cs: Sequence[float], folds: int = 5, seed: int = 0
) -> Iterator[tuple[float, float, float]]:
    """For each SVM C in ``cs``, as it is done: (top-1, top-3 accuracy, mean fit seconds) over the
    labelled cases, each predicted by a model trained on the other folds only. ``cases``: (tokens,
    charge groups) per judgment. Each fold's training counts are built once for every C."""
    fold = np.random.default_rng(seed).integers(0, folds, len(cases))
    if not any(labels for _, labels in cases):
        raise SystemExit("charge_cv: no judgment in the index has a charge to predict")
    training = [_counts(case for case, k in zip(cases, fold, strict=True) if k != f) for f in range(folds)]
    for c in cs:
        top1 = top3 = n = 0
        fit_s = 0.0
        for f, counts in enumerate(training):
            t0 = time.perf_counter()
            model = ChargeModel.train_counts(counts, c=c)
            fit_s += time.perf_counter() - t0
            if model is None:
                raise SystemExit(
                    f"charge_cv: too few judgments with a charge to train on {folds - 1} of {folds} folds"
                )
            for (toks, labels), k in zip(cases, fold, strict=True):
                if k == f and labels:
                    best = [lab for lab, _ in model.predict(toks, top=3)]
                    top1 += best[0] in labels
                    top3 += bool(set(best) & set(labels))
                    n += 1
        yield top1 / n, top3 / n, fit_s / folds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, help="an embedded index directory")
    ap.add_argument("--c", default="0.5,1,2,4,8", help="comma-separated SVM C values")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lecard", help="a LeCaRD folder: also score its queries (split --split)")
    ap.add_argument("--split", default="dev")
    args = ap.parse_args(argv)
    cs = [float(x) for x in args.c.split(",")]

    cases = [
        (case.tokens, case.charge_groups)
        for case in open_backend(BackendKind.embedded, index=args.index).iter_indexed()
    ]
    labelled = sum(1 for _, labels in cases if labels)
    print(
        f"{len(cases)} judgments in {args.index}, {labelled} with a charge; {args.folds}-fold cross-validation"
    )
    queries = None
    if args.lecard:
        from leian.corpora.lecard import load_lecard
        from leian.indexer.tokenize import Tokenizer

        split = load_lecard(args.lecard, args.split)
        tok = Tokenizer()
        queries = [(tok.tokenize(q.q), {charge_group(c) for c in q.crime}) for q in split.queries]

    head = f"{'C':>6} {'top-1':>8} {'top-3':>8} {'fit s':>7}" + (f" {'queries top-1':>14}" if queries else "")
    print(head)
    everything = _counts(cases) if queries else None
    for c, (top1, top3, fit_s) in zip(cs, cross_validate(cases, cs, args.folds, args.seed), strict=True):
        line = f"{c:>6g} {top1:>8.4f} {top3:>8.4f} {fit_s:>7.1f}"
        if queries:
            model = ChargeModel.train_counts(everything, c=c)
            hits = sum(model.predict(toks, top=1)[0][0] in truth for toks, truth in queries)
            line += f" {hits:>9}/{len(queries)}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
