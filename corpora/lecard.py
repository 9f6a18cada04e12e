"""Reading the LeCaRD benchmark (SIGIR 2021, MIT licence, © 2021 myx666): queries, graded labels, pools.

A data directory holds one split as three files, named ``*.{split}.*``::

    queries.{split}.jsonl   {"id", "q", "crime", "query_type", "source_doc_id"?} per line
    qrels.{split}.tsv       query_id  doc_id  grade        (header line; grade 0..3, 3 = most relevant)
    pools.{split}.tsv       query_id  doc_id  pool_rank  labelled  grade   (header line)

``crime`` (the query's charges) is a *label*: it is loaded so that reports can break numbers down by
charge, and must never be given to the searcher.

Order matters in the qrels file: LeCaRD's ``metrics.py`` treats the first 30 labels of a query (in
file order) as the labelled candidates and the rest (a few expert-added grade-3 documents, ids 50001+)
as extra labels that only count in the ideal DCG. :meth:`LecardSplit.labelled_candidates` keeps that
rule in one place.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leian.errors import CorpusReadError, InvalidInput

LABELLED_PER_QUERY = 30  # LeCaRD labelled the top 30 of each query's pool (metrics.py: ``[:30]``)
MAX_GRADE = 3
_SPLIT_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_QRELS_HEADER = ["query_id", "doc_id", "grade"]
_POOLS_HEADER = ["query_id", "doc_id", "pool_rank", "labelled", "grade"]


class LecardQuery(BaseModel):
    """One query: the facts of a new case (``q``) and labels that must not reach the searcher."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    q: str = Field(min_length=1)
    crime: list[str] = Field(default_factory=list)  # LABEL: the query's charges, never an input
    query_type: Literal["common", "controversial"]
    source_doc_id: str | None = None  # the query's own judgment in the corpus: never return it


class PoolEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    doc_id: str
    pool_rank: int = Field(ge=1)
    labelled: bool
    grade: int = Field(ge=0, le=MAX_GRADE)


class LecardSplit(BaseModel):
    """A whole split in memory (87 dev queries: ~2,600 labels and ~8,700 pool rows)."""

    model_config = ConfigDict(frozen=True)

    name: str
    data_dir: str
    queries: list[LecardQuery]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade, in file order
    pools: dict[str, list[PoolEntry]]  # query id -> entries by pool_rank

    def query_ids(self) -> list[str]:
        return [q.id for q in self.queries]

    def labelled_candidates(self) -> dict[str, list[str]]:
        """Protocol A's candidates: the first 30 labels of each query in file order (metrics.py)."""
        return {qid: list(labels)[:LABELLED_PER_QUERY] for qid, labels in self.qrels.items()}

    def pool_ids(self) -> dict[str, list[str]]:
        """Protocol B's candidates: each query's whole pool (~100 docs, expert-added ones included)."""
        return {qid: [e.doc_id for e in entries] for qid, entries in self.pools.items()}

    def head(self, n: int) -> LecardSplit:
        """The first ``n`` queries with their labels and pools (quick checks; means then differ)."""
        if n < 1:
            raise InvalidInput(f"--limit must be at least 1, got {n}")
        keep = self.queries[:n]
        ids = {q.id for q in keep}
        return LecardSplit(
            name=self.name,
            data_dir=self.data_dir,
            queries=keep,
            qrels={k: v for k, v in self.qrels.items() if k in ids},
            pools={k: v for k, v in self.pools.items() if k in ids},
        )

    def exclusions(self) -> dict[str, list[str]]:
        """Documents a query must never get back: its own judgment, where the corpus has it."""
        return {q.id: [q.source_doc_id] if q.source_doc_id else [] for q in self.queries}


def split_paths(data_dir: str | Path, split: str = "dev") -> dict[str, Path]:
    if not _SPLIT_RE.match(split):
        raise InvalidInput(
            f"split {split!r} is not a plain name (letters, digits, '-', '_'); e.g. --split dev"
        )
    root = Path(data_dir)
    return {
        "queries": root / f"queries.{split}.jsonl",
        "qrels": root / f"qrels.{split}.tsv",
        "pools": root / f"pools.{split}.tsv",
    }


