"""The one place that maps ``leian.errors`` (and framework errors) to HTTP status + JSON.

Every error response has the same shape, ``{"error": {"code": str, "message": str}}``, whatever
raised it: our domain exceptions, FastAPI's request validation, Starlette's HTTP exceptions
(404 for unknown routes, 405) or an unexpected bug (500, logged with its traceback, never sent).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leian import errors as E

log = logging.getLogger("leian.api")

# Most specific first: the first isinstance match wins.
STATUS: tuple[tuple[type[E.LeianError], int], ...] = (
    (E.InputTooLarge, 413),
    (E.InvalidInput, 422),
    (E.CorpusReadError, 422),  # an ingested document that cannot be read is the caller's input
    (E.NotFound, 404),
    (E.Unauthorized, 401),
    (E.Forbidden, 403),
    (E.BackendUnavailable, 503),
    (E.ModelUnavailable, 503),
    (E.OutputWriteFailed, 503),
    (E.IndexBusy, 409),  # a build is running: retry when it has finished
    (E.IndexError_, 503),  # missing/corrupt/incompatible index: the service cannot serve
    (E.BackendError, 502),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "input_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    502: "backend_error",
    503: "backend_unavailable",
}


class ApiError(Exception):
    """An HTTP-level error raised inside ``leian.api`` (never below it)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


_SERVER_SIDE = {
    "backend_unavailable": "the search backend is not reachable; retry later",
    "backend_error": "the search backend answered with an error",
    "model_unavailable": "the embedding model is not available on the server",
    "output_write_failed": "the server could not write the output (its disk is full or failing)",
    "index_write_failed": "the server could not write to the index; nothing was changed",
}


SERVER_SIDE_CODES = frozenset(_SERVER_SIDE)


def server_side_message(code: str, status: int) -> str:
    """What a client is told of a failure on the server's side: what failed, never the detail."""
    what = _SERVER_SIDE.get(code) or (
        f"the index cannot be used ({code})" if code.startswith("index") else "internal server error"
    )
    return f"{what}; the cause is in the service log"


def status_for(exc: E.LeianError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _loc(loc: tuple) -> str:
    # ("body", "filters", "court_level", 0) -> "filters.court_level[0]"
    parts: list[str] = []
    for p in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "body"


def validation_message(errors: list[dict]) -> tuple[str, str]:
    """(code, message) for FastAPI's validation errors: says which field, what is wrong, and the fix."""
    msgs: list[str] = []
    code = "invalid_input"
    for err in errors[:5]:
        kind = err.get("type", "")
        where = _loc(tuple(err.get("loc", ())))
        if kind == "json_invalid":
            code = "malformed_json"
            ctx = err.get("ctx", {})
            msgs.append(f"request body is not valid JSON ({ctx.get('error', err.get('msg'))})")
        elif kind == "extra_forbidden":
            msgs.append(f"unknown field {where!r}; remove it (see /openapi.json for the accepted fields)")
        elif kind == "missing":
            msgs.append(f"{where}: field required")
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            msgs.append(f"{where}: {err.get('input')!r} is not allowed; expected {expected}")
        else:
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            msgs.append(f"{where}: {msg}")
    if len(errors) > 5:
        msgs.append(f"… and {len(errors) - 5} more")
    return code, "; ".join(msgs) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(E.LeianError)
    async def _leian(request: Request, exc: E.LeianError):
        status = status_for(exc)
        message = exc.message
        if status >= 500:
            # the server's own trouble: its detail (paths, addresses, library messages) is the
            # operator's, in the log; the client learns what failed and that it was logged
            log.warning("%s %s -> %d %s: %s", request.method, request.url.path, status, exc.code, exc.message)
            message = server_side_message(exc.code, status)
        headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
        return error_response(status, exc.code, message, headers)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        code, message = validation_message(list(exc.errors()))
        # A body that is not JSON at all is a malformed request (400); a JSON body with bad values is 422.
        return error_response(400 if code == "malformed_json" else 422, code, message)

    @app.exception_handler(ValidationError)
    async def _model(request: Request, exc: ValidationError):
        # A record built inside an endpoint from valid-looking input (e.g. a proposed sentence whose
        # parts contradict each other): still the caller's input, so 422 with the field and reason.
        _, message = validation_message([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        return error_response(422, "invalid_input", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        elif exc.status_code == 400 and "parsing the body" in message:
            code, message = "malformed_body", "request body could not be parsed (expected UTF-8 JSON)"
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Logged with the traceback for the operator; the client gets a generic message.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error; the incident was logged")
