"""bench/sentencing_eval.py: LawBench's score, the grouping that keeps a case's judgments in one fold,
coverage, the baselines, and a small held-out run end to end."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.record import Elements
from leian.indexer.sentencing_model import Observation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def se():
    spec = importlib.util.spec_from_file_location("sentencing_eval", ROOT / "bench" / "sentencing_eval.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


def _obs(case_id: str, defendant: str, months: int = 12, charge: str = "盗窃罪", **kw) -> Observation:
    return Observation(
        charge=charge,
        months=months,
        tier=kw.pop("tier", 1),
        elements=kw.pop("elements", Elements()),
        circumstances=kw.pop("circumstances", []),
        case_id=case_id,
        defendant=defendant,
    )


def test_lawbench_score_by_hand(se):
    ln216 = math.log(216)
    assert se.lawbench_score([12], [12]) == 1.0
    # 12 → 13 and 6 → 9 months: |ln 13 − ln 14| and |ln 7 − ln 10|, averaged
    d = (abs(math.log(13) - math.log(14)) + abs(math.log(7) - math.log(10))) / 2
    assert se.lawbench_score([12, 6], [13, 9]) == pytest.approx((ln216 - d) / ln216)
    assert se.lawbench_score([12, 6], [13, 9]) == pytest.approx(
        0.95993, abs=1e-5
    )  # (5.37528 − 0.21539) / 5.37528
    # an abstention counts ln 216: with one exact answer the score is a half
    assert se.lawbench_score([12, 6], [12, None]) == pytest.approx(0.5)
    assert se.lawbench_score([5], [None]) == 0.0
    assert se.log_distance(0, 215) == pytest.approx(ln216)  # predicted 215 for 0: the cap itself
    assert se.lawbench_score([], []) is None


def test_scores_over_the_answered_and_log_score_over_all(se):
    s = se.scores([10, 20, 30, 40], [12, 14, None, 40])
    assert (s.n, s.answered) == (4, 3)
    assert s.medae == 2 and s.mae == pytest.approx(8 / 3)
    assert s.bias == 0  # errors +2, −6, 0
    assert s.log_score < se.lawbench_score([10, 20, 40], [12, 14, 40])


def test_anonymised_names(se):
    for name in ("张某", "李某某", "王某甲", "×××", "刘X", "陈**", "潘2", "李甲", "王", ""):
        assert se.anonymised(name), name
    for name in ("张三丰", "李伟", "欧阳修", "王甲林"):
        assert not se.anonymised(name), name


def test_groups_merge_codefendants_and_a_shared_real_name_not_anonymised_ones(se):
    obs = [
        _obs("a", "张某"),  # 0: one judgment, two co-defendants
        _obs("a", "李某某"),  # 1
        _obs("b", "刘德明"),  # 2: 一审 …
        _obs("c", "刘德明"),  # 3: … and 二审 of the same man, same charge
        _obs("d", "张某"),  # 4: another 张某 — nobody in particular
        _obs("e", "刘德明", charge="诈骗罪"),  # 5: the same name for another charge
        _obs("f", "王五"),  # 6: joined to c through a co-defendant of c
        _obs("c", "王五"),  # 7
        _obs("g", "李甲"),  # 8
        _obs("h", "李甲"),  # 9: an ordinal pseudonym, not the same person
    ]
    g = se.groups(obs)
    assert g[0] == g[1]
    assert g[2] == g[3] == g[6] == g[7]
    assert g[4] != g[0]
    assert g[5] != g[2]
    assert g[8] != g[9]
    assert len(set(g)) == 6


def test_folds_keep_groups_whole_and_balanced(se):
    group_of = [i // 3 for i in range(300)]  # 100 groups of three
    folds = se.assign_folds(group_of, 5, seed=7)
    for g in range(100):
        assert len({folds[i] for i in range(300) if group_of[i] == g}) == 1
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 3
    assert folds == se.assign_folds(group_of, 5, seed=7)  # seeded


def test_coverage_on_a_toy_set(se):
    actual = [5, 10, 20, 40, 7]
    intervals = [(4, 6), (11, 30), (10, 20), (10, 30), None]
    c = se.coverage(actual, intervals)
    assert c.n == 4
    assert (c.inside, c.below, c.above) == (0.5, 0.25, 0.25)  # 20 on the bound is inside
    assert se.coverage([1], [None]).inside is None


def test_midpoint_of_the_tier_with_an_open_top_at_180_months(se):
    # 盗窃罪: 第一档 三年以下有期徒刑、拘役或者管制; 第三档 十年以上有期徒刑或者无期徒刑
    first = se.midpoint(_obs("a", "甲", tier=1))
    assert first == se.midpoint(_obs("a", "甲", tier=0))  # undecided: the first tier
    assert first == (1 + 36) / 2  # 拘役 from one month to three years
    assert se.midpoint(_obs("a", "甲", tier=3)) == (120 + 180) / 2


def test_as_reported_clips_to_the_tier_as_the_report_does(se):
    q = [0.5, 20.0, 50.0]
    assert se.as_reported(q, _obs("a", "甲", tier=1)) == [1, 20.0, 36]  # 盗窃罪 第一档: 1–36 months
    assert se.as_reported(q, _obs("a", "甲", tier=3)) == [120, 120, 120]  # 十年以上: the floor
    # an open top (无期徒刑) still bounds a fixed term at fifteen years (刑法第四十五条)
    assert se.as_reported([100.0, 200.0, 300.0], _obs("a", "甲", tier=3)) == [120, 180, 180]
    assert se.as_reported(q, _obs("a", "甲", tier=0)) == q  # no tier, no clipping
    # a ground for 减轻处罚 (刑法第六十三条): the floor does not bind, the top does
    assert se.as_reported(q, _obs("a", "甲", tier=1, circumstances=["自首"])) == [0.5, 20.0, 36]
    assert se.as_reported(None, _obs("a", "甲", tier=1)) is None


def test_similar_median_falls_back_to_the_charge_below_five_cases(se):
    training = [_obs(f"t{i}", "x", months=m, tier=2) for i, m in enumerate([30, 36, 40, 48, 60])]
    training += [_obs("u1", "x", months=6, tier=1), _obs("u2", "x", months=8, tier=1)]
    similar = se.SimilarMedian(training)
    assert similar(_obs("q", "y", tier=2)) == 40
    assert similar(_obs("q", "y", tier=1)) == 36  # two cases only: the charge's median
    assert similar(_obs("q", "y", charge="诈骗罪")) is None


def test_a_small_held_out_run_end_to_end(se):
    rng = np.random.default_rng(0)
    obs = []
    for i in range(200):
        charge = "盗窃罪" if i % 2 else "诈骗罪"
        amount = float(rng.uniform(2_000, 200_000))
        confessed = bool(rng.random() < 0.5)
        months = max(
            1, round(math.exp(1.5 + 0.5 * math.log1p(amount / 1000) - 0.3 * confessed + rng.normal(0, 0.2)))
        )
        obs.append(
            _obs(
                f"j{i // 2}",  # co-defendants in pairs
                f"被告{i}" if i % 7 else "张某",
                months=months,
                charge=charge,
                tier=1 if amount < 30_000 else 2,
                elements=Elements(amount_yuan=amount),
                circumstances=["自首"] if confessed else [],
            )
        )
    preds = se.cross_validate(obs, folds=3, seed=1)
    assert sorted(p.index for p in preds) == list(range(200))
    assert all(p.quantiles and p.fit == "pooled" for p in preds)  # 100 a charge: the pooled fit
    assert all(p.reported for p in preds)
    rows = se.summarise(obs, preds, min_test=30)
    by = {r.charge: r for r in rows}
    assert {"盗窃罪", "诈骗罪", "overall", "model answered", "pooled-fit charges"} <= set(by)
    overall = by["overall"]
    assert overall.n == 200 and overall.model.answered == 200
    assert overall.model.log_score > overall.midpoint.log_score  # it learned the amount
    assert 0.5 < overall.coverage.inside <= 1.0
    assert "model answered" in se.render_table(rows)
