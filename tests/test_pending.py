"""The pending case's elements from facts alone (no 本院认为 yet)."""

from leian.indexer.pending import analyse_facts, fact_circumstances


def names(facts: str) -> list[str]:
    return [n for n, _, _ in fact_circumstances(facts)]


def test_events_in_the_facts_map_to_circumstances():
    facts = (
        "被告人张某酒后驾驶小型轿车，经鉴定其血液中乙醇含量为150mg/100ml。案发后，张某主动到公安机关投案，"
        "如实供述了犯罪事实，并赔偿被害人经济损失人民币2万元，取得了被害人的谅解。"
    )
    found = names(facts)
    assert {"自首", "赔偿", "谅解", "醉酒"} <= set(found)
    assert "坦白" not in found  # 自首 already covers the 如实供述


def test_blood_alcohol_below_the_threshold_is_not_drunk():
    assert "醉酒" not in names("被告人驾驶摩托车，血液酒精含量为45mg/100ml。")


def test_negated_events_are_not_circumstances():
    facts = "被告人李某到案后拒不如实供述，亦未取得被害人谅解。"
    found = names(facts)
    assert "坦白" not in found
    assert "谅解" not in found


def test_amount_and_spans_point_into_the_facts():
    facts = "2018年5月，被告人王某在某超市盗窃手机三部，共计价值人民币12,000元。后被抓获，如实供述。"
    rec = analyse_facts(facts)
    assert rec.amount_yuan == 12000
    assert "坦白" in rec.circumstances
    for span in rec.spans:
        assert facts[span.start : span.end] == span.text
