"""`leian verify-report FILE…`: check saved reports (json, md, html or docx) against their SHA-256.

Prints ``OK <file> <format> <id> sha256:<hash>`` per file; a changed or unreadable report is one
line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from leian.errors import InvalidInput, VerificationFailed
from leian.retrieval.report import verify


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="a saved report: .json, .md, .html or .docx")


def run(args: argparse.Namespace) -> int:
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise InvalidInput(f"{name}: no such file")
        res = verify(path)
        if not res.ok:
            raise VerificationFailed(f"{name}: FAILED ({res.format}): {res.message}")
        note = " (rendering not checked: " + res.message + ")" if res.rendering_checked is False else ""
        print(f"OK {name} {res.format} {res.id} sha256:{res.sha256}{note}")
    return 0
