"""Where the service keeps the reports it made: one SQLite file in the service's data directory.

A report is stored as its canonical JSON exactly as returned to the client, so a rendering fetched
later is of the same content (same id, same SHA-256) and an archived copy can be verified. It belongs
to the office of the key that made it: another office is told there is no such report.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
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
-- a report never changes, so neither does its rendering: made once (DOCX and HTML take ~0.5 s of
-- CPU each, which 16 clients downloading at once would otherwise queue for)
CREATE TABLE IF NOT EXISTS renderings (
    id TEXT NOT NULL,
    format TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (id, format)
);
"""
# reports kept before offices belong to the office named by LEIAN_API_KEYS_OFFICE ("default")
_OFFICE_COLUMNS = ("ALTER TABLE reports ADD COLUMN office TEXT", "ALTER TABLE reports ADD COLUMN key_id TEXT")


class ReportStore:
    def __init__(self, path: Path, legacy_office: str = "default"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # One connection shared by the threadpool, serialised by the lock (writes are tiny).
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(reports)")}
        if "office" not in columns:
            for sql in _OFFICE_COLUMNS:
                self._db.execute(sql)
            self._db.execute("UPDATE reports SET office = ? WHERE office IS NULL", (legacy_office,))

    def put(self, report_id: str, sha256: str, body: str, office: str, key_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO reports(id, sha256, created_at, body, office, key_id) VALUES (?,?,?,?,?,?)",
                (report_id, sha256, datetime.now(UTC).isoformat(timespec="seconds"), body, office, key_id),
            )

    def get(self, report_id: str, office: str) -> str:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM reports WHERE id = ? AND office = ?", (report_id, office)
            ).fetchone()
        if row is None:
            raise NotFound(f"no report with id {report_id!r}")
        return row[0]

    def rendering(self, report_id: str, office: str, fmt: str, make: Callable[[str], bytes]) -> bytes:
        """The report rendered as ``fmt`` by ``make(json body)``, kept after the first time."""
        body = self.get(report_id, office)
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM renderings WHERE id = ? AND format = ?", (report_id, fmt)
            ).fetchone()
        if row is not None:
            return row[0]
        data = make(body)  # outside the lock: other reports are served meanwhile
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO renderings(id, format, body) VALUES (?,?,?)", (report_id, fmt, data)
            )
        return data

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
