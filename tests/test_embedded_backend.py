"""The embedded backend against brute-force references: BM25 (Lucene formula over the live cases),
inner products, filter semantics (``base.matches``), plus atomic builds, cross-handle visibility,
manifest checks, artifacts, audit and facets. Real index directories in tmp_path, no model."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.record import COURT_LEVELS, TIERS, CaseRecord, Defendant, Sections
from leian.errors import IndexBusy, IndexCorrupt, IndexIncompatible, IndexMissing
from leian.retrieval.backends import build_backend, new_manifest, open_backend
from leian.retrieval.backends.base import IndexedCase, facets_of, filter_fields, matches
from leian.retrieval.backends.embedded import EmbeddedBackend
from leian.retrieval.models import Filters

DIM = 16
K1, B = 1.2, 0.75
CHARGES = ["盗窃罪", "诈骗罪", "故意伤害罪", "危险驾驶罪", "抢劫罪"]
PROVINCES = ["浙江省", "湖北省", "北京市"]
VOCAB = [f"词{i:02d}" for i in range(40)]


# ------------------------------------------------------------------------------------------ corpus
def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def make_case(cid: str, tokens: list[str], rng: np.random.Generator, **fields) -> IndexedCase:
    year = fields.pop("year", int(rng.integers(2010, 2021)) if rng.random() < 0.85 else None)
    rec = CaseRecord(
        id=cid,
        text="".join(tokens),
        court_level=fields.pop("court_level", rng.choice([*COURT_LEVELS, None])),
        province=fields.pop("province", rng.choice([*PROVINCES, None])),
        judgment_date=f"{year}-05-01" if year else None,
        tier=fields.pop("tier", str(rng.choice(TIERS))),
        sections=Sections(facts="".join(tokens)),
        defendants=[
            Defendant(
                name="张某",
                charges=fields.pop("charges", [str(rng.choice(CHARGES))]),
                statutes=["刑法第二百六十四条"],
                circumstances=["自首"] if rng.random() < 0.5 else [],
            )
        ],
        amount_yuan=float(rng.integers(100, 100000)) if rng.random() < 0.7 else None,
        **fields,
    )
    return IndexedCase(record=rec, tokens=tokens, vector=_unit(rng))


def make_corpus(n: int = 60, seed: int = 0) -> list[IndexedCase]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(VOCAB) + 1)  # Zipf-like: document frequencies spread from 1 to n
    p /= p.sum()
    cases = []
    for i in range(n):
        toks = [str(t) for t in rng.choice(VOCAB, size=int(rng.integers(3, 40)), p=p)]
        cases.append(make_case(f"c{i:03d}", toks, rng))
    return cases


def manifest(name: str = "t", dim: int | None = DIM):
    return new_manifest("embedded", name, tokenizer="test-tokenizer", dim=dim, corpus={"name": name})


def build(root: Path, cases: list[IndexedCase], dim: int | None = DIM, artifacts: dict | None = None):
    with build_backend("embedded", index=str(root), manifest=manifest(root.name, dim)) as b:
        rep = b.upsert(cases)
        assert rep.written == len(cases) and not rep.failed
        for name, data in (artifacts or {}).items():
            b.put_artifact(name, data)
    return EmbeddedBackend(root)


# ------------------------------------------------------------------------------------------ references
class Live:
    """The live documents as the test believes them to be: id -> IndexedCase."""

    def __init__(self, cases: list[IndexedCase]):
        self.cases = {c.record.id: c for c in cases}

    def upsert(self, cases):
        for c in cases:
            self.cases[c.record.id] = c

    def delete(self, ids):
        for i in ids:
            self.cases.pop(i, None)

    def bm25(self, terms: list[str] | dict[str, float]) -> dict[str, float]:
        """Lucene BM25, computed from scratch: idf ln(1 + (N - df + 0.5) / (df + 0.5))."""
        docs = {cid: Counter(c.tokens) for cid, c in self.cases.items()}
        lens = {cid: len(c.tokens) for cid, c in self.cases.items()}
        n = len(docs)
        avgdl = sum(lens.values()) / n
        weights = Counter(terms) if isinstance(terms, list) else terms
        out = {cid: 0.0 for cid in docs}
        for term, w in weights.items():
            df = sum(1 for tf in docs.values() if term in tf)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for cid, tf in docs.items():
                f = tf.get(term, 0)
                if f:
                    out[cid] += w * idf * f * (K1 + 1) / (f + K1 * (1 - B + B * lens[cid] / avgdl))
        return out

    def dense(self, q: np.ndarray) -> dict[str, float]:
        return {cid: float(np.dot(c.vector, q)) for cid, c in self.cases.items()}

    def allowed(self, filters: Filters | None) -> set[str]:
        return {cid for cid, c in self.cases.items() if matches(filter_fields(c.record), filters)}


def assert_sorted(hits):
    assert hits == sorted(hits, key=lambda h: (-h[1], h[0])), "not ordered by (-score, id)"


def assert_bm25_equal(be: EmbeddedBackend, live: Live, terms) -> None:
    ref = {cid: s for cid, s in live.bm25(terms).items() if s > 0}
    got = be.lexical(terms, None, k=len(live.cases) + 50)
    assert_sorted(got)
    assert {cid for cid, _ in got} == set(ref), f"matching cases differ for {terms}"
    for cid, s in got:
        assert s == pytest.approx(ref[cid], rel=2e-5, abs=1e-6), (terms, cid)


def assert_all_bm25(be, live):
    for t in VOCAB:  # every single term: df, N and avgdl must all be live statistics
        assert_bm25_equal(be, live, [t])
    rng = np.random.default_rng(7)
    for _ in range(10):
        assert_bm25_equal(be, live, [str(t) for t in rng.choice(VOCAB, size=6)])


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture
def corpus() -> list[IndexedCase]:
    return make_corpus()


@pytest.fixture
def index(tmp_path, corpus):
    be = build(tmp_path / "idx", corpus, artifacts={"blob": b"\x00\x01built"})
    yield be
    be.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A small built index that corruption tests copy before damaging."""
    root = tmp_path_factory.mktemp("pristine") / "idx"
    build(root, make_corpus(12, seed=3)).close()
    return root


