"""Shared by the extraction benches: the LeCaRD judgments as CaseRecords, read by the product's
loader (``leian.corpora.loaders``, format ``lecard``: ``qw`` is the full text).

The path defaults to ../shared/data/lecard/docs.jsonl.gz; set ``LEIAN_LECARD_DOCS`` or pass
``--docs`` to the benches to use another copy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from leian.corpora.loaders import load
from leian.corpora.record import CaseRecord

DEFAULT = Path(os.environ.get("LEIAN_LECARD_DOCS", "/work/shared/data/lecard/docs.jsonl.gz"))


def lecard_records(path: Path = DEFAULT, limit: int | None = None) -> Iterator[CaseRecord]:
    loader = load(path, fmt="lecard", on_problem=lambda p: print(f"skipped: {p}", file=sys.stderr))
    return islice(loader, limit) if limit else iter(loader)
