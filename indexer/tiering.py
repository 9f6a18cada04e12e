"""The statutory tier of a defendant's charge, computed from the case elements and the law as data.

:func:`tier_of` walks a 罪名's tiers (``leian.corpora.law``) from the harshest down and takes the first
whose threshold rows the :class:`~leian.corpora.record.Elements` meet: 数额 against the 两高 figures (the
province's figure where one is recorded), grams of each drug (several kinds added up as 海洛因 where a
conversion row allows it), 血液酒精含量, deaths and 重伤 victims with the share of responsibility, 逃逸.
Within one tier the rows are alternatives. A row with a qualifier (贪污 一万元 with 其他较重情节) can only
make a tier possible, not certain; when a tier has several qualified rows and no plain one, the rows
together cover its cases (信用卡诈骗 by 冒用 or by 恶意透支), so meeting all of them is certain.

The decision carries the row it chose, the threshold rows it used and one sentence a prosecutor can
check. ``certain`` is False when a figure falls inside a national range with no provincial figure for
the case (the lower tier is taken and the sentence says why), when only a qualified figure is met, when
the amount is below the entry threshold, or when a tier above the chosen one turns on 情节 the elements
do not show. Charges whose tiers have no numeric rule get their base tier, uncertain unless the charge
has a single tier. ``None``: the elements hold none of the quantities the charge's rules look at.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cn2an
from pydantic import BaseModel, ConfigDict

from leian.corpora.dictionaries import PROVINCES
from leian.corpora.law.thresholds import ThresholdRow, thresholds_of
from leian.corpora.law.tiers import KEY_LABELS, StatutoryRange, TierRow, statutory_range, tiers_of
from leian.corpora.record import Elements

__all__ = ["StatutoryRange", "TierDecision", "statutory_range", "tier_of"]

_DOC_NUMBER = re.compile(r"〔\d{4}〕\d+号")
_NOTE = re.compile(r"（(?![一二三四五六七八九十]+）)[^（）]*）")  # a parenthetical note, not 第（一）项


class TierDecision(BaseModel):
    """The tier a case's elements put its 罪名 in, and why."""

    model_config = ConfigDict(frozen=True)

    charge: str  # the official 罪名
    tier: TierRow
    thresholds: tuple[ThresholdRow, ...]  # the rows the decision rests on (national and provincial)
    rule: str  # one sentence: the figure, the standard and its source, the tier and its penalty
    certain: bool
    below_entry: bool = False  # the figures stated fall short of the lowest tier's threshold


@dataclass
class _Outcome:
    """What the elements say about one tier: met (True), not met (False) or cannot tell (None)."""

    met: bool | None = False
    reached: bool = False  # the figure is reached, whatever the row's qualifier
    used: list[ThresholdRow] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # clauses for the rule, in the order found
    stated: bool = False  # whether any element its rows look at is given


def tier_of(
    charge: str, elements: Elements, province: str | None = None, *, data_dir: Path | None = None
) -> TierDecision | None:
    """The tier of ``charge`` (any 罪名 form) for a defendant with ``elements``, in ``province`` if known.

    Example: 盗窃罪, 数额65,300元, 四川省 → 第二档 (数额巨大, 四川省5万元), certain."""
    tiers = tiers_of(charge, data_dir)
    rows = thresholds_of(charge, data_dir)
    national = [r for r in rows if not r.province]
    if not national:
        return _by_circumstance(tiers)
    province = _province(province)
    outcomes = {
        key: _tier_outcome(key, national, rows, elements, province)
        for key in dict.fromkeys(r.condition_key for r in national)
    }
    _apply_requirements(national, outcomes)
    if not any(o.stated for o in outcomes.values()):
        return None

    chosen: TierRow | None = None
    doubts: list[str] = []  # tiers above the chosen one the elements may meet
    doubtful: list[ThresholdRow] = []
    undecided: list[TierRow] = []  # tiers above the chosen one that no figure decides
    for tier in reversed(tiers):
        outcome = outcomes.get(tier.condition_key)
        if outcome is None:
            undecided.append(tier)
        elif outcome.met:
            chosen = tier
            break
        elif outcome.met is None:
            doubts += outcome.reasons
            doubtful += outcome.used
    fallback = chosen is None  # no tier is met for sure: the mildest one, with what kept it open
    chosen = chosen or tiers[0]
    own = outcomes.get(chosen.condition_key, _Outcome())
    below = fallback and own.met is False and own.stated  # under the entry figure
    undecided = sorted((t for t in undecided if t.level > chosen.level), key=lambda t: t.level)

    clauses = [] if fallback else list(own.reasons)
    clauses += doubts + (own.reasons if below else [])
    if undecided:
        clauses.append(_undecided(undecided))
    lower = "按较低档次，" if doubts else ""
    clauses.append(f"{lower}适用{chosen.article}第{_cn(chosen.level)}档：{chosen.penalty_text}")
    thresholds = tuple(dict.fromkeys(own.used + doubtful))
    return TierDecision(
        charge=chosen.charge,
        tier=chosen,
        thresholds=thresholds,
        rule="；".join(dict.fromkeys(clauses)),
        certain=not (doubts or below or undecided),
        below_entry=below,
    )


