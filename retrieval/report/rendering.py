"""A report in any format, and what verification needs of the rendered formats.

Every document format embeds the report's JSON data, so that ``verify`` can check a saved copy: the
data against its SHA-256, the visible text against a fresh rendering of that data. The chart image is
left out of that comparison (its pixels depend on the installed fonts and matplotlib); the data it is
drawn from is covered by the hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from leian.errors import InvalidInput
from leian.retrieval.report.formats import ReportFormat
from leian.retrieval.report.model import Report
from leian.retrieval.report.render_docx import (
    docx_data,
    docx_margin_text,
    docx_picture_count,
    docx_text,
    open_docx,
    render_docx,
)
from leian.retrieval.report.render_html import html_data, html_text, render_html
from leian.retrieval.report.render_json import render_json
from leian.retrieval.report.render_markdown import markdown_data, render_markdown

RENDERERS: dict[ReportFormat, Callable[[Report], bytes]] = {
    ReportFormat.JSON: render_json,
    ReportFormat.MD: render_markdown,
    ReportFormat.HTML: render_html,
    ReportFormat.DOCX: render_docx,
}


def render(report: Report, fmt: str) -> bytes:
    return RENDERERS[ReportFormat.parse(fmt)](report)


def embedded_data(raw: bytes, fmt: str) -> dict:
    """The report data a rendered copy carries."""
    try:
        if fmt == ReportFormat.DOCX:
            return docx_data(raw)
        if fmt == ReportFormat.HTML:
            return html_data(raw)
        return markdown_data(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInput(f"the embedded report data is damaged: {e}") from None


_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def _first_difference(a: list[str], b: list[str]) -> str:
    for n, (x, y) in enumerate(zip(a, b, strict=False), 1):
        if x != y:
            return f"line {n}: {x[:60]!r}"
    return f"length {len(a)} vs {len(b)} lines"


def same_rendering(raw: bytes, fmt: str, report: Report) -> tuple[bool, str]:
    """Whether ``raw`` is exactly what this version renders from ``report`` (chart pixels excepted)."""
    if fmt == ReportFormat.MD:
        fresh = render_markdown(report).decode("utf-8").splitlines()
        mine = raw.decode("utf-8").splitlines()
        return (mine == fresh, "" if mine == fresh else _first_difference(mine, fresh))
    if fmt == ReportFormat.HTML:
        fresh = _SVG.sub("<svg/>", html_text(report, lambda _: "<svg></svg>")).splitlines()
        mine = _SVG.sub("<svg/>", raw.decode("utf-8")).splitlines()
        return (mine == fresh, "" if mine == fresh else _first_difference(mine, fresh))
    if fmt == ReportFormat.DOCX:
        doc = open_docx(raw)
        fresh_doc = open_docx(render_docx(report))
        mine, fresh = docx_text(doc), docx_text(fresh_doc)
        if mine != fresh:
            return False, "text " + _first_difference(mine, fresh)
        if docx_margin_text(doc) != docx_margin_text(fresh_doc):
            return False, "header or footer " + _first_difference(
                docx_margin_text(doc), docx_margin_text(fresh_doc)
            )
        if docx_picture_count(doc) != docx_picture_count(fresh_doc):
            return False, "the chart picture was removed or added"
        return True, ""
    return True, ""


__all__ = ["RENDERERS", "embedded_data", "render", "same_rendering"]
