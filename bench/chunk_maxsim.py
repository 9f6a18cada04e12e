#!/usr/bin/env python3
"""Long judgments: a case's dense score as the similarity to the mean of its chunk vectors (what the
index stores) or as the best similarity over its chunks (max-sim), measured on LeCaRD.

    python bench/chunk_maxsim.py --index IDX --data ../shared/data/lecard [--split dev] \
        [--given-charges] --out-mean mean.json --out-max max.json
    python bench/paired.py mean.json max.json

The index keeps one vector per case (the normalised mean of its facts' first ``embed_chunks`` chunks).
Max-sim needs each chunk's vector, which the index does not keep, so this script reads them from the
embedding cache (``$LEIAN_HOME/embeddings.sqlite``, filled by the build: every chunk a build embedded
is there) and wraps the index's backend so that ``dense`` scores max over chunks instead; everything
else — BM25, fusion, charges, structure rerank, exclusions — is the searcher's own. Both runs go
through the same wrapper (``--mode mean`` recomputes the mean from the cached chunks), so they differ
in the dense score only. Writes two ``leian eval --per-query --format json`` reports for
``bench/paired.py``. A case whose chunks are not all cached keeps its stored vector in both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from leian.corpora.lecard import load_lecard
from leian.indexer.embedding import EmbeddingCache
from leian.indexer.embedding.chunking import document_text
from leian.retrieval.evaluate import ChargeInput, Protocol, collect_runs, evaluate_split
from leian.retrieval.search import open_searcher


class ChunkDense:
    """The backend with ``dense`` scored over per-case chunk vectors ("max" or "mean")."""

    def __init__(self, backend, chunks: dict[str, np.ndarray], mode: str):
        self._backend = backend
        self._chunks = chunks
        self.mode = mode
        ids = backend.ids()
        self._ids = ids
        self._pos = {i: j for j, i in enumerate(ids)}
        # one row per chunk, the case it belongs to alongside
        stored = backend.vectors_of(ids)
        rows, owner = [], []
        for j, i in enumerate(ids):
            m = chunks.get(i)
            m = m if m is not None else stored[i][None, :]
            rows.append(m)
            owner += [j] * len(m)
        self._rows = np.vstack(rows).astype(np.float32)
        self._owner = np.array(owner)
        self._starts = np.searchsorted(self._owner, np.arange(len(ids)))

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def _scores(self, q: np.ndarray) -> np.ndarray:
        sims = self._rows @ q
        if self.mode == "max":
            return np.maximum.reduceat(sims, self._starts)
        # mean of the chunk vectors, normalised, dotted with q == (Σ sims) / ‖Σ chunks‖
        return np.add.reduceat(sims, self._starts) / self._norms

    @property
    def _norms(self) -> np.ndarray:
        if not hasattr(self, "_norm_cache"):
            sums = np.add.reduceat(self._rows, self._starts, axis=0)
            self._norm_cache = np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        return self._norm_cache

    def dense(self, vector, filters, k, ids=None):
        if filters is not None and not any(filters.model_dump(exclude_none=True).values()):
            filters = None  # an empty Filters
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        scores = self._scores(q)
        if ids is not None:
            pool = [i for i in ids if i in self._pos]
            if filters is not None:
                allowed = {i for i, _ in self._backend.dense(vector, filters, len(self._ids), pool)}
                pool = [i for i in pool if i in allowed]
            ranked = sorted(((i, float(scores[self._pos[i]])) for i in pool), key=lambda x: (-x[1], x[0]))
            return ranked[:k]
        if filters is not None:
            raise SystemExit("chunk_maxsim: filters are not supported here")
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self._ids[j], float(scores[j])) for j in top]


def chunk_vectors(searcher) -> dict[str, np.ndarray]:
    """Each case's cached chunk vectors (the build's chunking and precision), by case id."""
    emb = searcher.embedder
    m = searcher.backend.manifest()
    emb.max_chunks = m.embed_chunks or None
    cache = emb.cache if isinstance(emb.cache, EmbeddingCache) else None
    if cache is None:
        raise SystemExit("chunk_maxsim: no embedding cache to read chunk vectors from")
    space = emb.cache_name(m.embed_precision == "int8")
    out: dict[str, np.ndarray] = {}
    missing = 0
    records = list(searcher.backend.iter_records())
    for r0 in range(0, len(records), 256):
        part = records[r0 : r0 + 256]
        texts = [document_text(r) for r in part]
        chunked = emb._chunk_many(texts, emb.passage_prompt)
        keys = [[EmbeddingCache.key(emb.passage_prompt, c) for c in cs] for cs in chunked]
        found = cache.get_many(space, [k for ks in keys for k in ks], emb.dim)
        for r, ks in zip(part, keys, strict=True):
            if ks and all(k in found for k in ks):
                out[r.id] = np.vstack([found[k] for k in ks])
            else:
                missing += 1
    print(
        f"chunk vectors for {len(out)} cases ({missing} not all cached: stored vector kept)", file=sys.stderr
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--given-charges", action="store_true")
    ap.add_argument("--out-mean", type=Path, required=True)
    ap.add_argument("--out-max", type=Path, required=True)
    args = ap.parse_args(argv)

    searcher = open_searcher(index=args.index)
    chunks = chunk_vectors(searcher)
    n = np.array([len(v) for v in chunks.values()])
    print(f"chunks per case: mean {n.mean():.2f}, one chunk {np.mean(n == 1):.1%}", file=sys.stderr)
    split = load_lecard(args.data, args.split)
    wrapped = ChunkDense(searcher.backend, chunks, "mean")
    searcher.backend = wrapped
    charges = ChargeInput.GIVEN if args.given_charges else ChargeInput.PREDICTED
    for mode, out in (("mean", args.out_mean), ("max", args.out_max)):
        wrapped.mode = mode
        searcher.clear_query_memo()
        runs = collect_runs(searcher.rank, split, list(Protocol), charges=charges)
        results = evaluate_split(split, runs, per_query=True)
        report = {
            "split": split.name,
            "setup": {"dense": f"{mode} over chunks", "charges": charges.value},
            "results": [r.model_dump(exclude_none=True) for r in results],
        }
        out.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
        means = " ".join(f"{r.protocol} {json.dumps(r.metrics)}" for r in results)
        print(f"{mode}: {means}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