def load_lecard(data_dir: str | Path, split: str = "dev") -> LecardSplit:
    """Read and cross-check one split; every problem is a :class:`CorpusReadError` naming file and line."""
    root = Path(data_dir)
    if not root.is_dir():
        raise CorpusReadError(
            "no such directory; pass --data DIR, the folder holding queries/qrels/pools files",
            location=str(root),
        )
    paths = split_paths(root, split)
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        # the splits that are there, not every file (the folder may be any folder)
        splits = sorted(p.name[len("queries.") : -len(".jsonl")] for p in root.glob("queries.*.jsonl"))
        there = f"splits there: {', '.join(splits)}" if splits else "no queries.SPLIT.jsonl there"
        raise CorpusReadError(f"split {split!r} lacks {', '.join(missing)} ({there})", location=str(root))
    queries = _utf8(paths["queries"], _read_queries, paths["queries"])
    known = {q.id for q in queries}
    qrels = _utf8(paths["qrels"], _read_qrels, paths["qrels"], known)
    pools = _utf8(paths["pools"], _read_pools, paths["pools"], known)
    for q in queries:
        if q.id not in qrels:
            raise CorpusReadError(f"query {q.id} has no labels", location=str(paths["qrels"]))
        pool = {e.doc_id for e in pools.get(q.id, [])}
        unpooled = [d for d in qrels[q.id] if d not in pool]
        if unpooled:
            raise CorpusReadError(
                f"query {q.id}: labelled docs missing from its pool: {', '.join(unpooled[:5])}",
                location=str(paths["pools"]),
            )
    return LecardSplit(name=split, data_dir=str(root), queries=queries, qrels=qrels, pools=pools)


def _read_queries(path: Path) -> list[LecardQuery]:
    queries: list[LecardQuery] = []
    seen: set[str] = set()
    with _open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise CorpusReadError("expected a JSON object", location=where)
                # ids are numbers in some LeCaRD copies and strings in others: one type here
                for key in ("id", "source_doc_id"):
                    if isinstance(raw.get(key), int):
                        raw[key] = str(raw[key])
                query = LecardQuery.model_validate(raw)
            except json.JSONDecodeError as e:
                raise CorpusReadError(f"not JSON: {e.msg}", location=where) from None
            except ValidationError as e:
                raise CorpusReadError(_first_error(e), location=where) from None
            if query.id in seen:
                raise CorpusReadError(f"query id {query.id} appears twice", location=where)
            seen.add(query.id)
            queries.append(query)
    if not queries:
        raise CorpusReadError("no queries", location=str(path))
    return queries


def _read_qrels(path: Path, known: set[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for where, row in _tsv_rows(path, _QRELS_HEADER):
        qid, doc_id, grade = row[0], row[1], _grade(row[2], where)
        if qid not in known:
            raise CorpusReadError(f"query {qid} is not in the queries file", location=where)
        labels = qrels.setdefault(qid, {})
        if doc_id in labels:
            raise CorpusReadError(f"query {qid}, doc {doc_id} is labelled twice", location=where)
        labels[doc_id] = grade
    return qrels


def _read_pools(path: Path, known: set[str]) -> dict[str, list[PoolEntry]]:
    pools: dict[str, list[PoolEntry]] = {}
    for where, row in _tsv_rows(path, _POOLS_HEADER):
        qid = row[0]
        if qid not in known:
            raise CorpusReadError(f"query {qid} is not in the queries file", location=where)
        if row[3] not in ("0", "1"):
            raise CorpusReadError(f"labelled must be 0 or 1, got {row[3]!r}", location=where)
        try:
            entry = PoolEntry(
                doc_id=row[1], pool_rank=int(row[2]), labelled=row[3] == "1", grade=_grade(row[4], where)
            )
        except ValueError:
            raise CorpusReadError(
                f"pool_rank must be a positive integer, got {row[2]!r}", location=where
            ) from None
        pools.setdefault(qid, []).append(entry)
    for qid, entries in pools.items():
        entries.sort(key=lambda e: e.pool_rank)
        if len({e.doc_id for e in entries}) != len(entries):
            raise CorpusReadError(f"query {qid} has a document twice in its pool", location=str(path))
    return pools


def _tsv_rows(path: Path, header: list[str]):
    with _open(path) as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        first = next(reader, None)
        if first != header:
            raise CorpusReadError(
                f"expected the header {' '.join(header)!r} (tab-separated), got {first!r}",
                location=f"{path}:1",
            )
        for lineno, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != len(header):
                raise CorpusReadError(
                    f"expected {len(header)} tab-separated columns, got {len(row)}", f"{path}:{lineno}"
                )
            yield f"{path}:{lineno}", row


def _grade(text: str, where: str) -> int:
    try:
        grade = int(text)
    except ValueError:
        grade = -1
    if not 0 <= grade <= MAX_GRADE:
        raise CorpusReadError(f"grade must be an integer 0..{MAX_GRADE}, got {text!r}", location=where)
    return grade


def _utf8(path: Path, read, *args):
    try:
        return read(*args)
    except UnicodeDecodeError as e:
        raise CorpusReadError(f"not UTF-8 text (byte {e.start})", location=str(path)) from None


def _open(path: Path):
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as e:
        raise CorpusReadError(e.strerror or str(e), location=str(path)) from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "record"
    return f"{field}: {err['msg']}"


__all__ = ["LABELLED_PER_QUERY", "LecardQuery", "LecardSplit", "PoolEntry", "load_lecard", "split_paths"]
