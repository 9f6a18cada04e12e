"""Request body limits, enforced before any endpoint runs (so a rejected request never reaches the index).

Pure ASGI: the declared ``Content-Length`` is checked first (413 without reading a byte); then the
body is read here, counting bytes as they stream in, and rejected as soon as it passes the limit —
which is what catches chunked uploads and clients that send no length. A JSON body that is not
UTF-8 is answered 400 here too, with a precise message, instead of a parser error deep in FastAPI.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from leian.api.errors import error_body

Limit = Callable[[str, str], int]  # (method, path) -> max bytes

# An oversized body up to this size is read and discarded before answering 413, so that an ordinary
# client (which writes the whole body before reading the reply) gets the JSON error instead of a reset
# connection; beyond it the connection is closed after the reply, without reading further.
DRAIN_MAX = 64 * 1024 * 1024


class BodyLimitMiddleware:
    def __init__(self, app, limit_for: Limit):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                await _reply(send, 400, "bad_request", "Content-Length is not a number")
                return
            if n > limit:
                if n <= DRAIN_MAX:
                    await _drain(receive)
                await _too_large(send, n, limit)
                return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_MAX - size)
                await _too_large(send, size, limit, streamed=True)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and ctype in (b"application/json", b""):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as e:
                await _reply(
                    send,
                    400,
                    "malformed_body",
                    f"request body is not valid UTF-8 (byte {e.start}: {body[e.start : e.start + 1]!r}); "
                    "send JSON encoded as UTF-8",
                )
                return

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


async def _drain(receive, budget: int = DRAIN_MAX) -> None:
    while budget > 0:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _too_large(send, size: int, limit: int, streamed: bool = False) -> None:
    what = f"more than {limit:,}" if streamed else f"{size:,}"
    await _reply(
        send,
        413,
        "input_too_large",
        f"request body has {what} bytes; the limit for this endpoint is {limit:,} bytes. "
        "Send the facts section of the case, or split a bulk request into smaller ones.",
    )


async def _reply(send, status: int, code: str, message: str) -> None:
    payload = json.dumps(error_body(code, message), ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
