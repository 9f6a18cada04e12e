"""The sentencing picture among similar cases with the same charge, and a check of a proposed sentence.

Definitions (they are printed in every report, so a reader knows what a figure means):

* **Comparable case**: a retrieved case with a defendant convicted of the pending case's charge(s)
  (compared by ``charge_group``) and of no other charge. A defendant sentenced for several crimes
  (数罪并罚) has a combined term that says little about one crime, so such cases are counted as
  excluded, never silently mixed in. One observation per case (its first such defendant), so every
  ``n`` is a number of cases.
* **Months**: 有期徒刑 and 拘役 are pooled on one scale (both are custody; 刑法 art. 44/47 count one
  day of pre-trial custody as one day of either). 管制 is kept apart: it is not custody and art. 41
  counts one day of custody as two days of 管制. 无期徒刑、死刑、免予刑事处罚、单处罚金 have no term
  and are only counted by kind.
* **Quantiles** are numpy's default (linear interpolation); the percentile of a proposed term is
  its mid-rank percentile, ``100 * (#below + #equal / 2) / n``.
* **Usual band** (类案冲突): with n ≥ 10 comparable terms, P10–P90 (the middle 80 % of the cases); with
  3 ≤ n < 10 the observed range min–max (flagged 样本较少); below 3 no judgement is made.
* **Reference range**: the interquartile range Q1–Q3 with n ≥ 10; min–max (flagged) with 3 ≤ n < 10;
  none below 3. It is *not* shifted by the pending case's circumstances: the comparable sentences
  already contain their own circumstance adjustments, and the 量刑起点 is set per province (法发
  〔2021〕21号 leaves it to the provincial 实施细则), which this system does not know. Instead each
  circumstance of the pending case is shown with its adjustment range from the national guidance and
  the median term of comparable cases with and without it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord, SentenceKind
from leian.errors import InvalidInput, validation_message
from leian.indexer.extract_numbers import DURATION_RE, MONEY_RE, duration_months, money_yuan

POOLED_KINDS: tuple[str, ...] = ("有期徒刑", "拘役")  # one custodial scale, in months
TERM_KINDS: tuple[str, ...] = ("有期徒刑", "拘役", "管制")  # kinds measured in months
SMALL_SAMPLE = 10  # below this a figure is "样本较少，仅供参考"
MIN_SAMPLE = 3  # below this no range and no conflict judgement
RARE_KIND_SHARE = 0.10  # a proposed kind given in < 10 % of >= SMALL_SAMPLE cases is a conflict
PROBATION_MAX_MONTHS = 36  # 刑法 art. 72: 缓刑 only for 拘役 or 有期徒刑 of at most three years
SMALL_WORDING = "样本较少，仅供参考"
BAND_DEFINITION = (
    "类案冲突的判断标准：同罪名类案不少于10件时，拟判刑期落在类案主刑刑期第10至第90百分位的区间"
    "（即中间80%的案件）之外；类案3至9件时，落在类案实际刑期范围（最低–最高）之外，且注明样本较少；"
    "类案少于3件时不作判断。刑种在不少于10件类案中占比不足10%，或缓刑与类案做法明显相反"
    "（可适用缓刑的类案中缓刑率低于10%而拟适用缓刑，或高于90%而拟不适用），亦提示冲突。"
)
REFERENCE_DEFINITION = (
    "参考区间：同罪名类案不少于10件时取刑期的四分位距（第25至第75百分位，即中间50%的案件）；3至9件时取实际范围"
    "（最低–最高）并注明样本较少；少于3件不提供。参考区间不按待决案件情节折算："
    "类案刑期已包含其各自情节的调节，量刑起点由各省实施细则规定，本系统未配置。"
)

# 法发〔2021〕21号 (两高《关于常见犯罪的量刑指导意见（试行）》) — adjustment of the 基准刑 per circumstance.
# (name, aliases that extraction may use, direction, the range as the guidance words it)
ADJUSTMENTS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "未成年",
        ("未成年人", "未成年人犯罪"),
        "从轻",
        "已满12不满16周岁减少基准刑的30%–60%；已满16不满18周岁减少10%–50%",
    ),
    ("未遂", ("犯罪未遂",), "从轻", "可以比照既遂犯减少基准刑的50%以下"),
    ("从犯", (), "从轻", "减少基准刑的20%–50%；犯罪较轻的，减少50%以上或依法免除处罚"),
    ("自首", (), "从轻", "可以减少基准刑的40%以下；犯罪较轻的可减少40%以上或依法免除处罚"),
    ("坦白", ("如实供述",), "从轻", "可以减少基准刑的20%以下"),
    ("当庭认罪", ("当庭自愿认罪",), "从轻", "可以减少基准刑的10%以下"),
    ("立功", ("一般立功",), "从轻", "可以减少基准刑的20%以下"),
    ("重大立功", (), "从轻", "可以减少基准刑的20%–50%"),
    ("退赃退赔", ("退赃", "退赔", "退缴赃款"), "从轻", "可以减少基准刑的30%以下"),
    ("赔偿谅解", ("赔偿并取得谅解",), "从轻", "积极赔偿并取得谅解的，可以减少基准刑的40%以下"),
    ("赔偿", ("积极赔偿", "赔偿损失"), "从轻", "积极赔偿但没有取得谅解的，可以减少基准刑的30%以下"),
    ("谅解", ("取得谅解", "被害人谅解"), "从轻", "没有赔偿但取得谅解的，可以减少基准刑的20%以下"),
    ("刑事和解", ("和解",), "从轻", "可以减少基准刑的50%以下；犯罪较轻的可减少50%以上或依法免除处罚"),
    (
        "认罪认罚",
        (),
        "从轻",
        "可以减少基准刑的30%以下；具有自首、重大坦白、退赃退赔、赔偿谅解、刑事和解等情节的，可以减少60%以下，"
        "但不重复评价",
    ),
    ("累犯", (), "从重", "应当增加基准刑的10%–40%，一般不少于3个月"),
    ("前科", ("有前科",), "从重", "可以增加基准刑的10%以下"),
)


# ---------------------------------------------------------------- records


class Distribution(BaseModel):
    """Summary of a sample of numbers (months or yuan)."""

    n: int
    min: float
    p10: float
    q1: float
    median: float
    q3: float
    p90: float
    max: float
    mean: float
    small: bool  # n < SMALL_SAMPLE


class Observation(BaseModel):
    """One comparable case: the sentence of its first defendant convicted of the compared charge only."""

    case_id: str
    case_number: str | None = None
    judgment_date: str | None = None
    defendant: str
    charges: list[str]
    kind: SentenceKind
    months: int | None = None
    probation_months: int | None = None
    fine_yuan: float | None = None
    circumstances: list[str] = Field(default_factory=list)
    amount_yuan: float | None = None
    tier_level: int | None = None  # the statutory tier its own elements put it in (when they decide)
    element: str | None = None  # its tier-setting element as the picture compares it (数额65,300元)


class Rate(BaseModel):
    count: int
    n: int  # the denominator
    rate: float | None  # None when n == 0


class FineStats(BaseModel):
    with_fine: Rate  # cases with a fine among all comparable cases
    yuan: Distribution | None  # over the cases with a fine


class ReferenceRange(BaseModel):
    basis: Literal["IQR", "min-max", "none"]
    low_months: float | None = None
    high_months: float | None = None
    n: int
    small: bool
    text: str


class SubsetStats(BaseModel):
    label: str
    n: int
    months: Distribution | None


class CircumstanceNote(BaseModel):
    """A circumstance of the pending case: what the national guidance allows, and what comparable
    cases with and without it received (the data, not a computed adjustment)."""

    circumstance: str
    direction: Literal["从轻", "从重"]
    guidance: str
    with_n: int
    with_median: float | None
    without_n: int
    without_median: float | None


class SentencingStats(BaseModel):
    charges: list[str]  # the compared charge groups
    n_cases: int  # comparable cases with a sentence of a known kind
    n_excluded_multi: int  # same-charge cases whose defendants were also convicted of other crimes
    n_unknown: int  # same-charge cases whose sentence could not be read
    kind_counts: dict[str, int]
    months: Distribution | None  # 有期徒刑 + 拘役, pooled
    by_kind: dict[str, Distribution]  # 有期徒刑 / 拘役 / 管制
    probation: Rate  # among cases where 缓刑 was possible (拘役, or 有期徒刑 <= 36 months)
    fine: FineStats
    reference: ReferenceRange
    subsets: list[SubsetStats]
    circumstance_notes: list[CircumstanceNote]
    observations: list[Observation]
    small_sample: bool
    wording: str  # how to speak of the sample: "样本较少，仅供参考" or ""
    band_definition: str = BAND_DEFINITION
    reference_definition: str = REFERENCE_DEFINITION


class ProposedSentence(BaseModel):
    """A proposed sentence (量刑建议): 刑种、刑期、缓刑、罚金."""

    kind: SentenceKind
    months: int | None = Field(default=None, ge=1, le=300)
    probation_months: int | None = Field(default=None, ge=1, le=60)
    fine_yuan: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ProposedSentence:
        if self.kind in TERM_KINDS and self.months is None:
            raise InvalidInput(f"a proposed {self.kind} needs its term in months (e.g. months=18)")
        if self.kind not in TERM_KINDS and self.months is not None:
            raise InvalidInput(f"{self.kind} has no term in months; leave months empty")
        limits = {"拘役": 12, "管制": 36}  # 刑法 art. 42/38/69 (the latter for 数罪并罚)
        if self.kind in limits and self.months is not None and self.months > limits[self.kind]:
            raise InvalidInput(
                f"{self.kind} of {self.months} months exceeds the legal maximum of {limits[self.kind]}"
            )
        if self.probation_months is not None:
            if self.kind not in POOLED_KINDS:
                raise InvalidInput(f"缓刑 applies only to 拘役 or 有期徒刑, not {self.kind}")
            if self.kind == "有期徒刑" and (self.months or 0) > PROBATION_MAX_MONTHS:
                raise InvalidInput(
                    f"缓刑 applies only to 有期徒刑 of at most {PROBATION_MAX_MONTHS} months (刑法第七十二条); "
                    f"got {self.months}"
                )
        return self


class ProposedCheck(BaseModel):
    proposed: ProposedSentence
    compared_with: Literal["pooled", "管制", "kind-only"]
    n: int  # comparable cases the term is compared with
    percentile: float | None = None
    band: Literal["P10-P90", "min-max"] | None = None
    band_low: float | None = None
    band_high: float | None = None
    kind_share: Rate  # cases given the proposed kind
    probation_rate: Rate
    fine_percentile: float | None = None
    fine_n: int = 0
    status: Literal["一致", "类案冲突", "无法判断", "超出法定刑幅度"]
    conflict: bool | None  # None: too few cases to judge
    reasons: list[str]  # why (Chinese), each with the n it rests on
    outside_statutory: bool = False  # an error of law, not a departure from practice (see picture)
    small_sample: bool
    definition: str = BAND_DEFINITION


_PROPOSED_KIND = re.compile(
    r"有期徒刑|拘役|管制|无期徒刑|死刑缓期(?:二年)?执行|死缓|死刑|免予刑事处罚|免刑|单处罚金"
)
_KIND_ALIASES = {"死缓": "死刑缓期执行", "死刑缓期二年执行": "死刑缓期执行", "免刑": "免予刑事处罚"}


def parse_proposed(text: str) -> ProposedSentence:
    """A proposed sentence written as a judgment writes it, e.g. "有期徒刑一年六个月，缓刑二年，并处罚金人民币
    五千元" or "拘役3个月 罚金2000元". The kind comes first; terms and money as in judgments."""
    t = text.strip()
    m = _PROPOSED_KIND.search(t)
    if not m:
        raise InvalidInput(
            f"cannot read the proposed sentence {text!r}: start with its kind (有期徒刑、拘役、管制、无期徒刑、"
            "死刑、免予刑事处罚、单处罚金), e.g. 有期徒刑1年6个月，缓刑2年，罚金5000元"
        )
    kind = _KIND_ALIASES.get(m.group(), m.group())
    rest, has_fine, fine_text = t[m.end() :].partition("罚金")
    head, has_probation, after_probation = rest.partition("缓刑")
    months = probation = fine = None
    if kind in TERM_KINDS:
        d = DURATION_RE.search(head)
        months = duration_months(d) if d else None
    if has_probation:
        d = DURATION_RE.search(after_probation)
        probation = duration_months(d) if d else None
        if probation is None:
            raise InvalidInput(f"cannot read the 缓刑 term in {text!r}, e.g. 缓刑2年 or 缓刑一年六个月")
    if has_fine:
        mm = MONEY_RE.search(fine_text) or MONEY_RE.search(fine_text.strip() + "元")
        fine = money_yuan(mm) if mm else None
        if fine is None:
            raise InvalidInput(
                f"cannot read the 罚金 amount in {text!r}, e.g. 罚金5000元 or 罚金人民币五千元"
            )
    try:
        return ProposedSentence(kind=kind, months=months, probation_months=probation, fine_yuan=fine)
    except ValidationError as e:  # out of range: 有期徒刑一百年, 缓刑十年
        raise InvalidInput(f"the proposed sentence {text!r} cannot be: {validation_message(e)}") from None


