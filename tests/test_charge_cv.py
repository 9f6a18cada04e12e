"""bench/charge_cv.py's cross-validation: charges learned from the other folds, only labelled judgments scored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def charge_cv():
    spec = importlib.util.spec_from_file_location("charge_cv", ROOT / "bench" / "charge_cv.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHARGES = ["盗窃罪", "诈骗罪", "抢劫罪", "故意伤害罪"]


def test_a_charge_its_words_tell_is_learned_from_the_other_folds(charge_cv):
    rng = np.random.default_rng(0)
    cases = []
    for i in range(120):
        k = i % 4
        cases.append(([f"signal{k}"] * 3 + [f"noise{j}" for j in rng.integers(0, 30, 5)], [CHARGES[k]]))
    [(top1, top3, fit_s)] = charge_cv.cross_validate(cases, cs=[4.0], folds=4, seed=0)
    assert top1 == 1.0 and top3 == 1.0
    assert fit_s >= 0


def test_judgments_without_a_charge_train_as_negatives_and_are_not_scored(charge_cv):
    rng = np.random.default_rng(1)
    cases = [
        ([f"signal{i % 4}"] * 3 + [f"noise{j}" for j in rng.integers(0, 30, 5)], [CHARGES[i % 4]])
        for i in range(80)
    ]
    cases += [([f"noise{j}" for j in rng.integers(0, 30, 5)], []) for _ in range(40)]
    [(top1, top3, _)] = charge_cv.cross_validate(cases, cs=[4.0], folds=4, seed=0)
    assert top1 == 1.0 and top3 == 1.0  # an unlabelled judgment counted as a miss would lower both
