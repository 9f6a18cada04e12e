"""Dependencies of the endpoints, in one place: settings, the searcher, the stores, batch jobs, and
who is calling. Endpoints declare what they need with the ``Annotated`` aliases below; a role alias
(``Reader``, ``Editor``, ``Admin``) checks the key, its rate and its role, and records the caller
for the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from leian.api.access import LOCAL, Access, Caller, DocumentOwners, KeyStore, RateLimiter, Role
from leian.api.audit import AuditLog
from leian.api.errors import ApiError
from leian.api.jobs import BatchJobs
from leian.api.settings import Settings
from leian.api.signing import Signer
from leian.api.store import ReportStore
from leian.errors import Forbidden, Unauthorized
from leian.retrieval.models import Query
from leian.retrieval.search import Searcher

API_KEY_HEADER = "X-API-Key"
_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="a key from `leian keys create` (or LEIAN_API_KEYS)"
)


def _state(name: str):
    """A dependency giving the resource ``create_app``'s lifespan put on ``app.state`` as ``name``."""

    def get(request: Request):
        return getattr(request.app.state, name)

    return get


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
SearcherDep = Annotated[Searcher, Depends(_state("searcher"))]
ReportsDep = Annotated[ReportStore, Depends(_state("reports"))]
JobsDep = Annotated[BatchJobs, Depends(_state("jobs"))]
OwnersDep = Annotated[DocumentOwners, Depends(_state("owners"))]
AuditDep = Annotated[AuditLog, Depends(_state("audit"))]
SignerDep = Annotated[Signer, Depends(_state("signer"))]


def _keys(request: Request) -> KeyStore:
    return request.app.state.access.store


KeysDep = Annotated[KeyStore, Depends(_keys)]


def authenticate(
    request: Request, settings: SettingsDep, key: Annotated[str | None, Security(_key_scheme)] = None
) -> Caller:
    """The caller behind the key, within its rate (429 with Retry-After beyond it)."""
    access: Access = request.app.state.access
    if access.disabled:
        caller = LOCAL
        per_minute = 0
    else:
        if not key:
            raise Unauthorized(f"missing API key: send it in the {API_KEY_HEADER} header")
        info = access.authenticate(key)
        if info is None:
            raise Unauthorized(f"the API key in {API_KEY_HEADER} is not valid (or was revoked)")
        caller = info.caller()
        per_minute = (
            info.requests_per_minute if info.requests_per_minute is not None else settings.requests_per_minute
        )
    limiter: RateLimiter = request.app.state.limiter
    if wait := limiter.take(caller.key_id, per_minute):
        raise ApiError(
            429,
            "too_many_requests",
            f"this key may send {per_minute} requests a minute; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    request.state.caller = caller  # the audit log's who
    return caller


def require(role: Role):
    def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if not caller.has(role):
            raise Forbidden(f"this needs the {role.value} role; the key's role is {caller.role.value}")
        return caller

    return check


Reader = Annotated[Caller, Depends(require(Role.reader))]
Editor = Annotated[Caller, Depends(require(Role.editor))]
Admin = Annotated[Caller, Depends(require(Role.admin))]


def audit_target(request: Request, target: str, **detail) -> None:
    """What the request acted on, for its audit entry (written when the answer is ready)."""
    request.state.audit_target = target
    if detail:
        request.state.audit_detail = detail


def seen_by(caller: Caller, owners: DocumentOwners, query: Query) -> Query:
    """``query`` as ``caller`` may run it: without the other offices' private documents."""
    return query.model_copy(update={"hidden_ids": owners.hidden_from(caller.office)})
