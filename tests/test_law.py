"""The law as data: the tier and threshold files load and validate, a broken row is refused with its file
and line, spot checks against the Criminal Law's text, and tier_of on typical cases."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from leian.corpora.dictionaries import charge_names
from leian.corpora.law import (
    CONDITION_KEYS,
    LawDataError,
    load_thresholds,
    load_tiers,
    statutory_range,
    thresholds_of,
    tiers_of,
)
from leian.corpora.law.table import default_dir
from leian.corpora.law.tiers import KEY_LABELS
from leian.corpora.record import DrugQuantity, Elements
from leian.indexer.tiering import tier_of

ROOT = Path(__file__).resolve().parents[1]


def months(charge: str) -> list[tuple[int | None, int | None]]:
    return [(t.min_months, t.max_months) for t in tiers_of(charge)]


# --- the data --------------------------------------------------------------------------------------


def test_every_charge_has_tiers_and_the_files_validate():
    tiers = load_tiers()
    assert set(tiers) == set(charge_names()) and len(tiers) == 483
    assert all(t.source and t.penalty_text.startswith("处") for rows in tiers.values() for t in rows)
    thresholds = load_thresholds()
    assert {"盗窃罪", "诈骗罪", "贪污罪", "交通肇事罪", "危险驾驶罪", "走私、贩卖、运输、制造毒品罪"} <= set(
        thresholds
    )
    assert set(KEY_LABELS) == set(CONDITION_KEYS)


def test_the_generated_file_is_what_the_generator_makes(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "make_statutory_tiers", ROOT / "bench" / "make_statutory_tiers.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_any_charge_form_finds_the_official_tiers():
    assert tiers_of("贩卖毒品罪") == tiers_of("走私、贩卖、运输、制造毒品罪")
    assert tiers_of("强制猥亵妇女罪")[0].charge == "强制猥亵、侮辱罪"
    with pytest.raises(KeyError, match="醉驾"):
        tiers_of("醉驾")


# --- the law, checked by hand against its text -------------------------------------------------------


def test_theft_has_three_tiers():
    rows = tiers_of("盗窃罪")
    assert months("盗窃罪") == [(1, 36), (36, 120), (120, None)]
    assert [t.condition_key for t in rows] == ["amount_large", "amount_huge", "amount_extra"]
    assert rows[0].fine == "并处或者单处" and rows[2].penalties == ("有期徒刑", "无期徒刑")
    assert rows[1].source == "刑法第二百六十四条（《刑法修正案（八）》修正）"


def test_dangerous_driving_is_detention_with_a_fine():
    (row,) = tiers_of("危险驾驶罪")
    assert (row.min_months, row.max_months, row.penalties, row.fine) == (1, 6, ("拘役",), "并处")


def test_intentional_injury_tiers():
    assert months("故意伤害罪") == [(1, 36), (36, 120), (120, None)]
    assert [t.condition_key for t in tiers_of("故意伤害罪")] == ["base", "grave_injury", "death"]
    assert tiers_of("故意伤害罪")[2].penalties == ("有期徒刑", "无期徒刑", "死刑")


def test_drug_trafficking_top_tier_is_fifteen_years_to_death():
    top = tiers_of("走私、贩卖、运输、制造毒品罪")[-1]
    assert (top.min_months, top.max_months, top.condition_key) == (180, None, "drug_large")
    assert "死刑" in top.penalties and top.article == "刑法第三百四十七条第二款"


def test_traffic_accident_tiers():
    assert months("交通肇事罪") == [(1, 36), (36, 84), (84, 180)]
    assert [t.condition_key for t in tiers_of("交通肇事罪")] == ["base", "escape", "escape_death"]


def test_amendment_twelve_is_applied():
    assert months("行贿罪") == [(1, 36), (36, 120), (120, None)]  # 三年以下 since 修正案（十二）
    assert months("单位行贿罪") == [(1, 36), (36, 120)]
    assert tiers_of("对单位行贿罪")[1].source.endswith("（《刑法修正案（十二）》修正）")


def test_statutory_range_spans_all_tiers():
    whole = statutory_range("盗窃罪")
    assert (whole.min_months, whole.max_months) == (1, None)
    assert whole.penalties == ("管制", "拘役", "有期徒刑", "无期徒刑")
    assert statutory_range("危险驾驶罪").max_months == 6


# --- a broken row is refused -----------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    for name in ("statutory_tiers.tsv", "amount_thresholds.tsv"):
        shutil.copy(default_dir() / name, tmp_path / name)
    return tmp_path


def edit(path: Path, match: str, change) -> int:
    """Apply ``change`` to the cells of the first data line starting with ``match``; its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith(match))
    cells = lines[number].split("\t")
    change(cells)
    lines[number] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def set_cell(index: int, value: str):
    return lambda cells: cells.__setitem__(index, value)