# ------------------------------------------------------------------------------------------ BM25
def test_bm25_equals_reference_on_a_fresh_build(index, corpus):
    live = Live(corpus)
    assert index.count() == len(corpus)
    assert_all_bm25(index, live)
    assert index.lexical(["没有这个词"], None, 10) == []


def test_bm25_stays_exact_through_updates_and_deletes(index, corpus):
    live = Live(corpus)
    rng = np.random.default_rng(11)
    # unique marker terms prove that old text stops matching once replaced or deleted
    updated = make_case("c005", ["新文本", "词01", "词02", "词02"], rng)
    base_victim = next(c for c in corpus if c.record.id == "c010")
    base_victim_marked = make_case("c010", [*base_victim.tokens, "将删"], rng)
    added = [make_case("n001", ["新增", "词00", "词03"], rng), make_case("n002", ["新增二", "词05"], rng)]

    old_c005 = set(next(c for c in corpus if c.record.id == "c005").tokens)
    for step in (
        lambda: (index.upsert([base_victim_marked]), live.upsert([base_victim_marked])),
        lambda: (index.upsert([updated, *added]), live.upsert([updated, *added])),
        lambda: (index.delete(["c010", "c020"]), live.delete(["c010", "c020"])),
        # a delta case updated, then deleted: the delta segment must drop it too
        lambda: (
            (index.upsert([make_case("n001", ["新增改", "词07"], rng)]),)
            + (live.upsert([make_case("n001", ["新增改", "词07"], rng)]),)
        ),
        lambda: (index.delete(["n002"]), live.delete(["n002"])),
    ):
        step()
        assert index.count() == len(live.cases)
        assert_all_bm25(index, live)

    for gone in (["将删"], ["新增"], ["新增二"]):
        assert index.lexical(gone, None, 100) == [], f"stale term {gone} still matches"
    assert [cid for cid, _ in index.lexical(["新增改"], None, 10)] == ["n001"]
    assert [cid for cid, _ in index.lexical(["新文本"], None, 10)] == ["c005"]
    # the replaced text of c005 no longer matches c005 (unless the new text has the term too)
    for term in old_c005 - set(updated.tokens):
        assert "c005" not in {cid for cid, _ in index.lexical([term], None, 1000)}
    for cid in ("c010", "c020", "n002"):
        assert cid not in {i for i, _ in index.dense(_unit(rng), None, 1000)}
    assert set(index.get(["c010", "n002", "c005"])) == {"c005"}


