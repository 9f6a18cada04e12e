"""Dependencies of the endpoints, in one place: settings, the searcher, the report store, batch jobs,
and the API-key check. Endpoints declare what they need with the ``Annotated`` aliases below."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from leian.api.jobs import BatchJobs
from leian.api.settings import Settings
from leian.api.store import ReportStore
from leian.errors import Unauthorized
from leian.retrieval.search import Searcher

API_KEY_HEADER = "X-API-Key"
_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="one of LEIAN_API_KEYS")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def get_reports(request: Request) -> ReportStore:
    return request.app.state.reports


def get_jobs(request: Request) -> BatchJobs:
    return request.app.state.jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
ReportsDep = Annotated[ReportStore, Depends(get_reports)]
JobsDep = Annotated[BatchJobs, Depends(get_jobs)]


def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_key_scheme)] = None
) -> str | None:
    """The caller's key (None when auth is disabled). Constant-time comparison against every key."""
    if settings.auth_disabled:
        return None
    if not key:
        raise Unauthorized(f"missing API key: send it in the {API_KEY_HEADER} header")
    given = key.encode()
    if not any(hmac.compare_digest(given, k.encode()) for k in settings.api_keys):
        raise Unauthorized(f"the API key in {API_KEY_HEADER} is not valid")
    return key


ApiKey = Annotated[str | None, Depends(require_api_key)]
