"""An append-only, hash-chained audit log in SQLite.

Entry ``n`` holds the hash of entry ``n-1`` (``prev``) and its own hash over all its fields with
``prev`` among them, so editing, deleting or reordering any entry breaks the chain from there on;
each hash is also signed with the installation's Ed25519 key, so rewriting the whole chain after an
edit needs that key too. Deleting the newest entries leaves a shorter chain that still verifies: a
report prints the chain head it was issued at, and ``verify_chain(..., heads=...)`` checks that each
such head is still in the log.

Hash: SHA-256 of the canonical JSON (sorted keys, UTF-8, no spaces) of
``{seq, at, key_id, office, action, target, status, input_sha256, output_sha256, detail, prev}``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    key_id TEXT,
    office TEXT,
    action TEXT NOT NULL,
    target TEXT,
    status INTEGER,
    input_sha256 TEXT,
    output_sha256 TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""
_FIELDS = ("seq", "at", "key_id", "office", "action", "target", "status", "input_sha256",
           "output_sha256", "detail", "prev", "hash", "signature")  # fmt: skip


class AuditEntry(BaseModel):
    seq: int
    at: str  # UTC, microseconds
    key_id: str | None = None
    office: str | None = None
    action: str
    target: str | None = None  # the report, batch, document or key acted on
    status: int | None = None  # the HTTP status answered (None: a command-line action)
    input_sha256: str | None = None
    output_sha256: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    prev: str
    hash: str = ""
    signature: str = ""

    def computed_hash(self) -> str:
        body = self.model_dump(exclude={"hash", "signature"})
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ChainReport(BaseModel):
    ok: bool
    entries: int
    head: str
    problems: list[str] = Field(default_factory=list)  # the first few, each naming the entry
    heads_missing: list[str] = Field(default_factory=list)


class AuditLog:
    def __init__(self, path: Path, signer):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.signer = signer
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an answered request's entry survives a crash
        self._db.executescript(_SCHEMA)

    def append(self, action: str, *, key_id: str | None = None, office: str | None = None,
               target: str | None = None, status: int | None = None, input_sha256: str | None = None,
               output_sha256: str | None = None, detail: dict[str, Any] | None = None) -> AuditEntry:  # fmt: skip
        with self._lock:
            # IMMEDIATE: another process (a `leian keys` command beside the service) appends in turn
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                entry = AuditEntry(
                    seq=(last[0] + 1) if last else 1,
                    at=datetime.now(UTC).isoformat(timespec="microseconds"),
                    key_id=key_id, office=office, action=action, target=target, status=status,
                    input_sha256=input_sha256, output_sha256=output_sha256, detail=detail or {},
                    prev=last[1] if last else GENESIS,
                )  # fmt: skip
                entry.hash = entry.computed_hash()
                entry.signature = self.signer.sign(entry.hash.encode())
                values = entry.model_dump()
                values["detail"] = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)
                self._db.execute(
                    f"INSERT INTO audit({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})",
                    [values[f] for f in _FIELDS],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return entry

    def head(self) -> str:
        with self._lock:
            row = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    def entries(
        self, office: str | None = None, since: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        sql, args = f"SELECT {', '.join(_FIELDS)} FROM audit WHERE seq > ?", [since]
        if office is not None:
            sql += " AND office = ?"
            args.append(office)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_entry(r) for r in rows]

    def iter_all(self) -> Iterator[AuditEntry]:
        """Every entry in the order it is stored (rowid), which is what a reorder would change."""
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM audit ORDER BY rowid").fetchall()
        for r in rows:
            yield _entry(r)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(row) -> AuditEntry:
    values = dict(zip(_FIELDS, row, strict=True))
    try:
        values["detail"] = json.loads(values["detail"] or "{}")
    except ValueError:
        values["detail"] = {"unreadable": values["detail"]}
    return AuditEntry(**values)


def verify_chain(entries: Iterable[AuditEntry], verifier, heads: Iterable[str] = ()) -> ChainReport:
    """Walk the log in stored order: numbering, links, hashes and signatures. ``heads`` are chain
    heads printed on reports: each must be an entry's hash (or the empty chain's)."""
    problems: list[str] = []
    seen = {GENESIS}
    prev, expected_seq, n = GENESIS, 1, 0
    for e in entries:
        n += 1
        if e.seq != expected_seq:
            problems.append(f"entry {e.seq}: expected number {expected_seq} (an entry was deleted or moved)")
        if e.prev != prev:
            problems.append(
                f"entry {e.seq}: does not follow the entry before it (deleted, inserted or reordered)"
            )
        if e.computed_hash() != e.hash:
            problems.append(f"entry {e.seq}: its content does not match its hash (edited)")
        elif verifier is not None and not verifier.valid(e.hash.encode(), e.signature):
            problems.append(f"entry {e.seq}: its signature is not this installation's (rewritten)")
        seen.add(e.hash)
        prev, expected_seq = e.hash, e.seq + 1
    missing = [h for h in dict.fromkeys(heads) if h not in seen]
    for h in missing:
        problems.append(f"chain head {h[:16]}… printed on a report is not in the log (entries removed)")
    return ChainReport(ok=not problems, entries=n, head=prev, problems=problems[:20], heads_missing=missing)
