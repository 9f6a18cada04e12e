"""The 类案检索报告: built from one search, sealed with a content hash, rendered, verifiable later.

    model           the pydantic ``Report`` and its parts (法发〔2020〕24号 art. 8 sections)
    build           ``build_report`` (search, then assemble) and ``assemble_report`` (pure)
    key_points      类案裁判要点: the holding sentences of a similar case's reasoning
    sealing         content hash (canonical JSON, SHA-256), ``seal``, ``issue`` (signed) and the report id
    formats         ``ReportFormat``: the formats, their media types and file suffixes
    blocks          the report's content as blocks, shared by every document format
    chart           the matplotlib sentencing chart
    render_*        one renderer per format (json, markdown, html, docx), each with its data reader
    rendering       ``render(report, fmt)`` and what verification needs of the rendered formats
    verification    ``verify`` a saved copy against its hash and its rendering

Submodules are named apart from the functions re-exported here (``sealing``, not ``seal``), and the
functions named like a submodule (``blocks.blocks``, ``render_docx.render_docx``) are imported from it,
so that ``leian.retrieval.report.<name>`` always means one thing.
"""

from leian.retrieval.report.blocks import histogram
from leian.retrieval.report.build import assemble_report, build_report, pending_charges
from leian.retrieval.report.chart import chart_png, chart_svg, cjk_font
from leian.retrieval.report.formats import FORMATS, ReportFormat, detect_format
from leian.retrieval.report.key_points import key_point
from leian.retrieval.report.model import (
    SCHEMA,
    Analysis,
    KeyPoint,
    Method,
    PendingCase,
    Platform,
    Report,
    Requester,
    ResultCase,
    Signature,
    load_report,
)
from leian.retrieval.report.render_markdown import markdown_text
from leian.retrieval.report.rendering import embedded_data, render, same_rendering
from leian.retrieval.report.sealing import canonical_json, content_hash, issue, new_report_id, seal
from leian.retrieval.report.verification import VerifyResult, verify
from leian.retrieval.sentencing import ProposedSentence

__all__ = [
    "FORMATS",
    "SCHEMA",
    "Analysis",
    "KeyPoint",
    "Method",
    "PendingCase",
    "Platform",
    "ProposedSentence",
    "Report",
    "ReportFormat",
    "Requester",
    "ResultCase",
    "Signature",
    "VerifyResult",
    "assemble_report",
    "build_report",
    "canonical_json",
    "chart_png",
    "chart_svg",
    "cjk_font",
    "content_hash",
    "detect_format",
    "embedded_data",
    "histogram",
    "issue",
    "key_point",
    "load_report",
    "markdown_text",
    "new_report_id",
    "pending_charges",
    "render",
    "same_rendering",
    "seal",
    "verify",
]
