"""One sentencing picture per applicable charge, inside the statutory tier of the pending case.

For each charge (given charges always; predicted ones within 10 points of the likeliest each):

1. **The tier.** The pending case's elements put the charge in a 法定刑 tier (``indexer.tiering``,
   the law as data); the rule applied is shown with its sources. When the elements do not decide, the
   charge's whole statutory range stands and the picture says so.
2. **The cases.** Comparable cases (a defendant convicted of this charge alone; 数罪并罚 counted
   apart) whose own elements put them surely in the same tier (not by a national range without the
   province's figure, not contradicted by a term above the tier's maximum) come first: with at least ``MIN_SAMPLE`` of
   them the figures rest on the same tier, else on every tier of the charge, and the picture says
   which. The closeness of the tier-setting element is shown as its own subset (数额 within ±50 % …).
3. **The law bounds the practice.** The reference range never leaves the tier's statutory range. A
   proposed sentence outside it (a kind the tier does not allow, a term above its maximum, or below
   its minimum without a ground for 减轻处罚) is 超出法定刑幅度 — an error of law, reported apart from
   类案冲突 (a departure from the usual band of the similar cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel

from leian.corpora.dictionaries import canonical_charge
from leian.corpora.law import statutory_range, tiers_of
from leian.corpora.law.tiers import KEY_LABELS
from leian.corpora.record import CaseRecord, Defendant, Elements
from leian.indexer.sentencing_model import SentencingModel
from leian.indexer.tiering import TierDecision, tier_of
from leian.retrieval.sentencing.estimate import (
    MITIGATING,
    SentenceEstimate,
    deciding_suspect,
    estimate_sentence,
    suspect_for,
)
from leian.retrieval.sentencing.statistics import (
    MIN_SAMPLE,
    POOLED_KINDS,
    Observation,
    ProposedCheck,
    ProposedSentence,
    ReferenceRange,
    SentencingStats,
    SubsetStats,
    check_proposed,
    distribution,
    months_text,
    sentencing_stats,
    yuan_text,
)

CLOSE_SHARE = 0.5  # "相近": the tier-setting figure within ±50 % of the pending case's
STATUTORY_DEFINITION = (
    "法定刑幅度：待决案件依其要素（数额、毒品数量、伤亡、血液酒精含量、逃逸等）所在的法定刑档次。"
    "拟量刑建议的刑种为该档次所无、刑期高于其上限，或无减轻处罚情节而低于其下限的，为超出法定刑幅度，"
    "属适用法律错误，与类案冲突（偏离类案通常量刑）不同。参考区间不超出该档次的法定刑幅度。"
)


class StatutoryView(BaseModel):
    """The statutory range the pending case's charge is judged in, and why."""

    charge: str
    article: str
    level: int | None  # None: the elements do not decide the tier; the whole range stands
    tiers: int
    condition: str
    condition_label: str  # the condition's short name: 数额巨大, 致人重伤 …
    penalty_text: str
    min_months: int | None
    max_months: int | None  # None: open (无期徒刑/死刑 allowed)
    penalties: list[str]  # the kinds of principal penalty the range allows
    rule: str
    certain: bool
    sources: list[str]


class ChargePicture(BaseModel):
    charge: str
    statutory: StatutoryView | None  # None: a charge the law data does not know
    estimate: SentenceEstimate | None = None  # 量刑测算 (None: the searcher had no model to ask)
    basis: Literal["同档次", "同罪名"]
    basis_text: str
    stats: SentencingStats
    n_charge: int  # comparable cases of the charge, every tier
    n_same_tier: int | None  # of those, in the pending case's tier (None: tier unknown)
    reference_note: str = ""
    proposed: ProposedCheck | None = None


def charge_pictures(
    records: Sequence[CaseRecord],
    charges: Sequence[str],
    pending: CaseRecord,
    proposed: ProposedSentence | None = None,
    province: str | None = None,
    model: SentencingModel | None = None,
    estimate: bool = False,
) -> list[ChargePicture]:
    """A picture per charge, from the statistics pool ``records`` (best first); with ``estimate``, each
    with the 量刑测算 of ``model`` (which says why when there is no model)."""
    return [
        _picture(records, c, pending, proposed, province, model, estimate) for c in dict.fromkeys(charges)
    ]


