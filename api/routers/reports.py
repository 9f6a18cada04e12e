"""POST /v1/reports (make, issue and store a 类案检索报告) and GET /v1/reports/{id}?format=… (render it).

A report is issued: it carries the audit log's chain head at the time it was made and the
installation's Ed25519 signature over its SHA-256, and it belongs to the caller's office.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from leian.api.deps import (
    AuditDep,
    OwnersDep,
    Reader,
    ReportsDep,
    SearcherDep,
    SignerDep,
    audit_target,
    seen_by,
)
from leian.api.routers.responses import BACKEND, BODY, V1, bare, download, errors
from leian.api.schemas import ReportIn
from leian.retrieval.report import Report, ReportFormat, Requester, build_report, issue, load_report, render
from leian.retrieval.sentencing import ProposedSentence

router = APIRouter(prefix="/v1", tags=["reports"], responses=errors(*V1))

ReportId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post(
    "/reports",
    status_code=201,
    summary="make a 类案检索报告 for a new case (stored; fetch renderings with GET /v1/reports/{id})",
    response_model=Report,
    response_description="the report as JSON (its canonical form: the SHA-256 is over this content)",
    responses={
        201: {
            "headers": {
                "Location": {"description": "the stored report", "schema": {"type": "string"}},
                "Link": {"description": "its other formats (rel=alternate)", "schema": {"type": "string"}},
            }
        },
        **errors(*BODY, *BACKEND),
    },
)
def create_report(
    body: ReportIn,
    searcher: SearcherDep,
    store: ReportsDep,
    owners: OwnersDep,
    audit: AuditDep,
    signer: SignerDep,
    caller: Reader,
    request: Request,
) -> Response:
    proposed = (
        ProposedSentence.model_validate(body.proposed_sentence.model_dump())
        if body.proposed_sentence
        else None
    )
    requester = Requester.model_validate(body.requester.to_report()) if body.requester else None
    query = seen_by(caller, owners, body.to_query())
    built = build_report(searcher, query, requester, proposed, top_k=body.top_k, stats_k=body.stats_k)
    report = issue(built, audit.head(), signer)
    data = render(report, ReportFormat.JSON)
    audit_target(request, report.id, sha256=report.sha256)
    store.put(report.id, report.sha256, data.decode("utf-8"), office=caller.office, key_id=caller.key_id)
    base = f"/v1/reports/{report.id}"
    return Response(
        data,
        status_code=201,
        media_type=ReportFormat.JSON.media_type,
        headers={
            "Location": base,
            "Link": ", ".join(
                f'<{base}?format={f}>; rel="alternate"; type="{bare(f.media_type)}"'
                for f in ReportFormat
                if f is not ReportFormat.JSON
            ),  # fmt: skip
        },
    )


@router.get(
    "/reports/{report_id}",
    summary="a stored report, rendered as json, md, html or docx",
    response_class=Response,
    responses={
        **download(
            200,
            [f.media_type for f in ReportFormat],
            "the report in the format asked for (`format`): the media type says which",
            json_model=Report,
        ),
        **errors(404),
    },
)
def get_report(
    report_id: ReportId,
    store: ReportsDep,
    caller: Reader,
    request: Request,
    format: Annotated[ReportFormat, Query()] = ReportFormat.JSON,
) -> Response:
    audit_target(request, report_id, format=format.value)
    if format is ReportFormat.JSON:
        return Response(store.get(report_id, caller.office).encode("utf-8"), media_type=format.media_type)
    data = store.rendering(
        report_id, caller.office, format.value, lambda body: render(load_report(body), format)
    )
    headers = {}
    if format is ReportFormat.DOCX:
        headers["Content-Disposition"] = f'attachment; filename="leian-report-{report_id}{format.suffix}"'
    elif format is ReportFormat.MD:
        headers["Content-Disposition"] = f'inline; filename="leian-report-{report_id}{format.suffix}"'
    return Response(data, media_type=format.media_type, headers=headers)
