"""The report as Markdown, with its JSON data in a closing comment."""

from __future__ import annotations

import base64
import json
import re

from leian.errors import InvalidInput
from leian.retrieval.report.blocks import Chart, Heading, Items, Para, Quote, Table, blocks
from leian.retrieval.report.model import Report
from leian.retrieval.report.render_json import render_json

MD_DATA_OPEN = "<!-- leian-report-data (base64 of the report JSON; used by `leian verify-report`)"
MD_DATA_CLOSE = "-->"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _md_cell(text: str) -> str:
    return _md_escape(text).replace("\n", " ")


def markdown_text(report: Report) -> str:
    lines: list[str] = []
    for b in blocks(report):
        if lines and lines[-1].endswith("  ") and not (isinstance(b, Para) and b.style == "meta"):
            lines.append("")  # end the run of hard-broken meta lines
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + _md_escape(b.text), ""]
        elif isinstance(b, Para):
            text = _md_escape(b.text)
            if b.style == "meta":
                lines.append(text + "  ")  # a hard line break keeps the header lines together
                continue
            wrap = {"warn": "**", "note": "*", "ok": "**"}.get(b.style, "")
            lines += [f"{wrap}{text}{wrap}", ""]
        elif isinstance(b, Items):
            lines += [f"- {_md_escape(i)}" for i in b.items] + [""]
        elif isinstance(b, Quote):
            lines += [f"> {_md_escape(ln)}" if ln.strip() else ">" for ln in b.text.strip().splitlines()] + [
                ""
            ]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(_md_cell(c) for c in b.header) + " |")
            lines.append("|" + "|".join("---" for _ in b.header) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif isinstance(b, Chart):
            top = max((band.count for band in b.histogram), default=0)
            lines += [f"*图：{_md_escape(b.alt)}*", "", "| 刑期 | 案件数 | 分布 |", "|---|---:|---|"]
            lines += [
                f"| {_md_cell(band.label)} | {band.count} | {'█' * round(20 * band.count / top) if top else ''} |"
                for band in b.histogram
            ]
            lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> bytes:
    payload = base64.b64encode(render_json(report)).decode("ascii")
    wrapped = "\n".join(payload[i : i + 100] for i in range(0, len(payload), 100))
    return (
        markdown_text(report) + "\n" + MD_DATA_OPEN + "\n" + wrapped + "\n" + MD_DATA_CLOSE + "\n"
    ).encode("utf-8")


def markdown_data(raw: bytes) -> dict:
    """The report data a Markdown copy carries (a damaged payload raises ValueError)."""
    text = raw.decode("utf-8")
    i = text.rfind(MD_DATA_OPEN)
    j = text.find(MD_DATA_CLOSE, i + len(MD_DATA_OPEN)) if i >= 0 else -1
    if i < 0 or j < 0:
        raise InvalidInput("this Markdown carries no leian report data")
    payload = "".join(text[i + len(MD_DATA_OPEN) : j].split())
    return json.loads(base64.b64decode(payload, validate=True).decode("utf-8"))


__all__ = ["MD_DATA_CLOSE", "MD_DATA_OPEN", "markdown_data", "markdown_text", "render_markdown"]
