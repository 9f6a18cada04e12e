"""Which defendant a stretch of text is about: clauses with their subject, carried over.

Facts and reasoning name the defendant once and go on ("被告人甲窃得手机一部，价值2,000元，后其…"):
each clause (cut at ，；。：, never at a thousands separator) is about the defendants it names, else
about the subject of the clause before it in the same paragraph. A clause that also names a victim
(被害人李某…) is flagged, so an element that belongs to a person (blood alcohol) is not bound to the
defendant there, while one the defendant caused (an injury) still is. With a single defendant every
clause is theirs unless it names someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Clauses split at punctuation, but not at a thousands separator ("6,500元", "8，930元").
_CLAUSE = re.compile(r"(?:[^，,。；;：:\n]|[,，](?=\d{3}(?!\d)))+")
_PARAGRAPH_END = re.compile(r"\n|。\s{2,}|。\s*(?=[（(]?[一二三四五六七八九十\d]+[、．.）)])")
# Words that make a clause about someone other than the defendants.
_OTHER_PERSON = re.compile(r"被害人|受害人|死者|伤者|被害单位|证人|对方|乘客|行人")
# Every defendant at once: "二被告人", "上述被告人", "被告人甲、乙".
_ALL = re.compile(r"[二三四五六七八九十两]被告人|各被告人|上述被告人|众被告人|[二三四五六七八九十两]人")


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    sentence_start: int
    subject: tuple[int, ...]  # defendant indexes named here or carried over; () = nobody known
    named: bool  # the clause names its subject itself (not carried over)
    other_person: bool  # about a victim / witness / the other party (named here or earlier in the sentence)


def clauses(text: str, start: int, end: int, names, n_defendants: int) -> Iterator[Clause]:
    """The clauses of ``text[start:end]`` with their subject. ``names`` is an ``extract.NameMatcher``
    (or None when no defendant is known)."""
    everyone = tuple(range(n_defendants))
    default: tuple[int, ...] = everyone if n_defendants == 1 else ()
    mentions = names.finditer(text, start, end) if names is not None and n_defendants else []
    mi = 0
    subject = default
    paragraph_end = _next_paragraph_end(text, start, end)
    sentence_start = start
    other_since = False  # a victim was named after the last defendant in this sentence ("…其乙醇含量")
    for m in _CLAUSE.finditer(text, start, end):
        c0, c1 = m.span()
        if c0 >= paragraph_end:
            subject = default
            paragraph_end = _next_paragraph_end(text, c0, end)
        while mi < len(mentions) and mentions[mi][0] < c0:
            mi += 1
        named: list[int] = []
        while mi < len(mentions) and mentions[mi][0] < c1:
            if mentions[mi][2] not in named:
                named.append(mentions[mi][2])
            mi += 1
        other = _OTHER_PERSON.search(text, c0, c1) is not None
        if named:
            subject = tuple(named)
            other_since = other
        elif _ALL.search(text, c0, c1):
            subject = everyone
        else:
            other_since = other_since or other
        yield Clause(c0, c1, sentence_start, subject, bool(named), other_since if not named else other)
        if c1 < end and text[c1] in "。；;\n":
            sentence_start = c1 + 1
            other_since = False


def _next_paragraph_end(text: str, start: int, end: int) -> int:
    m = _PARAGRAPH_END.search(text, start, end)
    return m.end() if m else end
