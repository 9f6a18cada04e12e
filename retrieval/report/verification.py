"""Verifying a saved report: its data against its SHA-256, its signature against the installation's
public key (when one is given) and, for a rendered copy (md, html, docx), the visible content against
a fresh rendering of the data it embeds.

Verdicts: ``intact`` (hash, and signature if checked, hold), ``altered`` (the content does not match
its hash, or its hash no longer matches the signature this installation made — someone recomputed
it), ``not_issued`` (a consistent report that this installation did not sign: unsigned, or signed by
another key), ``unsigned`` (hash holds; no key was given to check a signature against)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from leian import __version__
from leian.errors import InvalidInput
from leian.retrieval.report.formats import ReportFormat, detect_format
from leian.retrieval.report.model import SCHEMA, load_report
from leian.retrieval.report.rendering import embedded_data, same_rendering
from leian.retrieval.report.sealing import content_hash

Verdict = Literal["intact", "altered", "not_issued", "unsigned", "unreadable"]


class VerifyResult(BaseModel):
    ok: bool
    verdict: Verdict
    format: ReportFormat
    id: str | None = None
    sha256: str | None = None  # the hash the report states
    computed: str | None = None  # the hash of its content
    generator: str | None = None
    rendering_checked: bool | None = None  # md/html/docx: the visible text was compared too
    signed_by: str | None = None  # the fingerprint of the key that signed it
    message: str


def verify(source: str | bytes | Path | dict[str, Any], verifier=None) -> VerifyResult:
    """Check a saved report: the JSON data against its hash, its signature against ``verifier`` (an
    installation's public key: ``fingerprint`` and ``valid(message, signature)``) and, for a
    rendered copy (md, html, docx), the rendered content against a fresh rendering of its data."""
    if isinstance(source, dict):
        return _verify_data(source, ReportFormat.JSON, verifier)
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
            return VerifyResult(ok=False, verdict="unreadable", format=fmt, message=f"not valid JSON: {e}")
        if not isinstance(data, dict):
            return VerifyResult(
                ok=False, verdict="unreadable", format=fmt, message="not a report: the JSON is not an object"
            )
        return _verify_data(data, fmt, verifier)
    try:
        data = embedded_data(raw, fmt)
    except InvalidInput as e:
        return VerifyResult(ok=False, verdict="unreadable", format=fmt, message=e.message)
    res = _verify_data(data, fmt, verifier)
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
                "verdict": "altered",
                "rendering_checked": True,
                "message": f"the rendered content was changed ({where})",
            }
        )
    return res.model_copy(update={"rendering_checked": True})


def _verify_data(data: dict[str, Any], fmt: ReportFormat, verifier) -> VerifyResult:
    stated = data.get("sha256")
    if not isinstance(stated, str) or data.get("schema") != SCHEMA:
        return VerifyResult(
            ok=False,
            verdict="unreadable",
            format=fmt,
            message=f"not a leian report (schema {SCHEMA!r} with sha256 expected)",
        )
    computed = content_hash(data)
    signature = data.get("signature") if isinstance(data.get("signature"), dict) else None
    signed_by = str(signature.get("key")) if signature else None
    res = VerifyResult(
        ok=False, verdict="altered", format=fmt, id=data.get("id"), sha256=stated, computed=computed,
        generator=data.get("generator"), signed_by=signed_by,
        message="altered: the content does not match its SHA-256",
    )  # fmt: skip
    if computed != stated:
        return res
    if verifier is None:
        return res.model_copy(
            update={
                "ok": True,
                "verdict": "unsigned",
                "message": "content matches its SHA-256 (signature not checked)",
            }
        )
    if signature is None:
        return res.model_copy(
            update={
                "verdict": "not_issued",
                "message": "not issued by this installation: the report is not signed",
            }
        )
    if signed_by != verifier.fingerprint:
        return res.model_copy(
            update={
                "verdict": "not_issued",
                "message": f"not issued by this installation: signed with key {signed_by}, "
                f"this installation's is {verifier.fingerprint}",
            }
        )
    if not verifier.valid(stated.encode(), str(signature.get("value", ""))):
        return res.model_copy(
            update={
                "message": "altered: the content was changed and its SHA-256 recomputed "
                "(this installation's signature does not match it)"
            }
        )
    return res.model_copy(
        update={
            "ok": True,
            "verdict": "intact",
            "message": f"intact: content matches its SHA-256, signed by this installation ({signed_by})",
        }
    )


__all__ = ["VerifyResult", "verify"]
