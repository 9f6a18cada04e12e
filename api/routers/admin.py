"""An office's admin: its keys (GET/POST /v1/keys, POST /v1/keys/{id}/rotate, DELETE /v1/keys/{id})
and its part of the audit log (GET /v1/audit). An admin sees and changes only its own office."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from leian.api.access import KeyInfo, Role
from leian.api.access.keys import MAX_BATCHES, MAX_RATE
from leian.api.audit import AuditEntry
from leian.api.deps import Admin, AuditDep, KeysDep, audit_target
from leian.api.routers.responses import BODY, V1, errors
from leian.errors import NotFound

router = APIRouter(prefix="/v1", tags=["admin"], responses=errors(*V1, 403))

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    owner: str = Field(default="", max_length=200, description="who holds the key (a name, a system)")
    requests_per_minute: int | None = Field(
        default=None, ge=0, le=MAX_RATE, description="null: the service's default; 0: no limit"
    )
    max_batches: int | None = Field(
        default=None, ge=0, le=MAX_BATCHES, description="null: the service's default; 0: no limit"
    )


class NewKeyOut(BaseModel):
    key: KeyInfo
    secret: str = Field(description="the API key itself: shown this once, never stored")


class KeysOut(BaseModel):
    keys: list[KeyInfo]


class AuditOut(BaseModel):
    head: str = Field(description="the hash of the newest entry of the whole log (all offices)")
    entries: list[AuditEntry]


def _own_key(store, key_id: str, caller) -> KeyInfo:
    try:
        info = store.get(key_id)
    except NotFound:
        info = None
    if info is None or info.office != caller.office:
        raise NotFound(f"no key with id {key_id!r} in your office")
    return info


@router.get("/keys", response_model=KeysOut, summary="the office's keys (never their secrets)")
def list_keys(store: KeysDep, caller: Admin) -> KeysOut:
    return KeysOut(keys=store.list(office=caller.office))


@router.post(
    "/keys",
    response_model=NewKeyOut,
    status_code=201,
    summary="a new key of the office",
    responses=errors(*BODY),
)
def create_key(body: KeyIn, store: KeysDep, request: Request, caller: Admin) -> NewKeyOut:
    info, secret = store.create(
        caller.office, body.role, owner=body.owner, requests_per_minute=body.requests_per_minute,
        max_batches=body.max_batches,
    )  # fmt: skip
    audit_target(request, info.id, role=info.role.value)
    return NewKeyOut(key=info, secret=secret)


@router.post(
    "/keys/{key_id}/rotate",
    response_model=NewKeyOut,
    summary="a new secret for a key of the office (the old one stops working)",
    responses=errors(404),
)
def rotate_key(key_id: KeyId, store: KeysDep, request: Request, caller: Admin) -> NewKeyOut:
    _own_key(store, key_id, caller)
    audit_target(request, key_id)
    info, secret = store.rotate(key_id)
    return NewKeyOut(key=info, secret=secret)


@router.delete(
    "/keys/{key_id}", response_model=KeyInfo, summary="revoke a key of the office", responses=errors(404)
)
def revoke_key(key_id: KeyId, store: KeysDep, request: Request, caller: Admin) -> KeyInfo:
    _own_key(store, key_id, caller)
    audit_target(request, key_id)
    return store.revoke(key_id)


@router.get("/audit", response_model=AuditOut, summary="the office's audit entries, oldest first")
def audit_entries(
    audit: AuditDep,
    caller: Admin,
    since: Annotated[int, Query(ge=0, le=2**63 - 1, description="entries after this number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditOut:
    return AuditOut(head=audit.head(), entries=audit.entries(office=caller.office, since=since, limit=limit))
