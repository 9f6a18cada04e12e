"""Per-judgment term counts: the BM25 postings of the embedded index, and what the charge model
learns from, built in one pass over a corpus."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp


class TermCounts:
    """Per-judgment term counts as compact integer arrays (the corpus's token strings are not kept:
    at 100k judgments lists of Python strings would need ~20 GB). Term ids are given in first-seen
    order, so one corpus in one order always gets the same ids."""

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}
        self._indptr = array("q", [0])
        self._ids = array("i")
        self._counts = array("i")
        self.labels: list[list[str]] = []

    def add(self, tokens: list[str], labels: list[str]) -> None:
        self.add_counts(Counter(tokens), labels)

    def add_counts(self, counts: Mapping[str, int], labels: list[str]) -> None:
        vocab = self._vocab
        # setdefault gives a new term the next id (len is read before the insert): one pass, not two
        self._ids.extend([vocab.setdefault(t, len(vocab)) for t in counts])
        self._counts.extend(counts.values())
        self._indptr.append(len(self._ids))
        self.labels.append(labels)

    @property
    def vocab(self) -> dict[str, int]:
        return self._vocab

    def terms(self) -> list[str]:
        return sorted(self._vocab, key=self._vocab.get)

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix(
            (
                np.frombuffer(self._counts, np.int32).astype(np.float32),
                np.frombuffer(self._ids, np.int32),
                np.frombuffer(self._indptr, np.int64),
            ),
            shape=(len(self.labels), len(self._vocab)),
        )

    def term_major(self) -> sp.csr_matrix:
        """The same counts as terms x judgments, indices sorted: BM25 postings."""
        tf = self.matrix().T.tocsr()
        tf.sort_indices()
        return tf


@runtime_checkable
class CountsTerms(Protocol):
    """A backend builder that counts the terms of the cases it is given (the embedded index's
    postings are these counts): an index build reads them instead of counting again."""

    term_counts: TermCounts
