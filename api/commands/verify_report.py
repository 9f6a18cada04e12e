"""`leian verify-report FILE…`: check saved reports (json, md, html or docx).

Each report's content is checked against its SHA-256 and, given the installation (``--index`` or
``--data-dir``, as for `leian serve`, or ``--public-key FILE``), its signature: a report is
``intact``, ``altered`` (content changed — with or without its hash recomputed), or ``not issued``
by this installation (unsigned, or signed by another key). Without an installation only the hash is
checked. Prints ``OK <file> <format> <id> sha256:<hash> <verdict>`` per good file; a bad one is one
line on stderr and exit status 1 (altered or unreadable) or 3 (not issued by this installation).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leian.api.commands._common import add_backend_arguments, settings_from_args
from leian.api.signing import Verifier, installation_verifier
from leian.errors import InvalidInput
from leian.retrieval.report import verify

NOT_ISSUED = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="a saved report: .json, .md, .html or .docx")
    p.add_argument("--public-key", metavar="PEM", help="the installation's public key (signing-key.pub.pem)")
    p.add_argument("--data-dir", help="the service's data directory (default: next to the index)")
    add_backend_arguments(p)


def _verifier(args: argparse.Namespace) -> Verifier | None:
    if args.public_key:
        return Verifier.from_pem(Path(args.public_key))
    settings = settings_from_args(args, data_dir=args.data_dir)
    if settings.data_dir is None and not settings.index:
        return None
    return installation_verifier(settings.resolved_data_dir())


def run(args: argparse.Namespace) -> int:
    verifier = _verifier(args)
    status = 0
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise InvalidInput(f"{name}: no such file")
        res = verify(path, verifier)
        if not res.ok:
            print(f"leian verify-report: {name}: {res.verdict.upper().replace('_', ' ')} ({res.format}): "
                  f"{res.message}", file=sys.stderr)  # fmt: skip
            status = max(status, NOT_ISSUED if res.verdict == "not_issued" else 1)
            continue
        note = " (rendering not checked: " + res.message + ")" if res.rendering_checked is False else ""
        print(f"OK {name} {res.format} {res.id} sha256:{res.sha256} {res.verdict}{note}")
    return status
