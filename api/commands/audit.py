"""`leian audit verify|show`: the service's audit log.

`verify` walks the whole chain: numbering, links, hashes and the installation's signatures — an
edited, deleted, inserted or reordered entry is reported by number and the exit status is 1.
`--report FILE` (repeatable) also checks that the chain head printed on each report is still in the
log, which is what catches the newest entries being cut off.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from leian.api.audit import verify_chain
from leian.api.commands._service_data import add_service_arguments, open_audit, service_settings
from leian.errors import InvalidInput, VerificationFailed
from leian.retrieval.report import embedded_data
from leian.retrieval.report.formats import ReportFormat, detect_format


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check the chain (exit 1 on any edited, deleted or reordered entry)")
    v.add_argument("--report", action="append", default=[], metavar="FILE",
                   help="a report this service issued: its chain head must be in the log")  # fmt: skip
    v.add_argument("--head", action="append", default=[], metavar="HASH", help="a chain head noted earlier")
    s = sub.add_parser("show", help="entries as JSON lines, oldest first")
    s.add_argument("--office", help="only this office's")
    s.add_argument("--since", type=int, default=0, help="entries after this number")
    s.add_argument("--limit", type=int, help="at most this many")
    for q in (v, s):
        add_service_arguments(q)


def run(args: argparse.Namespace) -> int:
    settings = service_settings(args)
    if not (settings.resolved_data_dir() / "audit.sqlite").exists():
        raise InvalidInput(
            "no audit log in the service's data directory (has the service run? see --data-dir)"
        )
    log = open_audit(settings)
    try:
        if args.action == "show":
            for e in log.entries(office=args.office, since=args.since, limit=args.limit):
                print(json.dumps(e.model_dump(mode="json"), ensure_ascii=False))
            return 0
        heads = [*args.head, *(_report_head(Path(f)) for f in args.report)]
        res = verify_chain(log.iter_all(), log.signer, heads=heads)
    finally:
        log.close()
    if not res.ok:
        raise VerificationFailed(f"audit log FAILED ({res.entries} entries): " + "; ".join(res.problems))
    print(
        f"OK audit log: {res.entries} entries, head {res.head}"
        + (f", {len(heads)} report head(s) found" if heads else "")
    )
    return 0


def _report_head(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read ({e.strerror})") from None
    fmt = detect_format(raw)
    try:
        data = json.loads(raw) if fmt is ReportFormat.JSON else embedded_data(raw, fmt)
    except ValueError:
        raise InvalidInput(f"{path}: not a readable report") from None
    head = data.get("audit_head") if isinstance(data, dict) else None
    if not head:
        raise InvalidInput(f"{path}: the report carries no audit chain head (not issued by a service)")
    return head
