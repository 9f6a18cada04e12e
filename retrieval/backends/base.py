"""The interface every search backend implements (embedded files or Elasticsearch).

A backend stores cases and answers candidate queries; ranking (fusion, structure rerank, reasons)
is done once, in ``leian.retrieval.search``, over whichever backend is configured — which is what
makes both backends give the same results for the same corpus and query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord
from leian.errors import InvalidInput
from leian.indexer.embedding import DEFAULT_MAX_CHUNKS
from leian.indexer.indexed import FACET_KEYS, IndexedCase, facets_of, filter_fields
from leian.retrieval.models import Filters

__all__ = [
    "FACET_KEYS",
    "Backend",
    "BackendKind",
    "IndexManifest",
    "IndexedCase",
    "Scored",
    "WriteReport",
    "backend_kind",
    "facets_of",
    "filter_fields",
    "matches",
    "now_iso",
]


class BackendKind(StrEnum):
    embedded = "embedded"
    elasticsearch = "elasticsearch"


def backend_kind(kind: str) -> BackendKind:
    """``kind`` as a ``BackendKind``; an unknown one is refused with the valid values."""
    try:
        return BackendKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in BackendKind)
        raise InvalidInput(f"unknown backend {kind!r}; choose one of: {valid}") from None


Scored = tuple[str, float]  # (case id, score), best first, ties broken by id


def now_iso() -> str:
    """Now, as manifests, audit logs and locks write it (UTC, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class WriteReport(BaseModel):
    written: int = 0
    deleted: int = 0
    failed: dict[str, str] = Field(default_factory=dict)  # case id -> reason (never silently lost)


@runtime_checkable
class Backend(Protocol):
    name: str

    def manifest(self) -> IndexManifest: ...

    def count(self) -> int: ...

    def ids(self) -> list[str]:
        """Every live case's id, sorted (what ranking "the whole corpus" ranks)."""

    def lexical(
        self, terms: list[str], filters: Filters | None, k: int, ids: list[str] | None = None
    ) -> list[Scored]:
        """BM25 over the indexed tokens; each entry of ``terms`` is one query clause (repeat = weight).

        With ``ids``, score exactly those cases (those without a matching term get 0.0 and are still
        returned), for re-ranking a given candidate list; filters and ``k`` still apply."""

    def dense(
        self, vector: np.ndarray, filters: Filters | None, k: int, ids: list[str] | None = None
    ) -> list[Scored]:
        """Inner-product nearest neighbours; filters applied before top-k. ``ids`` as in ``lexical``."""

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]: ...

    def facets(self, ids: Iterable[str]) -> dict[str, dict]:
        """``FACET_KEYS`` of each case (charge groups, statutes, circumstances, amount, court level,
        year), cheaply."""

    def upsert(self, cases: Iterable[IndexedCase]) -> WriteReport: ...

    def delete(self, ids: Iterable[str]) -> WriteReport: ...

    def iter_records(self) -> Iterator[CaseRecord]: ...

    def put_artifact(self, name: str, data: bytes) -> None:
        """Store a named blob with the index (e.g. the charge model trained on its corpus)."""

    def updating(self) -> contextlib.AbstractContextManager[None]:
        """Held across the writes of one job (``leian index --add`` of a whole file), so that no full
        build swaps the index out between two of them; raises IndexBusy while a build runs."""

    def get_artifact(self, name: str) -> bytes | None: ...

    def close(self) -> None: ...


class IndexManifest(BaseModel):
    """Written with every index and checked on load: an index built with another model, tokenizer
    or format is refused with a clear error instead of returning garbage."""

    # the layout of the backend that wrote the index (EMBEDDED_FORMAT_VERSION, ELASTIC_FORMAT_VERSION):
    # each backend stamps its own when it builds, and refuses another on open
    format_version: int
    backend: str
    name: str = ""
    created_at: str
    updated_at: str
    snapshot: str  # changes on every write; printed in reports (平台: index snapshot)
    tokenizer: str  # Tokenizer.fingerprint
    model: str | None = None  # embedding model name (None: embeddings off)
    model_path: str | None = None  # the local model directory, when not the built-in default
    model_fingerprint: str | None = None
    dim: int | None = None
    # a case's vector is the mean of its facts' first N chunks (0: all); indexes from before this
    # field embedded the default number
    embed_chunks: int = Field(default=DEFAULT_MAX_CHUNKS, ge=0)
    # the model's int8 export copy or its float32 one made the vectors (see indexer/embedding/runtime_choice.py); cases
    # added later are embedded the same way. Indexes from before this field are float32.
    embed_precision: Literal["int8", "float32"] = "float32"
    doc_count: int = 0
    corpus: dict = Field(default_factory=dict)  # name, licence, date range of judgments
    bm25: dict = Field(default_factory=lambda: {"k1": 1.2, "b": 0.75, "idf": "lucene"})
    # the version of the 量刑测算 model the build fitted on the corpus (an artifact); None: built before it
    sentencing_model: str | None = None


def matches(fields: dict, filters: Filters | None) -> bool:
    """Reference semantics of ``Filters`` (backends may compile them, but must agree with this)."""
    if filters is None:
        return True
    if filters.court_level and fields["court_level"] not in filters.court_level:
        return False
    if filters.province and fields["province"] not in filters.province:
        return False
    if filters.tier and fields["tier"] not in filters.tier:
        return False
    year = fields["year"]
    if filters.year_from is not None and (year is None or year < filters.year_from):
        return False
    if filters.year_to is not None and (year is None or year > filters.year_to):
        return False
    if filters.charge:
        wanted = {charge_group(c) for c in filters.charge}
        if not wanted & set(fields["charge_groups"]):
            return False
    return True
