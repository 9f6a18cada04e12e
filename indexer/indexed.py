"""The unit the indexer hands to a search backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leian.corpora.record import CaseRecord


class IndexedCase(BaseModel):
    """The extracted record, its jieba tokens and its embedding.

    The tokens travel as one space-joined string (tokens hold no spaces): that is what both backends
    store, and the indexer's main process never needs them one by one. ``IndexedCase(tokens=[...])``
    is accepted too. ``counts`` are the term counts when the tokeniser already counted them (the
    indexer's worker processes do, so the main process, where a build waits, does not count again).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: CaseRecord
    token_text: str  # jieba tokens of the searchable text, space-joined (legal dictionary, no stop-words)
    vector: np.ndarray | None = None  # float32, L2-normalised; None when embeddings are off
    counts: Mapping[str, int] | None = Field(default=None, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _joined(cls, data):
        if isinstance(data, dict) and "tokens" in data:
            data = {k: v for k, v in data.items() if k != "tokens"} | {"token_text": " ".join(data["tokens"])}
        return data

    @cached_property
    def tokens(self) -> list[str]:
        return self.token_text.split(" ") if self.token_text else []

    @cached_property
    def term_counts(self) -> Mapping[str, int]:
        """term -> count in ``tokens``: what BM25 postings and the charge model read (counted once)."""
        return self.counts if self.counts is not None else Counter(self.tokens)

    @property
    def n_tokens(self) -> int:
        return sum(self.term_counts.values())
