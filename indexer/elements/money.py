"""数额: the money value of the offence, per defendant and for the case.

The rule (DESIGN.md, the case record): what the defendant took, defrauded, robbed, extorted,
embezzled, misappropriated, received or gave as a bribe, illegally absorbed … summed over every count
they joined; other currencies as the judgment converts them (折合人民币…元); never compensation,
退赃/退赔, fines, bail, confiscation, a civil claim or a party's argument.

1. The court's own figure in 本院认为 wins: the largest amount of a clause about the offence bound to
   the defendant (the court states the total there: "盗窃财物价值共计人民币65,300元").
2. Otherwise the facts (经审理查明, before the evidence list) are read count by count: a count is a
   paragraph or an enumerated item or a sentence that starts with a date. A count's value is its
   stated total (共计/合计/…) when it has one, else the sum of its item values ("手表价值31,200元、
   现金1,800元、欧元4,200元（折合人民币32,300.52元）" → 65,300.52). A closing total that covers the
   counts before it ("综上…共计…") replaces their sum.
3. The case's 涉案数额 is the same reading without binding: every count once, however many
   co-defendants joined it; the largest court figure when that is larger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leian.indexer.elements.binding import clauses
from leian.indexer.elements.facts import EVIDENCE_SENTENCE, count_starts, facts_end
from leian.indexer.extract_numbers import MONEY_RE, money_yuan

MAX_YUAN = 1e12
# A clause about the offence's value (what was taken, received, absorbed …).
_CUE = re.compile(
    r"盗|窃|偷|扒|骗|诈|抢|劫|夺|敲诈|勒索|索要|索取|侵占|贪污|挪用|收受|受贿|行贿|送给|给予|送予|"
    r"吸收|集资|经营|销售|出售|售卖|收购|掩饰|隐瞒|转移|毁坏|损失|价值|数额|金额|赃|共计|合计|总计|累计|"
    r"透支|套现|取走|拿走|占有|非法所得|好处费|贿赂|财物|现金"
)
_TOTAL = re.compile(
    r"共计|合计|总计|累计|总额|总价值|共价值|价值共|总金额|数额|金额为|共(?=[骗盗窃收受吸收价值])|一共|涉案价值|涉案金额|实际骗得|实际骗取"
)
# Money in these clauses is not the offence's value.
_EXCLUDE = re.compile(
    r"赔偿|退赔|退赃|退还|退缴|退出|返还|归还|发还|退回|罚金|罚款|保证金|取保|追缴|没收|扣押|查封|冻结|"
    r"补偿|赔付|垫付|缴纳|交纳|预交|押金|医疗费|丧葬|抚恤|诉讼费|鉴定费|谅解|和解|判处|并处|单处|悬赏|"
    r"工资|月薪|年薪|报酬|租金|借条|欠条|利息(?!收入)|奖金|分得|分给|分赃|获利|获取利润|违法所得|"
    r"标准|起点|以上的|不满"
)
_PRICE = re.compile(r"以\s*(?:人民币)?\s*$")
_PRICE_AFTER = re.compile(r"\s*(?:的)?(?:低价|价格|高价|价钱|单价|卖给|出售给|售给|销售给|卖与)")
# inside a parenthesis that breaks an earlier figure down
_BREAKDOWN = re.compile(r"[（(]其中[^）)]*$")
# Sentences that report a party's claim, not the court's finding.
_CLAIM = re.compile(r"辩护|辩解|辩称|上诉理由|上诉称|抗诉|意见|附带民事|民事诉讼|请求|诉称")
_FOREIGN = re.compile(r"(?:欧元|美元|港元|港币|日元|英镑|韩元|泰铢|澳元|加元|新台币|澳门币|卢布|越南盾)\s*$")
# A sentence that sums up the counts (before or after them).
_SUMMARY = re.compile(
    r"^\s*(?:综上|以上|上述|总之|经统计|经审计|经核算|经核查|共计|合计|总计|累计)|共[^，。；]{0,8}?[\d二三四五六七八九十]+[次起笔]|"
    r"[\d二三四五六七八九十]+[次起笔][^。；]{0,16}?(?:共计|合计|累计|总计|涉案)|多次|具体(?:情况|事实)?如下|分述如下"
)
# Costs of a victim's treatment and other money a sentence lists that is no one's taking.
_COSTS = re.compile(r"医疗费|误工费|护理费|营养费|交通费|住院|伙食补助|丧葬费|抚恤|罚金|赔偿|诉讼")
# The figure is what the defendant paid or promised, not what was taken: "5000元定金", "9090元欠条".
_NOT_TAKEN_AFTER = re.compile(r"\s*(?:的)?(?:定金|押金|保证金|货款欠条|欠条|借条|首付|的好处|作为报酬)")


@dataclass(frozen=True)
class Amount:
    yuan: float
    start: int  # span of the figure in the text
    end: int
    subject: tuple[int, ...]
    total: bool  # stated as a total (共计 …)
    summary: bool  # in a sentence that sums up several counts
    count: int  # which count of the facts (−1 in the reasoning)
    sentence: int  # where its sentence starts


def _money(text: str, start: int, end: int, names, n: int, count_starts: list[int] | None) -> list[Amount]:
    """Offence amounts in ``text[start:end]`` with their clause subject (see the module rules)."""
    out: list[Amount] = []
    cs = clauses(text, start, end, names, n)
    clause_list = list(cs)
    ci = 0
    for m in MONEY_RE.finditer(text, start, end):
        v = money_yuan(m)
        if v is None or not 0 < v <= MAX_YUAN:
            continue
        if _FOREIGN.search(text, max(start, m.start() - 6), m.start()):
            continue
        while ci < len(clause_list) and clause_list[ci].end <= m.start():
            ci += 1
        if ci >= len(clause_list):
            break
        c = clause_list[ci]
        head = text[c.start : m.start()]
        if _EXCLUDE.search(head) or _FOREIGN.search(text, c.start, m.start()):
            continue
        if _COSTS.search(text, c.sentence_start, m.start()) or _NOT_TAKEN_AFTER.match(text, m.end()):
            continue
        if _PRICE.search(text, max(c.start, m.start() - 3), m.start()) and _PRICE_AFTER.match(text, m.end()):
            continue  # "以6,500元的低价予以收购": what was paid for the goods, not their value
        if _BREAKDOWN.search(text, c.sentence_start, m.start()):
            continue  # "（其中1次2万元，另1次3万元）": the parts of a figure already counted
        sent_end = text.find("。", m.end(), end)
        sentence = text[c.sentence_start : sent_end if sent_end >= 0 else end]
        if _CLAIM.search(sentence) or not _CUE.search(sentence) or EVIDENCE_SENTENCE.search(sentence):
            continue
        count = -1
        if count_starts is not None:
            count = sum(1 for s in count_starts if s <= m.start()) - 1
        is_total = _TOTAL.search(head) is not None
        summary = is_total and _SUMMARY.search(sentence) is not None
        out.append(Amount(v, m.start(), m.end(), c.subject, is_total, summary, count, c.sentence_start))
    return out


def _sum_counts(found: list[Amount]) -> tuple[float, list[Amount]] | None:
    """The facts' own tally of the counts when it states one, else the counts' values summed."""
    if not found:
        return None
    by_count: dict[int, list[Amount]] = {}
    for a in found:
        by_count.setdefault(a.count, []).append(a)
    # The facts' own tally ("单独诈骗7起…涉案价值328,417.5元", "综上…共计") is the figure: the counts
    # themselves list gross values, deposits and part payments that the tally has already sorted out.
    summaries = [a for a in found if a.summary or (a.total and a.count == 0 and len(by_count) > 1)]
    if summaries:
        best = max(summaries, key=lambda a: a.yuan)
        # a tally before the counts is theirs; one among them is at least as large as any one count
        # (a "共骗取…" smaller than another count's figure is that count's own total)
        others = [a.yuan for a in found if a not in summaries]
        if best.count == 0 or not others or best.yuan >= max(others) * 0.99:
            return best.yuan, [best]
    total, used = 0.0, []
    for _, items in sorted(by_count.items()):
        totals = [a for a in items if a.total]
        if totals:
            best = max(totals, key=lambda a: a.yuan)
            total += best.yuan
            used.append(best)
        else:
            distinct = _distinct(items)
            total += sum(a.yuan for a in distinct)
            used.extend(distinct)
    # A figure stated before the counts it sums ("收受现金50万元…具体事实如下：1、…40万元。2、…") was
    # added to them: a figure equal to the sum of all the others is that sum.
    for a in used:
        if len(used) > 1 and abs((total - a.yuan) - a.yuan) <= 0.01 * a.yuan:
            return a.yuan, [a]
    return total, used


def _distinct(items: list[Amount]) -> list[Amount]:
    """Item values of one count; the same figure twice in one sentence is one item restated ("手机一部，
    价值2,000元…经鉴定价值2,000元"), in two sentences two items ("送给5万元；…又送给5万元")."""
    seen: set[tuple[int, float]] = set()
    out = []
    for a in items:
        if (a.sentence, a.yuan) not in seen:
            seen.add((a.sentence, a.yuan))
            out.append(a)
    return out


@dataclass(frozen=True)
class MoneyFinding:
    yuan: float
    spans: list[tuple[int, int]]  # where each summed figure stands


def defendant_amounts(
    text: str, reasoning: tuple[int, int], facts: tuple[int, int], names, n: int, wanted: set[int]
) -> dict[int, MoneyFinding]:
    """数额 per defendant index in ``wanted`` (those with a money-tiered charge)."""
    out: dict[int, MoneyFinding] = {}
    if not wanted:
        return out
    court = _money(text, *reasoning, names, n, None)
    f0, f1 = facts
    f1 = facts_end(text, f0, f1)
    starts = count_starts(text, f0, f1)
    found = _money(text, f0, f1, names, n, starts)
    for i in sorted(wanted):
        mine = [a for a in court if i in a.subject or (not a.subject and n > 1)]
        if mine:
            best = max(mine, key=lambda a: a.yuan)
            out[i] = MoneyFinding(best.yuan, [(best.start, best.end)])
            continue
        summed = _sum_counts([a for a in found if i in a.subject or not a.subject])
        if summed:
            out[i] = MoneyFinding(summed[0], [(a.start, a.end) for a in summed[1]])
    return out


def case_amount(
    text: str, facts: tuple[int, int], names, n: int, per_defendant: dict[int, MoneyFinding]
) -> MoneyFinding | None:
    """涉案数额 of the case: every count once, however many defendants joined it.

    One defendant: their 数额. Several: the facts' counts summed without binding, but never more than
    the defendants' figures added up (the facts may restate a count) nor less than the largest one."""
    if not per_defendant:
        return None
    largest = max(per_defendant.values(), key=lambda f: f.yuan)
    if n == 1:
        return largest
    f0, f1 = facts
    f1 = facts_end(text, f0, f1)
    summed = _sum_counts(_money(text, f0, f1, names, n, count_starts(text, f0, f1)))
    if summed is None:
        return largest
    # co-defendants with the same figure shared the same counts (the facts restate them per person)
    cap = sum({f.yuan for f in per_defendant.values()})
    value = max(largest.yuan, min(summed[0], cap))
    if value == largest.yuan:
        return largest
    return MoneyFinding(value, [(a.start, a.end) for a in summed[1]])
