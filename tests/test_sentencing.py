"""Sentencing statistics on hand-made records: figures against numpy/scipy, wording, conflict rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import percentileofscore

from leian.corpora.record import CaseRecord, Defendant, Sentence
from leian.errors import InvalidInput
from leian.retrieval.sentencing import (
    SMALL_WORDING,
    ProposedSentence,
    check_proposed,
    comparable_observations,
    distribution,
    months_text,
    parse_proposed,
    percentile_rank,
    sentence_text,
    sentencing_stats,
    yuan_text,
)


def case(
    i, kind="有期徒刑", months=12, charges=("盗窃罪",), probation=None, fine=None, circ=(), amount=None, **kw
):
    s = Sentence(kind=kind, months=months, probation_months=probation, fine_yuan=fine)
    d = Defendant(name=f"被告人{i}", charges=list(charges), sentence=s, circumstances=list(circ))
    return CaseRecord(
        id=f"c{i}",
        text="……",
        case_number=f"（2019）京0101刑初{i}号",
        amount_yuan=amount,
        defendants=[d],
        **kw,
    )


THEFT_MONTHS = [6, 8, 9, 10, 12, 12, 14, 18, 24, 30, 36, 42]


def theft_cases():
    out = []
    for i, m in enumerate(THEFT_MONTHS):
        out.append(case(i, months=m, probation=12 if m <= 12 and i % 2 == 0 else None, fine=1000 * (i + 1)))
    out.append(case(100, kind="拘役", months=4, probation=6, fine=1000))
    out.append(case(101, kind="拘役", months=5))
    return out


def test_distribution_matches_numpy():
    stats = sentencing_stats(theft_cases(), ["盗窃罪"])
    pooled = np.array(THEFT_MONTHS + [4, 5], dtype=float)
    d = stats.months
    assert d.n == 14 == stats.n_cases
    assert d.median == pytest.approx(np.median(pooled))
    assert (d.q1, d.q3) == pytest.approx(tuple(np.percentile(pooled, [25, 75])))
    assert (d.p10, d.p90) == pytest.approx(tuple(np.percentile(pooled, [10, 90])))
    assert (d.min, d.max, d.mean) == pytest.approx((4, 42, pooled.mean()))
    assert stats.kind_counts == {"有期徒刑": 12, "拘役": 2}
    assert stats.by_kind["有期徒刑"].n == 12 and stats.by_kind["拘役"].median == 4.5
    assert not stats.small_sample and stats.wording == ""
    # Reference range = IQR when n >= 10.
    assert stats.reference.basis == "IQR"
    assert (stats.reference.low_months, stats.reference.high_months) == pytest.approx((d.q1, d.q3))


def test_probation_and_fine_rates():
    stats = sentencing_stats(theft_cases(), ["盗窃罪"])
    # 缓刑 possible for 拘役 and 有期徒刑 <= 36 months: 11 + 2 cases (42 months is not eligible).
    assert stats.probation.n == 13
    assert stats.probation.count == sum(1 for i, m in enumerate(THEFT_MONTHS) if m <= 12 and i % 2 == 0) + 1
    assert stats.fine.with_fine.count == 13 and stats.fine.with_fine.n == 14
    fines = [1000 * (i + 1) for i in range(12)] + [1000]
    assert stats.fine.yuan.median == pytest.approx(np.median(fines))


def test_percentile_rank_is_scipy_mean_kind():
    vals = [4, 5, 6, 8, 9, 10, 12, 12, 14]
    for x in (3, 4, 12, 13, 20):
        assert percentile_rank(vals, x) == pytest.approx(percentileofscore(vals, x, kind="mean"))
    assert percentile_rank([], 5) is None


def test_comparable_excludes_other_charges_and_unreadable():
    recs = [
        case(1, months=10),
        case(2, months=20, charges=("盗窃罪", "抢劫罪")),  # 数罪并罚: excluded
        case(3, months=None),  # 有期徒刑 without a term: unreadable
        case(4, months=30, charges=("故意伤害罪",)),  # other charge: not same-charge
        case(1, months=99),  # duplicate id: counted once
    ]
    obs, excluded, unknown = comparable_observations(recs, ["盗窃罪"])
    assert [o.case_id for o in obs] == ["c1"] and obs[0].months == 10
    assert (excluded, unknown) == (1, 1)


def test_life_death_exemption_not_counted_as_months():
    recs = [case(i, months=60 + i) for i in range(4)]
    recs += [
        case(10, kind="无期徒刑", months=None),
        case(11, kind="死刑", months=None),
        case(12, kind="免予刑事处罚", months=None),
    ]
    stats = sentencing_stats(recs, ["盗窃罪"])
    assert stats.n_cases == 7
    assert stats.months.n == 4
    assert stats.kind_counts["无期徒刑"] == 1 and stats.kind_counts["免予刑事处罚"] == 1


def test_surveillance_kept_apart():
    recs = [case(i, months=10) for i in range(5)] + [case(9, kind="管制", months=6)]
    stats = sentencing_stats(recs, ["盗窃罪"])
    assert stats.months.n == 5 and stats.by_kind["管制"].n == 1


def test_small_sample_wording_and_range():
    recs = [case(i, months=m) for i, m in enumerate([6, 9, 12, 18])]
    stats = sentencing_stats(recs, ["盗窃罪"])
    assert stats.small_sample and stats.wording == SMALL_WORDING
    assert stats.reference.basis == "min-max" and stats.reference.small
    assert (stats.reference.low_months, stats.reference.high_months) == (6, 18)
    assert SMALL_WORDING in stats.reference.text and "4件" in stats.reference.text
    assert "普遍" not in stats.reference.text
    none = sentencing_stats(recs[:2], ["盗窃罪"])
    assert none.reference.basis == "none" and none.reference.low_months is None


def test_conflict_flag_on_and_off():
    stats = sentencing_stats(theft_cases(), ["盗窃罪"])
    d = stats.months
    inside = check_proposed(stats, ProposedSentence(kind="有期徒刑", months=12))
    assert inside.status == "一致" and inside.conflict is False
    assert inside.band == "P10-P90" and inside.band_low == pytest.approx(d.p10)
    assert inside.percentile == pytest.approx(percentileofscore(THEFT_MONTHS + [4, 5], 12, kind="mean"))
    high = check_proposed(stats, ProposedSentence(kind="有期徒刑", months=120))
    assert high.conflict is True and high.status == "类案冲突"
    assert any("高于" in r and "14件" in r for r in high.reasons)
    low = check_proposed(stats, ProposedSentence(kind="拘役", months=1))
    assert low.conflict is True and any("低于" in r for r in low.reasons)


def test_rare_kind_is_a_conflict():
    stats = sentencing_stats(theft_cases(), ["盗窃罪"])
    res = check_proposed(stats, ProposedSentence(kind="免予刑事处罚"))
    assert res.conflict is True and res.percentile is None
    assert any("少见刑种" in r for r in res.reasons)


def test_probation_against_practice_is_a_conflict():
    recs = [case(i, months=12, probation=None) for i in range(12)]
    stats = sentencing_stats(recs, ["盗窃罪"])
    assert stats.probation.rate == 0
    res = check_proposed(stats, ProposedSentence(kind="有期徒刑", months=12, probation_months=24))
    assert res.conflict is True and any("缓刑" in r for r in res.reasons)
    ok = check_proposed(stats, ProposedSentence(kind="有期徒刑", months=12))
    assert ok.conflict is False


def test_small_sample_band_is_observed_range_and_tiny_is_undecided():
    recs = [case(i, months=m) for i, m in enumerate([6, 9, 12, 18, 20])]
    stats = sentencing_stats(recs, ["盗窃罪"])
    res = check_proposed(stats, ProposedSentence(kind="有期徒刑", months=24))
    assert res.band == "min-max" and res.conflict is True and res.small_sample
    assert any(SMALL_WORDING in r for r in res.reasons)
    tiny = sentencing_stats(recs[:2], ["盗窃罪"])
    res = check_proposed(tiny, ProposedSentence(kind="有期徒刑", months=24))
    assert res.conflict is None and res.status == "无法判断"


def test_charge_groups_compare_statute_and_specific_names():
    recs = [case(i, months=24, charges=("贩卖毒品罪",)) for i in range(3)]
    stats = sentencing_stats(recs, ["走私、贩卖、运输、制造毒品罪"])
    assert stats.n_cases == 3


def test_circumstance_notes():
    recs = [case(i, months=6 + i, circ=("自首",) if i % 2 else (), amount=1000 * (i + 1)) for i in range(12)]
    pending = CaseRecord(
        id="q", text="…", amount_yuan=4000, defendants=[Defendant(name="x", circumstances=["自首", "累犯"])]
    )
    stats = sentencing_stats(recs, ["盗窃罪"], pending=pending)
    notes = {n.circumstance: n for n in stats.circumstance_notes}
    assert set(notes) == {"自首", "累犯"}
    assert notes["自首"].direction == "从轻" and "40%" in notes["自首"].guidance
    assert notes["自首"].with_n == 6 and notes["自首"].with_median == np.median([7, 9, 11, 13, 15, 17])
    assert notes["累犯"].direction == "从重" and notes["累犯"].with_n == 0
    assert stats.subsets == []  # the element's closeness is the picture's (retrieval/sentencing/picture.py)


def test_proposed_validation():
    with pytest.raises(InvalidInput):
        ProposedSentence(kind="有期徒刑")
    with pytest.raises(InvalidInput):
        ProposedSentence(kind="有期徒刑", months=48, probation_months=60)
    with pytest.raises(InvalidInput):
        ProposedSentence(kind="拘役", months=13)
    with pytest.raises(InvalidInput):
        ProposedSentence(kind="无期徒刑", months=12)


def test_wording_helpers():
    assert months_text(18) == "1年6个月" and months_text(24) == "2年" and months_text(6) == "6个月"
    # a mean or quantile between two terms: whole months, rounded half up (四舍五入), never "7.5个月"
    assert months_text(7.5) == "8个月" and months_text(4.5) == "5个月" and months_text(22.4) == "1年10个月"
    assert yuan_text(5000) == "5,000元" and yuan_text(20000) == "2万元"
    assert sentence_text("有期徒刑", 18, 24, 5000) == "有期徒刑1年6个月，缓刑2年，罚金5,000元"
    assert distribution([]) is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("有期徒刑一年六个月，缓刑二年，并处罚金人民币五千元", ("有期徒刑", 18, 24, 5000.0)),
        ("有期徒刑18个月缓刑24个月罚金5000元", ("有期徒刑", 18, 24, 5000.0)),
        ("拘役3个月 罚金2000", ("拘役", 3, None, 2000.0)),
        ("拘役四个月，缓刑六个月", ("拘役", 4, 6, None)),
        ("有期徒刑10年，并处罚金1.5万元", ("有期徒刑", 120, None, 15000.0)),
        ("免予刑事处罚", ("免予刑事处罚", None, None, None)),
        ("死缓", ("死刑缓期执行", None, None, None)),
    ],
)
def test_parse_proposed(text, expected):
    p = parse_proposed(text)
    assert (p.kind, p.months, p.probation_months, p.fine_yuan) == expected


@pytest.mark.parametrize(
    "text",
    ["三年", "有期徒刑", "有期徒刑一年，缓刑", "有期徒刑一年，罚金若干", "有期徒刑一年，罚金"]
    + ["有期徒刑一百年", "有期徒刑一年，缓刑十年"],  # read, but out of range
)
def test_parse_proposed_rejects_unreadable(text):
    with pytest.raises(InvalidInput):
        parse_proposed(text)
