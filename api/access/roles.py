"""Who is asking: the caller a key stands for, and what its role lets it do."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    """Each role can do what the one before it can, and more."""

    reader = "reader"  # search, 量刑测算, reports, the office's batches, cases
    editor = "editor"  # + the office's documents (add, replace, delete)
    admin = "admin"  # + public judgments of the index, the office's keys, the audit log

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Caller(BaseModel):
    """The holder of a valid key. ``office`` owns what the caller creates."""

    key_id: str
    office: str
    role: Role
    owner: str = ""
    max_batches: int | None = None  # None: the service's default

    def has(self, role: Role) -> bool:
        return self.role.rank >= role.rank


__all__ = ["Caller", "Role"]
