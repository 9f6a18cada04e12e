"""The bundled sample corpus: 405 real LeCaRD judgments and 8 queries (see data/NOTICE-LeCaRD.md).

Small enough for the repository and the tests, real enough for a demo: it holds every judgment that
LeCaRD graded relevant (>= 1) for its 8 queries plus a spread of 138 charges. Read it with
``leian.corpora.loaders.load(sample_path())``.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

_DATA = files("leian.corpora") / "data"


def _path(name: str) -> Path:
    # The package is installed from a plain directory (editable or wheel), never a zip, so the
    # resource is a real file and as_file() returns it without copying.
    with as_file(_DATA / name) as p:
        return Path(p)


def sample_path() -> Path:
    """LeCaRD candidate format (docs.jsonl.gz fields), gzip."""
    return _path("sample.jsonl.gz")


def sample_queries_path() -> Path:
    """JSONL: ``id``, ``q`` (facts of a new case), ``source_doc_id``, ``labels`` (never an input)."""
    return _path("sample_queries.jsonl")


def notice_path() -> Path:
    return _path("NOTICE-LeCaRD.md")


__all__ = ["notice_path", "sample_path", "sample_queries_path"]
