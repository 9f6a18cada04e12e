"""Sealing a report: its content hash and its id.

Content hash: SHA-256 over the canonical JSON of the report without its ``sha256`` and ``signature``
fields (the signature is made over the hash) — keys
sorted, UTF-8 (no ASCII escaping), no insignificant whitespace (``separators=(",", ":")``), numbers
as Python's ``json`` writes them. ``verification.verify`` recomputes it from a saved copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime
from typing import Any

from leian.retrieval.report.model import Report, Signature

UNHASHED = ("sha256", "signature")


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def content_hash(data: dict[str, Any]) -> str:
    unsealed = {k: v for k, v in data.items() if k not in UNHASHED}
    return hashlib.sha256(canonical_json(unsealed)).hexdigest()


def seal(report: Report) -> Report:
    """Return the report with its ``sha256`` set (and no signature: a signature is over the hash)."""
    unsigned = report.model_copy(update={"signature": None})
    return unsigned.model_copy(update={"sha256": content_hash(unsigned.data())})


def issue(report: Report, audit_head: str, signer) -> Report:
    """The report as a service issues it: sealed with the audit chain head it was made at, and the
    hash signed by the installation (``signer``: ``fingerprint`` and ``sign(bytes) -> base64``)."""
    sealed = seal(report.model_copy(update={"audit_head": audit_head}))
    return sealed.model_copy(
        update={"signature": Signature(key=signer.fingerprint, value=signer.sign(sealed.sha256.encode()))}
    )


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_report_id(now: datetime | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, so ids sort by time."""
    ms = int(now.timestamp() * 1000) if now else time.time_ns() // 1_000_000
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


__all__ = ["canonical_json", "content_hash", "issue", "new_report_id", "seal"]
