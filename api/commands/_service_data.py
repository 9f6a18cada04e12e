"""What the commands that manage a service share: its data directory and, there, its signing key and
audit log (the same files `leian serve` uses, found from the same settings)."""

from __future__ import annotations

import argparse
import getpass

from leian.api.audit import AuditLog
from leian.api.commands._common import add_backend_arguments, settings_from_args
from leian.api.settings import Settings
from leian.api.signing import installation_signer


def add_service_arguments(p: argparse.ArgumentParser) -> None:
    add_backend_arguments(p)
    p.add_argument(
        "--data-dir", help="the service's data directory (default: next to the index, as for `leian serve`)"
    )


def service_settings(args: argparse.Namespace) -> Settings:
    settings = settings_from_args(args, data_dir=args.data_dir)
    if settings.data_dir is None and settings.keys_db is None:
        settings.require_index()  # the default place is next to the index
    return settings


def open_audit(settings: Settings) -> AuditLog:
    data_dir = settings.resolved_data_dir()
    return AuditLog(data_dir / "audit.sqlite", installation_signer(data_dir))


def command_line_actor() -> dict:
    """Who ran a command, as far as the machine knows."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"by": "command line", "user": user}
