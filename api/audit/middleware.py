"""Writes the audit entry of every answered ``/v1`` request of a known caller, before the answer
leaves: the answer is held until its entry is committed, so a client never holds an answer the log
does not record. If the entry cannot be written the client gets 503 instead of the answer.

Input hash: SHA-256 of ``METHOD PATH?QUERY`` and a line break, then the request body as received.
Output hash: SHA-256 of the answer's body as sent. Action: the endpoint's name (``search``,
``create_report``, ``get_report`` …); target and detail: what the endpoint recorded
(``deps.audit_target``). Requests refused for their rate (429) and requests with no valid key are
not logged: they did nothing, and logging them would let anyone grow the log.
"""

from __future__ import annotations

import hashlib
import json
import logging

from starlette.concurrency import run_in_threadpool

from leian.api.errors import error_body

log = logging.getLogger("leian.api")


class AuditMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        seen = hashlib.sha256(
            f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}\n".encode()
        )

        async def hashing_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen.update(message.get("body", b""))
            return message

        start: dict | None = None
        chunks: list[bytes] = []

        async def holding_send(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            final_start = start
            try:
                await run_in_threadpool(self._record, scope, final_start["status"], seen.hexdigest(), body)
            except Exception:
                log.exception("the audit log could not be written: the answer is withheld")
                body = json.dumps(
                    error_body(
                        "audit_unavailable", "the audit log could not be written; nothing was returned"
                    ),
                    ensure_ascii=False,
                ).encode()
                final_start = {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            await send(final_start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, hashing_receive, holding_send)

    @staticmethod
    def _record(scope, status: int, input_sha256: str, body: bytes) -> None:
        state = scope.get("state") or {}
        caller = state.get("caller")
        if caller is None or status == 429:
            return
        route = scope.get("route")
        scope["app"].state.audit.append(
            getattr(route, "name", None) or f"{scope['method']} {scope['path']}",
            key_id=caller.key_id,
            office=caller.office,
            target=state.get("audit_target"),
            status=status,
            input_sha256=input_sha256,
            output_sha256=hashlib.sha256(body).hexdigest(),
            detail=state.get("audit_detail"),
        )
