"""Sentencing elements (indexer/elements): the cases the report issue found wrong, each a rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leian.corpora.record import CaseRecord
from leian.indexer.extract import extract
from leian.indexer.pending import analyse_facts, fact_circumstances, with_elements

GOLD = Path(__file__).parent / "gold"


def _judgment(
    facts: str, reasoning: str, lines: str, parties: str = "被告人张某，男，1980年出生。"
) -> CaseRecord:
    text = (
        "北京市朝阳区人民法院 刑事判决书 （2019）京0105刑初100号 公诉机关北京市朝阳区人民检察院。"
        f"{parties}北京市朝阳区人民检察院以京朝检刑诉〔2019〕1号起诉书指控被告人犯罪，本院依法审理了本案。"
        f"经审理查明，{facts} 上述事实，有证人证言等证据证实。 本院认为，{reasoning}"
        f"依照《中华人民共和国刑法》第二百六十四条之规定，判决如下：{lines} 如不服本判决，可在接到判决书之次日起十日内上诉。"
        "审判员 李某 二〇一九年六月一日 书记员 王某"
    )
    return extract(CaseRecord(id="t", text=text))


def test_items_and_a_converted_currency_are_summed_into_the_amount():
    rec = _judgment(
        "2019年5月1日，被告人张某在北京市朝阳区某商场内盗窃被害人李某的手表一块（价值31,200元）、"
        "现金1,800元、欧元4,200元（折合人民币32,300.52元）。案发后，被告人张某退赔被害人4,140元。",
        "被告人张某以非法占有为目的，秘密窃取他人财物，数额巨大，其行为已构成盗窃罪。",
        "被告人张某犯盗窃罪，判处有期徒刑三年六个月，并处罚金人民币一万元。",
    )
    d = rec.defendants[0]
    assert d.elements.amount_yuan == pytest.approx(65_300.52)  # not 31,200 (one item), not 4,140 (退赔)
    assert rec.amount_yuan == pytest.approx(65_300.52)
    spans = [s.text for s in rec.spans if s.field == "defendants.0.elements.amount_yuan"]
    assert [s.removeprefix("人民币") for s in spans] == ["31,200元", "1,800元", "32,300.52元"]


def test_the_courts_own_total_wins_and_fines_are_never_the_amount():
    rec = _judgment(
        "被告人张某先后三次盗窃，价值分别为2,000元、3,000元、5,000元。",
        "被告人张某多次盗窃他人财物，价值共计人民币10,000元，数额较大，其行为已构成盗窃罪。",
        "被告人张某犯盗窃罪，判处有期徒刑一年，并处罚金人民币二万元。",
    )
    assert rec.defendants[0].elements.amount_yuan == 10_000
    assert rec.defendants[0].elements.offence_count == 3


def test_co_defendants_sharing_one_theft_count_it_once_for_the_case():
    rec = _judgment(
        "2019年3月1日，被告人张某、王某共同盗窃被害人手机一部，价值5,000元。",
        "被告人张某、王某以非法占有为目的，共同秘密窃取他人财物，价值5,000元，数额较大，均已构成盗窃罪。",
        "一、被告人张某犯盗窃罪，判处有期徒刑八个月，并处罚金人民币二千元；二、被告人王某犯盗窃罪，判处有期徒刑七个月，并处罚金人民币二千元。",
        parties="被告人张某，男，1980年出生。被告人王某，男，1985年出生。",
    )
    assert [d.elements.amount_yuan for d in rec.defendants] == [5_000, 5_000]
    assert rec.amount_yuan == 5_000


def test_compensation_in_a_traffic_case_is_not_an_amount():
    facts = (
        "2018年3月1日，被告人李某驾驶小型轿车与行人王某相撞，致王某当场死亡。经交警部门认定，被告人李某负事故的全部责任。"
        "案发后，被告人李某赔偿被害人家属经济损失60万元，取得谅解。"
    )
    pending = with_elements(analyse_facts(facts), ["交通肇事罪"])
    assert pending.amount_yuan is None
    e = pending.defendants[0].elements
    assert (e.deaths, e.traffic_responsibility, e.hit_and_run) == (1, "全部", False)


def test_a_victims_alcohol_is_not_the_defendants():
    facts = (
        "被告人李某驾驶货车与被害人王某驾驶的摩托车相撞，致王某受伤。经鉴定，被害人王某血液中乙醇含量为168.7mg/100ml，"
        "被告人李某血液中未检出乙醇。经交警认定，被告人李某负事故的主要责任，王某负次要责任。"
    )
    pending = with_elements(analyse_facts(facts), ["交通肇事罪"])
    assert pending.defendants[0].elements.bac_mg_per_100ml is None
    assert pending.defendants[0].elements.traffic_responsibility == "主要"
    assert "醉酒" not in [c for c, _, _ in fact_circumstances(facts)]


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("血液中乙醇含量为215.3mg/100ml", 215.3),
        ("血液中乙醇浓度为1.07mg/mL", 107.0),
        ("每百毫升血液中含乙醇135毫克", 135.0),
        ("血样中检出乙醇，含量为每百毫升99毫克", 99.0),
        ("血液酒精含量为109.98毫克＼10O毫升", 109.98),
    ],
)
def test_blood_alcohol_in_the_forms_judgments_write_it(phrase, value):
    facts = f"被告人张某醉酒后驾驶小型轿车在道路上行驶，被民警查获。经鉴定，被告人张某{phrase}。"
    pending = with_elements(analyse_facts(facts), ["危险驾驶罪"])
    assert pending.defendants[0].elements.bac_mg_per_100ml == pytest.approx(value)


def test_the_blood_test_wins_over_the_roadside_breath_test():
    facts = (
        "民警对被告人张某进行呼气式酒精测试，其呼出气体中酒精含量为112毫克/100毫升。"
        "后经抽血鉴定，被告人张某血液中乙醇含量为146毫克/100毫升。"
    )
    pending = with_elements(analyse_facts(facts), ["危险驾驶罪"])
    assert pending.defendants[0].elements.bac_mg_per_100ml == 146


def test_drugs_per_kind_and_injuries_per_victim():
    pending = with_elements(
        analyse_facts("被告人张某以300元的价格向吸毒人员贩卖甲基苯丙胺（冰毒）0.5克，又贩卖海洛因0.2克。"),
        ["走私、贩卖、运输、制造毒品罪"],
    )
    assert {q.kind: q.grams for q in pending.defendants[0].elements.drugs} == {
        "甲基苯丙胺": 0.5,
        "海洛因": 0.2,
    }
    hurt = with_elements(
        analyse_facts(
            "被告人张某持木棍殴打被害人李某、王某。经鉴定，被害人李某的损伤程度为轻伤二级，被害人王某的损伤程度为轻微伤。"
            "被害人李某的伤情经复核仍为轻伤二级。"
        ),
        ["故意伤害罪"],
    )
    assert sorted(hurt.defendants[0].elements.injuries) == ["轻伤二级", "轻微伤"]  # 李某 counted once


def test_a_death_with_a_number_and_a_negated_one():
    rec = with_elements(analyse_facts("被告人张某驾车撞倒行人，造成二人死亡、一人重伤。"), ["交通肇事罪"])
    assert rec.defendants[0].elements.deaths == 2
    rec = with_elements(analyse_facts("被告人张某驾车撞倒行人，未造成人员死亡，致一人轻伤。"), ["交通肇事罪"])
    assert rec.defendants[0].elements.deaths == 0


def test_the_gold_set_is_well_formed():
    """127 judgments, every defendant with every element key; the two halves do not overlap."""
    halves = {}
    for name in ("elements.jsonl", "elements_heldout.jsonl"):
        rows = [json.loads(line) for line in (GOLD / name).open(encoding="utf-8")]
        halves[name] = {r["id"] for r in rows}
        for r in rows:
            for d in r["expected"]["defendants"]:
                assert set(d["elements"]) >= {
                    "amount_yuan",
                    "drugs",
                    "bac_mg_per_100ml",
                    "injuries",
                    "deaths",
                    "stage",
                }
    assert len(halves["elements.jsonl"]) + len(halves["elements_heldout.jsonl"]) >= 120
    assert not halves["elements.jsonl"] & halves["elements_heldout.jsonl"]
