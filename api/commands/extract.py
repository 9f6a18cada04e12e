"""`leian extract PATH…`: print the structured case record of each judgment, one JSON object per line.

Input is anything ``leian.corpora.loaders.load`` reads (the format is detected, or given with
``--input-format``). Output fields are ``EXTRACT_FIELDS`` (corpora/record.py) in that order;
``--spans`` adds where each value came from (character offsets into the judgment's full text).

Bad input never stops the run: each unreadable item is one line on stderr naming the file and line,
the counts are printed on stderr at the end, and the exit status is non-zero only when nothing at
all could be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from leian.corpora.loaders import load
from leian.errors import CorpusReadError, LeianError
from leian.indexer.extract import extract, extract_fields


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="a corpus file or directory (JSONL, JSONL.gz, …)")
    p.add_argument(
        "--format",
        choices=["jsonl", "pretty"],
        default="jsonl",
        help="jsonl: one object per line (default); pretty: indented JSON objects",
    )
    p.add_argument("--input-format", default="auto", help="input format for the loader (default: detect)")
    p.add_argument("--spans", action="store_true", help="add the text span of every extracted value")


def run(args: argparse.Namespace) -> int:
    counts = {"read": 0, "printed": 0, "problems": 0, "warnings": 0}

    def problem(msg: str) -> None:
        counts["problems"] += 1
        print(f"leian extract: {msg}", file=sys.stderr)

    indent = 2 if args.format == "pretty" else None
    out = sys.stdout
    for path in args.paths:
        try:
            for record in load(path, fmt=args.input_format, on_problem=problem):
                counts["read"] += 1
                where = record.source.path or f"{path} (id {record.id})"
                if not record.text.strip():
                    problem(f"{where}: empty text, skipped")
                    continue
                try:
                    rec = extract(record)
                except LeianError as e:
                    problem(f"{where}: {e.message}")
                    continue
                if rec.case_number is None and rec.court is None and not rec.defendants:
                    # Readable, so it is printed, but the user should know nothing was recognised.
                    counts["warnings"] += 1
                    print(
                        f"leian extract: {where}: no judgment structure found (no 案号, court or defendant)",
                        file=sys.stderr,
                    )
                out.write(
                    json.dumps(extract_fields(rec, spans=args.spans), ensure_ascii=False, indent=indent)
                )
                out.write("\n")
                counts["printed"] += 1
        except CorpusReadError as e:  # the whole file is unreadable (missing, not a corpus, broken archive)
            problem(e.message)
        except LeianError as e:
            problem(f"{path}: {e.message}")
    out.flush()
    print(
        f"leian extract: {counts['printed']} judgments extracted, {counts['problems']} problems, "
        f"{counts['warnings']} without a recognisable judgment",
        file=sys.stderr,
    )
    return 0 if counts["printed"] else 1
