"""Drugs (kind and grams) and blood alcohol (mg/100ml), bound to the defendant.

Drugs: the court's own figure in 本院认为 per kind wins (贩卖甲基苯丙胺共计12.5克); otherwise the
facts count by count: within a count the same parcel is weighed and tested several times (约0.5克 …
净重0.48克), so a count gives its largest figure per kind; counts add up; a summing-up total replaces
the counts before it. Kinds are named as the drug tables name them (冰毒 → 甲基苯丙胺, K粉 → 氯胺酮).

Blood alcohol belongs to a person: a figure in a clause that names a victim (被害人…血液中乙醇含量)
is never the defendant's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leian.indexer.elements.binding import clauses
from leian.indexer.elements.facts import count_of, count_starts, facts_end
from leian.indexer.extract_numbers import cn_number

# surface form -> the name the drug tables use. Longest forms first in the regex.
DRUG_KINDS: dict[str, str] = {
    "甲基苯丙胺片剂": "甲基苯丙胺片剂",
    "麻古": "甲基苯丙胺片剂",
    "麻果": "甲基苯丙胺片剂",
    "红色药丸": "甲基苯丙胺片剂",
    "甲基苯丙胺": "甲基苯丙胺",
    "冰毒": "甲基苯丙胺",
    "海洛因": "海洛因",
    "氯胺酮": "氯胺酮",
    "K粉": "氯胺酮",
    "可卡因": "可卡因",
    "大麻脂": "大麻脂",
    "大麻叶": "大麻",
    "大麻": "大麻",
    "鸦片": "鸦片",
    "吗啡": "吗啡",
    "摇头丸": "3,4-亚甲二氧基甲基苯丙胺",
    "亚甲二氧基甲基苯丙胺": "3,4-亚甲二氧基甲基苯丙胺",
    "MDMA": "3,4-亚甲二氧基甲基苯丙胺",
    "甲卡西酮": "甲卡西酮",
    "美沙酮": "美沙酮",
    "曲马多": "曲马多",
    "γ-羟丁酸": "γ-羟丁酸",
    "咖啡因": "咖啡因",
}
_KIND = re.compile("|".join(sorted(map(re.escape, DRUG_KINDS), key=len, reverse=True)))
_NUMBER = r"(?P<num>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+(?:点[零〇一二三四五六七八九]+)?)"
_WEIGHT = re.compile(_NUMBER + r"\s*(?P<unit>千克|公斤|kg|KG|Kg|克|g|G)(?![a-zA-Z])")
_TOTAL = re.compile(r"共计|合计|总计|累计|总重|共重|共(?=[\d约])|总净重")
_SUMMARY = re.compile(
    r"^\s*(?:综上|以上|上述|总之|经统计)|[\d二三四五六七八九十]+次[^。；]{0,16}?(?:共计|合计|累计)"
)
_THRESHOLD = re.compile(r"\s*(?:以上|以下|不满|不足|之上)")
_THRESHOLD_BEFORE = re.compile(r"(?:不满|不足|超过|达到|少于|多于)\s*$")
_NOT_WEIGHED = re.compile(r"含量|纯度|百分之|%|％|毫克/|克/")
_MG = r"(?:mg|MG|Mg|㎎|毫克|亳克)"
_HUNDRED_ML = r"(?:(?:[1lI][0O０]{2}|一百|百)\s*(?:m[lL1]|M[lL]|毫升|亳升)|d[lL1]|分升)"  # 1 dL = 100 mL
_ML = r"(?:m[lL1]|M[lL]|毫升|亳升)"
_PER = r"[/／\\＼每]"
_V = r"(?P<v>\d+(?:[.．]\d+)?)"
# Blood alcohol as judgments write it: 乙醇含量为215.3mg/100ml, 1.07mg/mL (per millilitre),
# 每百毫升血液中含乙醇135毫克, 含量为每百毫升99毫克 (OCR slips such as l00ml and m1 included).
_BAC_FORMS = (
    (
        re.compile(
            rf"(?:乙醇|酒精)(?:含量|浓度)?[^。；\d]{{0,14}}?{_V}\s*(?:{_MG})?\s*(?:乙醇)?\s*{_PER}\s*{_HUNDRED_ML}"
        ),
        1.0,
    ),
    (
        re.compile(
            rf"(?:乙醇|酒精)(?:含量|浓度)?[^。；\d]{{0,14}}?{_V}\s*{_MG}\s*(?:乙醇)?\s*{_PER}\s*{_ML}"
        ),
        100.0,
    ),
    (
        re.compile(
            rf"每\s*{_HUNDRED_ML}\s*(?:血液|血)?中?[^。；\d]{{0,10}}?(?:乙醇|酒精)[^。；\d]{{0,6}}?{_V}\s*{_MG}"
        ),
        1.0,
    ),
    (
        re.compile(
            rf"(?:乙醇|酒精)[^。；\d]{{0,12}}?每\s*{_HUNDRED_ML}\s*(?:血液|血)?中?[^。；\d]{{0,4}}?{_V}\s*{_MG}"
        ),
        1.0,
    ),
)
# a breath test at the roadside is superseded by the blood test
_BREATH = re.compile(r"呼气|呼出|呼吸|吹气|现场测试|酒精测试仪|检测仪|初筛")
# a party's argument ("辩护人提出…不能认定…"), not the court's finding
_CLAIM = re.compile(r"辩护|辩称|辩解|意见|上诉理由|提出")


@dataclass(frozen=True)
class Weighed:
    kind: str
    grams: float
    start: int
    end: int
    subject: tuple[int, ...]
    total: bool
    summary: bool
    count: int


def _grams(m: re.Match) -> float | None:
    v = cn_number(m.group("num").replace("点", "."))
    if v is None:
        return None
    return v * 1000 if m.group("unit") in ("千克", "公斤", "kg", "KG", "Kg") else v


def _weighed(text: str, start: int, end: int, names, n: int, starts: list[int] | None) -> list[Weighed]:
    out: list[Weighed] = []
    for c in clauses(text, start, end, names, n):
        kinds = list(_KIND.finditer(text, c.sentence_start, c.end))
        if not kinds:
            continue
        for wm in _WEIGHT.finditer(text, c.start, c.end):
            if _NOT_WEIGHED.search(text, wm.end(), min(c.end, wm.end() + 2)):
                continue
            if _THRESHOLD.match(text, wm.end()) or _THRESHOLD_BEFORE.search(
                text, max(c.start, wm.start() - 4), wm.start()
            ):
                continue  # "非法持有甲基苯丙胺50克以上": the law's threshold, not a quantity
            g = _grams(wm)
            if g is None or g <= 0:
                continue
            # the kind named in the weight's own clause (before it, else just after it: "118.79克检测出
            # 甲基苯丙胺"), else the nearest before it in the sentence
            before = [k for k in kinds if k.end() <= wm.start()]
            after = list(_KIND.finditer(text, wm.end(), c.end))
            in_clause = [k for k in before if k.start() >= c.start]
            km = in_clause[-1] if in_clause else (after[0] if after else (before[-1] if before else None))
            if km is None:
                continue
            kind = DRUG_KINDS[km.group()]
            # "甲基苯丙胺和甲基苯丙胺片剂约2.6克": one total over both forms, as the court states it
            if (
                kind == "甲基苯丙胺片剂"
                and len(before) > 1
                and DRUG_KINDS[before[-2].group()] == "甲基苯丙胺"
                and wm.start() - before[-2].end() < 16
            ):
                kind = "甲基苯丙胺"
            head = text[c.start : wm.start()]
            sentence = text[c.sentence_start : c.end]
            is_total = _TOTAL.search(head) is not None
            count = count_of(starts, wm.start()) if starts is not None else -1
            out.append(
                Weighed(
                    kind,
                    g,
                    wm.start(),
                    wm.end(),
                    c.subject,
                    is_total,
                    is_total and _SUMMARY.search(sentence) is not None,
                    count,
                )
            )
    return out


@dataclass(frozen=True)
class DrugFinding:
    grams: dict[str, float]  # kind -> grams
    spans: list[tuple[int, int]]


def defendant_drugs(
    text: str, reasoning: tuple[int, int], facts: tuple[int, int], names, n: int, wanted: set[int]
) -> dict[int, DrugFinding]:
    out: dict[int, DrugFinding] = {}
    if not wanted:
        return out
    court = _weighed(text, *reasoning, names, n, None)
    f0, f1 = facts
    f1 = facts_end(text, f0, f1)
    found = _weighed(text, f0, f1, names, n, count_starts(text, f0, f1))
    for i in sorted(wanted):
        mine = [w for w in court if i in w.subject or (not w.subject and n > 1)]
        if not mine:
            mine = _by_counts([w for w in found if i in w.subject or (not w.subject and n > 1)])
        else:
            best: dict[str, Weighed] = {}
            for w in mine:
                if w.kind not in best or w.grams > best[w.kind].grams:
                    best[w.kind] = w
            mine = list(best.values())
        if mine:
            grams: dict[str, float] = {}
            for w in mine:
                grams[w.kind] = round(grams.get(w.kind, 0.0) + w.grams, 4)
            out[i] = DrugFinding(grams, [(w.start, w.end) for w in mine])
    return out


def _by_counts(found: list[Weighed]) -> list[Weighed]:
    """Per kind: each count's largest figure, counts summed; a summing-up total replaces them."""
    per: dict[str, dict[int, Weighed]] = {}
    for w in found:
        counts = per.setdefault(w.kind, {})
        if w.count not in counts or w.grams > counts[w.count].grams:
            counts[w.count] = w
    out: list[Weighed] = []
    for counts in per.values():
        kept: list[Weighed] = []
        for _, w in sorted(counts.items()):
            if w.summary and w.grams >= sum(k.grams for k in kept) * 0.99:
                kept = [w]
            else:
                kept.append(w)
        out.extend(kept)
    return out


@dataclass(frozen=True)
class BacFinding:
    mg_per_100ml: float
    start: int
    end: int


def defendant_bac(text: str, spans: list[tuple[int, int]], names, n: int) -> dict[int, BacFinding]:
    """The first blood-alcohol figure bound to each defendant (facts first, then reasoning); a
    breath-test figure only when no blood figure is stated."""
    blood: dict[int, BacFinding] = {}
    breath: dict[int, BacFinding] = {}
    for s, e in spans:
        for c in clauses(text, s, e, names, n):
            if c.other_person and not c.named:
                continue
            for rx, scale in _BAC_FORMS:
                # the sentence up to this clause: "血样中检出乙醇，含量为每百毫升99毫克"
                for m in rx.finditer(text, c.sentence_start, c.end):
                    if m.start("v") < c.start:
                        continue
                    v = float(m.group("v").replace("．", ".")) * scale
                    if v <= 0:
                        continue  # 未检出: no alcohol is not a figure
                    if _CLAIM.search(text, c.sentence_start, m.start()):
                        continue
                    where = breath if _BREATH.search(text, c.sentence_start, m.start()) else blood
                    for i in c.subject:
                        where.setdefault(i, BacFinding(round(v, 3), m.start("v"), m.end()))
    return breath | blood
