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
        # The cause (a library's message, the backend's address, a path) goes to the log, not to a
        # public answer.
        known = isinstance(e, LeianError)
        log.warning("health check failed: %s", e.message if known else f"{type(e).__name__}: {e}",
                    exc_info=not known)  # fmt: skip
        message = f"the {searcher.backend.name} backend is not reachable; the cause is in the service log"
        return JSONResponse(error_body("backend_unavailable", message), status_code=503)
    return HealthOut(
        status="ok",
        backend=searcher.backend.name,
        doc_count=n,
        auth=not settings.auth_disabled,
        version=__version__,
    )


# What /v1/stats publishes of the index manifest and the searcher's description: named fields only, so
# that a field added to either later is not published by default. Left out: where things are on the
# server (the corpus file, a local model directory) and the manifest's copy inside the description.
MANIFEST_FIELDS = ("format_version", "backend", "name", "created_at", "updated_at", "snapshot", "tokenizer",
                   "model", "model_fingerprint", "dim", "embed_chunks", "embed_precision", "doc_count", "bm25",
                   "sentencing_model")  # fmt: skip
CORPUS_FIELDS = ("name", "licence", "date_from", "date_to")
PLATFORM_FIELDS = ("product", "version", "backend", "tokenizer", "model", "embedding_runtime", "query_precision",
                   "weights", "config", "charge_model")  # fmt: skip


def _public(d: dict, fields: tuple[str, ...]) -> dict:
    return {k: d[k] for k in fields if k in d}


def public_manifest(manifest: dict) -> dict:
    """The index manifest without anything about the server's files."""
    corpus = _public(manifest.get("corpus") or {}, CORPUS_FIELDS)
    return {**_public(manifest, MANIFEST_FIELDS), "corpus": corpus}


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
        manifest=public_manifest(manifest.model_dump()),
        platform=_public(searcher.describe(), PLATFORM_FIELDS),
        charges=[
            ChargeCount(charge=c, count=n)
            for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]
        ],
    )