def _by_circumstance(tiers: Sequence[TierRow]) -> TierDecision:
    """A 罪名 whose tiers no figure decides: its base tier, and what the higher tiers turn on."""
    base = next((t for t in tiers if t.condition_key == "base"), tiers[0])
    penalty = f"适用{base.article}第{_cn(base.level)}档：{base.penalty_text}"
    others = [t for t in tiers if t is not base]
    if not others:
        return TierDecision(
            charge=base.charge,
            tier=base,
            thresholds=(),
            rule=f"本罪只有一个量刑幅度，{penalty}",
            certain=True,
        )
    turns = "；".join(f"{t.condition}：第{_cn(t.level)}档" for t in others)
    rule = f"其他档次取决于情节（{turns}），系统不评估情节，按基本档次{penalty}"
    return TierDecision(charge=base.charge, tier=base, thresholds=(), rule=rule, certain=False)


def _tier_outcome(
    key: str,
    national: list[ThresholdRow],
    rows: Sequence[ThresholdRow],
    elements: Elements,
    province: str | None,
) -> _Outcome:
    mine = [r for r in national if r.condition_key == key]
    if any(r.element == "drug_grams" for r in mine):
        return _drug_outcome(mine, elements)
    results = [_row_outcome(r, rows, elements, province) for r in mine]
    out = _Outcome(stated=any(o.stated for o in results))
    plain = [o for r, o in zip(mine, results, strict=True) if not r.qualifier]
    qualified = [o for r, o in zip(mine, results, strict=True) if r.qualifier]
    # qualified rows without a plain one cover the tier between them (两种以上情形各有标准)
    covering = not plain and len(qualified) > 1 and all(o.reached for o in qualified)
    if covering or any(o.met for o in plain):
        hits = qualified if covering else [o for o in plain if o.met]
        out.met = True
    elif any(o.met is not False for o in results):
        hits = [o for o in results if o.met is not False]
        out.met = None
    else:
        hits = [o for o in results if o.stated][:1]  # why the nearest figure was missed
    for o in hits:
        out.used += o.used
        out.reasons += o.reasons
    return out


def _row_outcome(
    row: ThresholdRow, rows: Sequence[ThresholdRow], elements: Elements, province: str | None
) -> _Outcome:
    value = _element_value(row.element, elements)
    if value is None:
        return _Outcome()
    what = _describe(row.element, value)
    label = KEY_LABELS[row.condition_key]
    if row.element == "hit_and_run":  # a fact, not a figure: the law names it
        reached = bool(value)
        return _Outcome(met=reached, used=[row], reasons=[f"{what}（{_cite(row.source)}）"], stated=True)
    local = [r for r in rows if r.rule_key == row.rule_key and r.province and r.province == province]
    figure, used = row.national_low, [row]
    if row.ranged:
        whole = [r for r in local if not r.region]
        national = (
            f"全国标准{_amount(row.element, row.national_low)}至{_amount(row.element, row.national_high)}"
        )
        if whole:
            figure, used = whole[0].value, [row, whole[0]]
            where = f"{national}，{whole[0].province}{_amount(row.element, figure)}；{_cite(row.source)}、{_cite(whole[0].source)}"
        elif value >= row.national_high or value < row.national_low:
            figure = row.national_high if value >= row.national_high else row.national_low
            where = f"{national}；{_cite(row.source)}"
        else:
            parts = "，".join(f"{r.region.split('：')[0]}{_amount(row.element, r.value)}" for r in local)
            local_note = (
                f"（{province}按地区执行：{parts}）"
                if parts
                else (f"（未配置{province}的标准）" if province else "")
            )
            reason = f"{what}介于{national}之间，是否达到{label}取决于所在省份标准{local_note}（{_cite(row.source)}）"
            return _Outcome(met=None, used=used + local, reasons=[reason], stated=True)
    else:
        where = f"{_amount(row.element, figure)}；{_cite(row.source)}"
    reached = value >= figure
    if row.responsibility:
        share = elements.traffic_responsibility
        where = f"负事故{row.responsibility}责任，{where}"
        if share is not None and share not in row.responsibility:
            reached = False
        elif share is None and reached:
            reason = f"{what}，事故责任未载明，{row.responsibility}责任时达到{label}标准（{where}）"
            return _Outcome(met=None, used=used, reasons=[reason], stated=True)
    if reached and row.qualifier:
        reason = f"{what}，{row.qualifier}的，达到{label}标准（{where}）"
        return _Outcome(met=None, reached=True, used=used, reasons=[reason], stated=True)
    reason = _reached(what, reached, label, where)
    return _Outcome(met=reached, reached=reached, used=used, reasons=[reason], stated=True)


