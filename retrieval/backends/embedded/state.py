"""Everything a search of one generation needs in memory, loaded from its files as a whole."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leian.corpora.dictionaries import charge_group
from leian.retrieval.backends.base import IndexManifest, Scored
from leian.retrieval.backends.embedded.bm25 import Postings, Segment
from leian.retrieval.backends.embedded.store import write_seq
from leian.retrieval.backends.embedded.vectors import read_vectors
from leian.retrieval.models import Filters


@dataclass
class State:
    """Swapped as a whole on refresh (readers never see half a state)."""

    ids: np.ndarray  # object array: position -> case id (base, then delta)
    pos: dict[str, int]  # live cases only
    alive: np.ndarray  # bool per position
    postings: Postings
    vectors: np.ndarray | None  # (n, dim) float32; rows of dead cases are zero
    court_level: np.ndarray
    province: np.ndarray
    tier: np.ndarray
    year: np.ndarray  # int32, -1 when unknown
    charge_groups: dict[str, np.ndarray]  # group -> positions
    write_seq: int

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_live(self) -> int:
        return self.postings.n_live

    def allowed(self, filters: Filters | None) -> np.ndarray:
        """Live positions that pass ``filters`` (a bool mask), with the semantics of ``base.matches``."""
        mask = self.alive.copy()
        if filters is None or filters.is_empty():
            return mask
        if filters.court_level:
            mask &= np.isin(self.court_level, filters.court_level)
        if filters.province:
            mask &= np.isin(self.province, filters.province)
        if filters.tier:
            mask &= np.isin(self.tier, filters.tier)
        if filters.year_from is not None:
            mask &= self.year >= filters.year_from
        if filters.year_to is not None:
            mask &= (self.year <= filters.year_to) & (self.year >= 0)
        if filters.charge:
            keep = np.zeros(self.n, dtype=bool)
            for c in filters.charge:
                hit = self.charge_groups.get(charge_group(c))
                if hit is not None:
                    keep[hit] = True
            mask &= keep
        return mask

    def asked(self, filters: Filters | None, ids: list[str]) -> np.ndarray:
        """Sorted positions of the live ``ids`` that pass ``filters``."""
        pos = np.unique(np.array([self.pos[i] for i in ids if i in self.pos], dtype=np.int64))
        return pos[self.allowed(filters)[pos]]

    def top(self, scores: np.ndarray, mask: np.ndarray, k: int, keep_zero: bool) -> list[Scored]:
        """The ``k`` best positions in ``mask``, ties broken by id."""
        cand = np.flatnonzero(mask if keep_zero else mask & (scores > 0))
        if len(cand) > k:
            part = np.argpartition(-scores[cand], k - 1)[:k]
            kth = scores[cand[part]].min()
            cand = cand[scores[cand] >= kth]  # keep ties at the cut, then order deterministically
        order = sorted(cand.tolist(), key=lambda p: (-float(scores[p]), self.ids[p]))
        return [(self.ids[p], float(scores[p])) for p in order[:k]]

    def ranked(self, positions: np.ndarray, scores: np.ndarray, k: int) -> list[Scored]:
        """The ``k`` best of ``positions`` by their aligned ``scores``, ties broken by id."""
        ids = self.ids
        order = sorted(range(len(positions)), key=lambda j: (-float(scores[j]), ids[positions[j]]))
        return [(ids[positions[j]], float(scores[j])) for j in order[:k]]


def load_state(con: sqlite3.Connection, gen: Path, manifest: IndexManifest) -> State:
    base, base_ids = Segment.read_base(gen)
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
    delta = Segment.of_token_texts(r[2] for r in delta_rows)

    court = np.empty(n, dtype=object)
    prov = np.empty(n, dtype=object)
    tier = np.empty(n, dtype=object)
    year = np.full(n, -1, dtype=np.int32)
    groups: dict[str, list[int]] = {}
    index_of = {r[0]: r[1] for r in rows}
    for i, r in enumerate(delta_rows):
        index_of[r[0]] = nb + i
    for r in rows:
        p = index_of[r[0]]
        court[p], prov[p], tier[p] = r[4], r[5], r[6]
        year[p] = r[7] if r[7] is not None else -1
        for g in json.loads(r[8] or "[]"):
            groups.setdefault(g, []).append(p)

    vectors = None
    if manifest.dim:
        vectors = read_vectors(gen, manifest.dim, [r[3] for r in delta_rows], alive)

    seq = write_seq(con)
    return State(
        ids=ids,
        pos={cid: i for i, cid in enumerate(ids) if alive[i]},
        alive=alive,
        postings=Postings.over(base, delta, alive, dead),
        vectors=vectors,
        court_level=court,
        province=prov,
        tier=tier,
        year=year,
        charge_groups={g: np.array(v, dtype=np.int64) for g, v in groups.items()},
        write_seq=seq if seq is not None else 0,
    )
