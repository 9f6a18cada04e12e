"""The formats a report is written in: one enum, and one table for what each format is as a file."""

from __future__ import annotations

from enum import StrEnum

from leian.errors import InvalidInput


class ReportFormat(StrEnum):
    """A report format: json (the data the SHA-256 covers), md, html or docx; the value is what users type."""

    JSON = "json"
    MD = "md"
    HTML = "html"
    DOCX = "docx"

    @property
    def media_type(self) -> str:
        return _TABLE[self][0]

    @property
    def suffix(self) -> str:
        """The file suffix a report of this format is written with (``.md``)."""
        return _TABLE[self][1][0]

    @classmethod
    def parse(cls, value: str) -> ReportFormat:
        """``"md"`` -> ``ReportFormat.MD``; an unknown format is an InvalidInput listing the valid ones."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"unknown report format {value!r}; valid: {', '.join(FORMATS)}") from None

    @classmethod
    def from_suffix(cls, suffix: str) -> ReportFormat | None:
        """The format a file suffix names (``.MD``, ``.markdown``, ``.htm`` too), or None."""
        return _BY_SUFFIX.get(suffix.lower())


# format -> (media type, file suffixes: the one written first, then others read as the same format)
_TABLE: dict[ReportFormat, tuple[str, tuple[str, ...]]] = {
    ReportFormat.JSON: ("application/json", (".json",)),
    ReportFormat.MD: ("text/markdown; charset=utf-8", (".md", ".markdown")),
    ReportFormat.HTML: ("text/html; charset=utf-8", (".html", ".htm")),
    ReportFormat.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
}
_BY_SUFFIX = {s: fmt for fmt, (_, suffixes) in _TABLE.items() for s in suffixes}
# Plain strings for argparse choices: its "invalid choice" message shows the repr of each one.
FORMATS: tuple[str, ...] = tuple(f.value for f in ReportFormat)


def detect_format(raw: bytes) -> ReportFormat:
    """The format of a saved report, from its first bytes."""
    if raw[:4] == b"PK\x03\x04":
        return ReportFormat.DOCX
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{"):
        return ReportFormat.JSON
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return ReportFormat.HTML
    return ReportFormat.MD


__all__ = ["FORMATS", "ReportFormat", "detect_format"]
