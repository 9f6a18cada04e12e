"""Text as it enters: one normalisation for everything a user or a corpus hands us.

Text pasted from Word, saved on Windows or decoded from JSON can carry characters that mean nothing in
a judgment and break what comes after: Word's manual line break is ``\\v`` and its page break ``\\f``;
Windows ends lines with ``\\r\\n``; a JSON string may hold ``\\u0000`` or half of a surrogate pair; XML
(and so DOCX) refuses C0 control characters outright. ``normalise_text`` keeps the words and the
line structure and drops the rest, so that searching, extraction offsets and every report format see
the same text.
"""

from __future__ import annotations

import re

from leian.corpora.record import CaseRecord

# Line breaks in any spelling: CRLF and CR (Windows, old Mac), VT (Word's manual line break, Shift+Enter),
# FF (a page break), NEL (the C1 "next line"), and Unicode's LINE and PARAGRAPH SEPARATORs.
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Dropped: C0 controls but TAB and LF, DEL and the C1 controls, lone surrogates (a str can hold them, no
# encoding can write them), and the noncharacters U+FFFE/U+FFFF (not allowed in XML).
_DROPPED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Any character either of the two touches (\t and \n are the only controls kept as they are).
_CHANGED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def normalise_text(text: str) -> str:
    """``text`` with every line break written ``\\n`` and control characters removed.

    ``\\r\\n``, ``\\r``, ``\\v``, ``\\f``, U+0085, U+2028 and U+2029 become ``\\n``; the other C0 and C1
    control characters (``\\n`` and ``\\t`` kept), DEL, lone surrogates and U+FFFE/U+FFFF are removed.
    Nothing else changes: no trimming, no width or Unicode normalisation. Idempotent.
    """
    if _CHANGED.search(text) is None:  # nearly every text: nothing to do, nothing copied
        return text
    return _DROPPED.sub("", _LINE_BREAKS.sub("\n", text))


def normalise_record(record: CaseRecord) -> CaseRecord:
    """``record`` with its text, title, case number, court, sections and defendants' names normalised
    (the same object when nothing changes). Spans of a changed text no longer point at their words, so
    they are dropped (extraction makes them again)."""
    sections = record.sections
    fields = {
        "text": record.text,
        "title": record.title,
        "case_number": record.case_number,
        "court": record.court,
    }
    parts = sections.model_dump()
    if not any(
        v and _CHANGED.search(v)
        for v in (*fields.values(), *parts.values(), *(d.name for d in record.defendants))
    ):
        return record
    update: dict = {k: normalise_text(v) if v else v for k, v in fields.items()}
    update["sections"] = sections.model_copy(update={k: normalise_text(v) for k, v in parts.items()})
    update["defendants"] = [d.model_copy(update={"name": normalise_text(d.name)}) for d in record.defendants]
    if update["text"] != record.text:
        update["spans"] = []
    return record.model_copy(update=update)


__all__ = ["normalise_record", "normalise_text"]
