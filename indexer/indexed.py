"""The unit the indexer hands to a search backend."""

from __future__ import annotations

from collections import Counter
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict

from leian.corpora.record import CaseRecord


class IndexedCase(BaseModel):
    """The extracted record, its jieba tokens and its embedding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: CaseRecord
    tokens: list[str]  # jieba tokens of the searchable text (legal dictionary, stop-words out)
    vector: np.ndarray | None = None  # float32, L2-normalised; None when embeddings are off

    @cached_property
    def term_counts(self) -> Counter[str]:
        """term -> count in ``tokens``: what BM25 postings and the charge model read (counted once)."""
        return Counter(self.tokens)
