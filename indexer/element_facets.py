"""The sentencing elements of a case in the small form the structure rerank compares.

One dict per case (stored with its facets, so ranking never loads full judgments), keys only where the
judgment states something:

- ``tiers``: charge group → the 法定刑 tiers (levels, 1 = mildest) its defendants' elements put that
  charge in (``indexer.tiering.tier_of``, with the case's province; every tier some province's
  figures give when that is not certain); 0 for figures below the entry threshold. Only charges with several tiers of which a figure decides some (数额, grams, deaths, 重伤
  …): a charge whose tiers turn on 情节 alone would give every case the same base tier.
- ``drugs``: kind → grams (the largest any defendant is held for).
- ``bac``: the 血液酒精含量 band (``BAC_BANDS``).
- ``harm``: deaths (the most any defendant caused) and the worst injury grade.

犯罪形态 (未遂 …) and the role in a joint crime (从犯 …) are circumstances, compared as such.

The pending case goes through the same function (its suspects and elements read by
``indexer.pending.with_elements``), so the two sides compare like with like.
"""

from __future__ import annotations

from functools import cache

from leian.corpora.dictionaries import charge_group
from leian.corpora.law import thresholds_of, tiers_of
from leian.corpora.record import INJURY_GRADES, CaseRecord, Elements
from leian.indexer.tiering import TierDecision, tier_of

# 血液酒精含量 bands, mg/100 ml: 80 醉酒 (GB 19522); under 150 the 两高两部《关于办理醉酒危险驾驶刑事
# 案件的意见》(2023) art. 12 allows 情节显著轻微, from 180 its art. 10 calls for 从重
BAC_BANDS = (80.0, 150.0, 180.0)
BAC_BAND_NAMES = ("80毫克/100毫升以下", "80–150毫克/100毫升", "150–180毫克/100毫升", "180毫克/100毫升以上")


def bac_band(mg_per_100ml: float) -> int:
    """0 below 80, 1 for 80–150, 2 for 150–180, 3 from 180 (mg/100 ml)."""
    return sum(mg_per_100ml >= b for b in BAC_BANDS)


@cache
def figure_tiers(charge: str) -> bool:
    """Whether a figure decides between tiers of the charge (any form): it has two tiers or more and
    national threshold rows (危险驾驶罪's one tier would only repeat the charge)."""
    try:
        return len(tiers_of(charge)) > 1 and any(not r.province for r in thresholds_of(charge))
    except KeyError:
        return False


def _level(decision: TierDecision | None) -> int | None:
    if decision is None:
        return None
    return 0 if decision.below_entry else decision.tier.level


def _levels(charge: str, elements: Elements, province: str | None) -> set[int]:
    """The tiers the elements allow: the one decided when it is certain; else every tier some
    province's figures put them in (a figure inside a national range with no provincial figure for
    the case — a pending case's province is rarely known), so that 盗窃 of 6万元 with no province
    compares with the cases of both tiers it may belong to. A doubt about 情节 adds nothing. 0: below
    the entry threshold."""
    decision = tier_of(charge, elements, province)
    if decision is None:
        return set()
    if decision.certain:
        return {_level(decision)}
    return {_level(decision)} | {
        lv for p in _provinces(charge) if (lv := _level(tier_of(charge, elements, p))) is not None
    }


@cache
def _provinces(charge: str) -> tuple[str, ...]:
    """The provinces with figures of their own for the charge (the others read as the national rows)."""
    return tuple(sorted({r.province for r in thresholds_of(charge) if r.province}))


def element_facets(record: CaseRecord) -> dict:
    """The record's elements as the rerank compares them (see the module docstring)."""
    tiers: dict[str, set[int]] = {}
    drugs: dict[str, float] = {}
    bac: float | None = None
    deaths: int | None = None
    injury = -1
    for d in record.defendants:
        e = d.elements
        for c in dict.fromkeys(d.charges):
            if not figure_tiers(c):
                continue
            levels = _levels(c, e, record.province)
            if levels:
                tiers.setdefault(charge_group(c), set()).update(levels)
        for q in e.drugs:
            if q.grams > 0:
                drugs[q.kind] = max(drugs.get(q.kind, 0.0), q.grams)
        if e.bac_mg_per_100ml is not None:
            bac = max(bac or 0.0, e.bac_mg_per_100ml)
        if e.deaths is not None:
            deaths = max(deaths or 0, e.deaths)
        if e.injuries:
            injury = max(injury, INJURY_GRADES.index(e.worst_injury))
    out: dict = {}
    if tiers:
        out["tiers"] = {g: sorted(v) for g, v in sorted(tiers.items())}
    if drugs:
        out["drugs"] = {k: round(g, 4) for k, g in sorted(drugs.items())}
    if bac is not None:
        out["bac"] = bac_band(bac)
    if deaths is not None or injury >= 0:
        out["harm"] = [deaths or 0, injury]
    return out


__all__ = ["BAC_BANDS", "BAC_BAND_NAMES", "bac_band", "element_facets", "figure_tiers"]
