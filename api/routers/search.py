"""POST /v1/search: the most similar decided cases for the facts of a new case."""

from __future__ import annotations

from fastapi import APIRouter

from leian.api.deps import OwnersDep, Reader, SearcherDep, seen_by
from leian.api.routers.responses import BACKEND, BODY, V1, errors
from leian.api.schemas import SearchIn, SearchOut, search_out

router = APIRouter(prefix="/v1", tags=["search"], responses=errors(*V1))


@router.post(
    "/search",
    response_model=SearchOut,
    summary="find similar cases",
    responses=errors(*BODY, *BACKEND),
)
def search(body: SearchIn, searcher: SearcherDep, owners: OwnersDep, caller: Reader) -> SearchOut:
    # Plain ``def``: BM25, encoding and the rerank are CPU-bound, so FastAPI runs this in its threadpool.
    res = searcher.search(seen_by(caller, owners, body.to_query()))
    missing = [h.id for h in res.hits if h.record is None]
    records = searcher.get(missing) if missing else {}
    return search_out(res, records, body.include_record)
