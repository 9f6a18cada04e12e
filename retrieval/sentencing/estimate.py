"""量刑测算: an explained estimate of the pending case's term, in the terms of the 2021 量刑指导意见.

The index's ``SentencingModel`` (learned from its judgments) gives the term at the 10th, 50th and 90th
percentile for the case's tier, figures and circumstances. The explanation reads like the guidance's
method: a 基准 for the tier and the tier-setting figure (the model's median with no circumstance),
then each circumstance's effect as a percentage of the term, line by line, beside the range the
guidance allows (``corpora/data/guidance_adjustments.tsv``) and a note where the corpus's practice
falls outside it. The estimate never exceeds the statutory maximum of the case's tier, nor
falls below its minimum unless the case has a ground for 减轻处罚 (刑法第六十三条); when the tier is
only possibly the case's, the charge's whole range bounds it; a clipped estimate says so. When it cannot estimate (no model, a charge without enough judgments, a tier with no
custodial term), ``months`` is None and ``basis`` says why: never a number without its basis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cn2an
from pydantic import BaseModel, Field

from leian.corpora.law import adjustments, statutory_range, tiers_of
from leian.corpora.record import CaseRecord, Defendant, Elements
from leian.indexer.sentencing_model import (
    CIRCUMSTANCES,
    MIN_POOLED,
    PROBATION_MAX_MONTHS,
    SentencingModel,
    present_figures,
)
from leian.indexer.tiering import TierDecision, tier_of
from leian.retrieval.sentencing.statistics import months_text, yuan_text

TERMS = frozenset({"有期徒刑", "拘役"})
FIGURE_NAMES = {
    "amount": "数额",
    "grams": "毒品数量",
    "bac": "血液酒精含量",
    "count": "次数",
    "light_injuries": "轻伤人数",
    "grave_injuries": "重伤人数",
    "deaths": "死亡人数",
}
# 刑法第六十三条: below the statutory minimum only with a ground for 减轻处罚 (these, as extracted)
MITIGATING = frozenset(
    {"未遂", "中止", "预备", "从犯", "胁从犯", "自首", "立功", "重大立功", "防卫过当", "避险过当", "未成年"}
)
MAX_FIXED_TERM = 180  # 刑法第四十五条: 有期徒刑 of one crime is at most fifteen years
QUIET = 0.02  # an effect under 2 % is reported as no clear effect in the corpus


class EstimateLine(BaseModel):
    factor: str  # 基准 / a circumstance
    effect_pct: float | None = None  # the model's effect on the median term (None for the 基准)
    months: float | None = None  # the 基准's term
    guidance: str = ""  # the guidance's range, as it words it, with its source
    note: str = ""  # where the corpus's practice falls outside the guidance's range


class SentenceEstimate(BaseModel):
    charge: str
    months: float | None  # the median estimate of the custodial term; None: see ``basis``
    low_months: float | None = None  # the 80 % interval's ends (fitted at 7.5 % and 92.5 %)
    high_months: float | None = None
    basis: str  # how it was computed, or why it could not be
    lines: list[EstimateLine] = Field(default_factory=list)
    tier_level: int | None = None
    tier_rule: str = ""
    statutory_min: int | None = None
    statutory_max: int | None = None
    clipped: bool = False
    probation_rate: float | None = None  # the chance of 缓刑, when the median term allows it
    fine_yuan: float | None = None  # the median fine, for a charge whose cases are fined
    n_cases: int = 0  # judgments of the charge the fit rests on
    model: str = ""  # the fit: 本罪名模型 / 多罪名合并模型, and the model version


def estimate_sentence(
    model: SentencingModel | None,
    charge: str,
    elements: Elements,
    circumstances: Iterable[str],
    province: str | None = None,
) -> SentenceEstimate:
    """The explained estimate for one charge of a suspect with ``elements`` and ``circumstances``."""
    circumstances = list(dict.fromkeys(circumstances))
    if model is None:
        return SentenceEstimate(
            charge=charge, months=None, basis="索引未包含量刑模型，无法测算（请用本版本重建索引）。"
        )
    try:
        tiers = tiers_of(charge)
    except KeyError:
        return SentenceEstimate(charge=charge, months=None, basis=f"“{charge}”不是可识别的罪名，无法测算。")
    decision = tier_of(charge, elements, province)
    fit = model.fit_for(charge)
    official = tiers[0].charge
    if fit is None:
        n = model.counts.get(official, 0)
        return SentenceEstimate(
            charge=official,
            months=None,
            basis=f"本索引中{official}单一罪名、判处有期徒刑或拘役的判决仅{n}件，少于{MIN_POOLED}件，无法测算。",
            tier_level=decision.tier.level if decision else None,
            tier_rule=decision.rule if decision else "",
        )
    tier = decision.tier if decision else None
    if decision is not None and decision.below_entry and decision.tier.level == 1:
        return SentenceEstimate(
            charge=official,
            months=None,
            basis=f"待决案件的要素未达到{official}的入罪标准（{decision.rule}），不作测算；请核实要素。",
            tier_level=None,
            tier_rule=decision.rule,
        )
    if tier is not None and not TERMS & set(tier.penalties):
        return SentenceEstimate(
            charge=official,
            months=None,
            basis=f"所在档次（{tier.penalty_text}）没有有期徒刑或拘役，测算只针对刑期。",
            tier_level=tier.level,
            tier_rule=decision.rule,
        )
    level = tier.level if tier else 0
    full = model.predict(official, level, elements, circumstances)
    base = model.predict(official, level, _without_stage_and_role(elements), [])
    lo, hi = _bounds(official, decision, circumstances, elements)
    clipped_values = [_clip(v, lo, hi) for v in full]
    clipped = clipped_values != full
    low, median, high = clipped_values
    own = len(fit.charges) == 1
    probation = (
        model.probation(official, level, elements, circumstances)
        if median <= PROBATION_MAX_MONTHS and "有期徒刑" in (tier.penalties if tier else ("有期徒刑",))
        else None
    )
    fine = model.fine(official, level, elements, circumstances) if fit.fine_coefficients else None
    lines = [
        EstimateLine(
            factor="基准",
            months=base[1],
            guidance=_base_text(tier, elements),
        ),
        *_circumstance_lines(model, official, elements, circumstances),
    ]
    parts = [
        f"依本索引{fit.n}件{'本罪名' if own else '多罪名合并'}判决拟合的分位数回归（刑期取对数）测算："
        f"中位数{months_text(median)}，80%区间{months_text(low)}至{months_text(high)}。"
    ]
    if tier is None:
        parts.append("待决案件的要素不足以确定法定刑档次，按基本档次测算，以该罪的法定刑幅度为限。")
    elif not decision.certain:
        parts.append("法定刑档次的认定不确定，以该罪的法定刑幅度为限。")
    if clipped:
        bound = f"{months_text(lo)}至{months_text(hi)}" if lo else f"{months_text(hi)}以下"
        parts.append(f"测算值超出法定刑幅度，已限于{bound}。")
    if tier is not None and tier.max_months is None:
        grave = "、".join(k for k in tier.penalties if k in ("无期徒刑", "死刑"))
        parts.append(f"所在档次可判处{grave}，测算只针对有期徒刑的刑期（至多15年）。")
    if probation is not None:
        parts.append(f"刑期可适用缓刑时，同类判决适用缓刑的可能性约{probation:.0%}（{fit.probation_n}件）。")
    if fine is not None:
        parts.append(f"并处罚金的，罚金中位数约{yuan_text(round(fine, -2) or fine)}（{fit.fine_n}件）。")
    basis = "".join(parts)
    return SentenceEstimate(
        charge=official,
        months=median,
        low_months=low,
        high_months=high,
        basis=basis,
        lines=lines,
        tier_level=level or None,
        tier_rule=decision.rule if decision else "",
        statutory_min=lo,
        statutory_max=tier.max_months if tier else None,
        clipped=clipped,
        probation_rate=probation,
        fine_yuan=fine,
        n_cases=fit.n,
        model=("本罪名模型" if own else "多罪名合并模型") + f"（{model.version}）",
    )


def _bounds(
    charge: str, decision: TierDecision | None, circumstances: list[str], e: Elements
) -> tuple[int | None, int]:
    """The range the estimate is kept in: the tier's top (an open top: fifteen years of 有期徒刑); its
    floor unless a ground for 减轻处罚 (刑法第六十三条) is present; a tier the elements put the case in
    only possibly bounds nothing below the charge's own range."""
    if decision is None or not decision.certain:
        r = statutory_range(charge)
        return None, r.max_months or MAX_FIXED_TERM
    t = decision.tier
    grounds = MITIGATING & {*circumstances, e.stage or "", e.role or ""}
    return (None if grounds else t.min_months), (t.max_months or MAX_FIXED_TERM)