def _picture(
    records: Sequence[CaseRecord],
    charge: str,
    pending: CaseRecord,
    proposed: ProposedSentence | None,
    province: str | None,
    model: SentencingModel | None = None,
    estimate: bool = False,
) -> ChargePicture:
    known = canonical_charge(charge) is not None and bool(_tiers(charge))
    decision, who = deciding_suspect(charge, pending, province) if known else (None, None)
    view = _view(charge, decision) if known else None
    stats_all = sentencing_stats(records, [charge], pending=pending)
    by_id = {r.id: r for r in records}
    tiered = [_with_tier(o, by_id.get(o.case_id), charge) for o in stats_all.observations]
    same = [o for o in tiered if decision is not None and o.tier_level == decision.tier.level]
    if decision is not None and len(same) >= MIN_SAMPLE:
        ids = {o.case_id for o in same}
        stats = sentencing_stats([r for r in records if r.id in ids], [charge], pending=pending)
        # 数罪并罚 and unreadable cases are counted over the charge, whatever their tier
        stats = stats.model_copy(
            update={"n_excluded_multi": stats_all.n_excluded_multi, "n_unknown": stats_all.n_unknown}
        )
        basis, basis_text = (
            "同档次",
            (
                f"统计依据：与待决案件同处{charge}第{_cn(decision.tier.level)}档（{decision.tier.condition}）的"
                f"可比类案{len(same)}件（同罪名各档次共{len(tiered)}件）。"
            ),
        )
        observations = same
    else:
        stats = stats_all
        observations = tiered
        if decision is None:
            basis_text = f"统计依据：同罪名可比类案{len(tiered)}件（待决案件的要素不足以确定法定刑档次，未按档次区分）。"
        else:
            basis_text = (
                f"统计依据：同罪名可比类案{len(tiered)}件；其中与待决案件同处第{_cn(decision.tier.level)}档的"
                f"仅{len(same)}件，不足{MIN_SAMPLE}件，故不按档次区分。"
            )
        basis = "同罪名"
    subsets = [s for s in _closeness(observations, who) if s is not None]
    stats = stats.model_copy(update={"observations": observations, "subsets": subsets})
    reference, note = _clip(stats.reference, view)
    stats = stats.model_copy(update={"reference": reference})
    check = None
    if proposed is not None:
        check = check_proposed(stats, proposed)
        if view is not None:
            check = check_statutory(check, view, pending.circumstances)
    est = None
    if estimate:
        est = estimate_sentence(model, charge, *suspect_for(charge, pending, province), province)
    return ChargePicture(
        charge=charge,
        statutory=view,
        estimate=est,
        basis=basis,
        basis_text=basis_text,
        stats=stats,
        n_charge=len(tiered),
        n_same_tier=len(same) if decision is not None else None,
        reference_note=note,
        proposed=check,
    )


def _tiers(charge: str):
    try:
        return tiers_of(charge)
    except KeyError:
        return ()


def _view(charge: str, decision: TierDecision | None) -> StatutoryView:
    if decision is not None:
        t = decision.tier
        sources = [t.source, *dict.fromkeys(r.source for r in decision.thresholds)]
        return StatutoryView(
            charge=decision.charge,
            article=t.article,
            level=t.level,
            tiers=len(_tiers(charge)),
            condition=t.condition,
            condition_label=KEY_LABELS.get(t.condition_key, t.condition),
            penalty_text=t.penalty_text,
            min_months=t.min_months,
            max_months=t.max_months,
            penalties=list(t.penalties),
            rule=decision.rule,
            certain=decision.certain,
            sources=list(dict.fromkeys(sources)),
        )
    r = statutory_range(charge)
    tiers = _tiers(charge)
    return StatutoryView(
        charge=r.charge,
        article=tiers[0].article,
        level=None,
        tiers=len(tiers),
        condition="要素不足以确定档次",
        condition_label="档次未定",
        penalty_text="；".join(f"第{_cn(t.level)}档（{t.condition}）{t.penalty_text}" for t in tiers),
        min_months=r.min_months,
        max_months=r.max_months,
        penalties=list(r.penalties),
        rule=f"待决案件的要素不足以确定{r.charge}的法定刑档次，以该罪全部法定刑幅度为限",
        certain=False,
        sources=list(dict.fromkeys(t.source for t in tiers)),
    )


