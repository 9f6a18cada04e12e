"""Security headers on every answer: a Content-Security-Policy without inline script, no MIME sniffing,
no framing, no referrer, and no caching of ``/v1`` answers (they hold the facts of cases).

Pure ASGI, so it also covers answers written below FastAPI (the body limit's 413, static files). A
header the endpoint set itself is left as it is (the web pages' ``Cache-Control: no-cache``).

The report preview on the web page is a sandboxed ``srcdoc`` iframe, which inherits the page's policy:
the report's one ``<style>`` (a constant, ``render_html.CSS``) is allowed by its hash — never
``'unsafe-inline'`` — and the page shows its charts as ``data:`` images, whose own styles the policy does
not reach. ``blob:`` images and links are the page's downloads.
"""

from __future__ import annotations

import base64
import hashlib

from leian.retrieval.report.render_html import CSS as REPORT_CSS


def _style_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' {_style_hash(REPORT_CSS)}",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# /v1 answers carry case facts, reports and API errors about them: no browser or proxy keeps a copy.
PRIVATE_HEADERS = HEADERS + ((b"cache-control", b"no-store"),)


def _is_private(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class SecurityHeadersMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = PRIVATE_HEADERS if _is_private(scope["path"]) else HEADERS

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeadersMiddleware"]
