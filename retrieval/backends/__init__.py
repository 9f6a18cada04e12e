"""Search backends behind one interface (``base.Backend``): embedded files or Elasticsearch."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator

from leian.errors import InvalidInput
from leian.retrieval.backends.base import Backend, BackendKind, IndexManifest, backend_kind, now_iso
from leian.retrieval.backends.elastic import (
    ELASTIC_FORMAT_VERSION,
    ElasticBackend,
    ElasticOptions,
    open_elastic,
)
from leian.retrieval.backends.embedded import EMBEDDED_FORMAT_VERSION, EmbeddedBackend

FORMAT_VERSIONS = {
    BackendKind.embedded: EMBEDDED_FORMAT_VERSION,
    BackendKind.elasticsearch: ELASTIC_FORMAT_VERSION,
}


def open_backend(
    kind: str = BackendKind.embedded, *, index: str | None, es_options: ElasticOptions | None = None
) -> Backend:
    if not index:
        raise InvalidInput("no index given: pass --index DIR (embedded) or --index NAME (elasticsearch)")
    if backend_kind(kind) is BackendKind.embedded:
        return EmbeddedBackend(index)
    return open_elastic(es_options, index)


def new_manifest(kind: str, name: str, **fields) -> IndexManifest:
    kind = backend_kind(kind)
    now = now_iso()
    return IndexManifest(
        format_version=FORMAT_VERSIONS[kind],
        backend=kind.value,
        name=name,
        created_at=now,
        updated_at=now,
        snapshot=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3),
        **fields,
    )


@contextlib.contextmanager
def build_backend(
    kind: str, *, index: str, manifest: IndexManifest, es_options: ElasticOptions | None = None
) -> Iterator:
    """A writable backend for a full build, swapped in atomically when the block succeeds."""
    if backend_kind(kind) is BackendKind.embedded:
        with EmbeddedBackend.building(index, manifest) as b:
            yield b
    else:
        with ElasticBackend.building(es_options, index, manifest) as b:
            yield b


__all__ = [
    "FORMAT_VERSIONS",
    "Backend",
    "BackendKind",
    "IndexManifest",
    "backend_kind",
    "build_backend",
    "new_manifest",
    "open_backend",
]
