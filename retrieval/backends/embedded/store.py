"""The SQLite store of a generation (``cases.sqlite``): records, tokens, vectors of the delta segment,
filter columns, artifacts, the audit log, and the write sequence readers poll; and what a failed
write to the disk becomes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from leian.errors import DISK_ERRNOS, IndexWriteFailed
from leian.retrieval.backends.base import IndexedCase, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    base_pos INTEGER,            -- row in the base segment's arrays; NULL for delta cases
    -- small columns first: SQLite reads a row front to back, through the big ones' overflow pages
    court_level TEXT, province TEXT, tier TEXT, year INTEGER,
    charges TEXT, charge_groups TEXT,
    facets TEXT NOT NULL,        -- base.facets_of but the columns above: what the rerank reads
    vector BLOB,                 -- float32, L2-normalised
    tokens TEXT NOT NULL,        -- space-joined jieba tokens
    record TEXT NOT NULL         -- CaseRecord.to_compact_json()
);
CREATE TABLE IF NOT EXISTS tombstones (base_pos INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS artifacts (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, action TEXT NOT NULL, count INTEGER NOT NULL, detail TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# facets that are filter columns of their own: the stored facets JSON leaves them out (facets() adds them)
COLUMN_FACETS = ("court_level", "year")


def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def row_values(case: IndexedCase) -> tuple:
    """(id, record, tokens, vector, court_level, province, tier, year, charges, charge_groups, facets)."""
    f = case.fields.filters
    vec = None if case.vector is None else np.asarray(case.vector, dtype=np.float32).tobytes()
    return (
        case.id,
        case.compact,
        case.token_text,
        vec,
        f["court_level"],
        f["province"],
        f["tier"],
        f["year"],
        json.dumps(f["charges"], ensure_ascii=False),
        json.dumps(f["charge_groups"], ensure_ascii=False),
        json.dumps(
            {k: v for k, v in case.fields.facets.items() if k not in COLUMN_FACETS}, ensure_ascii=False
        ),
    )


def write_seq(con: sqlite3.Connection) -> int | None:
    """How many times the generation was written to since its build (None: not recorded)."""
    row = con.execute("SELECT value FROM meta WHERE key='write_seq'").fetchone()
    return int(row[0]) if row else None


def bump(con: sqlite3.Connection, action: str, count: int) -> None:
    """Record a write: readers see the sequence change and reload; the audit log gets an entry."""
    con.execute(
        "INSERT INTO meta(key, value) VALUES ('write_seq', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )
    record_audit(con, action, count)


def record_audit(con: sqlite3.Connection, action: str, count: int, detail: str = "") -> None:
    con.execute(
        "INSERT INTO audit(at, action, count, detail) VALUES (?, ?, ?, ?)", (now_iso(), action, count, detail)
    )


def disk_failure(e: BaseException) -> bool:
    """The disk, not the index: full, over a quota or size limit, or failing."""
    if isinstance(e, OSError):
        return e.errno in DISK_ERRNOS
    return isinstance(e, sqlite3.OperationalError) and (
        "disk I/O error" in str(e) or "disk is full" in str(e)
    )


@contextlib.contextmanager
def writes_to(root: Path, outcome: str) -> Iterator[None]:
    """A write that fails (disk full, a file size limit, an I/O error) as one clear error; the caller
    has rolled back, or throws away, what it was writing."""
    try:
        yield
    except (OSError, sqlite3.Error) as e:
        why = (e.strerror if isinstance(e, OSError) else None) or str(e)
        hint = "; is the disk full?" if disk_failure(e) else ""
        raise IndexWriteFailed(f"could not write to the index {root} ({why}{hint}); {outcome}") from e
