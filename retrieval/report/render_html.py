"""The report as one self-contained, print-friendly HTML page (inline CSS and SVG chart), with its
JSON data in a ``<script type="application/json">``."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from leian.corpora.text import normalise_text
from leian.errors import InvalidInput
from leian.retrieval.report.blocks import Chart, Heading, Items, Para, Quote, Table, blocks
from leian.retrieval.report.chart import chart_svg
from leian.retrieval.report.model import Report

HTML_DATA_ID = "leian-report-data"

CSS = """
body{font-family:"Noto Serif CJK SC","Source Han Serif SC","SimSun","Songti SC",serif;max-width:58em;margin:2em auto;
padding:0 1.2em;color:#111;line-height:1.65;font-size:15px}
h1{text-align:center;font-size:1.7em;letter-spacing:.2em;margin-bottom:.3em}
h2{font-size:1.2em;border-bottom:1px solid #999;padding-bottom:.15em;margin-top:1.6em}
h3{font-size:1.05em;margin:1em 0 .3em}
.meta{margin:0;color:#444;font-size:.9em;font-family:monospace,"Noto Sans CJK SC",sans-serif;word-break:break-all}
.warn{color:#9c0006;font-weight:bold}.ok{color:#0b6b2b;font-weight:bold}.note{color:#555;font-size:.9em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #aaa;padding:.25em .45em;vertical-align:top;text-align:left}th{background:#eee}
blockquote{margin:.5em 0;padding:.4em .9em;border-left:4px solid #bbb;background:#f7f7f7;white-space:pre-wrap}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#444}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}tr,figure,blockquote{break-inside:avoid}
a{color:inherit;text-decoration:none}}
""".strip()


def html_text(report: Report, svgs: Callable[[int], str | None]) -> str:
    """The page; ``svgs(i)`` gives the chart of picture ``i`` (None when it has none)."""

    def e(text: str) -> str:  # no control characters in an HTML page (blocks() cleaned its own strings)
        return html.escape(normalise_text(text))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="leian-report-id" content="{e(report.id)}">',
        f'<meta name="leian-report-sha256" content="{e(report.sha256)}">',
        f"<title>{e(report.title)} {e(report.id)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    for b in blocks(report):
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = f' class="{b.style}"' if b.style != "normal" else ""
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif isinstance(b, Items):
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Quote):
            parts.append(f"<blockquote>{e(b.text.strip())}</blockquote>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(c)}</th>" for c in b.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Chart):
            svg = svgs(b.picture)
            fig = svg if svg else '<p class="note">（图表未能生成）</p>'
            parts.append(
                f'<figure role="img" aria-label="{e(b.alt)}">\n{fig}\n<figcaption>图：{e(b.alt)}</figcaption></figure>'
            )
    data = json.dumps(report.data(), ensure_ascii=False, sort_keys=False).replace("<", "\\u003c")
    parts += [f'<script type="application/json" id="{HTML_DATA_ID}">{data}</script>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_html(report: Report) -> bytes:
    return html_text(report, lambda i: chart_svg(report, i)).encode("utf-8")


def html_data(raw: bytes) -> dict:
    """The report data an HTML copy carries (a damaged payload raises ValueError)."""
    text = raw.decode("utf-8")
    m = re.search(rf'<script type="application/json" id="{HTML_DATA_ID}">(.*?)</script>', text, re.S)
    if not m:
        raise InvalidInput("this HTML carries no leian report data")
    return json.loads(m.group(1))


__all__ = ["CSS", "HTML_DATA_ID", "html_data", "html_text", "render_html"]