@pytest.mark.parametrize(
    ("match", "change", "problem"),
    [
        ("盗窃罪\t", set_cell(0, "偷东西罪"), "is not a 罪名"),
        ("盗窃罪\t", set_cell(10, ""), "source"),
        ("盗窃罪\t刑法第二百六十四条\t2", set_cell(6, "24"), "min_months 36 > max_months 24"),
        ("盗窃罪\t刑法第二百六十四条\t3", set_cell(2, "4"), "levels run 1..n"),
        ("盗窃罪\t刑法第二百六十四条\t2", set_cell(4, "amount_big"), "condition_key"),
        ("盗窃罪\t刑法第二百六十四条\t3", set_cell(5, "24"), "milder than level 2"),
    ],
)
def test_a_broken_tier_row_is_refused_with_file_and_line(data_copy, match, change, problem):
    line = edit(data_copy / "statutory_tiers.tsv", match, change)
    with pytest.raises(LawDataError, match=problem) as refused:
        load_tiers(data_copy)
    assert "statutory_tiers.tsv" in str(refused.value)
    assert "no tier for" in str(refused.value) or f"line {line}" in str(refused.value)


@pytest.mark.parametrize(
    ("match", "change", "problem"),
    [
        (
            "盗窃罪\tamount_huge\tamount_yuan\t\t\t\t\t30000\t100000\t四川省",
            set_cell(11, "120000"),
            "outside the national range",
        ),
        ("盗窃罪\tamount_large", set_cell(12, ""), "source"),
        ("盗窃罪\tamount_large", set_cell(7, "5000"), "national_low 5000 > national_high 3000"),
        ("诈骗罪\tamount_large", set_cell(1, "death"), "not a tier of 诈骗罪"),
    ],
)
def test_a_broken_threshold_row_is_refused_with_file_and_line(data_copy, match, change, problem):
    line = edit(data_copy / "amount_thresholds.tsv", match, change)
    with pytest.raises(LawDataError, match=problem) as refused:
        load_thresholds(data_copy)
    assert f"amount_thresholds.tsv line {line}" in str(refused.value)


# --- tier_of ---------------------------------------------------------------------------------------


def test_theft_of_65300_is_the_huge_tier_where_the_province_figure_is_known():
    decision = tier_of("盗窃罪", Elements(amount_yuan=65300), province="四川")
    assert decision.tier.level == 2 and decision.certain
    assert decision.rule == (
        "数额65,300元，达到数额巨大标准（全国标准3万元至10万元，四川省5万元；法释〔2013〕8号第一条、"
        "川高法〔2013〕362号）；适用刑法第二百六十四条第二档：处三年以上十年以下有期徒刑，并处罚金"
    )
    assert {r.province for r in decision.thresholds} == {"", "四川省"}


def test_theft_inside_a_national_range_without_province_takes_the_lower_tier():
    decision = tier_of("盗窃罪", Elements(amount_yuan=65300))
    assert decision.tier.level == 1 and not decision.certain
    assert "数额65,300元介于全国标准3万元至10万元之间，是否达到数额巨大取决于所在省份标准" in decision.rule
    small = tier_of("盗窃罪", Elements(amount_yuan=2000))
    assert small.tier.level == 1 and not small.certain and "1,000元至3,000元" in small.rule


