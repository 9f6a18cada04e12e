"""API keys with an owner, an office and a role, kept hashed in one SQLite file.

A key reads ``lk_<key id>_<secret>``: the id finds the row, the secret is checked against its SHA-256
(the secret is 256 random bits, so a plain hash is as strong as a slow one and costs no latency). The
key itself is shown once, when it is created or rotated, and never stored, logged or listed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from leian.api.access.roles import Caller, Role
from leian.errors import InvalidInput, NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    owner TEXT NOT NULL,
    office TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT,
    requests_per_minute INTEGER,
    max_batches INTEGER
);
"""
_KEY = re.compile(r"^lk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
MAX_RATE = 1_000_000  # requests per minute: beyond it a limit means nothing (use 0: none)
MAX_BATCHES = 1_000
OFFICE = re.compile(r"^[\w\u4e00-\u9fff.-]{1,64}$")  # a name the audit log and listings print as is


class KeyInfo(BaseModel):
    """A key as listed: everything but the secret."""

    id: str
    owner: str
    office: str
    role: Role
    created_at: str
    rotated_at: str | None = None
    revoked_at: str | None = None
    requests_per_minute: int | None = None  # None: the service's default
    max_batches: int | None = None

    def caller(self) -> Caller:
        return Caller(
            key_id=self.id, office=self.office, role=self.role, owner=self.owner, max_batches=self.max_batches
        )


class KeyStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a revoked key stays revoked after a crash
        self._db.executescript(_SCHEMA)

    def create(self, office: str, role: Role, owner: str = "", requests_per_minute: int | None = None,
               max_batches: int | None = None) -> tuple[KeyInfo, str]:  # fmt: skip
        """A new key: its listing and the key itself (to show once)."""
        if not OFFICE.match(office):
            raise InvalidInput(
                f"office {office!r}: use 1–64 letters, digits, Chinese characters, '.', '-' or '_'"
            )
        for name, v, top in (("requests_per_minute", requests_per_minute, MAX_RATE),
                             ("max_batches", max_batches, MAX_BATCHES)):  # fmt: skip
            if v is not None and not 0 <= v <= top:
                raise InvalidInput(f"{name} must be 0 (no limit) to {top:,} (got {v})")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO keys(id, secret_sha256, owner, office, role, created_at, requests_per_minute,"
                " max_batches) VALUES (?,?,?,?,?,?,?,?)",
                (key_id, _digest(secret), owner[:200], office, Role(role).value, _now(), requests_per_minute,
                 max_batches),
            )  # fmt: skip
        return self.get(key_id), f"lk_{key_id}_{secret}"

    def rotate(self, key_id: str) -> tuple[KeyInfo, str]:
        """A new secret for the key (same id, owner, office and role); the old one stops working."""
        info = self.get(key_id)
        if info.revoked_at:
            raise InvalidInput(f"key {key_id} is revoked; create a new one instead")
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "UPDATE keys SET secret_sha256 = ?, rotated_at = ? WHERE id = ?",
                (_digest(secret), _now(), key_id),
            )
        return self.get(key_id), f"lk_{key_id}_{secret}"

    def revoke(self, key_id: str) -> KeyInfo:
        self.get(key_id)
        with self._lock:
            self._db.execute(
                "UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", (_now(), key_id)
            )
        return self.get(key_id)

    def get(self, key_id: str) -> KeyInfo:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"no key with id {key_id!r}")
        return _info(row)

    def list(self, office: str | None = None) -> list[KeyInfo]:
        sql, args = f"SELECT {_COLUMNS} FROM keys", ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY office, created_at, id", args).fetchall()
        return [_info(r) for r in rows]

    def authenticate(self, key: str) -> KeyInfo | None:
        """The live key ``key`` is, or None. Constant time in the secret."""
        m = _KEY.match(key)
        if not m:
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS}, secret_sha256 FROM keys WHERE id = ?", (m.group(1),)
            ).fetchone()
        if row is None or not hmac.compare_digest(_digest(m.group(2)), row[-1]):
            return None
        info = _info(row[:-1])
        return None if info.revoked_at else info

    def close(self) -> None:
        with self._lock:
            self._db.close()


_COLUMNS = "id, owner, office, role, created_at, rotated_at, revoked_at, requests_per_minute, max_batches"


def _info(row) -> KeyInfo:
    return KeyInfo(**dict(zip(_COLUMNS.split(", "), row, strict=True)))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["MAX_BATCHES", "MAX_RATE", "OFFICE", "KeyInfo", "KeyStore"]
