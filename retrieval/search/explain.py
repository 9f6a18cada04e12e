"""Why a case is similar, in Chinese: shared charges, statutes, circumstances and distinctive words,
with highlight offsets into its facts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import islice

from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord
from leian.indexer.charge_model import ChargeModel
from leian.retrieval.models import ChargePrediction, Highlight, Hit
from leian.retrieval.search.config import SearchConfig
from leian.retrieval.search.display_terms import display_terms, distinct_terms, not_naming
from leian.retrieval.search.elements import QueryElements, element_reasons
from leian.retrieval.search.structure import CONFIDENT, confident_statutes
from leian.retrieval.search.terms import HAN

MAX_HIGHLIGHTS_PER_TERM = 5
MAX_MATCHED_TERMS = 12
# idf (1 + ln((1 + n) / (1 + df))) under 2: a word in more than ~37% of the judgments
COMMON_IDF = 2.0
_PARTY_MARK = "某"  # what judgments put for a person's given name (郭某, 李某甲, 某某)


class TermRarity:
    """The idf of the charge model's vocabulary: how distinctive a word of the facts is."""

    def __init__(self, charge_model: ChargeModel | None):
        self.idf = (
            {t: float(charge_model.idf[j]) for t, j in charge_model.vocab.items()} if charge_model else {}
        )
        # a word the vocabulary lacks occurs in fewer than two of the model's judgments: rarer than any
        self.unseen = max(self.idf.values(), default=COMMON_IDF)

    def nameable(self, terms: Sequence[str]) -> list[str]:
        """The query terms a reason may name, best first (rarest and longest): Chinese words a
        prosecutor recognises, not bare numbers or units, not words most judgments share (被害人,
        人民币, 犯罪事实), which say nothing about a case, and not the anonymised names of people
        (郭某, 李某甲, 某某, or jieba's cuts through them such as 对罗某): two judgments sharing 郭某 is
        a coincidence of the anonymisation (a fifth of LeCaRD dev's top-10 hits named one). They
        still count in the ranking."""
        idf, unseen = self.idf, self.unseen
        order = {t: j for j, t in enumerate(terms)}
        kept = [
            t
            for t in terms
            if len(t) >= 2 and HAN.search(t) and _PARTY_MARK not in t and idf.get(t, unseen) >= COMMON_IDF
        ]
        return sorted(kept, key=lambda t: (-idf.get(t, unseen) * len(t), order[t]))


@lru_cache(maxsize=16)
def _shown(nameable: tuple[str, ...], facts: str) -> list[str]:
    """``display_terms`` once per query, not once per hit (the hits of a search share both)."""
    return display_terms(nameable, facts)


def explain_hit(
    rank: int,
    cid: str,
    score: float,
    comp: dict[str, float],
    rec: CaseRecord | None,
    nameable: Sequence[str],
    charges: Sequence[ChargePrediction],
    pending: CaseRecord,
    cfg: SearchConfig,
    elements: QueryElements | None = None,
    facets: dict | None = None,
) -> Hit:
    """A ranked case with its components and reasons; ``elements`` (the pending case's) and the case's
    ``facets`` name the sentencing elements they share when ``w_elements`` counts them."""
    if rec is None:
        return Hit(id=cid, rank=rank, score=round(score, 6), components=comp, reasons=[])
    first = rec.defendants[0] if rec.defendants else None
    groups = {charge_group(c): c for c in rec.charges}
    shared_charges = [groups[c.charge] for c in charges if c.charge in groups and c.probability >= CONFIDENT]
    q_stat = confident_statutes(charges)
    shared_statutes = [s for s in rec.statutes if s in q_stat]
    shared_circ = [c for c in rec.circumstances if c in pending.circumstances]
    facts = rec.sections.facts or ""
    # what the two cases share, as a report may name it: no person, place, date or number of the
    # pending case (display_terms), nor a piece of this judgment's defendants' names
    shown = _shown(tuple(nameable), pending.sections.facts or pending.text or "")
    matched = distinct_terms(
        not_naming([t for t in shown if t in facts], facts, [d.name for d in rec.defendants]),
        MAX_MATCHED_TERMS,
    )
    highlights = []
    for t in matched:  # a few occurrences per term are enough to read why; long facts repeat words
        for m in islice(re.finditer(re.escape(t), facts), MAX_HIGHLIGHTS_PER_TERM):
            highlights.append(Highlight(section="facts", start=m.start(), end=m.end(), term=t))
    highlights.sort(key=lambda h: (h.start, -h.end))
    reasons = []
    if shared_charges:
        reasons.append("罪名相同：" + "、".join(shared_charges))
    if shared_statutes:
        reasons.append("适用相同法条：" + "、".join(shared_statutes))
    if shared_circ:
        reasons.append("共同量刑情节：" + "、".join(shared_circ))
    if comp.get("amount", 0) >= 0.5 and pending.amount_yuan and rec.amount_yuan:
        reasons.append(f"涉案金额相近：{pending.amount_yuan:,.0f} 元 / {rec.amount_yuan:,.0f} 元")
    if cfg.w_elements and elements is not None and facets is not None:
        reasons += element_reasons(elements, facets.get("elements"))
    if cfg.w_court and comp.get("court", 0) > 0:
        reasons.append(f"{rec.court_level}法院裁判")
    if cfg.w_recent and comp.get("recent", 0) > 0:
        reasons.append(f"近{cfg.recent_years}年的裁判（{rec.year}年）")
    if matched:
        reasons.append("关键事实用语相同：" + "、".join(matched[:8]))
    if comp.get("dense"):
        reasons.append(f"案情语义相似度 {comp['dense']:.2f}")
    return Hit(
        id=cid,
        rank=rank,
        score=round(score, 6),
        components={k: round(v, 6) for k, v in comp.items()},
        reasons=reasons,
        shared_charges=shared_charges,
        shared_statutes=shared_statutes,
        shared_circumstances=shared_circ,
        matched_terms=matched,
        highlights=highlights,
        case_number=rec.case_number,
        court=rec.court,
        court_level=rec.court_level,
        judgment_date=rec.judgment_date,
        title=rec.title,
        tier=rec.tier,
        charges=rec.charges,
        sentence=first.sentence if first else None,
        record=rec,
    )


__all__ = ["TermRarity", "distinct_terms", "explain_hit"]