def _with_tier(o: Observation, rec: CaseRecord | None, charge: str) -> Observation:
    """The observation with its own tier: only a tier its elements decide for sure, and that its
    sentence does not contradict (a term above the tier's maximum means a misread element)."""
    d = next((d for d in rec.defendants if d.name == o.defendant), None) if rec else None
    if d is None:
        return o
    decision = tier_of(charge, d.elements, rec.province) if _tiers(charge) else None
    level = decision.tier.level if decision is not None and decision.certain else None
    if level is not None and o.months is not None and o.kind in POOLED_KINDS:
        top = decision.tier.max_months
        if top is not None and o.months > top:
            level = None
    return o.model_copy(update={"tier_level": level, "element": _element_text(d.elements)})


def elements_text(e: Elements) -> list[str]:
    """The elements as a reader reads them: 数额65,300元, 甲基苯丙胺12.5克, 血液酒精含量247毫克/100毫升 …"""
    parts = []
    if e.amount_yuan is not None:
        parts.append(f"数额{yuan_text(e.amount_yuan)}")
    if e.offence_count and e.offence_count > 1:
        parts.append(f"{e.offence_count}次")
    parts += [f"{q.kind}{q.grams:g}克" for q in e.drugs]
    if e.bac_mg_per_100ml is not None:
        parts.append(f"血液酒精含量{e.bac_mg_per_100ml:g}毫克/100毫升")
    if e.deaths:
        parts.append(f"致{e.deaths}人死亡")
    for grade in dict.fromkeys(e.injuries):
        parts.append(f"{grade}{e.injuries.count(grade)}人")
    if e.traffic_responsibility:
        parts.append(f"负事故{e.traffic_responsibility}责任")
    if e.hit_and_run:
        parts.append("肇事后逃逸")
    if e.stage and e.stage != "既遂":
        parts.append(f"犯罪{e.stage}")
    if e.role:
        parts.append(e.role)
    return parts


def _element_text(e: Elements) -> str | None:
    return "，".join(elements_text(e)) or None


def _closeness(obs: Iterable[Observation], who: Defendant | None) -> list[SubsetStats | None]:
    """The cases whose tier-setting figure is close to the pending case's (±50 %)."""
    if who is None:
        return []
    obs = [o for o in obs if o.kind in POOLED_KINDS]
    e = who.elements
    out: list[SubsetStats | None] = []
    if e.amount_yuan:
        lo, hi = e.amount_yuan * (1 - CLOSE_SHARE), e.amount_yuan * (1 + CLOSE_SHARE)
        near = [o.months for o in obs if o.amount_yuan is not None and lo <= o.amount_yuan <= hi]
        out.append(
            SubsetStats(
                label=f"数额与待决案件（{yuan_text(e.amount_yuan)}）相差不超过50%（{yuan_text(lo)}至{yuan_text(hi)}）",
                n=len(near),
                months=distribution(near),
            )
        )
    for q in e.drugs:
        lo, hi = q.grams * (1 - CLOSE_SHARE), q.grams * (1 + CLOSE_SHARE)
        label = f"{q.kind}{q.grams:g}克"
        near = [o.months for o in obs if o.element and _grams_in(o.element, q.kind, lo, hi)]
        out.append(
            SubsetStats(
                label=f"毒品数量与待决案件（{label}）相差不超过50%", n=len(near), months=distribution(near)
            )
        )
    return out


def _grams_in(element: str, kind: str, lo: float, hi: float) -> bool:
    at = element.find(kind)
    if at < 0:
        return False
    digits = element[at + len(kind) :].split("克", 1)[0]
    try:
        return lo <= float(digits) <= hi
    except ValueError:
        return False


