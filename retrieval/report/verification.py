"""Verifying a saved report: its data against its SHA-256 and, for a rendered copy (md, html, docx),
the visible content against a fresh rendering of the data it embeds."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from leian import __version__
from leian.errors import InvalidInput
from leian.retrieval.report.formats import ReportFormat, detect_format
from leian.retrieval.report.model import SCHEMA, load_report
from leian.retrieval.report.rendering import embedded_data, same_rendering
from leian.retrieval.report.sealing import content_hash


class VerifyResult(BaseModel):
    ok: bool
    format: ReportFormat
    id: str | None = None
    sha256: str | None = None  # the hash the report states
    computed: str | None = None  # the hash of its content
    generator: str | None = None
    rendering_checked: bool | None = None  # md/html/docx: the visible text was compared too
    message: str


def verify(source: str | bytes | Path | dict[str, Any]) -> VerifyResult:
    """Check a saved report: the JSON data against its hash and, for a rendered copy (md, html, docx),
    the rendered content against a fresh rendering of the data it embeds."""
    if isinstance(source, dict):
        return _verify_data(source, ReportFormat.JSON)
    if isinstance(source, Path) or (
        isinstance(source, str) and len(source) < 4096 and "\n" not in source and os.path.exists(source)
    ):
        try:
            raw = Path(source).read_bytes()
        except OSError as e:
            raise InvalidInput(f"cannot read {source}: {e.strerror}") from None
    else:
        raw = source.encode("utf-8") if isinstance(source, str) else source
    fmt = detect_format(raw)
    if fmt is ReportFormat.JSON:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return VerifyResult(ok=False, format=fmt, message=f"not valid JSON: {e}")
        if not isinstance(data, dict):
            return VerifyResult(ok=False, format=fmt, message="not a report: the JSON is not an object")
        return _verify_data(data, fmt)
    try:
        data = embedded_data(raw, fmt)
    except InvalidInput as e:
        return VerifyResult(ok=False, format=fmt, message=e.message)
    res = _verify_data(data, fmt)
    if not res.ok:
        return res
    if data.get("generator") != f"leian {__version__}":
        note = (
            f"; rendered by {data.get('generator')}, so only the embedded data was checked, not the rendering"
        )
        return res.model_copy(update={"rendering_checked": False, "message": res.message + note})
    same, where = same_rendering(raw, fmt, load_report(data))
    if not same:
        return res.model_copy(
            update={
                "ok": False,
                "rendering_checked": True,
                "message": f"the rendered content was changed ({where})",
            }
        )
    return res.model_copy(update={"rendering_checked": True})


def _verify_data(data: dict[str, Any], fmt: ReportFormat) -> VerifyResult:
    stated = data.get("sha256")
    if not isinstance(stated, str) or data.get("schema") != SCHEMA:
        return VerifyResult(
            ok=False, format=fmt, message=f"not a leian report (schema {SCHEMA!r} with sha256 expected)"
        )
    computed = content_hash(data)
    ok = computed == stated
    return VerifyResult(
        ok=ok,
        format=fmt,
        id=data.get("id"),
        sha256=stated,
        computed=computed,
        generator=data.get("generator"),
        message="content matches its SHA-256"
        if ok
        else "content does not match its SHA-256: the report was changed",
    )


__all__ = ["VerifyResult", "verify"]
