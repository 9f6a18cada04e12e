"""The facts as the court found them, cut into counts.

The facts end where the evidence list begins ("上述事实，有…证实"): figures in evidence items (bank
statements, witness accounts) are not the court's finding. A count starts at an enumerated item
(一、 / （1） / 2．) or at a sentence that opens with a date (2018年3月5日 / 3月5日), the two ways
judgments list several criminal acts.
"""

from __future__ import annotations

import re

COUNT_START = re.compile(
    r"(?:^|[。；;\s])\s*(?:[（(]?[一二三四五六七八九十\d]{1,3}[）)、．.]|(?:19|20)\d{2}年\d{1,2}月|\d{1,2}月\d{1,2}日)"
)
EVIDENCE = re.compile(r"上述事实|上列事实|以上事实|认定上述|证据如下|下列证据|如下证据|有以下证据|证据有")


def count_starts(text: str, start: int, end: int) -> list[int]:
    """Where each count of ``text[start:end]`` starts (the first at ``start``)."""
    starts = [start]
    for m in COUNT_START.finditer(text, start, end):
        if m.start() > starts[-1] + 10:
            starts.append(m.start())
    return starts


def facts_end(text: str, start: int, end: int) -> int:
    """Where the evidence list of the facts starts, unless counts follow it (judgments that give the
    evidence after each count): then the evidence sentences are skipped one by one instead."""
    ev = EVIDENCE.search(text, start, end)
    if ev is None:
        return end
    if COUNT_AFTER_EVIDENCE.search(text, ev.end(), end):
        return end
    return ev.start()


# A count listed after an evidence block: "（二）2017年4月…" once "上述事实，…证实" was written.
COUNT_AFTER_EVIDENCE = re.compile(
    r"[。\s][（(][一二三四五六七八九十]{1,3}[）)]\s*(?:(?:19|20)\d{2}年|\d{1,2}月|被告人)"
)
# A sentence reporting evidence (a witness, a record, a bank statement) rather than the court's finding.
EVIDENCE_SENTENCE = re.compile(r"证实|证言|笔录|书证|上述事实|证据|证明[：:，,]|辨认")


def count_of(starts: list[int], pos: int) -> int:
    return sum(1 for s in starts if s <= pos) - 1


# 次数 as the court counts it: "盗窃三次", "先后5次", "共计贩卖毒品4次" (not "第二次", "多次").
TIMES = re.compile(r"(?<![第每])(?P<n>[\d一二三四五六七八九十两]{1,3})次(?![日年月])")
OFFENCE_VERB = re.compile(
    r"盗|窃|骗|诈|抢|劫|夺|敲诈|勒索|侵占|贪污|挪用|收受|受贿|行贿|贩卖|运输|容留|殴打|滋事|作案|犯罪|实施"
)
