"""``EmbeddedBackend``: searches the live generation of an index directory and writes to it.

Incremental writes (add / update / delete) are single SQLite transactions on the live generation: new
cases go to the delta segment, deleted base cases are tombstoned. Readers notice writes from other
processes through the write sequence in SQLite and reload.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from leian.corpora.record import CaseRecord
from leian.errors import IndexCorrupt, IndexError_, IndexIncompatible, IndexMissing
from leian.retrieval.backends.base import BackendKind, IndexedCase, IndexManifest, Scored, WriteReport
from leian.retrieval.backends.embedded.builder import Builder, new_generation
from leian.retrieval.backends.embedded.layout import CASES, current_generation, read_manifest
from leian.retrieval.backends.embedded.state import State, load_state
from leian.retrieval.backends.embedded.store import (
    bump,
    connect,
    disk_failure,
    record_audit,
    row_values,
    write_seq,
    writes_to,
)
from leian.retrieval.backends.embedded.writer_lock import updating_lock
from leian.retrieval.models import Filters


class EmbeddedBackend:
    """Reads and incrementally writes an embedded index directory."""

    name = BackendKind.embedded.value

    def __init__(self, root: str | os.PathLike, *, _gen: Path | None = None):
        self.root = Path(root)
        self._gen = _gen or current_generation(self.root)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._manifest = read_manifest(self.root, self._gen)
        self._state = self._load()
        self._state_lock = threading.Lock()

    @staticmethod
    def building(
        root: str | os.PathLike, manifest: IndexManifest
    ) -> contextlib.AbstractContextManager[Builder]:
        """Write a complete new generation; swap it in only if the block finishes without error."""
        return new_generation(root, manifest)

    # ------------------------------------------------------------------ opening
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "gen", None) != self._gen:
            con = connect(self._gen / CASES)
            self._local.con, self._local.gen = con, self._gen
        return con

    def _load(self) -> State:
        try:
            return load_state(self._con(), self._gen, self._manifest)
        # BadZipFile: a truncated bm25.npz; RuntimeError: faiss's error for an unreadable vectors.faiss
        except (
            OSError,
            ValueError,
            KeyError,
            EOFError,
            RuntimeError,
            zipfile.BadZipFile,
            sqlite3.DatabaseError,
        ) as e:
            if disk_failure(e):  # the files may be intact: a rebuild would fail the same way
                raise IndexError_(
                    f"{self._gen}: cannot be opened ({e}; is the disk full? Even to read, SQLite "
                    "writes a small shared-memory file beside the index)"
                ) from e
            raise IndexCorrupt(
                f"{self._gen}: cannot be read ({type(e).__name__}: {e}); rebuild the index"
            ) from e

    def _fresh(self, *, strict: bool = False) -> State:
        """The current state, reloaded if another process (or a rebuild) changed the index. When the
        index has gone or is damaged, reads go on from what is loaded; ``strict`` (a write) raises."""
        try:
            gen = current_generation(self.root)
        except (IndexMissing, IndexCorrupt):
            if strict:
                raise
            return self._state  # keep serving the loaded generation
        if gen != self._gen:
            with self._state_lock:
                if gen != self._gen:
                    self._gen = gen
                    self._manifest = read_manifest(self.root, gen)
                    self._state = self._load()
            return self._state
        seq = write_seq(self._con())
        if seq is not None and seq != self._state.write_seq:
            with self._state_lock:
                self._state = self._load()
        return self._state

    # ------------------------------------------------------------------ reading
    def manifest(self) -> IndexManifest:
        st = self._fresh()
        return self._manifest.model_copy(
            update={"doc_count": st.n_live, "snapshot": f"{self._gen.name}.{st.write_seq}"}
        )

    def count(self) -> int:
        return self._fresh().n_live

    def ids(self) -> list[str]:
        st = self._fresh()
        return sorted(st.ids[st.alive].tolist())

    def lexical(
        self,
        terms: list[str] | dict[str, float],
        filters: Filters | None,
        k: int,
        ids: list[str] | None = None,
    ) -> list[Scored]:
        st = self._fresh()
        if ids is not None:  # score exactly these cases (zeros included), not the whole corpus
            pos = st.asked(filters, ids)
            return st.ranked(pos, st.postings.scores(terms, pos), k)
        return st.top(st.postings.scores(terms), st.allowed(filters), k, keep_zero=False)

    def dense(
        self, vector: np.ndarray, filters: Filters | None, k: int, ids: list[str] | None = None
    ) -> list[Scored]:
        st = self._fresh()
        if st.vectors is None:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != st.vectors.shape[1]:
            raise IndexIncompatible(
                f"query vector has {q.shape[0]} dims, the index {st.vectors.shape[1]}: "
                "the index was built with another embedding model"
            )
        if ids is not None:
            pos = st.asked(filters, ids)
            return st.ranked(pos, st.vectors[pos] @ q, k)
        scores = st.vectors @ q  # exact: flat inner product over live rows (dead rows are zeroed)
        return st.top(scores, st.allowed(filters), k, keep_zero=True)

    def _columns(self, columns: str, ids: Iterable[str]) -> Iterator[tuple]:
        """(id, *columns) of these cases; ``columns`` is SQL ("record" or "facets, year")."""
        ids = list(ids)
        con = self._con()
        for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[i : i + 500]
            yield from con.execute(
                f"SELECT id, {columns} FROM cases WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]:
        return {cid: CaseRecord.from_compact_json(rec) for cid, rec in self._columns("record", ids)}

    def facets(self, ids: Iterable[str]) -> dict[str, dict]:
        return {
            cid: {**json.loads(f), "court_level": level, "year": year}
            for cid, f, level, year in self._columns("facets, court_level, year", ids)
        }

    def vectors_of(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        st = self._fresh()
        if st.vectors is None:
            return {}
        return {i: st.vectors[st.pos[i]] for i in ids if i in st.pos}

    def iter_records(self) -> Iterator[CaseRecord]:
        con = connect(self._gen / CASES)
        try:
            for (rec,) in con.execute("SELECT record FROM cases ORDER BY id"):
                yield CaseRecord.from_compact_json(rec)
        finally:
            con.close()

    def iter_indexed(self) -> Iterator[IndexedCase]:
        """Records with their stored tokens and vectors: a rebuild needs no re-tokenising/embedding."""
        st = self._fresh()
        con = connect(self._gen / CASES)
        try:
            for cid, rec, toks in con.execute("SELECT id, record, tokens FROM cases ORDER BY id"):
                # as stored: the record is decoded only if the new index asks for it
                yield IndexedCase(
                    compact=rec,
                    token_text=toks,
                    vector=None if st.vectors is None else st.vectors[st.pos[cid]].copy(),
                )
        finally:
            con.close()

    def get_artifact(self, name: str) -> bytes | None:
        row = self._con().execute("SELECT data FROM artifacts WHERE name=?", (name,)).fetchone()
        return bytes(row[0]) if row else None

    def put_artifact(self, name: str, data: bytes) -> None:
        with self._write_lock, updating_lock(self.root):
            self._writable().execute(
                "INSERT OR REPLACE INTO artifacts(name, data) VALUES (?, ?)", (name, data)
            )

    def audit(self, action: str, count: int, detail: str = "") -> None:
        record_audit(self._con(), action, count, detail)

    def audit_log(self, limit: int = 100) -> list[dict]:
        rows = self._con().execute(
            "SELECT at, action, count, detail FROM audit ORDER BY rowid DESC LIMIT ?", (limit,)
        )
        return [dict(zip(("at", "action", "count", "detail"), r, strict=True)) for r in rows]

    # ------------------------------------------------------------------ writing
    def updating(self) -> contextlib.AbstractContextManager[None]:
        """Keep builds out across several writes (``leian index --add`` of a whole file)."""
        return updating_lock(self.root)

    def _writable(self) -> sqlite3.Connection:
        """The live generation's database, under the update lock: a build may have swapped in a new
        generation since this handle last looked, and a write to the old one would be lost with it."""
        self._fresh(strict=True)
        return self._con()

    def _check_dims(self, cases: list[IndexedCase]) -> dict[str, str]:
        bad: dict[str, str] = {}
        dim = self._manifest.dim
        for c in cases:
            if dim and c.vector is not None and np.asarray(c.vector).size != dim:
                bad[c.id] = f"vector has {np.asarray(c.vector).size} dims, the index {dim}"
            elif dim and c.vector is None:
                bad[c.id] = "missing vector: this index stores embeddings"
        return bad

    def upsert(self, cases: Iterable[IndexedCase]) -> WriteReport:
        cases = list(cases)
        with self._write_lock, updating_lock(self.root), writes_to(self.root, "nothing was changed"):
            con = self._writable()
            report = WriteReport(failed=self._check_dims(cases))  # against the generation written to
            good = [c for c in cases if c.id not in report.failed]
            if not good:
                return report
            with _transaction(con):
                for c in good:
                    old = con.execute("SELECT base_pos FROM cases WHERE id=?", (c.id,)).fetchone()
                    if old is not None and old[0] is not None:
                        con.execute("INSERT OR IGNORE INTO tombstones(base_pos) VALUES (?)", (old[0],))
                    con.execute("DELETE FROM cases WHERE id=?", (c.id,))
                    con.execute(
                        "INSERT INTO cases(id, base_pos, record, tokens, vector, court_level, province, tier,"
                        " year, charges, charge_groups, facets) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row_values(c),
                    )
                bump(con, "upsert", len(good))
        report.written = len(good)
        self._fresh()
        return report

    def delete(self, ids: Iterable[str]) -> WriteReport:
        ids = list(dict.fromkeys(ids))
        report = WriteReport()
        with self._write_lock, updating_lock(self.root), writes_to(self.root, "nothing was changed"):
            con = self._writable()
            with _transaction(con):
                for cid in ids:
                    old = con.execute("SELECT base_pos FROM cases WHERE id=?", (cid,)).fetchone()
                    if old is None:
                        report.failed[cid] = "no such case"
                        continue
                    if old[0] is not None:
                        con.execute("INSERT OR IGNORE INTO tombstones(base_pos) VALUES (?)", (old[0],))
                    con.execute("DELETE FROM cases WHERE id=?", (cid,))
                    report.deleted += 1
                if report.deleted:
                    bump(con, "delete", report.deleted)
        self._fresh()
        return report

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


@contextlib.contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.OperationalError):  # SQLite may have rolled back itself
            con.execute("ROLLBACK")
        raise
