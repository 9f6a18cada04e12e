"""The audit log: every search, report, download, document write and key change, hash-chained and
signed (``chain``), written by the service as it answers (``middleware``)."""

from leian.api.audit.chain import GENESIS, AuditEntry, AuditLog, ChainReport, verify_chain

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "ChainReport", "verify_chain"]