def test_theft_above_the_national_range_is_certain_anywhere():
    decision = tier_of("盗窃罪", Elements(amount_yuan=120000))
    assert decision.tier.level == 2 and decision.certain


def test_guangdong_figures_by_region_are_named():
    decision = tier_of("盗窃罪", Elements(amount_yuan=2500), province="广东省")
    assert not decision.certain and "一类地区3,000元，二类地区2,000元" in decision.rule


def test_methamphetamine_by_weight():
    def meth(grams: float):
        return tier_of("贩卖毒品罪", Elements(drugs=[DrugQuantity(kind="甲基苯丙胺", grams=grams)]))

    assert meth(60).tier.level == 4 and meth(60).certain
    assert meth(12).tier.min_months == 84 and meth(12).certain
    small = meth(3)
    assert small.tier.level == 1 and not small.certain and "情节" in small.rule


def test_several_drugs_are_added_up_as_heroin():
    drugs = [DrugQuantity(kind="甲基苯丙胺", grams=30), DrugQuantity(kind="氯胺酮", grams=300)]
    decision = tier_of("走私、贩卖、运输、制造毒品罪", Elements(drugs=drugs))
    assert decision.tier.condition_key == "drug_large" and "折算海洛因60克" in decision.rule
    unknown = tier_of("走私、贩卖、运输、制造毒品罪", Elements(drugs=[DrugQuantity(kind="麻古", grams=30)]))
    assert not unknown.certain and "没有数量标准" in unknown.rule


def test_intentional_injury_by_injury_grade_and_death():
    assert tier_of("故意伤害罪", Elements(injuries=["轻伤一级"])).tier.level == 1
    grave = tier_of("故意伤害罪", Elements(injuries=["轻伤二级", "重伤二级"]))
    assert (grave.tier.min_months, grave.tier.max_months, grave.certain) == (36, 120, True)
    assert tier_of("故意伤害罪", Elements(deaths=1)).tier.condition_key == "death"


def test_traffic_accident_by_deaths_responsibility_and_escape():
    base = tier_of("交通肇事罪", Elements(deaths=1, traffic_responsibility="全部", hit_and_run=False))
    assert base.tier.level == 1 and base.certain and "法释〔2000〕33号第二条" in base.rule
    fled = tier_of("交通肇事罪", Elements(deaths=1, traffic_responsibility="主要", hit_and_run=True))
    assert (fled.tier.min_months, fled.tier.max_months) == (36, 84)
    assert (
        not fled.certain and "因逃逸致人死亡" in fled.rule
    )  # the elements cannot tell whether fleeing killed
    minor = tier_of("交通肇事罪", Elements(deaths=1, traffic_responsibility="次要", hit_and_run=True))
    assert minor.tier.level == 1 and not minor.certain


def test_drunk_driving_by_blood_alcohol():
    drunk = tier_of("危险驾驶罪", Elements(bac_mg_per_100ml=150))
    assert drunk.tier.penalties == ("拘役",) and drunk.certain and "80毫克/100毫升" in drunk.rule
    assert not tier_of("危险驾驶罪", Elements(bac_mg_per_100ml=50)).certain


def test_graft_with_qualified_figures_is_uncertain():
    assert tier_of("贪污罪", Elements(amount_yuan=500000)).tier.level == 2
    low = tier_of("贪污罪", Elements(amount_yuan=20000))
    assert not low.certain and "其他较重情节" in low.rule


def test_circumstance_charges_get_their_base_tier_uncertain():
    decision = tier_of("寻衅滋事罪", Elements())
    assert decision.tier.level == 1 and not decision.certain and "情节" in decision.rule
    assert tier_of("故意杀人罪", Elements()).tier.condition_key == "base"
    assert tier_of("赌博罪", Elements()).certain  # one tier only


def test_no_decision_without_the_elements_the_rules_need():
    assert tier_of("盗窃罪", Elements()) is None
    assert tier_of("故意伤害罪", Elements()) is None
    assert thresholds_of("寻衅滋事罪") == ()
