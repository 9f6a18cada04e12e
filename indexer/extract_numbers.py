"""Numbers in judgments: terms (一年六个月), money (人民币1.2万元), dates (二〇一八年九月十日), articles.

Chinese numerals are converted by cn2an (not hand-rolled); results are cached because the same few
hundred numerals recur across a corpus.
"""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an

from leian.indexer.fast_regex import compile_guarded

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
_YEAR_DIGITS = str.maketrans(
    "〇零○ＯOo" + "０１２３４５６７８９" + "一二三四五六七八九", "000000" + "0123456789" + "123456789"
)

# Building blocks for the regexes of extract.py.
CN_NUM = "零〇一二两三四五六七八九十百千"
NUM = rf"[\d０-９{CN_NUM}]+"
# A term: 一年六个月 / 1年6个月 / 十年零六个月 / 六个月 / 三年.
DURATION = rf"(?:(?P<y>{NUM})\s*年(?:\s*零|\s*又)?(?:\s*(?P<m>{NUM})\s*个?\s*月)?|(?P<m2>{NUM})\s*个\s*月)"
DURATION_RE = compile_guarded(DURATION)
# The same without named groups, to embed several times in one regex; re-parse with DURATION_RE.
DURATION_NC = re.sub(r"\(\?P<\w+>", "(?:", DURATION)
# Money: 人民币五千元, 1.2万元, 12,000元, 2万余元, 三十五万元.
MONEY = (
    r"(?:人民币|￥|¥)?\s*(?P<num>\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|[\d０-９]+(?:[\.．][\d０-９]+)?"
    rf"|[{CN_NUM}万亿]+)\s*(?P<unit>万|亿)?\s*(?P<more>余|多)?\s*元"
)
MONEY_RE = compile_guarded(MONEY)


@lru_cache(maxsize=8192)
def cn_number(s: str) -> float | None:
    """'二百六十四' -> 264, '1.2万' -> 12000, '１２' -> 12; None when it is not a number."""
    s = s.translate(_FULLWIDTH).replace(",", "").strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return float(cn2an.cn2an(s, "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def duration_months(m: re.Match) -> int | None:
    """Months of a DURATION match (groups y, m, m2)."""
    y, mo, m2 = m.group("y"), m.group("m"), m.group("m2")
    if m2 is not None:
        v = cn_number(m2)
        return int(v) if v is not None else None
    years = cn_number(y) if y else 0
    months = cn_number(mo) if mo else 0
    if years is None or months is None:
        return None
    return int(years * 12 + months)


def money_yuan(m: re.Match) -> float | None:
    v = cn_number(m.group("num"))
    if v is None:
        return None
    unit = m.group("unit")
    if unit == "万":
        v *= 10_000
    elif unit == "亿":
        v *= 100_000_000
    return float(v)


@lru_cache(maxsize=4096)
def iso_date(year: str, month: str, day: str) -> str | None:
    """('二〇一八', '九', '十') -> '2018-09-10'; None for an impossible date."""
    y = year.translate(_YEAR_DIGITS)
    if not y.isdigit() or len(y) != 4:
        return None
    mo, d = cn_number(month), cn_number(day)
    if mo is None or d is None:
        return None
    yi, mi, di = int(y), int(mo), int(d)
    if not (1949 <= yi <= 2100 and 1 <= mi <= 12 and 1 <= di <= 31):
        return None
    return f"{yi:04d}-{mi:02d}-{di:02d}"


@lru_cache(maxsize=4096)
def article_cn(num: str) -> str | None:
    """'264' or '二百六十四' -> '二百六十四' (how 刑法 articles are written); None if out of range."""
    v = cn_number(num)
    if v is None or not (1 <= v <= 452):  # the 1997 刑法 has 452 articles
        return None
    return cn2an.an2cn(str(int(v)))