def test_weighted_terms_equal_repeated_terms(index, corpus):
    as_list = index.lexical(["词03", "词03", "词03", "词07", "词12"], None, 100)
    as_dict = index.lexical({"词03": 3.0, "词07": 1.0, "词12": 1.0}, None, 100)
    assert [c for c, _ in as_list] == [c for c, _ in as_dict]
    assert np.allclose([s for _, s in as_list], [s for _, s in as_dict], rtol=1e-6)
    assert_bm25_equal(index, Live(corpus), {"词03": 2.5, "词30": 0.5})


def test_scoring_given_ids_returns_exactly_those_ids_including_zeros(index, corpus):
    live = Live(corpus)
    ref = live.bm25(["词25"])
    zero = [cid for cid, s in ref.items() if s == 0 and cid != "c001"][:3]
    nonzero = [cid for cid, s in ref.items() if s > 0 and cid != "c001"][:2]
    index.delete(["c001"])
    asked = [*zero, *nonzero, "c001", "no-such-case"]
    got = dict(index.lexical(["词25"], None, k=len(asked), ids=asked))
    assert set(got) == set(zero) | set(nonzero)  # deleted and unknown ids are not cases
    assert all(got[c] == 0.0 for c in zero)
    assert all(got[c] > 0 for c in nonzero)
    # filters and k still apply
    only = index.lexical(["词25"], Filters(court_level=["基层"]), k=len(asked), ids=asked)
    assert {c for c, _ in only} == {c for c in got if live.cases[c].record.court_level == "基层"}
    assert len(index.lexical(["词25"], None, k=2, ids=asked)) == 2


def test_scoring_given_ids_equals_scoring_the_whole_corpus(index, corpus):
    # the ids fast path (binary search in the postings; a few rows of vectors) against the full scoring,
    # over base and delta segments, with a deleted and a filtered-out case among those asked
    rng = np.random.default_rng(9)
    index.upsert([make_case("n200", ["词25", "词03", "词03"], rng), make_case("n201", ["词07"], rng)])
    index.delete(["c002"])
    asked = [c.record.id for c in corpus] + ["n200", "n201", "c002", "no-such-case"]
    terms = {"词25": 1.0, "词03": 0.5, "词07": 2.0, "not-a-term": 1.0}
    full = dict(index.lexical(terms, None, k=10_000))
    got = dict(index.lexical(terms, None, k=len(asked), ids=asked))
    assert set(got) == {c.record.id for c in corpus if c.record.id != "c002"} | {"n200", "n201"}
    for cid, score in got.items():
        assert score == pytest.approx(full.get(cid, 0.0), rel=1e-6, abs=1e-7), cid
    q = rng.standard_normal(DIM).astype(np.float32)
    q /= np.linalg.norm(q)
    full_d = dict(index.dense(q, None, k=10_000))
    got_d = dict(index.dense(q, None, k=len(asked), ids=asked))
    assert set(got_d) == set(got)
    assert all(got_d[c] == pytest.approx(full_d[c], abs=1e-6) for c in got_d)
    levels = {cid: rec.court_level for cid, rec in index.get(list(got)).items()}
    only = dict(index.lexical(terms, Filters(court_level=["基层"]), k=len(asked), ids=asked))
    assert only == {c: s for c, s in got.items() if levels[c] == "基层"} and only


