"""The pending case's elements from its facts alone (no 本院认为 exists yet).

A judgment's circumstances are what the court accepted in its reasoning; a new case has only facts,
where they appear as events: 主动到公安机关投案 (→ 自首), 如实供述 (→ 坦白), 取得谅解, 退赔,
血液酒精含量 ≥ 80 mg/100 ml (→ 醉酒), an earlier sentence (→ 前科), 未得逞 (→ 未遂). These are
*candidate* circumstances for comparison and the report's 待决案件要素, not legal findings. The same
closed list of names as ``extract_circumstances`` is used so they compare with the corpus.
"""

from __future__ import annotations

import re

from leian.corpora.record import CaseRecord, Defendant, Sections, Span
from leian.indexer.elements import find_elements
from leian.indexer.elements.binding import clauses
from leian.indexer.extract import NameMatcher, extract
from leian.indexer.extract_circumstances import CIRCUMSTANCE_NAMES
from leian.indexer.extract_numbers import MONEY, money_yuan

# name -> what the facts say when it (probably) applies
FACT_PATTERNS: dict[str, str] = {
    "自首": r"(?:主动|自动|自行)(?:到|至|前往|向)?[^。；，]{0,12}?(?:投案|到案)|投案自首|电话(?:通知|传唤)后[^。；]{0,8}?(?:到案|投案)",
    "坦白": r"如实(?:地)?(?:供述|交代|供认)|供认不讳",
    "认罪认罚": r"认罪认罚|认罪认罚具结书",
    "谅解": r"谅解",
    "刑事和解": r"达成(?:了)?(?:刑事)?和解",
    "退赃": r"退赃|退缴|退还(?:了)?(?:全部|部分)?(?:赃款|赃物|违法所得)",
    "退赔": r"退赔",
    "赔偿": r"(?<![应予])赔偿(?:了)?(?:被害人|受害人|对方|其)?[^。；]{0,10}?(?:损失|经济损失|费用|人民币|元)",
    "前科": r"(?:曾|又)?因(?:犯)?[^。；]{0,24}?罪[^。；]{0,6}?被(?:判处|刑事处罚|判刑)|刑满释放",
    "累犯": r"累犯",
    "未遂": r"未遂|未得逞|(?:因|由于)[^。；]{0,20}?意志以外的原因",
    "醉酒": r"醉酒",
    "未成年": r"未成年人|(?:未满|不满)(?:十八|18)周岁",
    "从犯": r"起次要作用|起辅助作用|从犯",
}
_NEG = re.compile(r"(?:不|未|没有|并无|拒不|拒绝)[^。；，]{0,7}$")
_ALCOHOL = re.compile(
    r"(?:血液)?(?:酒精|乙醇)(?:含量)?[^。；\d]{0,12}?(\d+(?:\.\d+)?)\s*(?:mg|毫克)\s*[/／每]\s*100\s*(?:ml|mL|毫升)"
)
_COMPILED = {name: re.compile(p) for name, p in FACT_PATTERNS.items()}
assert set(FACT_PATTERNS) <= set(CIRCUMSTANCE_NAMES), "pending-case names must be the extractor's names"


# 被告人X / 犯罪嫌疑人X in the facts of a new case: the shortest name before an action word.
_FACT_DEFENDANT = re.compile(
    r"(?:被告人|犯罪嫌疑人|嫌疑人)(?P<name>[\u4e00-\u9fff]{1,2}?某+[甲乙丙丁戊己庚辛\d]?|[\u4e00-\u9fff]{2,3}?)"
    r"(?=[^\u4e00-\u9fff]|[醉酒无驾伙携窃盗骗持明先多在于将从以到向对因和与及等的系是被把为遂又后即便用趁采通利冒虚非私擅乘拿抢夺殴打故家住])"
)


# not the first character of a name: "被告人的行为", "对被告人从轻处罚", "被告人在…"
_NOT_NAME_START = frozenset("的从在对将与和及等于因被把为以向到所之其该本上各二三两均已未不也又并及")


def fact_defendants(facts: str) -> list[str]:
    """The suspects a new case's facts name (被告人赵某甲, 犯罪嫌疑人陆某), in order of first mention.

    An anonymised name (X某…) counts at once; any other only when it occurs at least twice in the
    facts, since one "被告人" followed by a verb is easily misread as a name."""
    found = [m.group("name") for m in _FACT_DEFENDANT.finditer(facts)]
    return [
        n for n in dict.fromkeys(found) if n[0] not in _NOT_NAME_START and ("某" in n or facts.count(n) >= 2)
    ]


