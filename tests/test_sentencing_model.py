"""The 量刑测算 model (indexer/sentencing_model) and its explained estimate (retrieval/sentencing/estimate)."""

from __future__ import annotations

import numpy as np
import pytest

from leian.corpora.record import CaseRecord, Defendant, Elements, Sentence
from leian.indexer.sentencing_model import MIN_CASES, SentencingModel, observations, train
from leian.retrieval.sentencing import estimate_sentence


def _theft_observations(n: int = 200, seed: int = 0):
    """Thefts whose term grows with the amount and shrinks by a third with 自首, as courts do."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        amount = float(rng.uniform(3_000, 25_000))
        surrender = i % 2 == 0
        months = 4 + 8 * np.log1p(amount / 1000) / np.log1p(25)
        months *= 0.67 if surrender else 1.0
        months = int(round(months * rng.uniform(0.85, 1.15)))
        rec = CaseRecord(
            id=f"c{i}",
            text="x",
            defendants=[
                Defendant(
                    name=f"张某{i}",
                    charges=["盗窃罪"],
                    sentence=Sentence(kind="有期徒刑", months=max(months, 1)),
                    circumstances=["自首"] if surrender else [],
                    elements=Elements(amount_yuan=amount),
                )
            ],
        )
        out += observations(rec)
    return out


@pytest.fixture(scope="module")
def model() -> SentencingModel:
    m = train(_theft_observations())
    assert m is not None
    return SentencingModel.from_bytes(m.to_bytes())  # what the index stores is what is used


def test_only_one_charge_and_custody_are_learned_from():
    two = CaseRecord(
        id="x",
        text="x",
        defendants=[
            Defendant(name="甲", charges=["盗窃罪", "诈骗罪"], sentence=Sentence(kind="有期徒刑", months=30)),
            Defendant(name="乙", charges=["盗窃罪"], sentence=Sentence(kind="免予刑事处罚")),
            Defendant(name="丙", charges=["盗窃罪"], sentence=Sentence(kind="拘役", months=4)),
        ],
    )
    assert [o.defendant for o in observations(two)] == ["丙"]


def test_the_model_learns_the_amount_and_the_surrender(model):
    assert model.counts == {"盗窃罪": 200} and MIN_CASES <= 200
    lo, mid, hi = model.predict("盗窃罪", 1, Elements(amount_yuan=20_000), [])
    assert lo <= mid <= hi
    small = model.predict("盗窃罪", 1, Elements(amount_yuan=4_000), [])[1]
    assert small < mid
    surrender = model.effect("盗窃罪", "自首")
    assert np.exp(surrender) - 1 == pytest.approx(-0.33, abs=0.08)


def test_the_estimate_explains_itself_and_stays_inside_the_law(model):
    est = estimate_sentence(model, "盗窃罪", Elements(amount_yuan=20_000), ["自首"])
    assert est.months is not None and est.low_months <= est.months <= est.high_months
    # 自首 is a ground for 减轻处罚 (刑法第六十三条): the tier's floor does not bind, its top does
    assert est.statutory_min is None and est.statutory_max == 36 and est.tier_level == 1
    base, surrender = est.lines
    assert base.factor == "基准" and "数额2万元" in base.guidance
    assert surrender.factor == "自首" and surrender.effect_pct < 0
    assert "40%以下" in surrender.guidance and "法发〔2021〕21号" in surrender.guidance
    assert not surrender.note  # −33 % lies inside the guidance's 0 … −40 %
    assert "200件本罪名判决" in est.basis


def test_an_estimate_above_the_tier_is_clipped_and_says_so(model):
    # 数额 in the second tier (3 years or more): the model, fitted on first-tier cases, predicts less
    est = estimate_sentence(model, "盗窃罪", Elements(amount_yuan=150_000), [])
    assert est.tier_level == 2 and est.statutory_min == 36
    assert est.clipped and est.low_months >= 36 and "已限于" in est.basis


@pytest.mark.parametrize(
    ("charge", "why"),
    [("诈骗罪", "少于"), ("醉驾罪", "不是可识别的罪名")],
)
def test_no_number_without_its_basis(model, charge, why):
    est = estimate_sentence(model, charge, Elements(amount_yuan=20_000), [])
    assert est.months is None and why in est.basis


def test_an_index_without_a_model_says_to_rebuild():
    est = estimate_sentence(None, "盗窃罪", Elements(amount_yuan=20_000), [])
    assert est.months is None and "重建索引" in est.basis


def test_a_model_of_another_version_is_refused(model):
    data = model.to_bytes().replace(b"leian.sentencing/3", b"leian.sentencing/0")
    with pytest.raises(ValueError, match="does not match"):
        SentencingModel.from_bytes(data)


def test_elements_below_the_entry_threshold_get_no_number(model):
    est = estimate_sentence(model, "盗窃罪", Elements(amount_yuan=500), [])
    assert est.months is None and "未达到" in est.basis and "数额较大" in est.basis


def test_probation_and_fine_are_estimated_where_the_corpus_shows_them():
    rng = np.random.default_rng(1)
    obs = []
    for i in range(160):
        amount = float(rng.uniform(3_000, 25_000))
        surrender = i % 2 == 0
        rec = CaseRecord(
            id=f"p{i}",
            text="x",
            defendants=[
                Defendant(
                    name=f"李某{i}",
                    charges=["盗窃罪"],
                    sentence=Sentence(
                        kind="有期徒刑",
                        months=int(6 + amount / 2500),
                        # 自首 cases mostly get 缓刑, the others mostly not
                        probation_months=12
                        if (surrender and i % 10 != 0) or (not surrender and i % 10 == 1)
                        else None,
                        fine_yuan=round(amount / 5, -2),
                    ),
                    circumstances=["自首"] if surrender else [],
                    elements=Elements(amount_yuan=amount),
                )
            ],
        )
        obs += observations(rec)
    m = train(obs)
    with_surrender = m.probation("盗窃罪", 1, Elements(amount_yuan=10_000), ["自首"])
    without = m.probation("盗窃罪", 1, Elements(amount_yuan=10_000), [])
    assert with_surrender > 0.7 > 0.3 > without
    assert m.fine("盗窃罪", 1, Elements(amount_yuan=20_000), []) > m.fine(
        "盗窃罪", 1, Elements(amount_yuan=5_000), []
    )
    est = estimate_sentence(m, "盗窃罪", Elements(amount_yuan=10_000), ["自首"])
    assert est.probation_rate == pytest.approx(with_surrender) and "缓刑的可能性" in est.basis
    assert est.fine_yuan is not None and "罚金中位数" in est.basis