# ------------------------------------------------------------------------------------------ dense
def test_dense_equals_brute_force_and_never_returns_deleted(index, corpus):
    live = Live(corpus)
    rng = np.random.default_rng(5)
    newer = make_case("c003", ["词01"], rng)  # an updated vector replaces the old one
    written = [newer, make_case("n100", ["词02"], rng)]
    index.upsert(written)
    live.upsert(written)
    index.delete(["c007", "c030"])
    live.delete(["c007", "c030"])
    for _ in range(5):
        q = _unit(rng)
        ref = live.dense(q)
        got = index.dense(q, None, k=len(live.cases) + 10)
        assert_sorted(got)
        assert {c for c, _ in got} == set(ref)
        for cid, s in got:
            assert s == pytest.approx(ref[cid], abs=1e-5)
        top5 = sorted(ref.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        assert [c for c, _ in index.dense(q, None, 5)] == [c for c, _ in top5]
    assert np.allclose(index.vectors_of(["c003"])["c003"], newer.vector)
    with pytest.raises(IndexIncompatible, match="dims"):
        index.dense(np.ones(DIM + 1, dtype=np.float32), None, 3)


def test_upsert_with_a_wrong_dimension_is_reported_not_written(index):
    rng = np.random.default_rng(1)
    bad = make_case("bad1", ["词01"], rng)
    bad = IndexedCase(record=bad.record, tokens=bad.tokens, vector=np.ones(DIM + 2, dtype=np.float32))
    good = make_case("good1", ["词01"], rng)
    rep = index.upsert([bad, good])
    assert rep.written == 1 and set(rep.failed) == {"bad1"} and "dims" in rep.failed["bad1"]
    assert set(index.get(["bad1", "good1"])) == {"good1"}


# ------------------------------------------------------------------------------------------ filters
FILTERS = [
    Filters(court_level=["基层"]),
    Filters(court_level=["中级", "高级"]),
    Filters(province=["浙江省"]),
    Filters(year_from=2015),
    Filters(year_to=2013),
    Filters(year_from=2012, year_to=2016),
    Filters(tier=["指导性案例", "典型案例"]),
    Filters(charge=["盗窃"]),  # a charge name without 罪 is still its charge group
    Filters(charge=["诈骗罪", "抢劫罪"]),
    Filters(court_level=["基层"], province=["湖北省"], year_from=2011),
    Filters(court_level=["最高"], tier=["指导性案例"], charge=["危险驾驶罪"]),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: json.dumps(f.model_dump(exclude_none=True)))
def test_filters_agree_with_matches_and_apply_before_top_k(index, corpus, filters):
    rng = np.random.default_rng(3)
    # an update moves a case between filter buckets: the delta segment's columns must be used
    moved = make_case("c000", ["词00", "词01"], rng, court_level="最高", tier="指导性案例", province="北京市")
    index.upsert([moved])
    index.delete(["c002"])
    live = Live(corpus)
    live.upsert([moved])
    live.delete(["c002"])
    allowed = live.allowed(filters)
    q = _unit(rng)
    everything = index.dense(q, filters, k=1000)
    assert {c for c, _ in everything} == allowed
    lex = index.lexical(["词00"], filters, k=1000)
    assert {c for c, _ in lex} == {c for c in allowed if "词00" in live.cases[c].tokens}
    # selective filter: still k results when k exist, and they are the best k of the allowed ones
    k = min(3, len(allowed))
    ref = sorted(((c, s) for c, s in live.dense(q).items() if c in allowed), key=lambda x: (-x[1], x[0]))
    assert [c for c, _ in index.dense(q, filters, k)] == [c for c, _ in ref[:k]]


def test_deterministic_tie_break_by_id(tmp_path):
    rng = np.random.default_rng(2)
    v = _unit(rng)
    same = [
        IndexedCase(record=make_case(cid, [], rng).record, tokens=["同", "同", "异"], vector=v)
        for cid in ("z3", "z1", "z4", "z2")
    ]
    others = [make_case(f"o{i}", ["异", "他"], rng) for i in range(4)]
    be = build(tmp_path / "ties", [*same, *others])
    top2 = be.lexical(["同"], None, 2)  # the cut falls inside a 4-way tie: the smallest ids win
    assert [c for c, _ in top2] == ["z1", "z2"] and top2[0][1] == top2[1][1] > 0
    assert [c for c, _ in be.lexical(["同"], None, 10)] == ["z1", "z2", "z3", "z4"]
    assert [c for c, _ in be.dense(v, None, 3)] == ["z1", "z2", "z3"]
    for _ in range(3):  # stable across calls
        assert [c for c, _ in be.dense(v, None, 4)] == ["z1", "z2", "z3", "z4"]


# ------------------------------------------------------------------------------------------ building
def test_a_crash_mid_build_keeps_the_previous_index(index, corpus, tmp_path):
    root = index.root
    before_current = (root / "CURRENT").read_text()
    before = index.lexical(["词01", "词04"], None, 20)
    with pytest.raises(RuntimeError, match="simulated crash"):  # noqa: SIM117 - the crash is inside
        with EmbeddedBackend.building(root, manifest()) as b:
            b.upsert(make_corpus(30, seed=9))
            raise RuntimeError("simulated crash")
    assert (root / "CURRENT").read_text() == before_current
    assert not list(root.glob("*.tmp"))
    for be in (index, EmbeddedBackend(root)):  # the open handle and a fresh one
        assert be.count() == len(corpus)
        assert be.lexical(["词01", "词04"], None, 20) == before

    # a build killed outright (no cleanup) leaves a *.tmp generation: never picked, removed next build
    leftover = root / "gen-99991231T235959-ffffff.tmp"
    shutil.copytree(root / before_current, leftover)
    (leftover / "manifest.json").write_text("garbage")
    assert EmbeddedBackend(root).lexical(["词01", "词04"], None, 20) == before
    fresh = build(root, make_corpus(5, seed=4))
    assert fresh.count() == 5 and not leftover.exists()
    assert [p.name for p in root.glob("gen-*")] == [(root / "CURRENT").read_text().strip()]


def test_building_refuses_a_directory_that_is_not_an_index(tmp_path):
    from leian.errors import InvalidInput

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not a leian index"):  # noqa: SIM117
        with EmbeddedBackend.building(tmp_path / "docs", manifest()):
            pass
    assert (tmp_path / "docs" / "thesis.txt").read_text() == "mine"


def test_other_handles_and_processes_see_writes_and_rebuilds(index, corpus):
    other = EmbeddedBackend(index.root)
    rng = np.random.default_rng(8)
    index.upsert([make_case("x1", ["只在新案"], rng)])
    assert other.count() == len(corpus) + 1
    assert [c for c, _ in other.lexical(["只在新案"], None, 5)] == ["x1"]
    snap = other.manifest().snapshot

    # a write from another process (the CLI does exactly this)
    code = (
        "from leian.retrieval.backends.embedded import EmbeddedBackend;"
        f"print(EmbeddedBackend({str(index.root)!r}).delete(['x1', 'c004']).deleted)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "2", out.stderr
    for be in (index, other):
        assert be.count() == len(corpus) - 1
        assert be.lexical(["只在新案"], None, 5) == []
        assert "c004" not in {c for c, _ in be.dense(_unit(rng), None, 1000)}
    assert other.manifest().snapshot != snap

    # a full rebuild swaps CURRENT: open handles follow it
    new = [make_case(f"r{i}", ["重建", f"词{i:02d}"], rng) for i in range(7)]
    build(index.root, new).close()
    for be in (index, other):
        assert be.count() == 7
        assert [c for c, _ in be.lexical(["重建"], None, 3)] == ["r0", "r1", "r2"]
        assert be.get(["c000"]) == {}
    assert_all_bm25(other, Live(new))


# ------------------------------------------------------------------------------- one writer at a time
def test_a_build_keeps_updates_and_other_builds_out_until_it_has_swapped(index, corpus):
    root, rng = index.root, np.random.default_rng(11)
    before = index.lexical(["词01", "词04"], None, 20)
    with EmbeddedBackend.building(root, manifest()) as b:
        b.upsert(make_corpus(8, seed=5))
        # the live index still answers, but takes no writes: the swap would undo them
        assert index.count() == len(corpus) and index.lexical(["词01", "词04"], None, 20) == before
        for write in (lambda: index.upsert([make_case("x1", ["新"], rng)]), lambda: index.delete(["c000"])):
            with pytest.raises(IndexBusy, match=rf"being rebuilt \(build by process {os.getpid()}, started "):
                write()
        # nor from another process
        code = (
            "from leian.retrieval.backends.embedded import EmbeddedBackend;"
            f"EmbeddedBackend({str(root)!r}).delete(['c001'])"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode != 0 and "IndexBusy" in out.stderr and "being rebuilt" in out.stderr
        # a second build gives up at once instead of deleting this one's generation as stale
        t = time.monotonic()
        with pytest.raises(IndexBusy, match="being rebuilt by another process"):  # noqa: SIM117
            with EmbeddedBackend.building(root, manifest()):
                pass
        assert time.monotonic() - t < 5
        assert len(list(root.glob("gen-*.tmp"))) == 1
    assert index.count() == 8
    assert index.upsert([make_case("x1", ["新"], rng)]).written == 1 and index.count() == 9
    assert sorted(EmbeddedBackend(root).ids()) == sorted([f"c{i:03d}" for i in range(8)] + ["x1"])


def test_a_build_waits_for_updates_in_flight(index, monkeypatch):
    from leian.retrieval.backends.embedded import writer_lock

    monkeypatch.setattr(writer_lock, "UPDATES_WAIT_S", 0.3)
    (index.root / writer_lock.LOCK_FILE).write_text("build by process 1, started …")  # a killed build's
    with index.updating(), pytest.raises(IndexBusy, match="being updated by another process"):  # noqa: SIM117
        with EmbeddedBackend.building(index.root, manifest()):
            pass
    # an update that ends while the build waits lets it through
    monkeypatch.setattr(writer_lock, "UPDATES_WAIT_S", 30)
    update = index.updating()
    update.__enter__()
    threading.Timer(0.3, update.__exit__, (None, None, None)).start()
    t = time.monotonic()
    build(index.root, make_corpus(3, seed=6))
    assert time.monotonic() - t >= 0.25 and EmbeddedBackend(index.root).count() == 3


def test_a_killed_build_leaves_the_directory_unlocked_and_buildable(tmp_path):
    root = tmp_path / "first"
    code = (
        "import sys, time\n"
        "from leian.retrieval.backends import new_manifest\n"
        "from leian.retrieval.backends.embedded import EmbeddedBackend\n"
        "m = new_manifest('embedded', 'first', tokenizer='test-tokenizer', dim=None)\n"
        f"with EmbeddedBackend.building({str(root)!r}, m):\n"
        "    print('building', flush=True)\n"
        "    time.sleep(600)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "building"
        with pytest.raises(IndexBusy):  # noqa: SIM117
            with EmbeddedBackend.building(root, manifest()):
                pass
    finally:
        p.kill()  # SIGKILL: no cleanup runs
        p.wait(timeout=60)
    assert {x.name for x in root.iterdir()} >= {"LOCK"} and list(root.glob("gen-*.tmp"))
    be = build(root, make_corpus(4, seed=2))  # the first build of this directory: not "not an index"
    assert be.count() == 4 and not list(root.glob("gen-*.tmp"))


def test_a_handle_opened_before_a_rebuild_writes_to_the_new_index(index):
    rng = np.random.default_rng(12)
    build(index.root, make_corpus(5, seed=3)).close()
    # no read in between: the write itself must follow CURRENT, or it lands in the deleted generation
    assert index.upsert([make_case("after", ["重建后"], rng)]).written == 1
    fresh = EmbeddedBackend(index.root)
    assert fresh.count() == 6 and list(fresh.get(["after"])) == ["after"]
    assert index.delete(["c000"]).deleted == 1 and EmbeddedBackend(index.root).count() == 5


def test_a_write_to_an_index_whose_current_is_gone_is_refused(index, corpus):
    (index.root / "CURRENT").unlink()
    with pytest.raises(IndexCorrupt, match="no CURRENT"):
        index.upsert([make_case("x1", ["新"], np.random.default_rng(1))])
    with pytest.raises(IndexCorrupt, match="no CURRENT"):
        index.delete(["c000"])
    assert index.count() == len(corpus)  # reads go on from what is loaded


# ------------------------------------------------------------------------------------------ manifest
def _damaged(pristine: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "damaged"
    shutil.copytree(pristine, root)
    return root, root / (root / "CURRENT").read_text().strip()


def test_wrong_format_version_is_incompatible(pristine, tmp_path):
    root, gen = _damaged(pristine, tmp_path)
    m = json.loads((gen / "manifest.json").read_text())
    m["format_version"] = 1
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexIncompatible, match="format 1.*rebuild"):
        EmbeddedBackend(root)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root, gen: (root / "CURRENT").unlink(), "no CURRENT"),
        (lambda root, gen: (root / "CURRENT").write_text("gen-nowhere"), "gen-nowhere.*missing"),
        (lambda root, gen: (gen / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda root, gen: (gen / "manifest.json").write_text("{not json"), "unreadable manifest"),
        (lambda root, gen: (gen / "bm25.npz").write_bytes(b"garbage" * 100), "bm25.npz|cannot be read"),
        (
            lambda root, gen: (gen / "bm25.npz").write_bytes((gen / "bm25.npz").read_bytes()[:200]),
            "cannot be read",
        ),
        (lambda root, gen: (gen / "bm25.npz").unlink(), "cannot be read"),
        (lambda root, gen: (gen / "vocab.json").write_text("[1, 2"), "cannot be read"),
        (lambda root, gen: (gen / "vectors.faiss").write_bytes(b"\x00garbage" * 50), "cannot be read"),
        (lambda root, gen: (gen / "cases.sqlite").write_bytes(b"not a database" * 500), "cannot be read"),
    ],
    ids=[
        "no-CURRENT",
        "CURRENT-dangling",
        "no-manifest",
        "garbage-manifest",
        "garbage-bm25",
        "truncated-bm25",
        "no-bm25",
        "garbage-vocab",
        "garbage-faiss",
        "garbage-sqlite",
    ],
)
def test_damaged_index_is_refused_with_a_clear_message(pristine, tmp_path, damage, message):
    root, gen = _damaged(pristine, tmp_path)
    for p in gen.glob("cases.sqlite-*"):
        p.unlink()  # WAL side files of the copied database would otherwise shadow the damage
    damage(root, gen)
    with pytest.raises(IndexCorrupt, match=message) as e:
        EmbeddedBackend(root)
    assert "rebuild" in e.value.message


def test_missing_directory_is_index_missing(tmp_path):
    with pytest.raises(IndexMissing, match="leian index"):
        EmbeddedBackend(tmp_path / "nope")
    with pytest.raises(IndexMissing):
        open_backend("embedded", index=str(tmp_path / "nope"))


def test_manifest_records_the_build(index, corpus):
    m = index.manifest()
    assert m.backend == "embedded" and m.dim == DIM and m.tokenizer == "test-tokenizer"
    assert m.doc_count == len(corpus) and m.bm25 == {"k1": 1.2, "b": 0.75, "idf": "lucene"}
    years = sorted(c.record.judgment_date for c in corpus if c.record.judgment_date)
    assert (m.corpus["date_from"], m.corpus["date_to"]) == (years[0], years[-1])
    index.delete(["c000"])
    assert index.manifest().doc_count == len(corpus) - 1


# ------------------------------------------------------------------------------------------ the rest
def test_records_round_trip_with_their_sections_stored_as_offsets(tmp_path):
    rng = np.random.default_rng(3)
    text = "某某法院 刑事判决书 被告人李某。经审理查明，李某盗窃手机一部。本院认为，李某构成盗窃罪。判决如下：……经审理查明"
    odd = [
        # cut from the text (one of them twice over: any occurrence gives the same string back)
        Sections(parties="被告人李某。", facts="经审理查明，李某盗窃手机一部。", judgment="判决如下：……"),
        Sections(facts="经审理查明"),
        # not in the text (a corpus's own field, spaced differently): kept as the string itself
        Sections(facts="经审理 查明，李某盗窃手机一部。", reasoning="本院认为，李某构成盗窃罪。"),
        Sections(),
    ]
    cases = []
    for i, sec in enumerate(odd):
        c = make_case(f"s{i}", ["词01"], rng)
        rec = c.record.model_copy(update={"text": text, "sections": sec})
        cases.append(IndexedCase(rec, tokens=c.tokens, vector=c.vector))
    build(tmp_path / "idx", cases[:2])
    be = EmbeddedBackend(tmp_path / "idx")
    be.upsert(cases[2:])  # the delta segment's rows go through the same codec
    want = {c.record.id: c.record for c in cases}
    assert be.get(list(want)) == want
    assert {r.id: r for r in be.iter_records()} == want
    assert {c.record.id: c.record for c in be.iter_indexed()} == want
    gen = tmp_path / "idx" / (tmp_path / "idx" / "CURRENT").read_text().strip()
    stored = dict(sqlite3.connect(gen / "cases.sqlite").execute("SELECT id, record FROM cases"))
    assert json.loads(stored["s0"])["sections"]["facts"] == [
        text.index("经审理查明，"),
        text.index("。本院") + 1,
    ]
    assert json.loads(stored["s2"])["sections"]["facts"] == "经审理 查明，李某盗窃手机一部。"
    assert len(stored["s0"]) < len(cases[0].record.model_dump_json())


def test_artifacts_round_trip(index):
    assert index.get_artifact("blob") == b"\x00\x01built"  # written by the builder
    assert index.get_artifact("absent") is None
    payload = bytes(range(256)) * 40
    index.put_artifact("blob", payload)
    index.put_artifact("other", b"")
    assert EmbeddedBackend(index.root).get_artifact("blob") == payload
    assert EmbeddedBackend(index.root).get_artifact("other") == b""


def test_audit_log_records_build_upsert_delete(index, corpus):
    rng = np.random.default_rng(0)
    index.upsert([make_case("a1", ["词01"], rng), make_case("a2", ["词02"], rng)])
    index.delete(["a1", "never-there"])
    log = index.audit_log()
    assert [(e["action"], e["count"]) for e in log] == [("delete", 1), ("upsert", 2), ("build", len(corpus))]
    assert log[-1]["detail"] == "idx"  # the corpus name of the manifest
    assert all(e["at"].startswith("20") for e in log)


def test_delete_reports_unknown_ids(index):
    rep = index.delete(["c001", "c001", "zzz"])
    assert rep.deleted == 1 and rep.failed == {"zzz": "no such case"}


def test_facets_equal_facets_of_each_record(index, corpus):
    rng = np.random.default_rng(4)
    changed = make_case("c009", ["词01"], rng, charges=["故意伤害罪", "寻衅滋事罪"])
    index.upsert([changed])
    live = Live(corpus)
    live.upsert([changed])
    got = index.facets(list(live.cases))
    assert set(got) == set(live.cases)
    for cid, c in live.cases.items():
        assert got[cid] == json.loads(json.dumps(facets_of(c.record), ensure_ascii=False)), cid
    assert got["c009"]["charge_groups"] == ["寻衅滋事罪", "故意伤害罪"]
    records = index.get(list(live.cases))
    assert {cid: r.model_dump() for cid, r in records.items()} == {
        cid: c.record.model_dump() for cid, c in live.cases.items()
    }


def test_an_index_without_vectors(tmp_path):
    cases = make_corpus(10, seed=6)
    be = build(tmp_path / "novec", [IndexedCase(record=c.record, tokens=c.tokens) for c in cases], dim=None)
    assert be.manifest().dim is None and not (be._gen / "vectors.faiss").exists()
    assert be.dense(np.ones(DIM, dtype=np.float32), None, 5) == []
    assert_all_bm25(be, Live(cases))
