"""GET /healthz (is the backend reachable?) and GET /v1/stats (what is indexed)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from leian import __version__
from leian.api.deps import Reader, SearcherDep, SettingsDep
from leian.api.errors import error_body
from leian.api.routers.responses import BACKEND, V1, errors
from leian.api.schemas import ChargeCount, HealthOut, StatsOut
from leian.errors import LeianError

# /healthz is public (no key, no parameters): the /v1 errors are declared per operation.
router = APIRouter(tags=["service"], responses=errors(500))
log = logging.getLogger("leian.api")

_charge_cache: dict[tuple[int, str], Counter] = {}
_charge_lock = threading.Lock()


@router.get(
    "/healthz",
    response_model=HealthOut,
    summary="liveness and backend reachability (public)",
    responses=errors((503, "the backend is down (backend_unavailable)")),
)
def healthz(searcher: SearcherDep, settings: SettingsDep):
    try:
        n = searcher.backend.count()
    except Exception as e:  # a health check reports any failure of the backend, whatever its type
        message = e.message if isinstance(e, LeianError) else f"{type(e).__name__}: {e}"
        log.warning("health check failed: %s", message)
        return JSONResponse(
            error_body("backend_unavailable", f"backend not reachable: {message}"), status_code=503
        )
    return HealthOut(
        status="ok",
        backend=searcher.backend.name,
        doc_count=n,
        auth=not settings.auth_disabled,
        version=__version__,
    )


def _charge_counts(searcher) -> Counter:
    """Charges over the whole index; cached per index snapshot (it changes on every write)."""
    key = (id(searcher), searcher.backend.manifest().snapshot)
    with _charge_lock:
        if key in _charge_cache:
            return _charge_cache[key]
    counts = Counter(c for rec in searcher.backend.iter_records() for c in rec.charges)
    with _charge_lock:
        _charge_cache.clear()
        _charge_cache[key] = counts
    return counts


@router.get(
    "/v1/stats",
    response_model=StatsOut,
    summary="index size, manifest and the most frequent charges",
    responses=errors(*V1, *BACKEND),
)
def stats(searcher: SearcherDep, _caller: Reader, top: Annotated[int, Query(ge=1, le=500)] = 20) -> StatsOut:
    manifest = searcher.backend.manifest()
    counts = _charge_counts(searcher)
    return StatsOut(
        doc_count=searcher.backend.count(),
        backend=searcher.backend.name,
        manifest=manifest.model_dump(),
        platform=searcher.describe(),
        charges=[
            ChargeCount(charge=c, count=n)
            for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]
        ],
    )
