"""Injuries (grade per injured person), deaths, and a traffic accident's responsibility and 逃逸.

A victim's grade is stated several times (the facts, the 鉴定意见, 本院认为): grades are kept per
victim — the person named just before the grade ("被害人李某的损伤程度为轻伤二级", "致李某轻伤") —
the worst one each, so one victim is counted once. A grade "轻伤"/"重伤" without its level is read as
the lower level (二级), the one the 人体损伤程度鉴定标准 sets as the threshold. A grade of a defendant
(被告人甲亦受轻微伤) is not an injury the defendant caused. Deaths: the largest "N人死亡" or the
one when a death is stated without a number (a victim's death is restated in the
facts, the 鉴定意见 and the reasoning under varying names, so persons are not counted by name). Injuries bind to the clause's subject (the defendant
who acted), else to every defendant (a joint assault).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leian.corpora.record import INJURY_GRADES
from leian.indexer.elements.binding import clauses
from leian.indexer.elements.facts import facts_end
from leian.indexer.extract_numbers import cn_number

_GRADE = re.compile(r"(?P<g>轻微伤|轻伤(?P<l1>[一二]级)?|重伤(?P<l2>[一二]级)?)")
_NEG = re.compile(r"(?:未|不|没有|尚未|不构成|未达到?|达不到)[^，。；]{0,4}$")
# the person a grade belongs to: the last name-like word before it in the clause
_PERSON = re.compile(
    r"(?:被害人|受害人|伤者|被告人|致|将|把|对|造成)(?P<p>[\u4e00-\u9fff]{1,2}?(?:某+[甲乙丙丁戊\d]?|[×Ｘ*＊]+)|[\u4e00-\u9fff]{2,3}?)"
    r"(?=的|受|身体|头|面|左|右|胸|腹|致|构成|系|为|经|轻|重|、|，|鉴定)"
)
_VICTIM_WORD = re.compile(r"被害人|受害人|伤者|死者")
_DEATHS_N = re.compile(
    r"(?:致|造成)(?:[^，。；]{0,12}?)(?P<n>[一二两三四五六七八九十\d]+)(?:人|名[^，。；]{0,6}?)死亡"
)
_DIED = re.compile(
    r"当场死亡|抢救无效死亡|经抢救无效|不治身亡|(?<![未没无])死亡(?!原因|结果的?发生|赔偿|的可能)"
)
_DEATH_NEG = re.compile(r"(?:未|没有|并未|未能|不)(?:造成|致)?[^，。；]{0,6}$")
_RESPONSIBILITY = re.compile(
    r"(?:负|承担|应负|负有|应承担)(?:本次|此次|该起|这起|此|该|本)?(?:交通)?(?:事故|事件)?(?:的)?(?P<r>全部|主要|同等|次要)责任"
)
# a share stated without a name is the subject's only when nothing but a pronoun or a preamble precedes it
_OWN_SHARE = re.compile(r"\s*(?:经[^，。；]{0,30}?认定[：:]?)?\s*(?:其|被告人|应由其|由其|该司机)?\s*")
_ESCAPE = re.compile(r"逃逸|逃离(?:事故)?现场|驾车逃离|弃车逃")
_ESCAPE_NEG = re.compile(r"(?:不|未|没有|并未|不属|不构成|不能认定|不应认定|不宜认定)[^，。；]{0,8}$")
_ESCAPE_NEG_AFTER = re.compile(r"^[^，。；]{0,6}(?:不成立|不能成立|证据不足|不予认定)")


def _grade(m: re.Match) -> str:
    g = m.group("g")
    if g == "轻微伤":
        return g
    if g.startswith("轻伤"):
        return "轻伤" + (m.group("l1") or "二级")
    return "重伤" + (m.group("l2") or "二级")


@dataclass(frozen=True)
class HarmFinding:
    injuries: list[str]
    deaths: int | None
    spans: list[tuple[int, int]]


def defendant_harm(
    text: str, spans: list[tuple[int, int]], names, n: int, defendant_names: list[str], wanted: set[int]
) -> dict[int, HarmFinding]:
    """Injuries and deaths per defendant in ``wanted`` (charges whose tier depends on them)."""
    if not wanted:
        return {}
    everyone = tuple(range(n))
    grades: dict[int, dict[str, tuple[str, int, int]]] = {i: {} for i in wanted}
    anonymous: dict[int, list[tuple[str, int, int]]] = {i: [] for i in wanted}
    deaths_n: dict[int, int] = {}
    died: dict[int, set[str]] = {i: set() for i in wanted}
    death_spans: dict[int, list[tuple[int, int]]] = {i: [] for i in wanted}
    for s, e in spans:
        e = facts_end(text, s, e)
        for c in clauses(text, s, e, names, n):
            subject = c.subject or everyone
            for m in _GRADE.finditer(text, c.start, c.end):
                if _NEG.search(text, c.start, m.start()):
                    continue
                person = _person(text, c.start, m.start())
                if (
                    person
                    and any(person.startswith(d) or d.startswith(person) for d in defendant_names)
                    and not _VICTIM_WORD.search(text, c.start, m.start())
                ):
                    continue  # the defendant's own injury
                g = _grade(m)
                for i in subject:
                    if i not in grades:
                        continue
                    if person:
                        old = grades[i].get(person)
                        if old is None or INJURY_GRADES.index(g) > INJURY_GRADES.index(old[0]):
                            grades[i][person] = (g, m.start(), m.end())
                    else:
                        anonymous[i].append((g, m.start(), m.end()))
            for m in _DEATHS_N.finditer(text, c.start, c.end):
                k = cn_number(m.group("n"))
                if k:
                    for i in subject:
                        if i in died:
                            deaths_n[i] = max(deaths_n.get(i, 0), int(k))
                            death_spans[i].append(m.span())
            for m in _DIED.finditer(text, c.start, c.end):
                if _DEATH_NEG.search(text, c.start, m.start()):
                    continue
                person = _person(text, c.sentence_start, m.start()) or "?"
                if any(person.startswith(d) or d.startswith(person) for d in defendant_names):
                    continue
                for i in subject:
                    if i in died:
                        died[i].add(person)
                        death_spans[i].append(m.span())
    out: dict[int, HarmFinding] = {}
    for i in wanted:
        named = list(grades[i].values())
        # grades with no person are counted once per grade unless a named victim already has it
        seen = {g for g, _, _ in named}
        extra = {}
        for g, a, b in anonymous[i]:
            if g not in seen and g not in extra:
                extra[g] = (g, a, b)
        found = named + list(extra.values())
        deaths = max(deaths_n.get(i, 0), 1 if died[i] else 0)
        out[i] = HarmFinding(
            sorted((g for g, _, _ in found), key=INJURY_GRADES.index),
            deaths,
            [(a, b) for _, a, b in found] + death_spans[i],
        )
    return out


def _person(text: str, lo: int, pos: int) -> str | None:
    """The person named last before ``pos`` in ``text[lo:pos]`` (the injured or the dead)."""
    last = None
    for m in _PERSON.finditer(text, max(lo, pos - 40), pos):
        last = m
    return last.group("p") if last else None


@dataclass(frozen=True)
class TrafficFinding:
    responsibility: str | None
    hit_and_run: bool | None
    spans: list[tuple[int, int]]


def defendant_traffic(
    text: str,
    facts: tuple[int, int],
    reasoning: tuple[int, int],
    names,
    n: int,
    wanted: set[int],
    escape_wanted: set[int],
) -> dict[int, TrafficFinding]:
    """交通肇事: each defendant's share of responsibility (the court's reasoning over the facts) and
    whether the court finds 逃逸."""
    out: dict[int, TrafficFinding] = {}
    if not wanted:
        return out
    resp: dict[int, tuple[str, int, int]] = {}
    for s, e in (facts, reasoning):  # later wins: the court's reasoning
        for c in clauses(text, s, e, names, n):
            if not c.named and n > 1:
                continue  # "甲承担主要责任；徐某承担次要责任": a share is stated with its holder's name
            if c.other_person and not c.named:
                continue
            for m in _RESPONSIBILITY.finditer(text, c.start, c.end):
                if not c.named and not _OWN_SHARE.fullmatch(text, c.start, m.start()):
                    continue  # "王某负次要责任": someone else's share
                for i in c.subject:
                    resp[i] = (m.group("r"), m.start("r"), m.end())
    escape: dict[int, tuple[int, int]] = {}
    for c in clauses(text, *reasoning, names, n):
        for m in _ESCAPE.finditer(text, c.start, c.end):
            if _ESCAPE_NEG.search(text, c.start, m.start()) or _ESCAPE_NEG_AFTER.search(
                text[m.end() : c.end]
            ):
                continue
            for i in c.subject or tuple(range(n)):
                escape.setdefault(i, m.span())
    for i in wanted:
        r = resp.get(i)
        spans = ([(r[1], r[2])] if r else []) + ([escape[i]] if i in escape else [])
        out[i] = TrafficFinding(r[0] if r else None, (i in escape) if i in escape_wanted else None, spans)
    return out
