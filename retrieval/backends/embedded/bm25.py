"""BM25 postings and scoring: a base segment written by the build (``bm25.npz``, ``vocab.json``) and a
small delta segment of the cases written since, with statistics (N, df, avgdl) over live cases only —
Lucene's segment model, so no stale terms survive a delete."""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from leian.indexer.postings import TermCounts
from leian.retrieval.backends.embedded.layout import BM25, VOCAB

K1, B = 1.2, 0.75  # Elasticsearch's defaults, so both backends score alike


@dataclass
class Segment:
    """Postings of one segment: term-major CSR (terms x cases) plus case lengths."""

    tf: sp.csr_matrix
    doc_len: np.ndarray
    vocab: dict[str, int]

    @classmethod
    def read_base(cls, gen: Path) -> tuple[Segment, np.ndarray]:
        """The base segment of a generation, and its case ids by position."""
        with np.load(gen / BM25) as z:
            tf = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            base_len = z["doc_len"]
            base_ids = z["ids"].astype(object)
        vocab = json.loads((gen / VOCAB).read_text(encoding="utf-8"))
        return cls(tf, base_len, vocab), base_ids

    @classmethod
    def of_token_texts(cls, texts: Iterable[str]) -> Segment:
        """The delta segment, from the stored space-joined tokens of its cases."""
        counts = TermCounts()
        lens: list[int] = []
        for text in texts:
            tokens = text.split()
            counts.add(tokens, [])
            lens.append(len(tokens))
        return cls(counts.term_major(), np.array(lens, dtype=np.float32), counts.vocab)


def write_base(gen: Path, term_counts: TermCounts, lens: array, ids: list[str]) -> None:
    tf = term_counts.term_major()  # sorted: Postings.scores looks positions up by binary search
    np.savez(
        gen / BM25,
        data=tf.data,
        indices=tf.indices,
        indptr=tf.indptr,
        shape=np.array(tf.shape),
        doc_len=np.frombuffer(lens, np.float32),
        ids=np.array(ids, dtype=str),
    )
    (gen / VOCAB).write_text(json.dumps(term_counts.vocab, ensure_ascii=False), encoding="utf-8")


@dataclass
class Postings:
    """Both segments, positioned base then delta, with the live statistics BM25 needs."""

    base: Segment
    delta: Segment
    n_live: int
    df_base: np.ndarray  # base document frequencies without the tombstoned cases
    norm: np.ndarray  # k1·(1-b+b·len/avgdl) per position

    @classmethod
    def over(cls, base: Segment, delta: Segment, alive: np.ndarray, dead: set[int]) -> Postings:
        df_base = np.diff(base.tf.indptr).astype(np.float64)
        if dead:
            dead_cols = base.tf[:, sorted(dead)]
            df_base -= np.diff(dead_cols.tocsr().indptr)
        lens = np.concatenate([base.doc_len, delta.doc_len])
        n_live = int(alive.sum())
        avgdl = float(lens[alive].mean()) if n_live else 1.0
        norm = (K1 * (1 - B + B * lens / avgdl)).astype(np.float32)
        return cls(base, delta, n_live, df_base, norm)

    def scores(self, terms: list[str] | dict[str, float], positions: np.ndarray | None = None) -> np.ndarray:
        """BM25 (Lucene idf, k1 1.2, b 0.75) of every position, or of the sorted ``positions`` only
        (aligned with them); live statistics only.

        ``terms`` is a list (a repeated term counts again) or a mapping term -> query weight."""
        scores = np.zeros(len(self.norm) if positions is None else len(positions), dtype=np.float32)
        if not terms or self.n_live == 0 or (positions is not None and not len(positions)):
            return scores
        weights = Counter(terms) if isinstance(terms, list) else terms
        nb = self.base.tf.shape[1]
        norm = self.norm
        for term, weight in weights.items():
            tb, td = self.base.vocab.get(term), self.delta.vocab.get(term)
            df = (self.df_base[tb] if tb is not None else 0.0) + (
                self.delta.tf.indptr[td + 1] - self.delta.tf.indptr[td] if td is not None else 0.0
            )
            if df <= 0:
                continue
            idf = weight * np.log1p((self.n_live - df + 0.5) / (df + 0.5))
            for seg, col, offset in ((self.base, tb, 0), (self.delta, td, nb)):
                if col is None:
                    continue
                lo, hi = seg.tf.indptr[col], seg.tf.indptr[col + 1]
                if positions is None:
                    docs = seg.tf.indices[lo:hi] + offset
                    tf = seg.tf.data[lo:hi]
                    scores[docs] += idf * tf * (K1 + 1) / (tf + norm[docs])
                    continue
                # a few hundred asked positions: look them up in the (sorted) postings instead of
                # scoring every case that has the term
                docs = seg.tf.indices[lo:hi]
                want = positions - offset
                j = np.minimum(np.searchsorted(docs, want), max(len(docs) - 1, 0))
                hit = (docs[j] == want) if len(docs) else np.zeros(len(want), dtype=bool)
                tf = seg.tf.data[lo:hi][j[hit]]
                scores[hit] += idf * tf * (K1 + 1) / (tf + norm[positions[hit]])
        return scores
