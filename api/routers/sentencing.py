"""POST /v1/sentencing: 量刑测算 for a new case — from its facts, or from its charges, elements and
circumstances as the prosecutor corrected them.

Each charge gets the index's explained estimate (``retrieval.sentencing.estimate``): a median term
with an 80 % interval, the 基准 and each circumstance's effect beside the 2021 量刑指导意见's range, kept
inside the statutory range. Where it cannot estimate (an index without a model, a charge with too
few judgments, a name that is no 罪名, a tier without a custodial term) the answer is still a 200:
``months`` is null and ``basis`` says why — never a number without its basis.
"""

from __future__ import annotations

from fastapi import APIRouter

from leian.api.deps import OwnersDep, Reader, SearcherDep, seen_by
from leian.api.routers.responses import BACKEND, BODY, V1, errors
from leian.api.schemas import SentencingIn, SentencingOut, sentencing_from_elements, sentencing_from_run
from leian.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["sentencing"], responses=errors(*V1))


@router.post(
    "/sentencing",
    response_model=SentencingOut,
    summary="量刑测算: the explained estimate of the term per charge, from facts or from corrected elements",
    response_description="one estimate per charge (months null with the reason in basis when it cannot estimate)",
    responses=errors(*BODY, *BACKEND),
)
def sentencing(body: SentencingIn, searcher: SearcherDep, owners: OwnersDep, caller: Reader) -> SentencingOut:
    # Plain ``def``: the search (facts) and the estimate are CPU work, run in FastAPI's threadpool.
    model = searcher.sentencing_model
    if body.facts is None:
        return sentencing_from_elements(model, body)
    run = searcher.run(seen_by(caller, owners, body.to_query()), stats_k=0)
    if not run.charges:
        raise InvalidInput('no charge could be read from the facts: give the charges (e.g. ["盗窃罪"])')
    return sentencing_from_run(model, run, body.province, given=bool(body.charges))
