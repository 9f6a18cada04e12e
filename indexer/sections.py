"""Split a criminal judgment's full text into its parts, as character offsets into that text.

A judgment reads 首部 (court, title, 案号) → parties (公诉机关, 被告人 …) → 审理经过 / 指控 / 辩护 →
facts (经审理查明 …) → reasoning (本院认为 …) → judgment (判决如下 / 裁定如下 …) → 尾部 (如不服本判决,
审判长, date, 书记员). The splitter looks for those markers in order, each one searched only after
the previous one, so a quoted "判决如下" of the 原判 inside an appeal's facts does not end the
reasoning early. Offsets (not copies) are returned so every extracted value can point back into the
full text.

Some corpora (LeCaRD's ``qw``) concatenate two documents (a first-instance judgment followed by the
appeal, or a template) or prefix the title: only the first complete judgment is split; ``end``
marks where it stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leian.corpora.record import Sections
from leian.indexer.fast_regex import compile_guarded

# Markers, searched in this order. Each is precompiled once.
_PARTIES = re.compile(
    r"(?:原公诉机关|公诉机关|抗诉机关|自诉人|原审自诉人|申诉人|上诉人|原审被告人|被告人|被告单位|罪犯|被申诉人)"
)
# The first sentence of 审理经过 ends the parties: "…检察院以…起诉书指控被告人…", "…一案，…".
_PROCEEDINGS = re.compile(
    r"起诉书指控|提起公诉|提出公诉|一案[，,。]|本院受理后|本院依法|审理了本案|提出上诉|提出抗诉|不服.{0,40}?(?:判决|裁定)|申请再审|提出申诉|审理终结"
)
_FACTS = re.compile(
    r"(?:经审理|本院审理|经本院审理|本院经审理|经审查|本院二审|二审|经本院二审审理|经公开开庭审理)(?:[^。，]{0,8}?)查明|经审理认定|本院审理认定"
)
# Fallback openings of the facts when the court writes no 经审理查明 (short / 速裁 judgments).
_FACTS_FALLBACK = re.compile(r"(?:公诉机关|检察院|原判|原审判决|原审法院)(?:指控|认定)")
_REASONING = re.compile(r"本[院庭](?:再审|二审|经再审|经审查)?认为")
_JUDGMENT = re.compile(
    r"(?:判决|裁定|决定)如下|之规定[：:](?=\s*[一被上原])|(?<=[。，,])\s*判决[：:](?=\s*[一被上原])"
)
# The 案号 ends the header: "…刑事判决书 （2018）鄂0112刑初298号". A title may precede the court name.
_HEADER_END = compile_guarded(
    r"(?:[（(〔\[［【﹝]\s*)?(?:19|20|2O)[\dO]{2}\s*[）)〕\]］】﹞][^。，,\s]{1,30}?号(?:之[一二三四五六七八九十\d]+)?"
    r"|(?:判\s*决|裁\s*定)\s*书"
)
_TAIL = compile_guarded(
    r"如不服本(?:判决|裁定)|本(?:判决|裁定)为终审(?:判决|裁定)|本(?:判决|裁定)(?:书)?自宣告之日起|(?<![人的])审\s*判\s*长|(?<![人的由指派])(?:代理)?审\s*判\s*员[\u4e00-\u9fff×Ｘ*]|人民陪审员[\u4e00-\u9fff×*]"
)
# A second document starts with a court name and a document title (LeCaRD concatenations).
_NEXT_DOC = re.compile(
    r"[\u4e00-\u9fff]{2,30}(?:人民法院|军事法院|铁路运输法院)\s*刑\s*事\s*(?:附带民事\s*)?(?:判\s*决|裁\s*定)\s*书"
)


@dataclass(frozen=True)
class SectionSpans:
    """``(start, end)`` character offsets of each part; an absent part is ``(x, x)`` (empty)."""

    header: tuple[int, int]
    parties: tuple[int, int]
    proceedings: tuple[int, int]  # 审理经过, 指控, 辩护: between parties and facts
    facts: tuple[int, int]
    reasoning: tuple[int, int]
    judgment: tuple[int, int]
    tail: tuple[int, int]
    end: int  # where the first judgment ends (the rest is an appended document, or nothing)

    def text(self, full: str, part: str) -> str:
        s, e = getattr(self, part)
        return full[s:e]

    def to_sections(self, full: str) -> Sections:
        return Sections(
            parties=self.text(full, "parties").strip(),
            facts=self.text(full, "facts").strip(),
            reasoning=self.text(full, "reasoning").strip(),
            judgment=self.text(full, "judgment").strip(),
        )


def _sentence_start(text: str, pos: int, floor: int) -> int:
    """Start of the sentence holding ``pos`` (just after the previous 。；), not before ``floor``."""
    i = max(text.rfind("。", floor, pos), text.rfind("；", floor, pos))
    return i + 1 if i >= 0 else floor


def split_sections(text: str) -> SectionSpans:
    n = len(text)
    # Parties: the first role word in the opening; before it is the header (court, title, 案号).
    head = 0
    for hm in _HEADER_END.finditer(text, 0, min(n, 400)):
        head = hm.end()
        if text[hm.end() - 1] == "号":
            break
    m = _PARTIES.search(text, head, min(n, 3000))
    p_start = m.start() if m else 0
    m = _PROCEEDINGS.search(text, p_start)
    p_end = _sentence_start(text, m.start(), p_start) if m else p_start

    r = _REASONING.search(text, p_end)
    r_start = r.start() if r else None
    limit = r_start if r_start is not None else n
    f = _FACTS.search(text, p_end, limit)
    if f is None:
        f = _FACTS_FALLBACK.search(text, p_end, limit)
        f_start = _sentence_start(text, f.start(), p_end) if f else p_end
    else:
        f_start = _sentence_start(text, f.start(), p_end)
    j = _JUDGMENT.search(text, r_start if r_start is not None else f_start)
    if j is not None:
        # "…之规定，判决如下：" belongs to the reasoning; the judgment starts after the colon.
        j_start = j.end()
        if j_start < n and text[j_start] in "：:":
            j_start += 1
    else:
        j_start = n
    if r_start is None:
        r_start = j.start() if j is not None else n
    t = _TAIL.search(text, j_start)
    t_start = t.start() if t else n
    nd = _NEXT_DOC.search(text, t_start + 1)
    end = nd.start() if nd else n
    if t_start > end:
        t_start = end
    return SectionSpans(
        header=(0, p_start),
        parties=(p_start, p_end),
        proceedings=(p_end, f_start),
        facts=(f_start, r_start),
        reasoning=(r_start, j_start),
        judgment=(j_start, t_start),
        tail=(t_start, end),
        end=end,
    )


def sections_of(text: str) -> Sections:
    """The four text sections of a judgment (parties, facts, reasoning, judgment)."""
    return split_sections(text).to_sections(text)


__all__ = ["SectionSpans", "split_sections", "sections_of"]
