"""GET /v1/cases/{id}: one indexed judgment with everything extracted from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from leian.api.deps import OwnersDep, Reader, SearcherDep
from leian.api.routers.responses import BACKEND, V1, errors
from leian.corpora.record import CaseRecord
from leian.errors import NotFound

router = APIRouter(prefix="/v1", tags=["cases"], responses=errors(*V1))


# :path, as an id may hold a "/" (a case-handling system's "2020/118"), which arrives decoded
@router.get(
    "/cases/{case_id:path}",
    response_model=CaseRecord,
    summary="the full record of one case",
    responses=errors(404, *BACKEND),
)
def get_case(
    case_id: Annotated[str, Path(min_length=1, max_length=200)],
    searcher: SearcherDep,
    owners: OwnersDep,
    caller: Reader,
):
    office, public = owners.owners([case_id]).get(case_id, (caller.office, True))
    found = searcher.get([case_id]) if public or office == caller.office else {}
    if case_id not in found:
        raise NotFound(f"no case with id {case_id!r} in this index")
    return found[case_id]
