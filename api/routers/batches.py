"""Batch report jobs: POST /v1/batches, GET /v1/batches/{id}, GET /v1/batches/{id}/download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from leian.api.deps import JobsDep, Reader, SettingsDep, audit_target
from leian.api.jobs import JobSpec, cases_to_jsonl
from leian.api.routers.responses import BODY, V1, download, errors
from leian.api.schemas import BatchIn, BatchOut
from leian.errors import InvalidInput
from leian.retrieval.models import Query
from leian.retrieval.sentencing import ProposedSentence

router = APIRouter(prefix="/v1", tags=["batches"], responses=errors(*V1))

ZIP = "application/zip"

JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _out(spec: JobSpec) -> BatchOut:
    return BatchOut(
        id=spec.id,
        status=spec.status,
        total=spec.total,
        done=spec.done,
        failed=spec.failed,
        errors=spec.errors,
        formats=spec.formats,
        created_at=spec.created_at,
        finished_at=spec.finished_at,
        message=spec.message,
        download=f"/v1/batches/{spec.id}/download" if spec.status in ("done", "failed") else None,
    )


@router.post(
    "/batches",
    response_model=BatchOut,
    status_code=202,
    summary="start a batch of reports",
    responses=errors(*BODY),
)
def create_batch(
    body: BatchIn, jobs: JobsDep, settings: SettingsDep, caller: Reader, request: Request
) -> BatchOut:
    if len(body.cases) > settings.max_batch_cases:
        raise InvalidInput(
            f"{len(body.cases):,} cases in one batch; the limit is {settings.max_batch_cases:,}. Split the batch."
        )
    # Everything is validated before the job is queued, so a bad case is a 422 now, not a failure later.
    filters = body.filters.to_filters()
    for c in body.cases:
        try:
            Query(facts=c.facts, charges=c.charges or None, filters=filters)
        except InvalidInput as e:
            raise InvalidInput(f"case {c.id!r}: {e.message}") from None
        if c.proposed_sentence is not None:
            try:
                ProposedSentence.model_validate(c.proposed_sentence.model_dump())
            except InvalidInput as e:
                raise InvalidInput(f"case {c.id!r}: proposed_sentence: {e.message}") from None
    spec = jobs.submit(
        cases_to_jsonl([c.model_dump(exclude_none=True) for c in body.cases]),
        total=len(body.cases),
        formats=list(body.formats),
        top_k=body.top_k,
        stats_k=body.stats_k,
        requester=body.requester.to_report() if body.requester else None,
        filters=filters.model_dump(),
        office=caller.office,
        key_id=caller.key_id,
        max_active=caller.max_batches if caller.max_batches is not None else settings.max_batches,
    )
    audit_target(request, spec.id, cases=len(body.cases))
    return _out(spec)


@router.get(
    "/batches/{job_id}", response_model=BatchOut, summary="progress of a batch", responses=errors(404)
)
def get_batch(job_id: JobId, jobs: JobsDep, caller: Reader, request: Request) -> BatchOut:
    audit_target(request, job_id)
    return _out(jobs.get(job_id, caller.office))


@router.get(
    "/batches/{job_id}/download",
    summary="the reports of a finished batch and its summary.csv, as a zip",
    response_class=Response,
    responses={
        **download(200, [ZIP], "the zip: <id>/summary.csv and <id>/reports/<case id>.<format>"),
        **errors(404, (409, "the batch has not finished (not_ready): download it when its status is done")),
    },
)
def download_batch(job_id: JobId, jobs: JobsDep, caller: Reader, request: Request) -> Response:
    audit_target(request, job_id)
    data = jobs.zip_bytes(job_id, caller.office)
    return Response(
        data,
        media_type=ZIP,
        headers={"Content-Disposition": f'attachment; filename="leian-batch-{job_id}.zip"'},
    )
