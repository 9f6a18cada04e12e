"""bench/config_cv.py's cross-validation: it picks on training folds and scores held-out folds only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from leian.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cv():
    sys.path.insert(0, str(ROOT / "bench"))  # config_cv imports its sibling ablation.py
    try:
        spec = importlib.util.spec_from_file_location("config_cv", ROOT / "bench" / "config_cv.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return mod


def test_a_dominant_configuration_is_always_chosen(cv):
    rng = np.random.default_rng(1)
    scores = rng.uniform(0.4, 0.6, size=(3, 40, 5))
    scores[2] += 0.3
    held_out, chosen = cv.cross_validate(scores, 4, folds=5, repeats=3, seed=0)
    assert chosen.tolist() == [0, 0, 15]
    assert np.allclose(held_out, scores[2].mean(axis=0))


def test_a_configuration_good_only_on_its_own_queries_does_not_carry_over(cv):
    # config 1 is perfect on query 0 and bad elsewhere; in-sample it wins only because of query 0
    scores = np.full((2, 10, 1), 0.5)
    scores[1, :, 0] = 0.45
    scores[1, 0, 0] = 1.0
    assert scores[1].mean() > scores[0].mean()
    held_out, chosen = cv.cross_validate(scores, 1, folds=10, repeats=1, seed=0)
    # left out, query 0 is scored by config 0 (chosen without it); every other fold picks config 1
    assert chosen.tolist() == [1, 9]
    assert held_out[0] == pytest.approx((0.5 + 9 * 0.45) / 10)


def test_bad_folds_and_grids_are_refused(cv):
    with pytest.raises(InvalidInput):
        cv.cross_validate(np.zeros((2, 3, 1)), 1, folds=4, repeats=1, seed=0)
    with pytest.raises(InvalidInput):
        cv.parse_grid(["no_such_knob=1,2"])
    with pytest.raises(InvalidInput):
        cv.grid_configs(cv.parse_grid(["w_charge=-x"]))
