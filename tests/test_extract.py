"""Judgment understanding: sections, fields, spans (leian.indexer.sections / leian.indexer.extract).

Synthetic judgments pin single rules; real LeCaRD judgments from the hand-checked gold set
(tests/gold/gold.jsonl) pin whole-document behaviour, and the gold-set metrics must stay at or above
the targets of the issue (a regression in any rule fails here).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from leian.corpora.record import CaseRecord
from leian.errors import InputTooLarge
from leian.indexer.extract import MAX_TEXT_CHARS, court_level_of, extract, extract_fields, province_of_court
from leian.indexer.extract_circumstances import CIRCUMSTANCE_NAMES
from leian.indexer.sections import sections_of, split_sections

GOLD = Path(__file__).parent / "gold" / "gold.jsonl"


def _gold() -> dict[str, dict]:
    with open(GOLD, encoding="utf-8") as f:
        return {x["id"]: x for x in map(json.loads, f)}


GOLD_DOCS = _gold()


def judgment(
    parties: str = "被告人张某，男，1980年1月1日出生。",
    facts: str = "经审理查明，2018年3月1日，被告人张某在某超市窃取手机一部，价值人民币3000元。",
    reasoning: str = "本院认为，被告人张某以非法占有为目的，秘密窃取他人财物，数额较大，其行为已构成盗窃罪。",
    statutes: str = "依照《中华人民共和国刑法》第二百六十四条、第六十七条第三款之规定，",
    result: str = "被告人张某犯盗窃罪，判处有期徒刑一年六个月，并处罚金人民币五千元。",
    head: str = "江西省南昌市青山湖区人民法院 刑事判决书 （2018）赣0111刑初485号 ",
    marker: str = "判决如下：",
    tail: str = " 如不服本判决，可在接到判决书的第二日起十日内提出上诉。 审判长王某 二〇一八年九月十日 书记员李某",
) -> str:
    return (
        f"{head}公诉机关南昌市青山湖区人民检察院。 {parties} 南昌市青山湖区人民检察院以起诉书指控被告人犯罪，"
        f"于2018年8月27日向本院提起公诉。 {facts} {reasoning}{statutes}{marker} {result}{tail}"
    )


def run(text: str, id_: str = "t") -> CaseRecord:
    return extract(CaseRecord(id=id_, text=text))


def field_span(rec: CaseRecord, field: str):
    spans = [s for s in rec.spans if s.field == field]
    assert spans, f"no span for {field}: {[s.field for s in rec.spans]}"
    return spans[0]


# --------------------------------------------------------------------------- sections


def test_sections_split_at_the_markers_and_offsets_map_into_the_text():
    text = judgment()
    sp = split_sections(text)
    assert text[sp.facts[0] : sp.facts[1]].strip().startswith("经审理查明")
    assert text[sp.reasoning[0] : sp.reasoning[1]].startswith("本院认为")
    assert text[sp.reasoning[0] : sp.reasoning[1]].endswith("判决如下：")
    assert text[sp.judgment[0] : sp.judgment[1]].strip().startswith("被告人张某犯盗窃罪")
    assert text[sp.tail[0] : sp.tail[1]].startswith("如不服本判决")
    assert text[sp.parties[0] : sp.parties[1]].startswith("公诉机关")
    # parts are ordered and do not overlap
    bounds = [sp.header, sp.parties, sp.proceedings, sp.facts, sp.reasoning, sp.judgment, sp.tail]
    assert all(a[1] <= b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    secs = sections_of(text)
    assert secs.facts.startswith("经审理查明") and secs.judgment.startswith("被告人张某")


def test_sections_of_an_appeal_ruling_stop_at_the_ruling_not_the_quoted_first_instance():
    doc = GOLD_DOCS["50018"]["text"]  # 二审裁定: 原判 quoted with its own "据此判决：…"
    sp = split_sections(doc)
    assert doc[sp.reasoning[0] : sp.reasoning[1]].startswith("本院认为")
    assert doc[sp.judgment[0] : sp.judgment[1]].strip().startswith("驳回上诉，维持原判")
    assert doc[sp.tail[0] : sp.tail[1]].startswith("本裁定为终审裁定")


def test_sections_stop_at_an_appended_second_document():
    first = judgment()
    second = judgment(head="江西省南昌市中级人民法院 刑事裁定书 （2019）赣01刑终12号 ")
    sp = split_sections(first + " " + second)
    assert sp.end == len(first) + 1
    assert sp.tail[1] == sp.end


# --------------------------------------------------------------------------- header fields


def test_header_fields_case_number_court_level_province_procedure_date():
    r = run(judgment())
    assert r.case_number == "（2018）赣0111刑初485号"
    assert r.court == "江西省南昌市青山湖区人民法院"
    assert (r.court_level, r.province, r.procedure, r.doc_type) == ("基层", "江西省", "一审", "判决书")
    assert r.judgment_date == "2018-09-10"
    assert field_span(r, "judgment_date").text == "二〇一八年九月十日"


@pytest.mark.parametrize(
    ("head", "case_number", "procedure"),
    [
        (
            "江西省南昌市青山湖区人民法院 刑事判决书 (2018) 赣0111刑初485号 ",
            "（2018）赣0111刑初485号",
            "一审",
        ),
        ("四川省成都市中级人民法院 刑事裁定书 〔2015〕成刑执字第853号 ", "（2015）成刑执字第853号", "其他"),
        ("湖北省高级人民法院 刑事判决书 （2019）鄂刑终152号 ", "（2019）鄂刑终152号", "二审"),
        ("浙江省台州市路桥区人民法院 刑事判决书 （2016）浙1004刑再1号 ", "（2016）浙1004刑再1号", "再审"),
        (
            "广东省深圳市中级人民法院 刑事判决书 （2014）深中法刑一初字第53号 ",
            "（2014）深中法刑一初字第53号",
            "一审",
        ),
    ],
)
def test_case_number_is_normalised_and_gives_the_procedure(head, case_number, procedure):
    r = run(judgment(head=head))
    assert r.case_number == case_number
    assert r.procedure == procedure


def test_province_of_a_basic_court_without_province_comes_from_the_court_code():
    r = run(judgment(head="南昌市青山湖区人民法院 刑事判决书 （2018）赣0111刑初485号 "))
    assert r.court == "南昌市青山湖区人民法院"
    assert r.province == "江西省"
    assert field_span(r, "province").text == "赣"


@pytest.mark.parametrize(
    ("court", "level", "province"),
    [
        ("最高人民法院", "最高", None),
        ("湖北省高级人民法院", "高级", "湖北省"),
        ("北京市第一中级人民法院", "中级", "北京市"),
        ("广西壮族自治区来宾市兴宾区人民法院", "基层", "广西壮族自治区"),
        ("海南藏族自治州中级人民法院", "中级", "青海省"),
        ("内蒙古自治区乌审旗人民法院", "基层", "内蒙古自治区"),
    ],
)
def test_court_level_and_province_from_court_name(court, level, province):
    assert court_level_of(court) == level
    assert province_of_court(court) == province


# --------------------------------------------------------------------------- sentences and numerals


@pytest.mark.parametrize(
    ("result", "kind", "months", "probation", "fine"),
    [
        ("被告人张某犯盗窃罪，判处有期徒刑一年六个月，并处罚金人民币五千元。", "有期徒刑", 18, None, 5000),
        ("被告人张某犯盗窃罪，判处有期徒刑1年6个月，并处罚金人民币1.2万元。", "有期徒刑", 18, None, 12000),
        (
            "被告人张某犯盗窃罪，判处有期徒刑十年零六个月，并处罚金人民币12,000元。",
            "有期徒刑",
            126,
            None,
            12000,
        ),
        (
            "被告人张某犯盗窃罪，判处有期徒刑二年，宣告缓刑三年，并处罚金人民币五千元。",
            "有期徒刑",
            24,
            36,
            5000,
        ),
        ("被告人张某犯危险驾驶罪，判处拘役二个月，缓刑三个月，并处罚金人民币三千元。", "拘役", 2, 3, 3000),
        ("被告人张某犯买卖身份证件罪，判处管制四个月，并处罚金人民币五千元。", "管制", 4, None, 5000),
        ("被告人张某犯盗窃罪，免予刑事处罚。", "免予刑事处罚", None, None, None),
        ("被告人张某犯盗窃罪，单处罚金人民币二千元。", "单处罚金", None, None, 2000),
        ("被告人张某犯故意杀人罪，判处无期徒刑，剥夺政治权利终身。", "无期徒刑", None, None, None),
        (
            "被告人张某犯故意杀人罪，判处死刑，缓期二年执行，剥夺政治权利终身。",
            "死刑缓期执行",
            None,
            None,
            None,
        ),
        ("被告人张某犯故意杀人罪，判处死刑，剥夺政治权利终身。", "死刑", None, None, None),
    ],
)
def test_sentence_kinds_terms_and_money(result, kind, months, probation, fine):
    d = run(judgment(result=result)).defendants[0]
    assert d.sentence.kind == kind
    assert d.sentence.months == months
    assert d.sentence.probation_months == probation
    assert d.sentence.fine_yuan == fine


def test_combined_punishment_takes_the_final_term_and_fine():
    result = (
        "被告人张某犯盗窃罪，判处有期徒刑一年，并处罚金人民币二千元；犯诈骗罪，判处有期徒刑六个月，"
        "并处罚金人民币一千元，决定执行有期徒刑一年三个月，并处罚金人民币三千元。"
    )
    d = run(judgment(result=result)).defendants[0]
    assert d.charges == ["盗窃罪", "诈骗罪"]
    assert (d.sentence.kind, d.sentence.months, d.sentence.fine_yuan) == ("有期徒刑", 15, 3000)


def test_combined_punishment_without_a_final_fine_adds_the_fines():
    result = (
        "被告人张某犯贩卖毒品罪，判处死刑，缓期二年执行，剥夺政治权利终身，并处没收个人全部财产；犯容留他人吸毒罪，"
        "判处有期徒刑一年，并处罚金人民币一万元；数罪并罚，决定执行死刑，缓期二年执行，剥夺政治权利终身。"
    )
    d = run(judgment(result=result)).defendants[0]
    assert d.sentence.kind == "死刑缓期执行"
    assert d.sentence.fine_yuan == 10000
    assert d.sentence.deprivation_of_rights == "剥夺政治权利终身"


def test_an_earlier_conviction_joined_in_the_final_term_is_not_a_charge():
    result = (
        "被告人张某犯盗窃罪，判处有期徒刑六个月，并处罚金500元。与原被告人张某犯抢劫罪，判处有期徒刑一年零五个月，"
        "缓刑二年，并处罚金2，000元。撤销缓刑。数罪并罚，决定执行有期徒刑一年七个月，并处罚金2，500元。"
    )
    d = run(judgment(result=result)).defendants[0]
    assert d.charges == ["盗窃罪"]
    assert (d.sentence.months, d.sentence.probation_months, d.sentence.fine_yuan) == (19, None, 2500)


def test_charge_lists_split_but_compound_charge_names_stay_whole():
    d = run(judgment(result="被告人张某犯盗窃罪、掩饰、隐瞒犯罪所得罪，判处有期徒刑一年。")).defendants[0]
    assert d.charges == ["盗窃罪", "掩饰、隐瞒犯罪所得罪"]
    d = run(judgment(result="被告人张某犯组织他人偷越国（边）境罪，判处有期徒刑三年。")).defendants[0]
    assert d.charges == ["组织他人偷越国（边）境罪"]


def test_quashed_first_instance_lines_are_not_the_sentence():
    result = (
        "一、撤销某县人民法院（2016）豫1525刑初446号刑事判决中对被告人张某的量刑部分，即判处被告人张某有期徒刑三年，"
        "并处罚金五千元。 二、被告人张某犯滥伐林木罪，判处有期徒刑三年，缓刑四年，并处罚金1000元。"
    )
    d = run(
        judgment(result=result, head="河南省信阳市中级人民法院 刑事判决书 （2016）豫15刑终393号 ")
    ).defendants[0]
    assert (d.sentence.months, d.sentence.probation_months, d.sentence.fine_yuan) == (36, 48, 1000)


def test_a_note_on_paying_the_fine_is_not_a_second_fine():
    result = (
        "被告人张某犯非法经营罪，判处有期徒刑二年，并处罚金人民币十万元。（已缴纳的罚金十万元上缴国库。）"
    )
    assert run(judgment(result=result)).defendants[0].sentence.fine_yuan == 100000


def test_quoted_first_instance_lines_of_several_defendants_do_not_bleed_into_each_other():
    # held-out LeCaRD 43496: the 决定执行 of the last co-defendant is not everyone's sentence
    parties = "上诉人（原审被告人）任某，男。 原审被告人李某，男。 原审被告人宋某，男。"
    facts = (
        "某县人民法院审理认为……判决如下：被告人任某犯非法拘禁罪，判处有期徒刑二年；被告人李某犯非法拘禁罪，"
        "判处有期徒刑一年六个月；被告人宋某犯非法拘禁罪，判处有期徒刑一年六个月，并撤销对宋某的缓刑判决，"
        "与前罪判处的有期徒刑三年合并执行，决定执行有期徒刑四年六个月。 经审理查明的事实与原判相同。"
    )
    r = run(
        judgment(
            parties=parties,
            facts=facts,
            reasoning="本院认为，原判认定事实清楚，量刑适当。",
            statutes="依照《中华人民共和国刑事诉讼法》第二百三十六条第一款第（一）项之规定，",
            marker="裁定如下：",
            result="驳回上诉，维持原判。",
            head="河南省驻马店市中级人民法院 刑事裁定书 （2016）豫17刑终252号 ",
        )
    )
    assert [(d.name, d.sentence.months) for d in r.defendants] == [("任某", 24), ("李某", 18), ("宋某", 54)]


def test_appeal_ruling_that_upholds_takes_the_sentence_of_the_quoted_first_instance():
    r = run(GOLD_DOCS["50018"]["text"], "50018")
    assert r.procedure == "二审" and r.doc_type == "裁定书"
    d = r.defendants[0]
    assert d.name == "吴秀霞" and d.charges == ["开设赌场罪"]
    assert (d.sentence.kind, d.sentence.months, d.sentence.fine_yuan) == ("有期徒刑", 10, 4000)
    # the span points into the quoted 原判, before the appeal court's reasoning
    span = field_span(r, "defendants.0.sentence.months")
    assert span.text == "十个月" and span.start < r.text.index("本院认为")


# --------------------------------------------------------------------------- defendants and circumstances


def test_anonymised_names_and_binding_of_circumstances_in_multi_defendant_judgments():
    parties = "被告人李某某，男。 被告人×××，男。 被告人张某，女。"
    reasoning = (
        "本院认为，被告人李某某、×××、张某结伙盗窃，其行为均已构成盗窃罪。被告人李某某在共同犯罪中起主要作用，系主犯；"
        "被告人×××、张某起次要作用，系从犯。被告人张某系累犯，依法从重处罚。三被告人归案后均如实供述自己的罪行，依法从轻处罚。"
    )
    result = (
        "一、被告人李某某犯盗窃罪，判处有期徒刑三年。二、被告人×××犯盗窃罪，判处有期徒刑一年。"
        "三、被告人张某犯盗窃罪，判处有期徒刑一年六个月。"
    )
    r = run(judgment(parties=parties, reasoning=reasoning, result=result))
    got = {d.name: (sorted(d.circumstances), d.sentence.months) for d in r.defendants}
    assert got == {
        "李某某": (sorted(["主犯", "坦白"]), 36),
        "×××": (sorted(["从犯", "坦白"]), 12),
        "张某": (sorted(["从犯", "累犯", "坦白"]), 18),
    }


def test_name_prefix_does_not_capture_a_longer_name():
    parties = "被告人李某，男。 被告人李某甲，男。"
    result = "一、被告人李某犯贪污罪，判处有期徒刑二年。二、被告人李某甲犯挪用公款罪，判处有期徒刑三年。"
    r = run(judgment(parties=parties, result=result))
    assert [(d.name, d.charges, d.sentence.months) for d in r.defendants] == [
        ("李某", ["贪污罪"], 24),
        ("李某甲", ["挪用公款罪"], 36),
    ]


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        ("本院认为，被告人张某构成盗窃罪。被告人张某不构成自首，但到案后如实供述，系坦白。", ["坦白"]),
        (
            "本院认为，被告人张某构成盗窃罪。辩护人提出被告人张某系自首的意见，经查，张某系被抓获归案，该意见不予采纳。",
            [],
        ),
        (
            "本院认为，被告人张某构成盗窃罪。关于辩护人提出被告人张某系自首、初犯的辩护意见。经查属实，本院予以采纳。",
            ["自首", "初犯"],
        ),
        ("本院认为，被告人张某构成盗窃罪。其检举他人犯罪的线索未查证属实，其立功不成立。", []),
        ("本院认为，被告人张某构成盗窃罪。被告人张某赔偿了被害人的损失，但未取得被害人谅解。", ["赔偿"]),
        ("本院认为，被告人张某构成盗窃罪。被告人张某系初犯，无前科，当庭自愿认罪。", ["初犯", "当庭认罪"]),
        ("本院认为，被告人张某构成强奸罪。被害人系未成年人，趁其醉酒实施犯罪，依法从重处罚。", []),
        (
            "本院认为，被告人张某构成盗窃罪，系犯罪未遂。依照《关于处理自首和立功具体应用法律若干问题的解释》",
            ["未遂"],
        ),
        ("本院认为，争议焦点为被告人张某是否具有自首情节。", []),
        (
            "本院认为，被告人张某构成盗窃罪。庭审中，被告人张某能自愿认罪，已退出违法所得。",
            ["当庭认罪", "退赃"],
        ),
        ("本院认为，被告人张某构成盗窃罪。被告人张某的犯罪行为造成的经济损失应当依法赔偿。", []),
        ("本院认为，被告人张某构成盗窃罪。原判认定张某系累犯，据以从重处罚属错误，予以纠正。", []),
        ("本院认为，被告人张某构成盗窃罪。被告人张某曾因故意犯罪受过刑事处罚，酌情从重处罚。", ["前科"]),
    ],
)
def test_circumstances_are_the_accepted_ones(reasoning, expected):
    d = run(judgment(reasoning=reasoning)).defendants[0]
    assert sorted(d.circumstances) == sorted(expected)
    assert set(d.circumstances) <= set(CIRCUMSTANCE_NAMES)


# --------------------------------------------------------------------------- statutes and amount


def test_statutes_keep_the_criminal_law_context_across_a_list_and_ignore_other_laws():
    statutes = (
        "依照《中华人民共和国刑法》第二百六十四条、第二十五条第一款，第264条，第一百三十三条之一，"
        "《中华人民共和国刑事诉讼法》第二百零一条，最高人民法院《关于审理盗窃案件适用法律若干问题的解释》第一条之规定，"
    )
    r = run(judgment(statutes=statutes))
    assert r.defendants[0].statutes == ["刑法第二百六十四条", "刑法第二十五条", "刑法第一百三十三条之一"]
    assert field_span(r, "defendants.0.statutes.2").text == "第一百三十三条之一"


def test_amount_is_the_courts_figure_not_a_fine_or_compensation():
    reasoning = (
        "本院认为，被告人张某盗窃他人财物，价值人民币1.2万元，数额较大，其行为已构成盗窃罪。"
        "被告人张某赔偿被害人经济损失人民币五万元，取得谅解。"
    )
    r = run(judgment(reasoning=reasoning))
    assert r.amount_yuan == 12000
    assert field_span(r, "amount_yuan").text == "人民币1.2万元"
    # no amount in the reasoning: the stated total of the facts
    facts = "经审理查明，被告人张某先后三次窃取财物，共计价值人民币6,500元。"
    assert run(judgment(facts=facts, reasoning="本院认为，被告人张某构成盗窃罪。")).amount_yuan == 6500


# --------------------------------------------------------------------------- spans and robustness


def test_every_span_points_at_its_text_and_the_value_it_explains():
    r = run(judgment())
    for s in r.spans:
        assert r.text[s.start : s.end] == s.text
    assert field_span(r, "case_number").text == "（2018）赣0111刑初485号"
    assert field_span(r, "defendants.0.name").text == "张某"
    assert field_span(r, "defendants.0.charges.0").text == "盗窃罪"
    assert field_span(r, "defendants.0.sentence.months").text == "一年六个月"
    assert "五千元" in field_span(r, "defendants.0.sentence.fine_yuan").text
    assert field_span(r, "defendants.0.statutes.0").text == "第二百六十四条"


def test_spans_on_real_judgments_are_consistent():
    for item in GOLD_DOCS.values():
        r = run(item["text"], item["id"])
        for s in r.spans:
            assert r.text[s.start : s.end] == s.text, (item["id"], s)
        assert r.sections.facts == "" or r.sections.facts in r.text


@pytest.mark.parametrize(
    "text", ["", "   \n", "The quick brown fox jumps over the lazy dog. " * 50, "\x00\x01\ufffd" * 100]
)
def test_odd_text_gives_empty_fields_not_errors(text):
    r = run(text)
    assert r.case_number is None and r.defendants == [] and r.amount_yuan is None


def test_oversized_text_is_refused_with_the_limit():
    with pytest.raises(InputTooLarge, match="limit"):
        run("被" * (MAX_TEXT_CHARS + 1))


def test_extract_fields_prints_exactly_the_extract_fields():
    from leian.corpora.record import EXTRACT_FIELDS

    out = extract_fields(run(judgment()))
    assert tuple(out) == EXTRACT_FIELDS
    assert set(out["defendants"][0]) == {
        "name",
        "charges",
        "statutes",
        "sentence",
        "circumstances",
        "elements",
    }
    assert set(out["defendants"][0]["sentence"]) == {"kind", "months", "probation_months", "fine_yuan"}
    assert "spans" in extract_fields(run(judgment()), spans=True)


# --------------------------------------------------------------------------- the gold set


def _eval_module():
    path = Path(__file__).parent.parent / "bench" / "extract_eval.py"
    spec = importlib.util.spec_from_file_location("extract_eval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gold_set_is_large_and_varied_enough():
    strata = {x["stratum"] for x in GOLD_DOCS.values()}
    assert len(GOLD_DOCS) >= 60
    assert {
        "multi",
        "appeal",
        "appeal_affirm",
        "probation",
        "combined",
        "life_death",
        "exempt",
        "drunk",
    } <= strata


@pytest.mark.parametrize("name", ["gold.jsonl", "heldout.jsonl"])
def test_gold_set_metrics_stay_at_or_above_the_targets(name):
    ev = _eval_module()
    metrics, errors = ev.score(ev.load_gold(GOLD.parent / name))
    failed = {
        f: round(metrics[f][kind], 3) for f, (kind, target) in ev.TARGETS.items() if metrics[f][kind] < target
    }
    assert not failed, f"below target: {failed}\n" + "\n".join(errors)
