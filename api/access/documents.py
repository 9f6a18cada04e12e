"""Who owns an uploaded document, and so who may see it.

Judgments indexed by ``leian index`` are public: they have no row here. A document written through
the API belongs to the writer's office and is private to it unless sent as public. The backends know
nothing of offices: a search by one office excludes the other offices' private documents (the
exclusion the protocols use for a query's own judgment, applied before top-k), and every read by id
checks here first.

The row is written before the document reaches the index and removed only after it left it, so a
crash in between can hide a document from others a moment too long, never show it.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    public INTEGER NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_private ON documents(public, office);
"""


class DocumentOwners:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def owners(self, ids: list[str]) -> dict[str, tuple[str, bool]]:
        """id -> (office, public) for the ids that were written through the API."""
        out: dict[str, tuple[str, bool]] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                rows = self._db.execute(
                    f"SELECT id, office, public FROM documents WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                out.update({r[0]: (r[1], bool(r[2])) for r in rows})
        return out

    def hidden_from(self, office: str) -> list[str]:
        """The private documents of every other office (sorted)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM documents WHERE public = 0 AND office != ? ORDER BY id", (office,)
            ).fetchall()
        return [r[0] for r in rows]

    def claim(self, ids: list[str], office: str, public: bool) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO documents(id, office, public, written_at) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET office = excluded.office, public = excluded.public, "
                "written_at = excluded.written_at",
                [(i, office, int(public), now) for i in ids],
            )
            self._db.execute("COMMIT")

    def release(self, ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["DocumentOwners"]
