"""A full build: a complete new generation beside the live one, swapped in (``CURRENT``) only when the
block that writes it finishes; otherwise deleted, and the previous index kept as it was."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from leian.errors import InvalidInput
from leian.indexer.postings import TermCounts
from leian.retrieval.backends.base import IndexedCase, IndexManifest, WriteReport, now_iso
from leian.retrieval.backends.embedded.bm25 import write_base
from leian.retrieval.backends.embedded.layout import (
    CASES,
    CURRENT,
    EMBEDDED_FORMAT_VERSION,
    fsync_files,
    generation_name,
    left_by_a_build,
    make_current,
    write_manifest,
)
from leian.retrieval.backends.embedded.store import SCHEMA, connect, record_audit, row_values, writes_to
from leian.retrieval.backends.embedded.vectors import write_vectors
from leian.retrieval.backends.embedded.writer_lock import building_lock

_KEPT = "the build is abandoned and the previous index kept"


@contextlib.contextmanager
def new_generation(root: str | os.PathLike, manifest: IndexManifest) -> Iterator[Builder]:
    """Write a complete new generation; swap it in only if the block finishes without error."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} exists and is not a directory")
    if (
        root.exists()
        and not (root / CURRENT).exists()
        and any(not left_by_a_build(p.name) for p in root.iterdir())
    ):
        raise InvalidInput(f"{root} is a non-empty directory that is not a leian index; choose another path")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidInput(f"cannot create the index directory {root}: {e.strerror}") from None
    with building_lock(root):
        # no other build runs now, so these are left by one that was killed
        for stale in root.glob("gen-*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        name = generation_name()
        tmp = root / f"{name}.tmp"
        with writes_to(root, _KEPT):
            tmp.mkdir()
            builder = Builder(tmp, manifest)
        try:
            yield builder
            with writes_to(root, _KEPT):
                builder.finish()
                final = root / name
                os.replace(tmp, final)
                make_current(root, final)
        except BaseException:
            builder.abort()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for old in root.glob("gen-*"):
            if old.name != final.name and not old.name.endswith(".tmp"):
                shutil.rmtree(old, ignore_errors=True)


class Builder:
    """Accumulates cases for a new generation (used through ``EmbeddedBackend.building``)."""

    def __init__(self, gen: Path, manifest: IndexManifest):
        self.gen = gen
        self.manifest = manifest.model_copy(update={"format_version": EMBEDDED_FORMAT_VERSION})
        self.con = connect(gen / CASES)
        # Nobody reads a generation before it is swapped in, and an interrupted build is deleted, so
        # it needs no journal (in WAL mode every page was written twice: to the WAL, then the file).
        # Durability comes from fsync before the swap (finish).
        self.con.execute("PRAGMA journal_mode=OFF")
        self.con.execute("PRAGMA synchronous=OFF")
        self.con.executescript(SCHEMA)
        self.con.execute("BEGIN")
        self.term_counts = TermCounts()  # the postings, and what the charge model learns from
        self.lens = array("f")
        self.ids: list[str] = []
        self.seen: set[str] = set()
        self.vectors: list[np.ndarray] = []
        self.artifacts: dict[str, bytes] = {}
        self.dates: list[str] = []
        self.licences: set[str] = set()

    def upsert(self, cases: Iterable[IndexedCase]) -> WriteReport:
        with writes_to(self.gen.parent, _KEPT):
            return self._upsert(cases)

    def _upsert(self, cases: Iterable[IndexedCase]) -> WriteReport:
        report = WriteReport()
        dim = self.manifest.dim
        for c in cases:
            cid = c.id
            if cid in self.seen:
                report.failed[cid] = "duplicate id in corpus (first occurrence kept)"
                continue
            if dim and (c.vector is None or np.asarray(c.vector).size != dim):
                report.failed[cid] = f"vector missing or not {dim}-dimensional"
                continue
            self.seen.add(cid)
            pos = len(self.ids)
            self.ids.append(cid)
            self.term_counts.add_counts(c.term_counts, c.charge_groups)
            self.lens.append(float(c.n_tokens))
            if dim:
                self.vectors.append(np.asarray(c.vector, dtype=np.float32).reshape(-1))
            if c.fields.judgment_date:
                self.dates.append(c.fields.judgment_date)
            if c.fields.licence:
                self.licences.add(c.fields.licence)
            v = row_values(c)
            self.con.execute(
                "INSERT INTO cases(id, base_pos, record, tokens, vector, court_level, province, tier, year,"
                " charges, charge_groups, facets) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                (v[0], pos, v[1], v[2], *v[4:]),
            )
            report.written += 1
        return report

    def put_artifact(self, name: str, data: bytes) -> None:
        self.artifacts[name] = data

    def finish(self) -> None:
        n = len(self.ids)
        write_base(self.gen, self.term_counts, self.lens, self.ids)
        if self.manifest.dim:
            write_vectors(self.gen, self.manifest.dim, self.vectors)
        for name, data in self.artifacts.items():
            self.con.execute("INSERT OR REPLACE INTO artifacts(name, data) VALUES (?, ?)", (name, data))
        self.con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('write_seq', '0')")
        record_audit(self.con, "build", n, self.manifest.corpus.get("name", ""))
        self.con.execute("COMMIT")
        self.con.execute("PRAGMA journal_mode=WAL")  # what readers and live updates use
        self.con.close()
        corpus = dict(self.manifest.corpus)
        if self.dates:
            corpus.update(date_from=min(self.dates), date_to=max(self.dates))
        if self.licences:
            corpus["licence"] = "; ".join(sorted(self.licences))
        self.manifest = self.manifest.model_copy(
            update={"doc_count": n, "updated_at": now_iso(), "corpus": corpus}
        )
        write_manifest(self.gen, self.manifest)
        fsync_files(self.gen)  # on disk before CURRENT names this generation

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.con.close()
