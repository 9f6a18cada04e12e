"""The element-aware rerank (retrieval/search/elements.py): cases otherwise equal are ordered by how far
their sentencing elements agree with the pending case's, and each shared element is a reason."""

from __future__ import annotations

import pytest

from leian.corpora.record import CaseRecord, Defendant, DrugQuantity, Elements, Sections
from leian.indexer.element_facets import bac_band, element_facets
from leian.indexer.indexed import facets_of
from leian.retrieval.models import ChargePrediction
from leian.retrieval.search import SearchConfig
from leian.retrieval.search.elements import QueryElements, element_reasons, element_score
from leian.retrieval.search.explain import explain_hit
from leian.retrieval.search.structure import QuerySide, structure_scores


def _case(cid: str, charge: str, province: str | None = "四川省", n: int = 1, **elements) -> CaseRecord:
    return CaseRecord(
        id=cid,
        text="经审理查明……",
        sections=Sections(facts="经审理查明……"),
        province=province,
        defendants=[
            Defendant(name=f"张某{i}", charges=[charge], elements=Elements(**elements)) for i in range(n)
        ],
    )


THEFT = [ChargePrediction(charge="盗窃罪", probability=1.0)]


def test_a_same_tier_case_outranks_a_different_tier_one_otherwise_equal():
    """盗窃 of 6万元 in 四川 is 数额巨大 (第二档, 四川 5万元); a case of 4.5万元 is 第一档 though its
    figure is closer on a log scale than one of 20万元 (still 第二档): the tier decides."""
    pending = _case("new", "盗窃罪", amount_yuan=60_000, stage="既遂")
    same = _case("same", "盗窃罪", amount_yuan=200_000, stage="既遂")
    other = _case("other", "盗窃罪", amount_yuan=45_000, stage="既遂")
    assert element_facets(same)["tiers"] == {"盗窃罪": [2]}
    assert element_facets(other)["tiers"] == {"盗窃罪": [1]}
    side = QuerySide.of(THEFT, pending)
    cfg = SearchConfig(w_elements=0.5, w_amount=0.0)
    facets = [facets_of(same), facets_of(other)]
    scores = structure_scores(side, facets, cfg)
    assert scores["elements"][0] == pytest.approx(1.0)  # the tier: the one element stated
    assert scores["elements"][1] == 0.0
    assert scores["structure"][0] > scores["structure"][1]
    # with w_elements at 0 the two are tied on everything but the amount
    assert structure_scores(side, facets, SearchConfig(w_elements=0.0, w_amount=0.0))["structure"][
        0
    ] == pytest.approx(
        structure_scores(side, facets, SearchConfig(w_elements=0.0, w_amount=0.0))["structure"][1]
    )


def test_the_hit_names_each_shared_element_in_chinese():
    pending = _case("new", "故意伤害罪", injuries=["重伤二级"], deaths=0)
    case = _case("same", "故意伤害罪", injuries=["重伤二级"], deaths=0)
    hurt = [ChargePrediction(charge="故意伤害罪", probability=1.0)]
    side = QuerySide.of(hurt, pending)
    cfg = SearchConfig(w_elements=0.5)
    f = facets_of(case)
    comp = {k: float(v[0]) for k, v in structure_scores(side, [f], cfg).items()}
    assert comp["elements"] == 1.0
    hit = explain_hit(1, case.id, 1.0, comp, case, [], hurt, pending, cfg, side.elements, f)
    assert "法定刑档次相同：故意伤害罪第二档（致人重伤）" in hit.reasons, hit.reasons
    assert "伤情相同：重伤二级" in hit.reasons
    # off: the elements are neither read nor named
    off_cfg = SearchConfig(w_elements=0.0)
    off_side = QuerySide.of(hurt, pending, elements=False)
    off = explain_hit(1, case.id, 1.0, comp, case, [], hurt, pending, off_cfg, off_side.elements, f)
    assert not any(r.startswith(("法定刑档次相同", "伤情")) for r in off.reasons)
    assert structure_scores(off_side, [f], off_cfg)["elements"][0] == 0.0


def test_drugs_blood_alcohol_and_harm():
    drug = [ChargePrediction(charge="走私、贩卖、运输、制造毒品罪", probability=1.0)]
    q = QueryElements.of(
        element_facets(_case("new", "贩卖毒品罪", drugs=[DrugQuantity(kind="甲基苯丙胺", grams=12.0)])), drug
    )
    meth = element_facets(_case("a", "贩卖毒品罪", drugs=[DrugQuantity(kind="甲基苯丙胺", grams=30.0)]))
    heroin = element_facets(_case("b", "贩卖毒品罪", drugs=[DrugQuantity(kind="海洛因", grams=30.0)]))
    assert element_score(q, meth) > element_score(q, heroin)
    assert "毒品种类相同：甲基苯丙胺" in element_reasons(q, meth)
    assert any(r.startswith("法定刑档次相同：") for r in element_reasons(q, meth))  # 10–50 g: 第二档

    assert [bac_band(x) for x in (79, 80, 149.9, 150, 179, 180, 300)] == [0, 1, 1, 2, 2, 3, 3]
    drunk = [ChargePrediction(charge="危险驾驶罪", probability=1.0)]
    q = QueryElements.of(element_facets(_case("new", "危险驾驶罪", bac_mg_per_100ml=160)), drunk)
    near = element_facets(_case("a", "危险驾驶罪", bac_mg_per_100ml=175))
    far = element_facets(_case("b", "危险驾驶罪", bac_mg_per_100ml=120))
    assert "tiers" not in near  # one tier only: the charge already says it
    assert element_score(q, near) > element_score(q, far)
    assert "血液酒精含量同档：150–180毫克/100毫升" in element_reasons(q, near)

    hurt = [ChargePrediction(charge="故意伤害罪", probability=1.0)]
    q = QueryElements.of(element_facets(_case("new", "故意伤害罪", injuries=["轻伤二级"], deaths=0)), hurt)
    same = element_facets(_case("a", "故意伤害罪", injuries=["轻伤二级"], deaths=0))
    close = element_facets(_case("b", "故意伤害罪", injuries=["轻伤一级"], deaths=0))
    dead = element_facets(_case("c", "故意伤害罪", injuries=[], deaths=1))
    assert element_score(q, same) > element_score(q, close) > element_score(q, dead)
    assert "伤情相同：轻伤二级" in element_reasons(q, same)
    assert "伤情相近：轻伤二级 / 轻伤一级" in element_reasons(q, close)


def test_a_case_without_element_facets_scores_zero_and_old_indexes_still_rank():
    q = QueryElements.of(element_facets(_case("new", "盗窃罪", amount_yuan=60_000)), THEFT)
    assert element_score(q, None) == 0.0 and element_reasons(q, None) == []
    side = QuerySide.of(THEFT, _case("new", "盗窃罪", amount_yuan=60_000))
    old = {k: v for k, v in facets_of(_case("x", "盗窃罪", amount_yuan=60_000)).items() if k != "elements"}
    assert structure_scores(side, [old, None], SearchConfig(w_elements=1.0))["elements"].tolist() == [
        0.0,
        0.0,
    ]
    # nothing stated: nothing compared
    assert QueryElements.of({}, THEFT).total == 0