def _drug_outcome(rows: list[ThresholdRow], elements: Elements) -> _Outcome:
    """Grams of each drug against the tier's figures; several kinds only through a conversion row."""
    drugs = [d for d in elements.drugs if d.grams > 0]
    if not drugs:
        return _Outcome()
    figures = {r.kind: r for r in rows if r.element == "drug_grams"}
    label = KEY_LABELS[rows[0].condition_key]
    unknown = [d.kind for d in drugs if d.kind not in figures]
    if unknown:
        reason = f"{'、'.join(unknown)}没有数量标准，系统无法判断是否达到{label}"
        return _Outcome(met=None, reasons=[reason], stated=True)
    if len(drugs) == 1:
        drug, row = drugs[0], figures[drugs[0].kind]
        reached = drug.grams >= row.national_low
        what = f"{drug.kind}{drug.grams:g}克"
        where = f"{drug.kind}{row.national_low:g}克；{_cite(row.source)}"
        return _Outcome(met=reached, used=[row], reasons=[_reached(what, reached, label, where)], stated=True)
    conversion = next((r for r in rows if r.element == "drug_conversion"), None)
    if conversion is None or conversion.kind not in figures:
        reason = f"涉及{'、'.join(d.kind for d in drugs)}多种毒品，没有折算依据，系统无法判断是否达到{label}"
        return _Outcome(met=None, reasons=[reason], stated=True)
    unit = figures[conversion.kind]
    total = sum(d.grams * unit.national_low / figures[d.kind].national_low for d in drugs)
    used = [conversion, unit] + [figures[d.kind] for d in drugs]
    what = "、".join(f"{d.kind}{d.grams:g}克" for d in drugs)
    where = f"折算{conversion.kind}{total:.4g}克，标准{conversion.kind}{unit.national_low:g}克；{_cite(unit.source)}；{_cite(conversion.source)}"
    reached = total >= unit.national_low
    return _Outcome(met=reached, used=used, reasons=[_reached(what, reached, label, where)], stated=True)


def _reached(what: str, reached: bool, label: str, where: str) -> str:
    return f"{what}，{'达到' if reached else '未达到'}{label}标准（{where}）"


def _apply_requirements(national: list[ThresholdRow], outcomes: dict[str, _Outcome]) -> None:
    """A tier whose rows require another tier (逃逸 requires the offence) is at most as met as that tier."""
    for key, outcome in outcomes.items():
        needs = {r.requires for r in national if r.condition_key == key and r.requires}
        for need in needs:
            other = outcomes[need].met
            if other is False and outcome.met is not False:
                outcome.met = False
                outcome.reasons = [f"{KEY_LABELS[key]}须以{KEY_LABELS[need]}为前提"]
            elif other is None and outcome.met:
                outcome.met = None


def _undecided(tiers: list[TierRow]) -> str:
    amounts = [t for t in tiers if t.condition_key.startswith("amount")]
    parts = [f"第{_cn(t.level)}档（{t.condition}）" for t in tiers]
    why = "尚无全国统一的数额标准" if len(amounts) == len(tiers) else "取决于案件情节，系统未评估"
    return f"{'、'.join(parts)}{why}"


def _element_value(element: str, elements: Elements) -> float | None:
    if element == "amount_yuan":
        return elements.amount_yuan
    if element == "bac_mg_per_100ml":
        return elements.bac_mg_per_100ml
    if element == "deaths":
        return None if elements.deaths is None else float(elements.deaths)
    if element == "grave_injuries":
        return float(sum(g.startswith("重伤") for g in elements.injuries)) if elements.injuries else None
    if element == "hit_and_run":
        return None if elements.hit_and_run is None else float(elements.hit_and_run)
    return None  # drug elements are read per tier


def _describe(element: str, value: float) -> str:
    return {
        "amount_yuan": f"数额{_yuan(value)}",
        "bac_mg_per_100ml": f"血液酒精含量{value:g}毫克/100毫升",
        "deaths": f"死亡{value:g}人",
        "grave_injuries": f"重伤{value:g}人",
        "hit_and_run": "肇事后逃逸" if value else "未逃逸",
    }[element]


def _amount(element: str, value: float | None) -> str:
    units = {"bac_mg_per_100ml": "毫克/100毫升", "deaths": "人", "grave_injuries": "人", "hit_and_run": ""}
    if value is None:
        return ""
    return _yuan(value) if element == "amount_yuan" else f"{value:g}{units[element]}"


def _yuan(value: float) -> str:
    """3万元, 150万元, 65,300元 — 万 only where it reads exactly."""
    if value >= 10000 and value % 1000 == 0:
        return f"{value / 10000:g}万元"
    return f"{value:,.0f}元"


def _cite(source: str) -> str:
    """The short citation of a source: its 文号 and article (the title where there is no 文号), no notes."""
    short = source.split("：")[0]
    if _DOC_NUMBER.search(short):
        short = re.sub(r"《[^》]*》", "", short)
    return _NOTE.sub("", short).strip("；，")


def _cn(level: int) -> str:
    return cn2an.an2cn(level)


def _province(province: str | None) -> str | None:
    """四川 / 四川省 → 四川省 (the name the data uses); unknown names are kept as given."""
    if not province:
        return None
    return next((p for p in PROVINCES if p.startswith(province) or province.startswith(p)), province)
