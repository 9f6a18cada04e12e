"""Search backends behind one interface (``base.Backend``): embedded files or Elasticsearch."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator
from enum import StrEnum

from leian.errors import InvalidInput
from leian.retrieval.backends.base import Backend, IndexManifest


class BackendKind(StrEnum):
    embedded = "embedded"
    elasticsearch = "elasticsearch"


def _kind(kind: str) -> BackendKind:
    try:
        return BackendKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in BackendKind)
        raise InvalidInput(f"unknown backend {kind!r}; choose one of: {valid}") from None


def open_backend(kind: str = "embedded", *, index: str | None, es_options=None) -> Backend:
    if not index:
        raise InvalidInput("no index given: pass --index DIR (embedded) or --index NAME (elasticsearch)")
    if _kind(kind) is BackendKind.embedded:
        from leian.retrieval.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(index)
    from leian.retrieval.backends.elastic import open_elastic

    return open_elastic(es_options, index)


def new_manifest(kind: str, name: str, **fields) -> IndexManifest:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return IndexManifest(
        backend=_kind(kind).value,
        name=name,
        created_at=now,
        updated_at=now,
        snapshot=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3),
        **fields,
    )


@contextlib.contextmanager
def build_backend(kind: str, *, index: str, manifest: IndexManifest, es_options=None) -> Iterator:
    """A writable backend for a full build, swapped in atomically when the block succeeds."""
    if _kind(kind) is BackendKind.embedded:
        from leian.retrieval.backends.embedded import EmbeddedBackend

        with EmbeddedBackend.building(index, manifest) as b:
            yield b
    else:
        from leian.retrieval.backends.elastic import ElasticBackend

        with ElasticBackend.building(es_options, index, manifest) as b:
            yield b


__all__ = ["Backend", "BackendKind", "IndexManifest", "build_backend", "new_manifest", "open_backend"]
