"""Candidate generation: the cases a query ranks, with their BM25 and dense scores.

Excluded ids (the query's own judgment, say) leave here, before anything is scored: they never join
the normalisation pool, never vote on the charges and never fill a slot of the top k.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from leian.retrieval.backends.base import Backend, Scored
from leian.retrieval.models import Filters
from leian.retrieval.search.config import SearchConfig


@dataclass(frozen=True)
class Candidates:
    """Parallel arrays over the candidate pool, in pool order (lexical first, then dense, then the rest)."""

    ids: list[str]
    bm25: np.ndarray  # BM25 score (0.0 when BM25 is off)
    dense: np.ndarray  # inner product with the query vector (0.0 when dense is off)
    reference: np.ndarray  # positions of the normalisation pool: the top ``candidates`` of each list
    stage1: frozenset[str] = frozenset()  # the first stage's cases, when ``stage1_depth`` is set
    lexical_top: list[Scored] = field(default_factory=list)  # BM25's own order (charge votes may use it)
    has_dense: bool = False


def _without(scored: list[Scored], exclude: frozenset[str], k: int) -> list[Scored]:
    """The top ``k`` of a list fetched ``len(exclude)`` deeper, once the excluded are out."""
    return [s for s in scored if s[0] not in exclude][:k] if exclude else scored[:k]


def gather(
    backend: Backend,
    cfg: SearchConfig,
    terms: dict[str, float],
    query_vector: Callable[[], np.ndarray | None],
    filters: Filters,
    *,
    depth: int,
    exclude: frozenset[str] = frozenset(),
    restrict: list[str] | None = None,
    stage1_terms: dict[str, float] | None = None,
    timings: dict[str, float] | None = None,
) -> Candidates:
    """The pool of cases to score: the top ``depth`` of BM25 and of the dense search (each asked for
    as many more as there are exclusions, so ``depth`` survive them), the first stage and ``restrict``,
    every one scored by both sides. ``query_vector`` is called after BM25 has run, so a caller can
    embed the query meanwhile."""
    timings = {} if timings is None else timings
    extra = len(exclude)
    k_stat = cfg.candidates
    t = time.perf_counter()
    lex = _without(backend.lexical(terms, filters, depth + extra), exclude, depth) if cfg.use_bm25 else []
    timings["bm25"] = _ms(t)
    qvec = query_vector()
    dense: list[Scored] = []
    if qvec is not None:
        t = time.perf_counter()
        dense = _without(backend.dense(qvec, filters, depth + extra), exclude, depth)
        timings["dense"] = _ms(t)
    # The normalisation pool is the top `candidates` of each list: fixed per query, so a case's score
    # does not depend on how deep the caller ranks or which candidates it re-ranks.
    stat_ids = list(dict.fromkeys([i for i, _ in lex[:k_stat]] + [i for i, _ in dense[:k_stat]]))
    stage1: frozenset[str] = frozenset()
    if stage1_terms is not None:
        stage1 = frozenset(
            i
            for i, _ in _without(
                backend.lexical(stage1_terms, filters, cfg.stage1_depth + extra), exclude, cfg.stage1_depth
            )
        )
    pool = [
        i
        for i in dict.fromkeys(
            stat_ids + sorted(stage1) + [i for i, _ in lex] + [i for i, _ in dense] + (restrict or [])
        )
        if i not in exclude
    ]
    bm25, cos = dict(lex), dict(dense)
    missing_b = [i for i in pool if i not in bm25]
    if cfg.use_bm25 and missing_b:
        bm25.update(backend.lexical(terms, filters, len(missing_b), ids=missing_b))
    missing_d = [i for i in pool if i not in cos]
    if qvec is not None and missing_d:
        cos.update(backend.dense(qvec, filters, len(missing_d), ids=missing_d))
    # a case the filters rule out comes back from neither side
    pool = [i for i in pool if (i in bm25 or not cfg.use_bm25) and (i in cos or qvec is None)]
    in_stat = set(stat_ids)
    reference = np.array([j for j, i in enumerate(pool) if i in in_stat] or range(len(pool)), dtype=np.int64)
    return Candidates(
        ids=pool,
        bm25=np.array([bm25.get(i, 0.0) for i in pool], dtype=np.float64),
        dense=np.array([cos.get(i, 0.0) for i in pool], dtype=np.float64),
        reference=reference,
        stage1=stage1,
        lexical_top=lex,
        has_dense=qvec is not None,
    )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


__all__ = ["Candidates", "gather"]
