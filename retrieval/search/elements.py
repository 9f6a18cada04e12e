"""Element-aware similarity: how far a case agrees with the pending case on what sets the sentence.

Both sides are ``indexer.element_facets.element_facets`` dicts (the case's stored with its facets, the
pending case's read from its facts for the charges given or predicted). Each element the pending case
states is one component in [0, 1]:

| component | weight | value |
|---|---|---|
| tier | 2 | the 法定刑 tier of the shared charge is the same (each charge weighted by its probability) |
| drugs | 1 | share of the pending case's drug kinds the case involves too |
| bac | 1 | the same 血液酒精含量 band (80 / 150 / 180 mg/100 ml) |
| harm | 1 | the same deaths, or no death and the same worst injury (1); the same class — deaths, 重伤, 轻伤 (½) |

``elements`` = Σ weight·value / Σ weight over the components the pending case states (the same
denominator for every case of a query, so a case that states less is not favoured). The tier weighs
twice: the same 法定刑 decides the sentence's range, where a close figure (``w_amount``) may still fall
on either side of a threshold. The amount and the circumstances keep their own components (``w_amount``,
``w_circ``); they are not counted again here: 未遂/中止/预备 and 从犯/主犯 are circumstances the pending
case's facts are read for already (scoring them here as well lowered LeCaRD dev, see
docs/evaluation.md), and how many defendants a case has is no sentencing element.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import cn2an

from leian.corpora.law import tiers_of
from leian.indexer.element_facets import BAC_BAND_NAMES
from leian.retrieval.models import ChargePrediction

WEIGHTS = {"tier": 2.0, "drugs": 1.0, "bac": 1.0, "harm": 1.0}
_INJURY_NAMES = ("轻微伤", "轻伤二级", "轻伤一级", "重伤二级", "重伤一级")
_INJURY_CLASS = (0, 1, 1, 2, 2)  # 轻微伤, 轻伤, 重伤


@dataclass(frozen=True)
class QueryElements:
    """The pending case's element facets and the weight of each charge whose tier is compared."""

    facet: Mapping
    charge_weights: Mapping[str, float]  # charge group → probability, for groups with a pending tier
    stated: tuple[str, ...]  # the components the pending case states
    total: float  # Σ weight over ``stated``

    @classmethod
    def of(cls, facet: Mapping | None, charges: Sequence[ChargePrediction]) -> QueryElements:
        facet = facet or {}
        tiers = facet.get("tiers") or {}
        weights: dict[str, float] = {}
        for c in charges:
            if c.charge in tiers and c.probability > 0:
                weights[c.charge] = max(weights.get(c.charge, 0.0), c.probability)
        stated = []
        if weights:
            stated.append("tier")
        stated += [k for k in ("drugs", "bac") if k in facet]
        if "harm" in facet and (facet["harm"][0] or facet["harm"][1] >= 0):  # not "no death" alone
            stated.append("harm")
        return cls(
            facet=facet,
            charge_weights=weights,
            stated=tuple(stated),
            total=sum(WEIGHTS[k] for k in stated),
        )


def _harm(q: Sequence[int], c: Sequence[int] | None) -> float:
    if not c:
        return 0.0
    (qd, qi), (cd, ci) = q, c
    if qd or cd:
        return 1.0 if qd == cd else (0.5 if qd and cd else 0.0)
    if qi < 0 or ci < 0:
        return 0.0
    return 1.0 if qi == ci else (0.5 if _INJURY_CLASS[qi] == _INJURY_CLASS[ci] else 0.0)


def parts(q: QueryElements, c: Mapping | None) -> dict[str, float]:
    """Each stated component's value for a case with element facets ``c``."""
    c = c or {}
    f = q.facet
    out: dict[str, float] = {}
    for k in q.stated:
        if k == "tier":
            ct = c.get("tiers") or {}
            qt = f["tiers"]
            num = sum(w for g, w in q.charge_weights.items() if set(qt[g]) & set(ct.get(g) or ()))
            out[k] = num / sum(q.charge_weights.values())
        elif k == "drugs":
            cd = c.get("drugs") or {}
            out[k] = sum(kind in cd for kind in f["drugs"]) / len(f["drugs"])
        elif k == "bac":
            out[k] = float(c.get("bac") == f["bac"])
        elif k == "harm":
            out[k] = _harm(f["harm"], c.get("harm"))
    return out


def element_score(q: QueryElements, c: Mapping | None) -> float:
    """Σ weight·value / Σ weight over the pending case's stated components; 0 when it states none."""
    if not q.total or not c:
        return 0.0
    return sum(WEIGHTS[k] * v for k, v in parts(q, c).items()) / q.total


@cache
def _tier_text(group: str, level: int) -> str:
    if level == 0:
        return f"{group}（均未达到入罪标准）"
    try:
        row = next(t for t in tiers_of(group) if t.level == level)
    except (KeyError, StopIteration):
        return f"{group}第{cn2an.an2cn(level)}档"
    return f"{group}第{cn2an.an2cn(level)}档（{row.condition}）"


def element_reasons(q: QueryElements, c: Mapping | None) -> list[str]:
    """What the case shares of the pending case's elements, in Chinese, one reason per element."""
    if not q.total or not c:
        return []
    f = q.facet
    out = []
    v = parts(q, c)
    if v.get("tier"):
        ct = c.get("tiers") or {}
        same = [
            _tier_text(g, min(set(f["tiers"][g]) & set(ct[g])))
            for g in q.charge_weights
            if set(f["tiers"][g]) & set(ct.get(g) or ())
        ]
        out.append("法定刑档次相同：" + "、".join(same))
    if v.get("drugs"):
        cd = c.get("drugs") or {}
        out.append("毒品种类相同：" + "、".join(k for k in f["drugs"] if k in cd))
    if v.get("bac"):
        out.append(f"血液酒精含量同档：{BAC_BAND_NAMES[f['bac']]}")
    if v.get("harm"):
        out.append(_harm_reason(f["harm"], c["harm"], v["harm"]))
    return out


def _harm_reason(q: Sequence[int], c: Sequence[int], value: float) -> str:
    (qd, qi), (cd, ci) = q, c
    if qd or cd:
        return f"致人死亡：{qd}人 / {cd}人" if value < 1 else f"致人死亡人数相同：{qd}人"
    if value >= 1:
        return f"伤情相同：{_INJURY_NAMES[qi]}"
    return f"伤情相近：{_INJURY_NAMES[qi]} / {_INJURY_NAMES[ci]}"


__all__ = ["WEIGHTS", "QueryElements", "element_reasons", "element_score", "parts"]
