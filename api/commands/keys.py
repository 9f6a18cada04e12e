"""`leian keys create|list|rotate|revoke`: the service's API keys, each with an owner, an office and a
role. `create` and `rotate` print the new key once, as their last line; it is never stored or shown
again. Every change is written to the audit log.

The keys are ``keys.sqlite`` in the service's data directory (next to the index, where `leian serve`
looks), or the file named by LEIAN_KEYS_DB.
"""

from __future__ import annotations

import argparse
import json
import sys

from leian.api.access import KeyInfo, KeyStore, Role
from leian.api.commands._service_data import (
    add_service_arguments,
    command_line_actor,
    open_audit,
    service_settings,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("create", help="a new key (printed once, as the last line)")
    c.add_argument("--office", required=True, help="the office (tenant) the key acts for")
    c.add_argument("--role", required=True, choices=[r.value for r in Role])
    c.add_argument("--owner", default="", help="who holds the key (a person or a system)")
    c.add_argument(
        "--rpm", type=int, help="requests per minute (default: the service's LEIAN_REQUESTS_PER_MINUTE)"
    )
    c.add_argument("--max-batches", type=int, help="batch jobs at once (default: LEIAN_MAX_BATCHES)")
    ls = sub.add_parser("list", help="the keys (never their secrets)")
    ls.add_argument("--office", help="only this office's")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    for name, what in (
        ("rotate", "a new secret for a key (the old one stops working)"),
        ("revoke", "revoke a key"),
    ):
        q = sub.add_parser(name, help=what)
        q.add_argument("key_id", metavar="KEY_ID", help="the id `leian keys list` shows")
    for q in (c, ls, *(sub.choices[n] for n in ("rotate", "revoke"))):
        add_service_arguments(q)


def run(args: argparse.Namespace) -> int:
    settings = service_settings(args)
    store = KeyStore(settings.resolved_keys_db())
    try:
        if args.action == "list":
            _print_list(store.list(office=args.office), args.format)
            return 0
        if args.action == "create":
            info, secret = store.create(args.office, Role(args.role), owner=args.owner,
                                        requests_per_minute=args.rpm, max_batches=args.max_batches)  # fmt: skip
        elif args.action == "rotate":
            info, secret = store.rotate(args.key_id)
        else:
            info, secret = store.revoke(args.key_id), None
        audit = open_audit(settings)
        try:
            audit.append(f"key_{args.action}", office=info.office, target=info.id,
                         detail={**command_line_actor(), "role": info.role.value})  # fmt: skip
        finally:
            audit.close()
    finally:
        store.close()
    print(f"{args.action}d key {info.id}: office {info.office}, role {info.role.value}"
          + (f", owner {info.owner}" if info.owner else ""), file=sys.stderr)  # fmt: skip
    if secret:
        print(secret)
    return 0


def _print_list(keys: list[KeyInfo], fmt: str) -> None:
    if fmt == "json":
        for k in keys:
            print(json.dumps(k.model_dump(mode="json"), ensure_ascii=False))
        return
    print(f"{'id':<12}  {'office':<16} {'role':<6}  {'state':<8} {'created':<25} owner")
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        print(f"{k.id:<12}  {k.office:<16} {k.role.value:<6}  {state:<8} {k.created_at:<25} {k.owner}")
