"""The sentencing picture of one charge inside the pending case's statutory tier (retrieval/sentencing/picture)."""

from __future__ import annotations

import pytest

from leian.corpora.record import CaseRecord, Defendant, Elements, Sentence
from leian.retrieval.sentencing import ProposedSentence, charge_pictures


def _case(i: int, charge: str, kind: str, months: int | None, **elements) -> CaseRecord:
    d = Defendant(
        name=f"张某{i}",
        charges=[charge],
        sentence=Sentence(kind=kind, months=months),
        elements=Elements(**elements),
    )
    return CaseRecord(id=f"c{i}", text="x", case_number=f"（2019）浙0102刑初{i}号", defendants=[d])


def _pending(**elements) -> CaseRecord:
    return CaseRecord(
        id="pending", text="x", defendants=[Defendant(name="李某", elements=Elements(**elements))]
    )


DRUNK = [_case(i, "危险驾驶罪", "拘役", 1 + i % 5, bac_mg_per_100ml=100 + 10 * i) for i in range(12)]


def test_a_kind_the_tier_does_not_allow_is_beyond_the_statutory_range_not_a_conflict():
    (p,) = charge_pictures(
        DRUNK, ["危险驾驶罪"], _pending(bac_mg_per_100ml=247), ProposedSentence(kind="有期徒刑", months=18)
    )
    assert p.statutory.level == 1 and p.statutory.penalties == ["拘役"] and p.statutory.certain
    assert "247毫克/100毫升" in p.statutory.rule and "高检发办字〔2023〕187号" in "".join(p.statutory.sources)
    assert p.proposed.status == "超出法定刑幅度" and p.proposed.outside_statutory
    assert p.proposed.reasons[0].startswith("【超出法定刑幅度】拟判刑种有期徒刑")
    inside = charge_pictures(
        DRUNK, ["危险驾驶罪"], _pending(bac_mg_per_100ml=247), ProposedSentence(kind="拘役", months=3)
    )
    assert inside[0].proposed.status == "一致" and not inside[0].proposed.outside_statutory


def test_same_tier_cases_come_first_and_the_element_closeness_is_shown():
    small = [_case(i, "盗窃罪", "有期徒刑", 8 + i, amount_yuan=4_000 + 500 * i) for i in range(6)]
    large = [
        _case(10 + i, "盗窃罪", "有期徒刑", 48 + 6 * i, amount_yuan=150_000 + 10_000 * i) for i in range(6)
    ]
    (p,) = charge_pictures(small + large, ["盗窃罪"], _pending(amount_yuan=160_000))
    assert p.n_charge == 12 and p.basis == "同档次" and p.n_same_tier == 6
    assert {o.case_id for o in p.stats.observations} == {f"c{10 + i}" for i in range(6)}
    assert p.statutory.level == 2 and "数额巨大" in p.statutory.rule
    (near,) = p.stats.subsets
    assert near.label.startswith("数额与待决案件（16万元）相差不超过50%") and near.n == 6


def test_too_few_same_tier_cases_fall_back_to_the_charge_and_say_so():
    cases = [_case(i, "盗窃罪", "有期徒刑", 8 + i, amount_yuan=4_000 + 500 * i) for i in range(6)]
    (p,) = charge_pictures(cases, ["盗窃罪"], _pending(amount_yuan=160_000))
    assert p.basis == "同罪名" and p.n_same_tier == 0 and "不足3件" in p.basis_text


def test_the_reference_range_never_leaves_the_statutory_range():
    # similar cases sentenced above the first tier's three years (other tiers, poorly extracted …)
    cases = [_case(i, "盗窃罪", "有期徒刑", 30 + 2 * i) for i in range(12)]
    (p,) = charge_pictures(cases, ["盗窃罪"], _pending(amount_yuan=4_000))
    ref = p.stats.reference
    assert p.statutory.level == 1 and p.statutory.max_months == 36
    assert ref.high_months == 36 and ref.low_months <= 36 and "已限于法定刑幅度" in ref.text
    assert "超出法定刑幅度" in p.reference_note


@pytest.mark.parametrize(("circumstances", "status"), [([], "超出法定刑幅度"), (["自首"], "一致")])
def test_below_the_tier_minimum_needs_a_ground_for_mitigation(circumstances, status):
    cases = [_case(i, "盗窃罪", "有期徒刑", 24 + i, amount_yuan=150_000) for i in range(12)]
    pending = _pending(amount_yuan=160_000).model_copy(
        update={
            "defendants": [
                Defendant(name="李某", circumstances=circumstances, elements=Elements(amount_yuan=160_000))
            ]
        }
    )
    (p,) = charge_pictures(cases, ["盗窃罪"], pending, ProposedSentence(kind="有期徒刑", months=30))
    assert p.statutory.min_months == 36
    assert p.proposed.status == status or (status == "一致" and not p.proposed.outside_statutory)


def test_a_charge_the_law_data_does_not_know_has_no_statutory_view():
    (p,) = charge_pictures(DRUNK, ["醉驾罪"], _pending(bac_mg_per_100ml=200))
    assert p.statutory is None and p.stats.n_cases == 0
