"""POST /v1/documents and DELETE /v1/documents/{id}: incremental ingest, no rebuild.

Documents are validated completely before anything is written, so a rejected request leaves the
index as it was.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from leian.api.deps import ApiKey, SearcherDep
from leian.api.routers.responses import BACKEND, BODY, V1, errors
from leian.api.schemas import DocumentsIn, WriteOut
from leian.errors import NotFound

# a rebuild by another program (`leian index CORPUS`) would swap the write away: refused until it ends
_BUSY = (409, "the index is being rebuilt (index_busy): retry when it has finished")
router = APIRouter(prefix="/v1", tags=["documents"], responses=errors(*V1, _BUSY, *BACKEND))


def _out(searcher, report) -> WriteOut:
    return WriteOut(
        written=report.written,
        deleted=report.deleted,
        failed=report.failed,
        doc_count=searcher.backend.count(),
        snapshot=searcher.backend.manifest().snapshot,
    )


@router.post(
    "/documents",
    response_model=WriteOut,
    summary="add or replace judgments (extracted, tokenised, embedded, indexed)",
    description='Body: one document `{id, text, ...}` or `{"documents": [...]}`. An existing id is replaced.',
    responses=errors(*BODY),
)
def add_documents(body: DocumentsIn, searcher: SearcherDep, _key: ApiKey) -> WriteOut:
    report = searcher.add_documents([d.to_record() for d in body.documents])
    return _out(searcher, report)


# :path, as an id may hold a "/" (see GET /v1/cases)
@router.delete(
    "/documents/{doc_id:path}",
    response_model=WriteOut,
    summary="remove a judgment from the index",
    responses=errors(404),
)
def delete_document(
    doc_id: Annotated[str, Path(min_length=1, max_length=200)], searcher: SearcherDep, _key: ApiKey
) -> WriteOut:
    if doc_id not in searcher.get([doc_id]):
        raise NotFound(f"no case with id {doc_id!r} in this index; nothing deleted")
    return _out(searcher, searcher.delete_documents([doc_id]))