def _without_stage_and_role(e: Elements) -> Elements:
    return e.model_copy(update={"stage": None, "role": None})


def _clip(v: float, lo: int | None, hi: int | None) -> float:
    if lo is not None and v < lo:
        return float(lo)
    if hi is not None and v > hi:
        return float(hi)
    return v


def _base_text(tier, e: Elements) -> str:
    parts = [f"第{cn2an.an2cn(tier.level)}档（{tier.condition}）" if tier else "档次未定"]
    figures = {k: FIGURE_NAMES[k] for k in present_figures(e)}
    if "amount" in figures and e.amount_yuan:
        parts.append(f"数额{yuan_text(e.amount_yuan)}")
    if "grams" in figures:
        parts.append("、".join(f"{q.kind}{q.grams:g}克" for q in e.drugs))
    if "bac" in figures:
        parts.append(f"血液酒精含量{e.bac_mg_per_100ml:g}毫克/100毫升")
    parts += [v for k, v in figures.items() if k in ("count", "light_injuries", "grave_injuries", "deaths")]
    return "依" + "、".join(parts) + "，不计情节"


def _circumstance_lines(
    model: SentencingModel, charge: str, e: Elements, circumstances: list[str]
) -> list[EstimateLine]:
    have = set(circumstances)
    if e.stage in ("未遂", "中止", "预备"):
        have.add(e.stage)
    if e.role in ("从犯", "胁从犯"):
        have.add(e.role)
    guide = adjustments()
    out = []
    for c in CIRCUMSTANCES:
        if c not in have:
            continue
        b = model.effect(charge, c)
        pct = 100 * (math.exp(b) - 1) if b is not None else None
        g = guide.get(c)
        note = ""
        if pct is not None and abs(pct) < 100 * QUIET:
            note = "本索引判决中该情节对刑期无明显影响"
        elif g is not None and pct is not None and not g.allows(pct):
            note = f"本索引判决的做法（{pct:+.0f}%）在指导意见幅度之外"
        out.append(
            EstimateLine(
                factor=c,
                effect_pct=round(pct, 1) if pct is not None else None,
                guidance=f"{g.text}（{g.source}）" if g else "指导意见未列该情节的幅度",
                note=note,
            )
        )
    return out


