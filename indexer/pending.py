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
from leian.indexer.extract import extract
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


def fact_circumstances(facts: str) -> list[tuple[str, int, int]]:
    """(circumstance, start, end) found in the facts, negations (拒不如实供述, 未取得谅解) excluded."""
    out: list[tuple[str, int, int]] = []
    for name, pat in _COMPILED.items():
        for m in pat.finditer(facts):
            if _NEG.search(facts[max(0, m.start() - 10) : m.start()]):
                continue
            out.append((name, m.start(), m.end()))
            break
    if not any(n == "醉酒" for n, _, _ in out):
        for m in _ALCOHOL.finditer(facts):
            if float(m.group(1)) >= 80:  # 醉酒驾驶 threshold (两高两部《意见》: ≥ 80 mg/100 ml)
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


def _with(rec: CaseRecord, names: list[str], amount: float | None, spans: list[Span]) -> CaseRecord:
    """The facts' circumstances go to the (first) defendant, as a judgment's would."""
    defendants = rec.defendants or [Defendant(name="待决案件被告人")]
    first = defendants[0].model_copy(
        update={"circumstances": list(dict.fromkeys([*defendants[0].circumstances, *names]))}
    )
    return rec.model_copy(
        update={"amount_yuan": amount, "spans": [*rec.spans, *spans], "defendants": [first, *defendants[1:]]}
    )
