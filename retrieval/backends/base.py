"""The interface every search backend implements (embedded files or Elasticsearch).

A backend stores cases and answers candidate queries; ranking (fusion, structure rerank, reasons)
is done once, in ``leian.retrieval.search``, over whichever backend is configured — which is what
makes both backends give the same results for the same corpus and query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leian.corpora.record import CaseRecord
from leian.retrieval.models import Filters

Scored = tuple[str, float]  # (case id, score), best first, ties broken by id


class IndexedCase(BaseModel):
    """What the indexer hands a backend: the extracted record, its tokens and its vector."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: CaseRecord
    tokens: list[str]  # jieba tokens of the searchable text (legal dictionary, stop-words out)
    vector: np.ndarray | None = None  # float32, L2-normalised; None when embeddings are off


class WriteReport(BaseModel):
    written: int = 0
    deleted: int = 0
    failed: dict[str, str] = Field(default_factory=dict)  # case id -> reason (never silently lost)


@runtime_checkable
class Backend(Protocol):
    name: str

    def manifest(self) -> dict: ...

    def count(self) -> int: ...

    def lexical(self, terms: list[str], filters: Filters | None, k: int) -> list[Scored]:
        """BM25 over the indexed tokens; each entry of ``terms`` is one query clause (repeat = weight)."""

    def dense(self, vector: np.ndarray, filters: Filters | None, k: int) -> list[Scored]:
        """Inner-product nearest neighbours; filters applied before top-k."""

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]: ...

    def upsert(self, cases: Iterable[IndexedCase]) -> WriteReport: ...

    def delete(self, ids: Iterable[str]) -> WriteReport: ...

    def iter_records(self) -> Iterator[CaseRecord]: ...

    def close(self) -> None: ...