def fact_circumstances(facts: str, names: list[str] | None = None) -> list[tuple[str, int, int]]:
    """(circumstance, start, end) found in the facts, negations (拒不如实供述, 未取得谅解) excluded.

    醉酒 is the defendant's only: in a clause about a victim (被害人李某醉酒后…) it does not count,
    and a blood-alcohol figure counts only where it is a suspect's (``names``)."""
    out: list[tuple[str, int, int]] = []
    names = names if names is not None else fact_defendants(facts)
    matcher = NameMatcher(names) if names else None
    about_others = [
        (c.start, c.end)
        for c in clauses(facts, 0, len(facts), matcher, len(names))
        if c.other_person and not c.named
    ]
    for name, pat in _COMPILED.items():
        for m in pat.finditer(facts):
            if _NEG.search(facts[max(0, m.start() - 10) : m.start()]):
                continue
            if name == "醉酒" and any(a <= m.start() < b for a, b in about_others):
                continue
            out.append((name, m.start(), m.end()))
            break
    if not any(n == "醉酒" for n, _, _ in out):
        for m in _ALCOHOL.finditer(facts):
            # 醉酒驾驶 threshold (两高两部《意见》: ≥ 80 mg/100 ml)
            if float(m.group(1)) >= 80 and not any(a <= m.start() < b for a, b in about_others):
                out.append(("醉酒", m.start(), m.end()))
                break
    if any(n == "自首" for n, _, _ in out):
        out = [x for x in out if x[0] != "坦白"]  # 自首 already includes the 如实供述
    order = {n: i for i, n in enumerate(CIRCUMSTANCE_NAMES)}
    return sorted(out, key=lambda x: order[x[0]])


_TOTAL = re.compile(r"(?:共计|合计|总计|累计|总额|共|价值|数额|金额|损失)[^。；，]{0,12}?" + MONEY)


def analyse_facts(facts: str) -> CaseRecord:
    """Extract what a new case's facts say: circumstances (candidates) and the main amount."""
    rec = extract(CaseRecord(id="pending", text=facts, sections=Sections(facts=facts)))
    found = fact_circumstances(facts)
    spans = [Span(field="circumstances", start=s, end=e, text=facts[s:e]) for _, s, e in found]
    names = [n for n, _, _ in found]
    amount = rec.amount_yuan
    if amount is None:
        best = None
        for m in _TOTAL.finditer(facts):
            value = money_yuan(m)
            if value and (best is None or value > best[0]):
                best = (value, m.start("num"), m.end())
        if best:
            amount = best[0]
            spans.append(Span(field="amount_yuan", start=best[1], end=best[2], text=facts[best[1] : best[2]]))
    return _with(rec, names, amount, spans)


def with_elements(pending: CaseRecord, charges: list[str]) -> CaseRecord:
    """The pending case with its suspects and their sentencing elements, read for ``charges`` (given
    or predicted: a new case has no judgment lines saying who is charged with what, so every suspect
    is read for every charge)."""
    facts = pending.text
    names = fact_defendants(facts) or [d.name for d in pending.defendants]
    if not names or not charges:
        return pending
    matcher = NameMatcher(names)
    first = pending.defendants[0] if pending.defendants else Defendant(name=names[0])
    circumstances = [list(first.circumstances)] + [[] for _ in names[1:]]
    found = find_elements(
        facts,
        (0, len(facts)),
        (len(facts), len(facts)),
        matcher,
        names,
        [list(charges)] * len(names),
        circumstances,
    )
    defendants = [
        Defendant(name=n, charges=list(charges), circumstances=circumstances[i], elements=found.elements[i])
        for i, n in enumerate(names)
    ]
    # Only the elements' figure is the 涉案数额: money the facts mention for a charge that has no
    # amount (compensation paid in a 交通肇事 case) is not.
    spans = [s for s in pending.spans if s.field != "amount_yuan"]
    spans += [Span(field=f, start=a, end=b, text=facts[a:b]) for f, a, b in found.spans]
    amount = found.case_amount_yuan
    return pending.model_copy(update={"defendants": defendants, "spans": spans, "amount_yuan": amount})


def _with(rec: CaseRecord, names: list[str], amount: float | None, spans: list[Span]) -> CaseRecord:
    """The facts' circumstances go to the (first) defendant, as a judgment's would."""
    defendants = rec.defendants or [Defendant(name="待决案件被告人")]
    first = defendants[0].model_copy(
        update={"circumstances": list(dict.fromkeys([*defendants[0].circumstances, *names]))}
    )
    return rec.model_copy(
        update={"amount_yuan": amount, "spans": [*rec.spans, *spans], "defendants": [first, *defendants[1:]]}
    )
