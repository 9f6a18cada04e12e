"""Access: keys (owner, office, role), per-key limits, and who owns an uploaded document.

roles       ``Role`` and ``Caller`` (the holder of a valid key)
keys        ``KeyStore``: keys hashed in SQLite; create, list, rotate, revoke, authenticate
limits      ``RateLimiter``: requests per minute per key
documents   ``DocumentOwners``: the office (and visibility) of each document written via the API
"""

from __future__ import annotations

import hashlib
import hmac

from leian.api.access.documents import DocumentOwners
from leian.api.access.keys import OFFICE, KeyInfo, KeyStore
from leian.api.access.limits import RateLimiter
from leian.api.access.roles import Caller, Role
from leian.errors import InvalidInput

NO_KEYS = (
    "no API keys: create an office's first admin key with `leian keys create --index IDX --office NAME "
    "--role admin` (or set LEIAN_API_KEYS for a single user), or disable auth explicitly for local use "
    "with --no-auth / LEIAN_AUTH_DISABLED=1"
)
LOCAL = Caller(key_id="local", office="local", role=Role.admin, owner="--no-auth")


class Access:
    """The service's keys: those of the key store, plus ``LEIAN_API_KEYS`` (admins of one office)."""

    def __init__(self, store: KeyStore, env_keys: list[str], env_office: str, *, disabled: bool = False):
        self.store = store
        self.disabled = disabled
        self._env = [
            (k.encode(), KeyInfo(id=f"env-{hashlib.sha256(k.encode()).hexdigest()[:12]}", owner="LEIAN_API_KEYS",
                                 office=env_office, role=Role.admin, created_at=""))
            for k in env_keys
        ]  # fmt: skip
        if not disabled and not self._env and not any(not k.revoked_at for k in store.list()):
            raise InvalidInput(NO_KEYS)

    def authenticate(self, key: str) -> KeyInfo | None:
        given = key.encode()
        # every environment key is compared, so the time taken does not say which one came close
        env = [info for k, info in self._env if hmac.compare_digest(given, k)]
        return env[0] if env else self.store.authenticate(key)

    def close(self) -> None:
        self.store.close()


__all__ = [
    "LOCAL",
    "OFFICE",
    "Access",
    "Caller",
    "DocumentOwners",
    "KeyInfo",
    "KeyStore",
    "RateLimiter",
    "Role",
]