def deciding_suspect(
    charge: str, pending: CaseRecord, province: str | None = None
) -> tuple[TierDecision | None, Defendant | None]:
    """The suspect whose elements decide ``charge``'s tier — surely before possibly, the higher tier
    first (a new case's facts do not say which suspect is charged with what) — with that decision;
    else the first suspect. A case analysed without its suspects stands for itself with its 涉案数额."""
    suspects = list(pending.defendants)
    decided = [(t, d) for d in suspects if (t := tier_of(charge, d.elements, province)) is not None]
    if not decided and pending.amount_yuan is not None:
        case = Defendant(name="待决案件", elements=Elements(amount_yuan=pending.amount_yuan))
        suspects = suspects or [case]
        decided = [(t, case) for t in [tier_of(charge, case.elements, province)] if t is not None]
    if not decided:
        return None, (suspects[0] if suspects else None)
    return max(decided, key=lambda td: (td[0].certain, td[0].tier.level))


def suspect_for(charge: str, pending: CaseRecord, province: str | None = None) -> tuple[Elements, list[str]]:
    """The elements and circumstances a new case's estimate for ``charge`` rests on: the deciding
    suspect's (``deciding_suspect``), with the circumstances the facts suggest for the case."""
    _, who = deciding_suspect(charge, pending, province)
    if who is None:
        return Elements(amount_yuan=pending.amount_yuan), list(pending.circumstances)
    return who.elements, list(dict.fromkeys([*who.circumstances, *pending.circumstances]))


def estimate_text(est: SentenceEstimate) -> str:
    """One line for a table: 1年6个月（1年至2年3个月）."""
    if est.months is None:
        return "无法测算"
    return f"{months_text(est.months)}（{months_text(est.low_months)}至{months_text(est.high_months)}）"


__all__ = [
    "EstimateLine",
    "SentenceEstimate",
    "TierDecision",
    "deciding_suspect",
    "estimate_sentence",
    "estimate_text",
    "suspect_for",
]
