"""The report as JSON: its canonical form, and what every other format embeds."""

from __future__ import annotations

import json

from leian.retrieval.report.model import Report


def render_json(report: Report) -> bytes:
    return (json.dumps(report.data(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


__all__ = ["render_json"]
