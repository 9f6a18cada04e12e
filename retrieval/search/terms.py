"""What BM25 is asked for: the facts' tokens, weighted, without what cannot make two cases similar."""

from __future__ import annotations

import re
from collections import Counter

from leian.errors import InvalidInput
from leian.retrieval.search.config import SearchConfig

HAN = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"[0-9.]+")
# names of administrative divisions (江阴市, 宝安区, 舒景村 …): a 2-character word such as 超市,
# 社区 or 农村 is an ordinary noun and stays, and so do the zones a crime is defined by (禁猎区, 禁渔区,
# 自然保护区, 军事禁区, 军事管理区, 监区 …)
PLACE = re.compile(r"(?!.*(?:禁|保护|监|危险|风景|军事|管理|管制|边境))[\u4e00-\u9fff]{2,}[省市县区镇乡村]")


def weighted_terms(tokens: list[str], cfg: SearchConfig, power: float | None = None) -> dict[str, float]:
    """term -> (count in the facts) ** power (``cfg.query_tf_power`` unless given), numbers and place
    names left out as configured."""
    p = cfg.query_tf_power if power is None else power
    return {
        t: float(n) ** p
        for t, n in Counter(tokens).items()
        if (cfg.query_numbers or not _NUMBER.fullmatch(t)) and (cfg.query_places or not PLACE.fullmatch(t))
    }


def searchable_terms(tokens: list[str], cfg: SearchConfig) -> dict[str, float]:
    """``weighted_terms``, or InvalidInput when nothing in them can be searched."""
    terms = weighted_terms(tokens, cfg)
    # numbers or Latin words alone ("12345", "hello") are no facts of a case: refuse, do not guess
    if not any(HAN.search(t) for t in terms):
        raise InvalidInput(
            "facts contain no searchable Chinese words (only punctuation, numbers, place names or "
            "stop-words?); paste the facts of the case"
        )
    return terms


__all__ = ["HAN", "PLACE", "searchable_terms", "weighted_terms"]
