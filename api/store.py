"""Where the service keeps the reports it made: one SQLite file in the service's data directory.

A report is stored as its canonical JSON exactly as returned to the client, so a rendering fetched
later is of the same content (same id, same SHA-256) and an archived copy can be verified.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from leian.errors import NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    api_key_hint TEXT,
    body TEXT NOT NULL
);
"""


class ReportStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # One connection shared by the threadpool, serialised by the lock (writes are tiny).
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def put(self, report_id: str, sha256: str, body: str, key_hint: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO reports(id, sha256, created_at, api_key_hint, body) VALUES (?,?,?,?,?)",
                (report_id, sha256, datetime.now(UTC).isoformat(timespec="seconds"), key_hint, body),
            )

    def get(self, report_id: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT body FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise NotFound(f"no report with id {report_id!r} (reports are kept in {self.path.name})")
        return row[0]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
