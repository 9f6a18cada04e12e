"""The `leian` command line: one subcommand per task, each in ``leian.api.commands.<name>``.

Subcommand modules are imported lazily (only the one that runs), so `leian extract` does not pay
for torch. Every failure is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from leian import __version__
from leian.errors import LeianError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "extract": ("extract", "print the structured case record of each judgment (JSONL)"),
    "index": ("index", "build or update a search index from a corpus"),
    "search": ("search", "find the most similar decided cases for new facts"),
    "eval": ("eval", "score retrieval on LeCaRD (protocols A, B, C)"),
    "report": ("report", "write a 类案检索报告 for one case"),
    "verify-report": ("verify_report", "check a saved report: altered, or not issued by this installation"),
    "batch": ("batch", "write a report for every case of a JSONL file (resumable)"),
    "sentence": ("sentence", "estimate the term (量刑测算) for every case of a JSONL file"),
    "serve": ("serve", "run the HTTP API and web page"),
    "keys": ("keys", "create, list, rotate or revoke the service's API keys"),
    "audit": ("audit", "verify or show the service's hash-chained audit log"),
    "model": ("model", "build or inspect the local embedding model"),
}


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr too, like every other failure (``--help`` has the rest);
    subcommand parsers inherit this class through ``add_subparsers``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object | None]:
    parser = _Parser(prog="leian", description="类案检索 — similar-case retrieval")
    parser.add_argument("--version", action="version", version=f"leian {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (mod, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            module = importlib.import_module(f"leian.api.commands.{mod}")
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, _ = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except LeianError as e:
        print(f"leian {args.command}: error: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"leian {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
