"""The vector cache: chunk vectors and whole-document vectors in SQLite, keyed by (model
fingerprint, sha256 of what was embedded), so re-indexing unchanged text neither embeds nor even
re-chunks it."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from leian.errors import InvalidInput
from leian.indexer.models.home import DEFAULT_HOME

log = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors in SQLite: key (model fingerprint, sha256 of what was embedded) -> float32 bytes. What
    was embedded is a chunk (``key(prompt, chunk)``) or a whole document cut into chunks and averaged
    (``key(Embedder.whole_prompt(...), text)``, whose prompt names the chunk setting).

    One connection guarded by a lock (the API serves from threads); WAL so a reader never blocks the
    writer. A rowid table, not WITHOUT ROWID: 1.5 KB rows overflow a WITHOUT ROWID b-tree's leaves and
    tripled the file (4.7 KB per 384-d vector). ``hits``/``misses`` count lookups since the cache was opened.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chunk_vectors (model TEXT NOT NULL, sha256 BLOB NOT NULL,"
                " dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, sha256))"
            )
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise InvalidInput(f"embedding cache {self.path} cannot be opened: {e}") from e
        self.hits = 0
        self.misses = 0
        self._store_failed = False

    @staticmethod
    def key(prompt: str, text: str) -> bytes:
        return hashlib.sha256((prompt + text).encode("utf-8")).digest()

    def get_many(self, model: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 500):  # SQLite's bound-parameter limit
                part = uniq[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT sha256, dim, vector FROM chunk_vectors WHERE model = ? AND sha256 IN ({marks})",
                    [model, *part],
                ).fetchall()
                for key, d, blob in rows:
                    if d == dim and len(blob) == 4 * dim:
                        found[bytes(key)] = np.frombuffer(blob, np.float32)
            hit = sum(1 for k in keys if k in found)
            self.hits += hit
            self.misses += len(keys) - hit
        return found

    def put_many(self, model: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        rows = [(model, k, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes()) for k, v in items]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO chunk_vectors VALUES (?, ?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.Error as e:
                # Only a cache (disk full, say): the vectors are used all the same, and a later index
                # of the same text computes them again. Not a reason to fail a build or a request.
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
                if not self._store_failed:
                    log.warning(
                        "embedding cache %s: cannot store vectors (%s); going on without caching them",
                        self.path,
                        e,
                    )
                self._store_failed = True

    def count(self, model: str | None = None) -> int:
        with self._lock:
            if model is None:
                return self._db.execute("SELECT COUNT(*) FROM chunk_vectors").fetchone()[0]
            return self._db.execute(
                "SELECT COUNT(*) FROM chunk_vectors WHERE model = ?", (model,)
            ).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def default_cache_path(home: Path = DEFAULT_HOME) -> Path:
    return home / "embeddings.sqlite"