def _clip(ref: ReferenceRange, view: StatutoryView | None) -> tuple[ReferenceRange, str]:
    """The reference range kept inside the statutory range of the case's tier."""
    if view is None or ref.low_months is None or ref.high_months is None:
        return ref, ""
    lo = ref.low_months if view.min_months is None else max(ref.low_months, view.min_months)
    hi = ref.high_months if view.max_months is None else min(ref.high_months, view.max_months)
    if (lo, hi) == (ref.low_months, ref.high_months):
        return ref, ""
    if lo > hi:  # the similar cases lie wholly outside the tier: the tier's own bound
        lo = hi = view.min_months if ref.high_months < (view.min_months or 0) else view.max_months
    note = (
        f"类案刑期区间{months_text(ref.low_months)}至{months_text(ref.high_months)}超出法定刑幅度"
        f"（{_range_text(view)}），参考区间限于{months_text(lo)}至{months_text(hi)}。"
    )
    text = ref.text.rstrip("。") + f"；已限于法定刑幅度内：{months_text(lo)}至{months_text(hi)}。"
    return ref.model_copy(update={"low_months": lo, "high_months": hi, "text": text}), note


def _range_text(view: StatutoryView) -> str:
    if view.max_months is None:
        return f"{months_text(view.min_months)}以上，可至{'、'.join(k for k in view.penalties if k in ('无期徒刑', '死刑'))}"
    return f"{months_text(view.min_months)}至{months_text(view.max_months)}"


def check_statutory(check: ProposedCheck, view: StatutoryView, circumstances: Iterable[str]) -> ProposedCheck:
    """Place the proposal against the statutory range; outside it is an error (超出法定刑幅度)."""
    p = check.proposed
    reasons: list[str] = []
    where = f"{view.charge}" + (f"第{_cn(view.level)}档" if view.level else "") + f"（{view.penalty_text}）"
    # 免予刑事处罚 is not placed against the tier: 刑法第三十七条 makes it a finding on 情节轻微, not a
    # penalty kind a tier lists
    if p.kind == "单处罚金":
        if "单处" not in view.penalty_text:
            reasons.append(f"【超出法定刑幅度】{where}不可单处罚金。")
    elif p.kind != "免予刑事处罚" and p.kind not in view.penalties:
        reasons.append(f"【超出法定刑幅度】拟判刑种{p.kind}不在{where}之内。")
    elif p.months is not None:
        if view.max_months is not None and p.months > view.max_months:
            reasons.append(
                f"【超出法定刑幅度】拟判刑期{months_text(p.months)}高于{where}的上限{months_text(view.max_months)}。"
            )
        elif view.min_months is not None and p.months < view.min_months:
            grounds = sorted(MITIGATING & set(circumstances))
            if grounds:
                reasons.append(
                    f"拟判刑期{months_text(p.months)}低于{where}的下限{months_text(view.min_months)}，"
                    f"须依刑法第六十三条减轻处罚（待决案件情节：{'、'.join(grounds)}）。"
                )
            else:
                reasons.append(
                    f"【超出法定刑幅度】拟判刑期{months_text(p.months)}低于{where}的下限{months_text(view.min_months)}，"
                    "且待决案件未见减轻处罚情节（刑法第六十三条）。"
                )
    if not any(r.startswith("【超出法定刑幅度】") for r in reasons):
        if not reasons:
            reasons.append(f"拟量刑建议在{where}之内。")
        return check.model_copy(update={"reasons": [*reasons, *check.reasons]})
    if not view.certain:
        reasons.append("（法定刑档次的认定不确定，理由见上；请核实要素后复核。）")
    return check.model_copy(
        update={
            "status": "超出法定刑幅度",
            "conflict": True,
            "outside_statutory": True,
            "reasons": [*reasons, *check.reasons],
        }
    )


def _cn(n: int | None) -> str:
    return "一二三四五六七八九十"[n - 1] if n and 1 <= n <= 10 else str(n)


__all__ = [
    "STATUTORY_DEFINITION",
    "ChargePicture",
    "StatutoryView",
    "charge_pictures",
    "check_statutory",
    "elements_text",
]
