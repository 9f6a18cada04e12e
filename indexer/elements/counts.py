"""次数: how many times the defendant committed the offence, as the court counts it.

The reasoning's own count bound to the defendant ("多次盗窃…共计三次", "先后5次贩卖"); else a
summing-up of the facts ("共盗窃4次"); else 1 when the facts describe a single act (one count) and
a tier-setting figure was found for the defendant. "多次" without a number stays unknown.
"""

from __future__ import annotations

from leian.indexer.elements.binding import clauses
from leian.indexer.elements.facts import OFFENCE_VERB, TIMES, count_starts, facts_end
from leian.indexer.extract_numbers import cn_number


def defendant_counts(
    text: str, reasoning: tuple[int, int], facts: tuple[int, int], names, n: int, acted: set[int]
) -> dict[int, tuple[int, int, int]]:
    """(count, start, end) per defendant in ``acted`` (those with a tier-setting figure)."""
    out: dict[int, tuple[int, int, int]] = {}
    f0, f1 = facts
    f1 = facts_end(text, f0, f1)
    for s, e in (reasoning, (f0, f1)):
        for c in clauses(text, s, e, names, n):
            if not OFFENCE_VERB.search(text, c.start, c.end):
                continue
            for m in TIMES.finditer(text, c.start, c.end):
                k = cn_number(m.group("n"))
                if k and 1 <= k <= 500:
                    for i in c.subject:
                        if i in acted and i not in out:
                            out[i] = (int(k), m.start(), m.end())
    if len(count_starts(text, f0, f1)) == 1:
        for i in acted:
            out.setdefault(i, (1, f0, f0))
    return out
