"""Fusion of the lexical and dense scores: a weighted sum of z-scores over a fixed reference pool."""

from __future__ import annotations

import numpy as np


def zscores(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """z-scores of ``values`` with the mean and spread of ``reference`` (guarded: empty or sd 0 -> 0)."""
    if len(values) == 0 or len(reference) == 0:
        return np.zeros_like(values)
    sd = float(reference.std())
    if sd < 1e-9:
        return np.zeros_like(values)
    return (values - reference.mean()) / sd


def fuse(
    bm25: np.ndarray | None,
    dense: np.ndarray | None,
    reference: np.ndarray,
    w_bm25: float,
    w_dense: float,
) -> np.ndarray:
    """w_bm25·z(bm25) + w_dense·z(dense), z over ``reference`` (positions); a side that is None is off,
    and the other then counts alone with weight 1."""
    n = len(bm25) if bm25 is not None else len(dense) if dense is not None else 0
    fused = np.zeros(n, dtype=np.float64)
    if bm25 is not None:
        fused += (w_bm25 if dense is not None else 1.0) * zscores(bm25, bm25[reference])
    if dense is not None:
        fused += (w_dense if bm25 is not None else 1.0) * zscores(dense, dense[reference])
    return fused


def order(scores: np.ndarray, ids: list[str]) -> list[int]:
    """Positions best first, ties broken by case id (reproducible whatever the pool's order)."""
    return sorted(range(len(ids)), key=lambda j: (-scores[j], ids[j]))


__all__ = ["fuse", "order", "zscores"]
