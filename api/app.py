"""The FastAPI application: ``create_app(settings)``.

Resources (the searcher, the keys, the report store, document owners, the installation's signing
key, the audit log, the batch job runner) are opened in ``lifespan`` and closed when the server
stops. Everything under ``/v1`` needs an API key unless auth was disabled explicitly, and is written
to the audit log as it is answered; ``/healthz``, the web page and its static files are public.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from leian import __version__
from leian.api import errors
from leian.api.access import NO_KEYS, Access, DocumentOwners, KeyStore, RateLimiter
from leian.api.audit import AuditLog
from leian.api.audit.middleware import AuditMiddleware
from leian.api.jobs import BatchJobs, JobSpec
from leian.api.middleware import BodyLimitMiddleware
from leian.api.opening import open_searcher
from leian.api.routers import (
    admin,
    batches,
    cases,
    documents,
    reports,
    search,
    sentencing,
    service,
    text,
    web,
)
from leian.api.security_headers import SecurityHeadersMiddleware
from leian.api.settings import Settings
from leian.api.signing import installation_signer
from leian.api.store import ReportStore
from leian.errors import InvalidInput
from leian.retrieval.report import Report, issue
from leian.retrieval.search import Searcher

log = logging.getLogger("leian.api")

# Endpoints that take many judgments (or an uploaded file) at once get the bulk body limit.
_BULK_PATHS = ("/v1/documents", "/v1/batches", "/v1/extract-text")

DESCRIPTION = """\
类案检索 — similar-case retrieval for Chinese criminal judgments, and 类案检索报告 (SPC 法发〔2020〕24号).

Authentication: send an API key in the `X-API-Key` header (`leian keys create --office NAME --role
reader|editor|admin`). A key's role allows: reader — search, 量刑测算, reports, its office's batches,
cases; editor — also its office's documents; admin — also public judgments. Reports, batches and
uploaded documents belong to the key's office: another office gets 404 for them. Each key has a
request rate and a number of concurrent batches (429 with Retry-After beyond them). Every request is
written to a hash-chained, signed audit log; reports are signed by the installation (Ed25519).
Errors: always `{"error": {"code": "...", "message": "..."}}` with the HTTP status
(400 malformed body, 401 bad key, 403 role too low, 404 unknown id or another office's, 409 conflict,
413 body too large, 422 invalid input, 429 rate or batch limit, 500 internal error, 502 backend error,
503 backend unavailable); each operation lists its own.
Downloads (a report in md/html/docx, a batch zip) are declared with their real media types: text as a
string, the rest as binary. openapi-python-client reads only the binary types it knows, so generate
with `content_type_overrides` mapping the docx and zip types to `application/octet-stream`.
"""


def create_app(settings: Settings, searcher: Searcher | None = None) -> FastAPI:
    """The app for ``settings``. ``searcher`` (an open one, from ``leian.api.opening``) is used instead
    of opening ``settings.index`` — the app then leaves closing it to the caller."""
    access = open_access(settings)  # no keys at all is one clear error before the server starts

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.auth_disabled:
            log.warning("API authentication is DISABLED (--no-auth): use only on a trusted machine")
        own = searcher is None
        s = open_searcher(settings) if own else searcher
        data_dir = settings.resolved_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        app.state.settings = settings
        app.state.searcher = s
        app.state.access = access
        app.state.limiter = RateLimiter()
        app.state.signer = signer = installation_signer(data_dir)
        app.state.audit = audit = AuditLog(data_dir / "audit.sqlite", signer)
        app.state.owners = owners = DocumentOwners(data_dir / "documents.sqlite")
        app.state.reports = ReportStore(data_dir / "reports.sqlite", legacy_office=settings.api_keys_office)

        def issue_batch_report(report: Report, job: JobSpec) -> Report:
            issued = issue(report, audit.head(), signer)
            audit.append("batch_report", key_id=job.key_id, office=job.office, target=issued.id,
                         output_sha256=issued.sha256, detail={"batch": job.id})  # fmt: skip
            return issued

        app.state.jobs = BatchJobs(
            data_dir / "batches", s, workers=settings.batch_workers, hidden=owners.hidden_from,
            issue=issue_batch_report, ttl=timedelta(hours=settings.batch_ttl_hours),
        )  # fmt: skip
        resumed = app.state.jobs.resume_unfinished()
        if resumed:
            log.info("resuming %d unfinished batch job(s)", resumed)
        log.info("leian %s serving index %s (%s backend), data in %s", __version__, settings.index,
                 settings.backend.value, data_dir)  # fmt: skip
        try:
            yield
        finally:
            app.state.jobs.shutdown()
            app.state.reports.close()
            owners.close()
            audit.close()
            access.close()
            if own:
                s.close()

    app = FastAPI(
        title="leian 类案检索 API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; /docs is our self-contained page
        redoc_url=None,
        openapi_url="/openapi.json",
        # operationId = the endpoint's function name (unique): generated clients get `search`,
        # `get_report`, not `get_report_v1_reports_report_id_get`
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    errors.install(app)

    def limit_for(method: str, path: str) -> int:
        return settings.max_bulk_body_bytes if path.startswith(_BULK_PATHS) else settings.max_body_bytes

    # the last added runs first: a body over its limit is refused before anything else sees it
    app.add_middleware(AuditMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the body limit's 413 gets them too
    for module in (search, reports, sentencing, cases, documents, batches, admin, service, text):
        app.include_router(module.router)  # each declares its answers (api/routers/responses.py)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(packages=[("leian.api", "static")]), name="static")
    return app


def open_access(settings: Settings) -> Access:
    """The keys the service accepts: the key store beside the index, and ``LEIAN_API_KEYS``."""
    keys_db = settings.resolved_keys_db()
    if not (settings.auth_disabled or settings.api_keys or keys_db.exists()):
        raise InvalidInput(NO_KEYS)  # before anything is created on disk
    return Access(
        KeyStore(keys_db), settings.api_keys, settings.api_keys_office,
        disabled=settings.auth_disabled,
    )  # fmt: skip
