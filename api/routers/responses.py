"""What the OpenAPI document says the operations answer, declared once for every router.

Errors: every error answer is ``ErrorOut`` (``{"error": {"code", "message"}}``); ``errors(...)`` picks
the statuses an operation can answer from one table of descriptions. Downloads: ``download(...)``
declares each media type a file endpoint sends with a schema generated clients can read (a string for
text, ``format: binary`` for everything else) instead of FastAPI's default ``application/json``
with the empty schema ``{}``, on which a generated client calls ``response.json()`` and fails.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leian.api.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]

# status -> when it is answered (the ``code`` in the body says which case it is)
ERRORS: dict[int, str] = {
    400: "malformed request: the body is not JSON or not UTF-8, or Content-Length is not a number",
    401: "missing or invalid X-API-Key",
    403: "the key's role does not allow this (reader < editor < admin)",
    404: "no such id",
    409: "conflict with the state of the service (the message says when to retry)",
    413: "request body too large (the message gives the size and the limit)",
    422: "invalid input (the message names the field and the fix)",
    429: "the key's request rate or batch limit is reached; retry after the Retry-After header's seconds",
    500: "internal error (logged by the service; the message carries no detail)",
    502: "the search backend answered with an error",
    503: "the search backend, a model or the index is unavailable",
}

# Every /v1 operation takes the API key (rate-limited) and parameters or a body, and may fail unexpectedly.
V1 = (401, 422, 429, 500)
# Operations that read a request body: malformed (400), too large (413), invalid (422, in V1).
BODY = (400, 413)
# Operations that use the index: its backend may fail (502) or be unreachable (503).
BACKEND = (502, 503)


def errors(*statuses: int | tuple[int, str]) -> Responses:
    """The error answers of an operation: a status (described from ``ERRORS``) or ``(status, why)``
    where the operation has its own reason (a 409 that says what conflicts)."""
    out: Responses = {}
    for s in statuses:
        status, why = s if isinstance(s, tuple) else (s, ERRORS[s])
        out[status] = {"model": ErrorOut, "description": why}
    return out


def bare(media_type: str) -> str:
    """``"text/markdown; charset=utf-8"`` -> ``"text/markdown"`` (OpenAPI content keys carry no parameters)."""
    return media_type.split(";")[0].strip()


def download(
    status: int, media_types: list[str], description: str, json_model: type[BaseModel] | None = None
) -> Responses:
    """A file answer in any of ``media_types``: text as a string, other media as binary, and
    ``application/json`` as ``json_model``. Binary types come first: openapi-python-client reads every
    answer of a status as the first media type it knows, and bytes are the one reading right for all."""
    ordered = sorted(dict.fromkeys(bare(m) for m in media_types), key=_order)
    content: dict[str, Any] = {}
    for m in ordered:
        if m == "application/json":
            if json_model is None:
                raise ValueError("a JSON download needs its model (an empty schema breaks generated clients)")
            content[m] = {}  # FastAPI fills in the schema of ``model``, at this place in the order
        elif m.startswith("text/"):
            content[m] = {"schema": {"type": "string"}}
        else:
            content[m] = {"schema": {"type": "string", "format": "binary"}}
    answer: dict[str, Any] = {"description": description, "content": content}
    if json_model is not None:
        answer["model"] = json_model
    return {status: answer}


def _order(media_type: str) -> int:
    if media_type == "application/json":
        return 2
    return 1 if media_type.startswith("text/") else 0


__all__ = ["BACKEND", "BODY", "ERRORS", "V1", "Responses", "bare", "download", "errors"]
