"""Case vectors: the base segment's in ``vectors.faiss`` (an exact IndexFlatIP), the delta segment's in
SQLite; searched as one float32 matrix, exactly.

``faiss`` is imported where it is used: it takes about 0.1 s, which a process that only reads the
records (or uses Elasticsearch) should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from leian.retrieval.backends.embedded.layout import VECTORS


def read_vectors(gen: Path, dim: int, delta: Sequence[bytes | None], alive: np.ndarray) -> np.ndarray:
    """(n, dim) float32 by position, base then ``delta`` (each a stored blob, or None); the rows of
    dead cases are zero, so that they score 0 and are never found."""
    import faiss  # heavy: see the module docstring

    index = faiss.read_index(str(gen / VECTORS))
    nb = len(alive) - len(delta)
    vectors = np.zeros((len(alive), dim), dtype=np.float32)
    if index.ntotal:
        vectors[:nb] = index.reconstruct_n(0, index.ntotal)
    for i, blob in enumerate(delta):
        if blob is not None:
            vectors[nb + i] = np.frombuffer(blob, dtype=np.float32)
    vectors[~alive] = 0.0
    return vectors


def write_vectors(gen: Path, dim: int, vectors: list[np.ndarray]) -> None:
    import faiss  # heavy: see the module docstring

    index = faiss.IndexFlatIP(dim)
    if vectors:
        index.add(np.vstack(vectors))
    try:
        faiss.write_index(index, str(gen / VECTORS))
    except RuntimeError as e:  # how faiss reports a failed write
        raise OSError(f"writing vectors.faiss: {e}") from e
