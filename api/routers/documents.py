"""POST /v1/documents and DELETE /v1/documents/{id}: incremental ingest, no rebuild.

Documents are validated completely before anything is written, so a rejected request leaves the
index as it was. A document written here belongs to the writer's office (``access.documents``):
an editor writes and deletes its office's documents; the judgments the index was built from are
public and only an admin changes them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from leian.api.access import Caller, Role
from leian.api.deps import Editor, OwnersDep, SearcherDep, audit_target
from leian.api.errors import ApiError
from leian.api.routers.responses import BACKEND, BODY, V1, errors
from leian.api.schemas import DocumentsIn, WriteOut
from leian.errors import Forbidden, NotFound

# a rebuild by another program (`leian index CORPUS`) would swap the write away: refused until it ends
_BUSY = (
    409,
    "the index is being rebuilt (index_busy), or the id is another office's: the message says which",
)
router = APIRouter(prefix="/v1", tags=["documents"], responses=errors(*V1, 403, _BUSY, *BACKEND))


def _out(searcher, report) -> WriteOut:
    return WriteOut(
        written=report.written,
        deleted=report.deleted,
        failed=report.failed,
        doc_count=searcher.backend.count(),
        snapshot=searcher.backend.manifest().snapshot,
    )


def _may_change(caller: Caller, doc_id: str, owner: tuple[str, bool] | None, exists: bool) -> None:
    """Refuse a write to ``doc_id`` that is not the caller's to make."""
    if owner is None:
        if exists and not caller.has(Role.admin):
            raise Forbidden(f"case {doc_id!r} is a public judgment of the index: only an admin changes it")
        return
    office, _public = owner
    if office != caller.office:
        raise ApiError(
            409, "id_in_use", f"the id {doc_id!r} is taken by another office's document: choose another id"
        )


@router.post(
    "/documents",
    response_model=WriteOut,
    summary="add or replace judgments (extracted, tokenised, embedded, indexed)",
    description='Body: one document `{id, text, ...}` or `{"documents": [...], "public": false}`. An '
    "existing id of the caller's office is replaced (a judgment of the index itself only by an admin). "
    "New documents are private to the writer's office unless `public` is true.",
    responses=errors(*BODY),
)
def add_documents(
    body: DocumentsIn, searcher: SearcherDep, owners: OwnersDep, caller: Editor, request: Request
) -> WriteOut:
    records = [d.to_record() for d in body.documents]
    ids = [r.id for r in records]
    before = owners.owners(ids)
    existing = searcher.get([i for i in ids if i not in before])
    for i in ids:
        _may_change(caller, i, before.get(i), i in existing)
    audit_target(
        request, ids[0] if len(ids) == 1 else f"{len(ids)} documents", ids=ids[:100], public=body.public
    )
    # owned before they are indexed: a crash in between hides a document, never shows it. A judgment
    # of the index stays public (and the index's) unless it is made private.
    claims: dict[bool, list[str]] = {True: [], False: []}
    for i in ids:
        if i in before:
            claims[before[i][1] if body.public is None else body.public].append(i)
        elif i not in existing or body.public is False:
            claims[bool(body.public)].append(i)
    for public, mine in claims.items():
        if mine:
            owners.claim(mine, caller.office, public)
    new = [i for i in ids if i not in before]
    try:
        report = searcher.add_documents(records)
    except BaseException:
        owners.release(new)
        for i, (office, public) in before.items():
            owners.claim([i], office, public)
        raise
    owners.release([i for i in report.failed if i in new])
    return _out(searcher, report)


# :path, as an id may hold a "/" (see GET /v1/cases)
@router.delete(
    "/documents/{doc_id:path}",
    response_model=WriteOut,
    summary="remove a judgment from the index",
    responses=errors(404),
)
def delete_document(
    doc_id: Annotated[str, Path(min_length=1, max_length=200)],
    searcher: SearcherDep,
    owners: OwnersDep,
    caller: Editor,
    request: Request,
) -> WriteOut:
    owner = owners.owners([doc_id]).get(doc_id)
    hidden = owner is not None and owner[0] != caller.office and not owner[1]
    if hidden or doc_id not in searcher.get([doc_id]):
        raise NotFound(f"no case with id {doc_id!r} in this index; nothing deleted")
    _may_change(caller, doc_id, owner, True)
    audit_target(request, doc_id)
    out = _out(searcher, searcher.delete_documents([doc_id]))
    owners.release([doc_id])  # after it left the index (see access.documents)
    return out