# ---------------------------------------------------------------- pure numeric helpers


def distribution(values: Iterable[float]) -> Distribution | None:
    a = np.asarray(list(values), dtype=float)
    if a.size == 0:
        return None
    p10, q1, med, q3, p90 = np.percentile(a, [10, 25, 50, 75, 90])
    return Distribution(
        n=int(a.size),
        min=float(a.min()),
        p10=float(p10),
        q1=float(q1),
        median=float(med),
        q3=float(q3),
        p90=float(p90),
        max=float(a.max()),
        mean=float(a.mean()),
        small=bool(a.size < SMALL_SAMPLE),
    )


def percentile_rank(values: Sequence[float], x: float) -> float | None:
    """Mid-rank percentile of ``x`` among ``values`` (scipy's ``percentileofscore(kind="mean")``)."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return None
    below = np.count_nonzero(a < x)
    equal = np.count_nonzero(a == x)
    return float(100.0 * (below + 0.5 * equal) / a.size)


def _rate(count: int, n: int) -> Rate:
    return Rate(count=count, n=n, rate=(count / n) if n else None)


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


# ---------------------------------------------------------------- selecting comparable cases


def comparable_observations(
    records: Iterable[CaseRecord], charges: Sequence[str], group: Callable[[str], str] | None = None
) -> tuple[list[Observation], int, int]:
    """Observations of the comparable cases among ``records``; also (#excluded 数罪并罚, #unreadable)."""
    group = group or charge_group
    target = {group(c) for c in charges}
    obs: list[Observation] = []
    excluded = unknown = 0
    seen: set[str] = set()
    for rec in records:
        if rec.id in seen:
            continue
        seen.add(rec.id)
        same = [d for d in rec.defendants if {group(c) for c in d.charges} & target]
        if not same:
            continue
        only = [d for d in same if {group(c) for c in d.charges} <= target]
        if not only:
            excluded += 1
            continue
        d = next((d for d in only if _readable(d.sentence)), None)
        if d is None:
            unknown += 1
            continue
        s = d.sentence
        obs.append(
            Observation(
                case_id=rec.id,
                case_number=rec.case_number,
                judgment_date=rec.judgment_date,
                defendant=d.name,
                charges=list(d.charges),
                kind=s.kind,
                months=s.months if s.kind in TERM_KINDS else None,
                probation_months=s.probation_months,
                fine_yuan=s.fine_yuan,
                circumstances=list(d.circumstances),
                amount_yuan=d.elements.amount_yuan if d.elements.amount_yuan is not None else rec.amount_yuan,
            )
        )
    return obs, excluded, unknown


def _readable(s) -> bool:
    if s is None or s.kind is None:
        return False
    return s.kind not in TERM_KINDS or (s.months is not None and s.months > 0)


# ---------------------------------------------------------------- the statistics


_ADJ = {canon: (canon, direction, text) for canon, _, direction, text in ADJUSTMENTS}


def _canonical_circumstance(name: str) -> tuple[str, str, str] | None:
    for canon, aliases, direction, text in ADJUSTMENTS:
        if name == canon or name in aliases:
            return canon, direction, text
    return None


def canonical_circumstances(names: Iterable[str]) -> list[str]:
    """The guidance's circumstances among ``names``, in order; 赔偿 with 谅解 is the one circumstance
    赔偿谅解 (the guidance gives the pair its own range, not the sum of the two)."""
    out = list(dict.fromkeys(c[0] for n in names if (c := _canonical_circumstance(n))))
    if "赔偿" in out and "谅解" in out:
        out = [("赔偿谅解" if c == "赔偿" else c) for c in out if c != "谅解"]
    return list(dict.fromkeys(out))


def _has(obs: Observation, canon: str) -> bool:
    return canon in canonical_circumstances(obs.circumstances)


def _reference(months: Distribution | None) -> ReferenceRange:
    if months is None or months.n < MIN_SAMPLE:
        n = months.n if months else 0
        return ReferenceRange(
            basis="none",
            n=n,
            small=True,
            text=f"同罪名可比类案的刑期仅{n}件，少于{MIN_SAMPLE}件，不提供参考区间。",
        )
    if months.n >= SMALL_SAMPLE:
        return ReferenceRange(
            basis="IQR",
            low_months=months.q1,
            high_months=months.q3,
            n=months.n,
            small=False,
            text=(
                f"参考区间 {months_text(months.q1)}至{months_text(months.q3)}"
                f"（{months.n}件同罪名类案刑期的四分位距，中间50%的案件落在此区间）。"
            ),
        )
    return ReferenceRange(
        basis="min-max",
        low_months=months.min,
        high_months=months.max,
        n=months.n,
        small=True,
        text=(
            f"参考区间 {months_text(months.min)}至{months_text(months.max)}"
            f"（仅{months.n}件同罪名类案的实际刑期范围；{SMALL_WORDING}）。"
        ),
    )


def sentencing_stats(
    records: Iterable[CaseRecord],
    charges: Sequence[str],
    pending: CaseRecord | None = None,
    group: Callable[[str], str] | None = None,
) -> SentencingStats:
    """The sentencing picture of the comparable cases among ``records`` for the pending case's ``charges``."""
    group = group or charge_group
    obs, excluded, unknown = comparable_observations(records, charges, group)
    kind_counts: dict[str, int] = {}
    for o in obs:
        kind_counts[o.kind] = kind_counts.get(o.kind, 0) + 1
    pooled = [o.months for o in obs if o.kind in POOLED_KINDS]
    months = distribution(pooled)
    by_kind = {k: d for k in TERM_KINDS if (d := distribution([o.months for o in obs if o.kind == k]))}
    eligible = [
        o for o in obs if o.kind == "拘役" or (o.kind == "有期徒刑" and o.months <= PROBATION_MAX_MONTHS)
    ]
    probation = _rate(sum(1 for o in eligible if o.probation_months), len(eligible))
    fines = [o.fine_yuan for o in obs if o.fine_yuan]
    fine = FineStats(with_fine=_rate(len(fines), len(obs)), yuan=distribution(fines))

    notes: list[CircumstanceNote] = []
    if pending is not None:
        for name in canonical_circumstances(pending.circumstances):
            canon = _ADJ[name]
            with_ = [o.months for o in obs if o.kind in POOLED_KINDS and _has(o, canon[0])]
            without = [o.months for o in obs if o.kind in POOLED_KINDS and not _has(o, canon[0])]
            notes.append(
                CircumstanceNote(
                    circumstance=canon[0],
                    direction=canon[1],
                    guidance=canon[2],
                    with_n=len(with_),
                    with_median=_median(with_),
                    without_n=len(without),
                    without_median=_median(without),
                )
            )
    small = len(obs) < SMALL_SAMPLE
    return SentencingStats(
        charges=sorted({group(c) for c in charges}),
        n_cases=len(obs),
        n_excluded_multi=excluded,
        n_unknown=unknown,
        kind_counts=kind_counts,
        months=months,
        by_kind=by_kind,
        probation=probation,
        fine=fine,
        reference=_reference(months),
        subsets=[],  # the tier-setting element's closeness: filled by the picture (picture.py)
        circumstance_notes=notes,
        observations=obs,
        small_sample=small,
        wording=SMALL_WORDING if small else "",
    )


def check_proposed(stats: SentencingStats, proposed: ProposedSentence) -> ProposedCheck:
    """Where a proposed sentence falls among the comparable cases, and whether it conflicts with them."""
    obs = stats.observations
    n_all = len(obs)
    kind_share = _rate(sum(1 for o in obs if o.kind == proposed.kind), n_all)
    reasons: list[str] = []
    conflict: bool | None = None

    if proposed.kind in POOLED_KINDS:
        compared_with = "pooled"
        values = [o.months for o in obs if o.kind in POOLED_KINDS]
    elif proposed.kind == "管制":
        compared_with = "管制"
        values = [o.months for o in obs if o.kind == "管制"]
    else:
        compared_with = "kind-only"
        values = []

    n = len(values)
    percentile = band = lo = hi = None
    if compared_with != "kind-only":
        scale = "有期徒刑、拘役" if compared_with == "pooled" else "管制"
        if n >= MIN_SAMPLE:
            d = distribution(values)
            percentile = percentile_rank(values, proposed.months)
            band, lo, hi = ("P10-P90", d.p10, d.p90) if n >= SMALL_SAMPLE else ("min-max", d.min, d.max)
            band_name = "第10至第90百分位区间" if band == "P10-P90" else "实际刑期范围"
            where = f"拟判刑期{months_text(proposed.months)}位于{n}件同罪名类案（{scale}）刑期的第{percentile:.0f}百分位"
            if proposed.months < lo or proposed.months > hi:
                conflict = True
                side = "低于" if proposed.months < lo else "高于"
                bound = lo if proposed.months < lo else hi
                reasons.append(
                    f"【冲突】{where}，{side}{band_name}（{months_text(lo)}–{months_text(hi)}）的{'下限' if side == '低于' else '上限'}{months_text(bound)}。"
                )
            else:
                conflict = False
                reasons.append(f"{where}，在{band_name}（{months_text(lo)}–{months_text(hi)}）之内。")
            if n < SMALL_SAMPLE:
                reasons.append(f"可比类案仅{n}件，{SMALL_WORDING}。")
        else:
            reasons.append(
                f"同罪名类案中判处{scale}且刑期可读的仅{n}件，不足{MIN_SAMPLE}件，无法判断刑期是否偏离。"
            )

    if n_all >= SMALL_SAMPLE and kind_share.rate is not None and kind_share.rate < RARE_KIND_SHARE:
        conflict = True
        reasons.append(
            f"【冲突】拟判刑种{proposed.kind}在{n_all}件同罪名类案中仅{kind_share.count}件（{kind_share.rate:.0%}），属少见刑种。"
        )
    elif compared_with == "kind-only":
        if n_all >= MIN_SAMPLE:
            conflict = bool(conflict)
            reasons.append(f"拟判刑种{proposed.kind}在{n_all}件同罪名类案中有{kind_share.count}件。")
        else:
            reasons.append(f"同罪名类案仅{n_all}件，无法判断。")

    prob = stats.probation
    if proposed.kind in POOLED_KINDS and (proposed.kind == "拘役" or proposed.months <= PROBATION_MAX_MONTHS):
        if prob.n >= SMALL_SAMPLE and prob.rate is not None:
            if proposed.probation_months and prob.rate < 0.10:
                conflict = True
                reasons.append(
                    f"【冲突】拟适用缓刑，而可适用缓刑的{prob.n}件类案中仅{prob.count}件（{prob.rate:.0%}）适用缓刑。"
                )
            elif not proposed.probation_months and prob.rate > 0.90:
                conflict = True
                reasons.append(
                    f"【冲突】拟不适用缓刑，而可适用缓刑的{prob.n}件类案中{prob.count}件（{prob.rate:.0%}）适用了缓刑。"
                )
            else:
                reasons.append(f"可适用缓刑的{prob.n}件类案中{prob.count}件（{prob.rate:.0%}）适用缓刑。")
        elif prob.n:
            reasons.append(f"可适用缓刑的类案仅{prob.n}件，其中{prob.count}件适用缓刑（{SMALL_WORDING}）。")

    fine_pct = None
    fines = [o.fine_yuan for o in obs if o.fine_yuan]
    if proposed.fine_yuan and fines:
        fine_pct = percentile_rank(fines, proposed.fine_yuan)
        reasons.append(
            f"拟处罚金{yuan_text(proposed.fine_yuan)}位于{len(fines)}件并处罚金类案的第{fine_pct:.0f}百分位"
            + (f"（{SMALL_WORDING}）" if len(fines) < SMALL_SAMPLE else "")
            + "。"
        )

    status = "无法判断" if conflict is None else ("类案冲突" if conflict else "一致")
    return ProposedCheck(
        proposed=proposed,
        compared_with=compared_with,
        n=n,
        percentile=percentile,
        band=band,
        band_low=lo,
        band_high=hi,
        kind_share=kind_share,
        probation_rate=prob,
        fine_percentile=fine_pct,
        fine_n=len(fines),
        status=status,
        conflict=conflict,
        reasons=reasons,
        small_sample=(n if compared_with != "kind-only" else n_all) < SMALL_SAMPLE,
    )


# ---------------------------------------------------------------- wording


def months_text(m: float | None) -> str:
    """A term in whole months as a judgment writes it: 18 -> "1年6个月", 6 -> "6个月", 24 -> "2年".

    A mean or a quantile that falls between two terms is rounded to the whole month, half up
    (四舍五入: 4.5 -> "5个月", 22.4 -> "1年10个月"); a report says so once where it shows them."""
    if m is None:
        return "—"
    m = int(math.floor(m + 0.5))
    years, rest = divmod(m, 12)
    if not years:
        return f"{rest}个月"
    return f"{years}年" + (f"{rest}个月" if rest else "")


def yuan_text(y: float | None) -> str:
    if y is None:
        return "—"
    if y >= 10_000 and y % 100 == 0:
        w = y / 10_000
        return f"{w:g}万元"
    return f"{y:,.0f}元" if abs(y - round(y)) < 1e-9 else f"{y:,.2f}元"


def sentence_text(
    kind: str | None, months: float | None = None, probation: int | None = None, fine: float | None = None
) -> str:
    """A sentence in the words of a judgment, e.g. "有期徒刑1年6个月，缓刑2年，罚金5,000元"."""
    if not kind:
        return "—"
    out = kind + (months_text(months) if kind in TERM_KINDS and months else "")
    if probation:
        out += f"，缓刑{months_text(probation)}"
    if fine:
        out += f"，罚金{yuan_text(fine)}"
    return out


__all__ = [
    "BAND_DEFINITION",
    "REFERENCE_DEFINITION",
    "SMALL_SAMPLE",
    "SMALL_WORDING",
    "CircumstanceNote",
    "Distribution",
    "Observation",
    "ProposedCheck",
    "ProposedSentence",
    "ReferenceRange",
    "SentencingStats",
    "canonical_circumstances",
    "check_proposed",
    "comparable_observations",
    "distribution",
    "months_text",
    "parse_proposed",
    "percentile_rank",
    "sentence_text",
    "sentencing_stats",
    "yuan_text",
]
