"""The embedded backend: one directory per index, no server.

Layout (``DIR`` is what the user names)::

    DIR/CURRENT              name of the live generation (replaced atomically: os.replace)
    DIR/gen-<stamp>/         one complete, immutable-at-build generation
        manifest.json        IndexManifest, checked on load
        cases.sqlite         records, tokens, vectors, filter columns, artifacts, audit log
        bm25.npz             term-major postings (CSR: term -> cases, tf) of the base segment
        vocab.json           term -> row in bm25.npz
        vectors.faiss        IndexFlatIP over the base segment's vectors

A full build writes a new generation next to the live one and swaps ``CURRENT`` only when it is
complete, so a crash or Ctrl-C mid-build leaves the previous index fully usable. Incremental writes
(add / update / delete) are single SQLite transactions on the live generation: new cases go to a
small in-memory "delta" segment rebuilt from SQLite, deleted base cases are tombstoned, and BM25
statistics (N, df, avgdl) are computed over live cases only — Lucene's segment model, so no stale
terms or vectors survive a delete. Readers notice writes from other processes through a sequence
number in SQLite and reload the delta.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import sqlite3
import threading
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from leian.corpora.record import CaseRecord
from leian.errors import (
    DISK_ERRNOS,
    IndexCorrupt,
    IndexError_,
    IndexIncompatible,
    IndexMissing,
    IndexWriteFailed,
    InvalidInput,
)
from leian.indexer.charge_model import TermCounts
from leian.retrieval.backends.base import (
    IndexedCase,
    IndexManifest,
    Scored,
    WriteReport,
)
from leian.retrieval.backends.writer_lock import LOCK_FILE, building_lock, updating_lock
from leian.retrieval.models import Filters

K1, B = 1.2, 0.75  # Elasticsearch's defaults, so both backends score alike
# this backend's layout (Elasticsearch keeps base.FORMAT_VERSION): 2 facets stored per case,
# 3 a record's sections stored as offsets into its text
FORMAT_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    base_pos INTEGER,            -- row in the base segment's arrays; NULL for delta cases
    -- small columns first: SQLite reads a row front to back, through the big ones' overflow pages
    court_level TEXT, province TEXT, tier TEXT, year INTEGER,
    charges TEXT, charge_groups TEXT,
    facets TEXT NOT NULL,        -- base.facets_of but the columns above: what the rerank reads
    vector BLOB,                 -- float32, L2-normalised
    tokens TEXT NOT NULL,        -- space-joined jieba tokens
    record TEXT NOT NULL         -- CaseRecord.to_compact_json()
);
CREATE TABLE IF NOT EXISTS tombstones (base_pos INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS artifacts (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, action TEXT NOT NULL, count INTEGER NOT NULL, detail TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


# facets that are filter columns of their own: the stored facets JSON leaves them out (facets() adds them)
_COLUMN_FACETS = ("court_level", "year")


def _row_values(case: IndexedCase) -> tuple:
    f = case.fields.filters
    vec = None if case.vector is None else np.asarray(case.vector, dtype=np.float32).tobytes()
    return (
        case.id,
        case.compact,
        case.token_text,
        vec,
        f["court_level"],
        f["province"],
        f["tier"],
        f["year"],
        json.dumps(f["charges"], ensure_ascii=False),
        json.dumps(f["charge_groups"], ensure_ascii=False),
        json.dumps(
            {k: v for k, v in case.fields.facets.items() if k not in _COLUMN_FACETS}, ensure_ascii=False
        ),
    )


@dataclass
class _Segment:
    """Postings of one segment: term-major CSR (terms x cases) plus case lengths."""

    tf: sp.csr_matrix
    doc_len: np.ndarray
    vocab: dict[str, int]

    def columns(self, terms: list[str]) -> list[int | None]:
        return [self.vocab.get(t) for t in terms]


@dataclass
class _State:
    """Everything a search needs, swapped as a whole on refresh (readers never see half a state)."""

    ids: np.ndarray  # object array: position -> case id (base, then delta)
    pos: dict[str, int]
    alive: np.ndarray  # bool per position
    base: _Segment
    delta: _Segment
    vectors: np.ndarray | None  # (n, dim) float32; rows of dead cases are zero
    faiss_index: object | None  # IndexFlatIP over the base rows
    court_level: np.ndarray
    province: np.ndarray
    tier: np.ndarray
    year: np.ndarray  # int32, -1 when unknown
    charge_groups: dict[str, np.ndarray]  # group -> positions
    write_seq: int
    n_live: int = 0
    avgdl: float = 1.0
    df_base: np.ndarray = field(default_factory=lambda: np.zeros(0))
    norm: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # k1·(1-b+b·len/avgdl)

    @property
    def n(self) -> int:
        return len(self.ids)


class EmbeddedBackend:
    """Reads and incrementally writes an embedded index directory."""

    name = "embedded"

    def __init__(self, root: str | os.PathLike, *, _gen: Path | None = None):
        self.root = Path(root)
        self._gen = _gen or self._current_generation()
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._manifest = self._read_manifest()
        self._state = self._load()
        self._state_lock = threading.Lock()

    # ------------------------------------------------------------------ opening
    def _current_generation(self) -> Path:
        if not self.root.exists():
            raise IndexMissing(
                f"no index at {self.root}: build one with `leian index CORPUS --index {self.root}`"
            )
        cur = self.root / "CURRENT"
        if not cur.is_file():
            raise IndexCorrupt(
                f"{self.root} is not a leian index (no CURRENT file); rebuild it with `leian index`"
            )
        gen = self.root / cur.read_text().strip()
        if not gen.is_dir():
            raise IndexCorrupt(f"{self.root}: CURRENT names {gen.name}, which is missing; rebuild the index")
        return gen

    def _read_manifest(self) -> IndexManifest:
        path = self._gen / "manifest.json"
        try:
            manifest = IndexManifest.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorrupt(f"{self._gen}: manifest.json is missing; rebuild the index") from None
        except ValueError as e:
            raise IndexCorrupt(f"{path}: unreadable manifest ({str(e).splitlines()[0]}); rebuild") from None
        if manifest.format_version != FORMAT_VERSION:
            raise IndexIncompatible(
                f"{self.root} has index format {manifest.format_version}, this leian reads "
                f"{FORMAT_VERSION}; rebuild it with `leian index` (cached embeddings are reused)"
            )
        return manifest

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "gen", None) != self._gen:
            con = _connect(self._gen / "cases.sqlite")
            self._local.con, self._local.gen = con, self._gen
        return con

    def _load(self) -> _State:
        try:
            return self._load_unchecked()
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
            if _disk_failure(e):  # the files may be intact: a rebuild would fail the same way
                raise IndexError_(
                    f"{self._gen}: cannot be opened ({e}; is the disk full? Even to read, SQLite "
                    "writes a small shared-memory file beside the index)"
                ) from e
            raise IndexCorrupt(
                f"{self._gen}: cannot be read ({type(e).__name__}: {e}); rebuild the index"
            ) from e

    def _load_unchecked(self) -> _State:
        import faiss

        con = self._con()
        with np.load(self._gen / "bm25.npz") as z:
            tf = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            base_len = z["doc_len"]
            base_ids = z["ids"].astype(object)
        vocab = json.loads((self._gen / "vocab.json").read_text(encoding="utf-8"))
        base = _Segment(tf, base_len, vocab)
        nb = len(base_ids)

        # tokens and vectors are read for the (small) delta segment only; the base has its own files
        rows = con.execute(
            "SELECT id, base_pos, NULL, NULL, court_level, province, tier, year, charge_groups FROM cases"
            " WHERE base_pos IS NOT NULL"
        ).fetchall()
        delta_rows = con.execute(
            "SELECT id, base_pos, tokens, vector, court_level, province, tier, year, charge_groups FROM cases"
            " WHERE base_pos IS NULL ORDER BY id"
        ).fetchall()
        rows += delta_rows
        dead = {r[0] for r in con.execute("SELECT base_pos FROM tombstones")}
        n = nb + len(delta_rows)

        ids = np.empty(n, dtype=object)
        ids[:nb] = base_ids
        ids[nb:] = [r[0] for r in delta_rows]
        alive = np.ones(n, dtype=bool)
        if dead:
            alive[np.fromiter(dead, dtype=np.int64)] = False
        delta_counts = TermCounts()
        delta_len = np.zeros(len(delta_rows), dtype=np.float32)
        for i, r in enumerate(delta_rows):
            tokens = r[2].split()
            delta_counts.add(tokens, [])
            delta_len[i] = len(tokens)
        delta = _Segment(delta_counts.term_major(), delta_len, delta_counts.vocab)

        court = np.empty(n, dtype=object)
        prov = np.empty(n, dtype=object)
        tier = np.empty(n, dtype=object)
        year = np.full(n, -1, dtype=np.int32)
        groups: dict[str, list[int]] = {}
        index_of = {r[0]: (r[1] if r[1] is not None else None) for r in rows}
        for i, r in enumerate(delta_rows):
            index_of[r[0]] = nb + i
        for r in rows:
            p = index_of[r[0]]
            court[p], prov[p], tier[p] = r[4], r[5], r[6]
            year[p] = r[7] if r[7] is not None else -1
            for g in json.loads(r[8] or "[]"):
                groups.setdefault(g, []).append(p)

        faiss_index = None
        vectors = None
        if self._manifest.dim:
            fpath = self._gen / "vectors.faiss"
            faiss_index = faiss.read_index(str(fpath))
            vectors = np.zeros((n, self._manifest.dim), dtype=np.float32)
            if faiss_index.ntotal:
                vectors[:nb] = faiss_index.reconstruct_n(0, faiss_index.ntotal)
            for i, r in enumerate(delta_rows):
                if r[3] is not None:
                    vectors[nb + i] = np.frombuffer(r[3], dtype=np.float32)
            vectors[~alive] = 0.0

        df_base = np.diff(base.tf.indptr).astype(np.float64)
        if dead:
            dead_cols = base.tf[:, sorted(dead)]
            df_base -= np.diff(dead_cols.tocsr().indptr)
        seq = con.execute("SELECT value FROM meta WHERE key='write_seq'").fetchone()
        lens = np.concatenate([base.doc_len, delta.doc_len])
        n_live = int(alive.sum())
        state = _State(
            ids=ids,
            pos={cid: i for i, cid in enumerate(ids) if alive[i]},
            alive=alive,
            base=base,
            delta=delta,
            vectors=vectors,
            faiss_index=faiss_index,
            court_level=court,
            province=prov,
            tier=tier,
            year=year,
            charge_groups={g: np.array(v, dtype=np.int64) for g, v in groups.items()},
            write_seq=int(seq[0]) if seq else 0,
            n_live=n_live,
            avgdl=float(lens[alive].mean()) if n_live else 1.0,
            df_base=df_base,
        )
        state.norm = (K1 * (1 - B + B * lens / state.avgdl)).astype(np.float32)
        return state

    def _fresh(self, *, strict: bool = False) -> _State:
        """The current state, reloaded if another process (or a rebuild) changed the index. When the
        index has gone or is damaged, reads go on from what is loaded; ``strict`` (a write) raises."""
        try:
            gen = self._current_generation()
        except (IndexMissing, IndexCorrupt):
            if strict:
                raise
            return self._state  # keep serving the loaded generation
        if gen != self._gen:
            with self._state_lock:
                if gen != self._gen:
                    self._gen = gen
                    self._manifest = self._read_manifest()
                    self._state = self._load()
            return self._state
        seq = self._con().execute("SELECT value FROM meta WHERE key='write_seq'").fetchone()
        if seq and int(seq[0]) != self._state.write_seq:
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

    def _allowed(self, st: _State, filters: Filters | None) -> np.ndarray:
        mask = st.alive.copy()
        if filters is None or filters.is_empty():
            return mask
        from leian.corpora.dictionaries import charge_group

        if filters.court_level:
            mask &= np.isin(st.court_level, filters.court_level)
        if filters.province:
            mask &= np.isin(st.province, filters.province)
        if filters.tier:
            mask &= np.isin(st.tier, filters.tier)
        if filters.year_from is not None:
            mask &= st.year >= filters.year_from
        if filters.year_to is not None:
            mask &= (st.year <= filters.year_to) & (st.year >= 0)
        if filters.charge:
            keep = np.zeros(st.n, dtype=bool)
            for c in filters.charge:
                hit = st.charge_groups.get(charge_group(c))
                if hit is not None:
                    keep[hit] = True
            mask &= keep
        return mask

    def bm25_scores(
        self, st: _State, terms: list[str] | dict[str, float], positions: np.ndarray | None = None
    ) -> np.ndarray:
        """BM25 (Lucene idf, k1 1.2, b 0.75) of every position, or of the sorted ``positions`` only
        (aligned with them); live statistics only.

        ``terms`` is a list (a repeated term counts again) or a mapping term -> query weight."""
        scores = np.zeros(st.n if positions is None else len(positions), dtype=np.float32)
        if not terms or st.n_live == 0 or (positions is not None and not len(positions)):
            return scores
        weights = Counter(terms) if isinstance(terms, list) else terms
        nb = st.base.tf.shape[1]
        norm = st.norm
        for term, weight in weights.items():
            tb, td = st.base.vocab.get(term), st.delta.vocab.get(term)
            df = (st.df_base[tb] if tb is not None else 0.0) + (
                st.delta.tf.indptr[td + 1] - st.delta.tf.indptr[td] if td is not None else 0.0
            )
            if df <= 0:
                continue
            idf = weight * np.log1p((st.n_live - df + 0.5) / (df + 0.5))
            for seg, col, offset in ((st.base, tb, 0), (st.delta, td, nb)):
                if col is None:
                    continue
                lo, hi = seg.tf.indptr[col], seg.tf.indptr[col + 1]
                if positions is None:
                    docs = seg.tf.indices[lo:hi] + offset
                    tf = seg.tf.data[lo:hi]
                    scores[docs] += idf * tf * (K1 + 1) / (tf + norm[docs])
                    continue
                # a few hundred asked positions: look them up in the (sorted) postings instead of
                # scoring every case that has the term
                docs = seg.tf.indices[lo:hi]
                want = positions - offset
                j = np.minimum(np.searchsorted(docs, want), max(len(docs) - 1, 0))
                hit = (docs[j] == want) if len(docs) else np.zeros(len(want), dtype=bool)
                tf = seg.tf.data[lo:hi][j[hit]]
                scores[hit] += idf * tf * (K1 + 1) / (tf + norm[positions[hit]])
        return scores

    @staticmethod
    def _top(st: _State, scores: np.ndarray, mask: np.ndarray, k: int, keep_zero: bool) -> list[Scored]:
        cand = np.flatnonzero(mask if keep_zero else mask & (scores > 0))
        if len(cand) > k:
            part = np.argpartition(-scores[cand], k - 1)[:k]
            kth = scores[cand[part]].min()
            cand = cand[scores[cand] >= kth]  # keep ties at the cut, then order deterministically
        order = sorted(cand.tolist(), key=lambda p: (-float(scores[p]), st.ids[p]))
        return [(st.ids[p], float(scores[p])) for p in order[:k]]

    def _asked(self, st: _State, filters: Filters | None, ids: list[str]) -> np.ndarray:
        """Sorted positions of the live ``ids`` that pass ``filters``."""
        pos = np.unique(np.array([st.pos[i] for i in ids if i in st.pos], dtype=np.int64))
        return pos[self._allowed(st, filters)[pos]]

    @staticmethod
    def _ranked(st: _State, positions: np.ndarray, scores: np.ndarray, k: int) -> list[Scored]:
        order = sorted(range(len(positions)), key=lambda j: (-float(scores[j]), st.ids[positions[j]]))
        return [(st.ids[positions[j]], float(scores[j])) for j in order[:k]]

    def lexical(
        self,
        terms: list[str] | dict[str, float],
        filters: Filters | None,
        k: int,
        ids: list[str] | None = None,
    ) -> list[Scored]:
        st = self._fresh()
        if ids is not None:  # score exactly these cases (zeros included), not the whole corpus
            pos = self._asked(st, filters, ids)
            return self._ranked(st, pos, self.bm25_scores(st, terms, pos), k)
        return self._top(st, self.bm25_scores(st, terms), self._allowed(st, filters), k, keep_zero=False)

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
            pos = self._asked(st, filters, ids)
            return self._ranked(st, pos, st.vectors[pos] @ q, k)
        scores = st.vectors @ q  # exact: flat inner product over live rows (dead rows are zeroed)
        return self._top(st, scores, self._allowed(st, filters), k, keep_zero=True)

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
        con = _connect(self._gen / "cases.sqlite")
        try:
            for (rec,) in con.execute("SELECT record FROM cases ORDER BY id"):
                yield CaseRecord.from_compact_json(rec)
        finally:
            con.close()

    def iter_indexed(self) -> Iterator[IndexedCase]:
        """Records with their stored tokens and vectors: a rebuild needs no re-tokenising/embedding."""
        st = self._fresh()
        con = _connect(self._gen / "cases.sqlite")
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
        self._con().execute(
            "INSERT INTO audit(at, action, count, detail) VALUES (?, ?, ?, ?)",
            (_now(), action, count, detail),
        )

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
        with self._write_lock, updating_lock(self.root), _writes_to(self.root, "nothing was changed"):
            con = self._writable()
            report = WriteReport(failed=self._check_dims(cases))  # against the generation written to
            good = [c for c in cases if c.id not in report.failed]
            if not good:
                return report
            con.execute("BEGIN IMMEDIATE")
            try:
                for c in good:
                    old = con.execute("SELECT base_pos FROM cases WHERE id=?", (c.id,)).fetchone()
                    if old is not None and old[0] is not None:
                        con.execute("INSERT OR IGNORE INTO tombstones(base_pos) VALUES (?)", (old[0],))
                    con.execute("DELETE FROM cases WHERE id=?", (c.id,))
                    v = _row_values(c)
                    con.execute(
                        "INSERT INTO cases(id, base_pos, record, tokens, vector, court_level, province, tier,"
                        " year, charges, charge_groups, facets) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        v,
                    )
                _bump(con, "upsert", len(good))
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.OperationalError):  # SQLite may have rolled back itself
                    con.execute("ROLLBACK")
                raise
        report.written = len(good)
        self._fresh()
        return report

    def delete(self, ids: Iterable[str]) -> WriteReport:
        ids = list(dict.fromkeys(ids))
        report = WriteReport()
        with self._write_lock, updating_lock(self.root), _writes_to(self.root, "nothing was changed"):
            con = self._writable()
            con.execute("BEGIN IMMEDIATE")
            try:
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
                    _bump(con, "delete", report.deleted)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.OperationalError):  # SQLite may have rolled back itself
                    con.execute("ROLLBACK")
                raise
        self._fresh()
        return report

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ------------------------------------------------------------------ building
    @classmethod
    @contextlib.contextmanager
    def building(cls, root: str | os.PathLike, manifest: IndexManifest) -> Iterator[_Builder]:
        """Write a complete new generation; swap it in only if the block finishes without error."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{root} exists and is not a directory")
        if (
            root.exists()
            and not (root / "CURRENT").exists()
            and any(not _left_by_a_build(p.name) for p in root.iterdir())
        ):
            raise InvalidInput(
                f"{root} is a non-empty directory that is not a leian index; choose another path"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInput(f"cannot create the index directory {root}: {e.strerror}") from None
        with building_lock(root):
            # no other build runs now, so these are left by one that was killed
            for stale in root.glob("gen-*.tmp"):
                shutil.rmtree(stale, ignore_errors=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
            tmp = root / f"gen-{stamp}.tmp"
            with _writes_to(root, _KEPT):
                tmp.mkdir()
                builder = _Builder(tmp, manifest)
            try:
                yield builder
                with _writes_to(root, _KEPT):
                    builder.finish()
                    final = root / f"gen-{stamp}"
                    os.replace(tmp, final)
                    cur_tmp = root / "CURRENT.tmp"
                    cur_tmp.write_text(final.name)
                    with open(cur_tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.replace(cur_tmp, root / "CURRENT")
                    _fsync_dir(root)  # the renames themselves survive a power cut
            except BaseException:
                builder.abort()
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            for old in root.glob("gen-*"):
                if old.name != final.name and not old.name.endswith(".tmp"):
                    shutil.rmtree(old, ignore_errors=True)


_KEPT = "the build is abandoned and the previous index kept"


def _disk_failure(e: BaseException) -> bool:
    """The disk, not the index: full, over a quota or size limit, or failing."""
    if isinstance(e, OSError):
        return e.errno in DISK_ERRNOS
    return isinstance(e, sqlite3.OperationalError) and (
        "disk I/O error" in str(e) or "disk is full" in str(e)
    )


@contextlib.contextmanager
def _writes_to(root: Path, outcome: str) -> Iterator[None]:
    """A write that fails (disk full, a file size limit, an I/O error) as one clear error; the caller
    has rolled back, or throws away, what it was writing."""
    try:
        yield
    except (OSError, sqlite3.Error) as e:
        why = (e.strerror if isinstance(e, OSError) else None) or str(e)
        hint = "; is the disk full?" if _disk_failure(e) else ""
        raise IndexWriteFailed(f"could not write to the index {root} ({why}{hint}); {outcome}") from e


def _left_by_a_build(name: str) -> bool:
    """The lock file, and what a build killed before its first swap leaves."""
    return name in (LOCK_FILE, "CURRENT.tmp") or (name.startswith("gen-") and name.endswith(".tmp"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _bump(con: sqlite3.Connection, action: str, count: int) -> None:
    con.execute(
        "INSERT INTO meta(key, value) VALUES ('write_seq', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )
    con.execute("INSERT INTO audit(at, action, count, detail) VALUES (?, ?, ?, '')", (_now(), action, count))


class _Builder:
    """Accumulates cases for a new generation (used through ``EmbeddedBackend.building``)."""

    def __init__(self, gen: Path, manifest: IndexManifest):
        self.gen = gen
        self.manifest = manifest.model_copy(update={"format_version": FORMAT_VERSION})
        self.con = _connect(gen / "cases.sqlite")
        # Nobody reads a generation before it is swapped in, and an interrupted build is deleted, so
        # it needs no journal (in WAL mode every page was written twice: to the WAL, then the file).
        # Durability comes from fsync before the swap (finish).
        self.con.execute("PRAGMA journal_mode=OFF")
        self.con.execute("PRAGMA synchronous=OFF")
        self.con.executescript(_SCHEMA)
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
        with _writes_to(self.gen.parent, _KEPT):
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
            v = _row_values(c)
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
        import faiss

        n = len(self.ids)
        tf = self.term_counts.term_major()  # sorted: bm25_scores looks positions up by binary search
        np.savez(
            self.gen / "bm25.npz",
            data=tf.data,
            indices=tf.indices,
            indptr=tf.indptr,
            shape=np.array(tf.shape),
            doc_len=np.frombuffer(self.lens, np.float32),
            ids=np.array(self.ids, dtype=str),
        )
        vocab = self.term_counts.vocab
        (self.gen / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        if self.manifest.dim:
            index = faiss.IndexFlatIP(self.manifest.dim)
            if self.vectors:
                index.add(np.vstack(self.vectors))
            try:
                faiss.write_index(index, str(self.gen / "vectors.faiss"))
            except RuntimeError as e:  # how faiss reports a failed write
                raise OSError(f"writing vectors.faiss: {e}") from e
        for name, data in self.artifacts.items():
            self.con.execute("INSERT OR REPLACE INTO artifacts(name, data) VALUES (?, ?)", (name, data))
        self.con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('write_seq', '0')")
        self.con.execute(
            "INSERT INTO audit(at, action, count, detail) VALUES (?, 'build', ?, ?)",
            (_now(), n, self.manifest.corpus.get("name", "")),
        )
        self.con.execute("COMMIT")
        self.con.execute("PRAGMA journal_mode=WAL")  # what readers and live updates use
        self.con.close()
        now = _now()
        corpus = dict(self.manifest.corpus)
        if self.dates:
            corpus.update(date_from=min(self.dates), date_to=max(self.dates))
        if self.licences:
            corpus["licence"] = "; ".join(sorted(self.licences))
        self.manifest = self.manifest.model_copy(update={"doc_count": n, "updated_at": now, "corpus": corpus})
        (self.gen / "manifest.json").write_text(self.manifest.model_dump_json(indent=2), encoding="utf-8")
        for f in self.gen.iterdir():  # on disk before CURRENT names this generation
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.con.close()
