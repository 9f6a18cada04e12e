"""类案裁判要点: the sentences of a similar case's reasoning that carry its holding."""

from __future__ import annotations

import re

from leian.corpora.record import CaseRecord
from leian.retrieval.models import Hit
from leian.retrieval.report.model import KeyPoint, KeySentence
from leian.retrieval.sentencing import ADJUSTMENTS

KEY_SENTENCES = 3  # per case
MAX_KEY_SENTENCE = 240  # characters

_SENT_END = re.compile(r"[^。；！？\n]+[。；！？]?")
_GROUNDS = re.compile(
    r"从轻|减轻|从重|酌情|量刑|缓刑|罚金|免予|依照|根据|依法|第[一二三四五六七八九十百零〇\d]+条"
)
_CIRCUMSTANCE_WORDS = tuple(
    dict.fromkeys(
        [n for n, aliases, _, _ in ADJUSTMENTS for n in (n, *aliases)] + ["认罪", "悔罪", "初犯", "偶犯"]
    )
)


def _reasoning(rec: CaseRecord) -> tuple[str, bool]:
    """The reasoning text and whether it is the record's reasoning section (offsets refer to it)."""
    if rec.sections.reasoning.strip():
        return rec.sections.reasoning, True
    i = rec.text.find("本院认为")
    if i < 0:
        return "", False
    j = rec.text.find("判决如下", i)
    return rec.text[i : j if j > 0 else len(rec.text)], False


def key_point(hit: Hit, rec: CaseRecord | None) -> KeyPoint | None:
    """The sentences of a case's 本院认为 that carry its holding: they name the charge, circumstances or
    sentencing grounds. At most ``KEY_SENTENCES``, in their order in the text."""
    if rec is None:
        return None
    text, is_section = _reasoning(rec)
    if not text:
        return None
    base = 0 if is_section else rec.text.find(text)
    charges = [c for c in dict.fromkeys([*rec.charges, *hit.charges]) if c]
    charge_words = [*charges, *(c[:-1] for c in charges if c.endswith("罪") and len(c) > 2)]
    circ = tuple(dict.fromkeys([*rec.circumstances, *_CIRCUMSTANCE_WORDS]))
    scored = []
    for m in _SENT_END.finditer(text):
        sent = m.group().strip()
        if len(sent) < 6:
            continue
        score = 2 * any(c in sent for c in charge_words)
        score += sum(1 for c in circ if c in sent)
        score += 1 if _GROUNDS.search(sent) else 0
        if score:
            start = m.start() + (len(m.group()) - len(m.group().lstrip()))
            scored.append((score, start, sent))
    best = sorted(sorted(scored, key=lambda t: (-t[0], t[1]))[:KEY_SENTENCES], key=lambda t: t[1])
    if not best:
        return None
    sentences = []
    for _, start, sent in best:
        cut = sent if len(sent) <= MAX_KEY_SENTENCE else sent[: MAX_KEY_SENTENCE - 1] + "…"
        sentences.append(
            KeySentence(
                text=cut,
                section="reasoning" if is_section else "text",
                start=base + start,
                end=base + start + len(sent),
            )
        )
    return KeyPoint(
        rank=hit.rank,
        case_id=hit.id,
        case_number=hit.case_number or rec.case_number,
        court=hit.court or rec.court,
        sentences=sentences,
    )


__all__ = ["key_point"]
