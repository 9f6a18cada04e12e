"""The Elasticsearch backend against a real server (scripts/start-elasticsearch, or LEIAN_ES_URL).

Real judgments, real tokens; vectors are deterministic random unit vectors (the backend only stores
and searches them, so the model does not matter here). Each test module run uses its own index names
and drops them at the end.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import secrets
import socket
import threading
import time
from collections import Counter

import numpy as np
import pytest

from leian.corpora.record import CaseRecord, Sections
from leian.errors import (
    BackendError,
    BackendUnavailable,
    IndexBusy,
    IndexCorrupt,
    IndexIncompatible,
    IndexMissing,
    InvalidInput,
)
from leian.indexer.indexed import IndexedCase
from leian.indexer.tokenize import Tokenizer, unique_terms
from leian.retrieval.backends import new_manifest
from leian.retrieval.backends.base import Backend, facets_of, filter_fields, matches
from leian.retrieval.backends.elastic import (
    LOCK_ID,
    ElasticBackend,
    ElasticOptions,
    drop_elastic,
    make_client,
    open_elastic,
)
from leian.retrieval.models import Filters

pytestmark = pytest.mark.elasticsearch

N_CASES = 300
DIM = 32


def unit(seed: str, dim: int = DIM) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _judgments(lecard_dir, n: int) -> list[CaseRecord]:
    from leian.indexer.extract import extract

    out = []
    with gzip.open(lecard_dir / "docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            rec = CaseRecord(
                id=str(d["id"]),
                text=d.get("qw") or d.get("ajjbqk") or "",
                title=d.get("ajName"),
                sections=Sections(
                    facts=d.get("ajjbqk") or "", reasoning=d.get("cpfxgc") or "", judgment=d.get("pjjg") or ""
                ),
            )
            out.append(extract(rec))
            if len(out) >= n:
                break
    return out


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def cases(lecard_dir, tokenizer) -> list[IndexedCase]:
    return [
        IndexedCase(record=r, tokens=tokenizer.tokenize(r.sections.facts or r.text), vector=unit(r.id))
        for r in _judgments(lecard_dir, N_CASES)
    ]


@pytest.fixture(scope="module")
def opts(es_url) -> ElasticOptions:
    return ElasticOptions(url=es_url, swap_grace_s=1.0)


def _name(tag: str) -> str:
    return f"leian-test-{tag}-{secrets.token_hex(3)}"


def _manifest(name: str, tokenizer: Tokenizer, dim: int | None = DIM):
    return new_manifest(
        "elasticsearch",
        name,
        tokenizer=tokenizer.fingerprint,
        model="random-unit" if dim else None,
        dim=dim,
        corpus={"name": "LeCaRD (test slice)"},
    )


@pytest.fixture(scope="module")
def index(opts, cases, tokenizer):
    """The 300 judgments, built once; tests below only read it."""
    name = _name("main")
    with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
        seen = []
        report = b.upsert(cases, progress=seen.append)
        assert report.written == N_CASES and not report.failed
        assert sum(seen) == N_CASES  # progress counts every case
        b.put_artifact("charge-model", b"model bytes")
    backend = open_elastic(opts, name, tokenizer=tokenizer.fingerprint)
    yield backend
    backend.close()
    drop_elastic(opts, name)


@pytest.fixture()
def small(opts, cases, tokenizer):
    """A fresh 40-case index for tests that write."""
    name = _name("small")
    with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
        b.upsert(cases[:40])
    backend = open_elastic(opts, name)
    yield backend
    backend.close()
    drop_elastic(opts, name)


def test_a_copy_of_an_embedded_index_gets_the_elasticsearch_format(opts, cases, tokenizer):
    """bench/parity.py builds from an embedded index's manifest, whose format number is its own."""
    from leian.retrieval.backends.elastic import ELASTIC_FORMAT_VERSION
    from leian.retrieval.backends.embedded import EMBEDDED_FORMAT_VERSION

    name = _name("copy")
    # a number the Elasticsearch format does not have, whatever the two formats' numbers are today
    other = (
        EMBEDDED_FORMAT_VERSION
        if EMBEDDED_FORMAT_VERSION != ELASTIC_FORMAT_VERSION
        else ELASTIC_FORMAT_VERSION + 100
    )
    embedded = _manifest(name, tokenizer).model_copy(update={"backend": "embedded", "format_version": other})
    try:
        with ElasticBackend.building(opts, name, embedded) as b:
            b.upsert(cases[:5])
        backend = open_elastic(opts, name)
        assert backend.manifest().format_version == ELASTIC_FORMAT_VERSION and backend.count() == 5
        backend.close()
    finally:
        drop_elastic(opts, name)


# ------------------------------------------------------------------------------------ reading
def test_build_manifest_get_and_iterate(index, cases, tokenizer):
    assert isinstance(index, Backend)
    m = index.manifest()
    assert m.backend == "elasticsearch" and m.doc_count == N_CASES == index.count()
    assert m.tokenizer == tokenizer.fingerprint and m.dim == DIM
    assert m.corpus["name"] == "LeCaRD (test slice)"
    dates = sorted(c.record.judgment_date for c in cases if c.record.judgment_date)
    assert (m.corpus["date_from"], m.corpus["date_to"]) == (dates[0], dates[-1])
    assert m.snapshot.startswith(index.concrete_index())

    want = {c.record.id: c.record for c in cases[:25]}
    got = index.get(list(want) + ["no-such-id"])
    assert set(got) == set(want)
    assert all(got[i].model_dump() == want[i].model_dump() for i in want)  # the full record round-trips
    facets = index.facets(list(want))
    assert facets == {i: json.loads(json.dumps(facets_of(r), ensure_ascii=False)) for i, r in want.items()}

    ids = [r.id for r in index.iter_records()]
    assert ids == sorted(c.record.id for c in cases)
    first = next(index.iter_indexed())
    original = next(c for c in cases if c.record.id == first.record.id)
    assert first.tokens == original.tokens
    np.testing.assert_allclose(first.vector, original.vector, rtol=1e-6)

    assert index.get_artifact("charge-model") == b"model bytes"
    assert index.get_artifact("nothing") is None
    assert [e["action"] for e in index.audit_log()] == ["build"]


def _lucene_length(n: int) -> int:
    """A document length as Lucene stores it: one byte, exact below 24, then a 3-bit mantissa
    (SmallFloat.intToByte4 / byte4ToInt), truncated downwards."""
    free = 24
    if n < free:
        return n
    i = n - free
    shift = max(i.bit_length() - 4, 0)
    return free + ((i >> shift) << shift)


def test_bm25_scores_are_exactly_lucenes(index, cases):
    """Oracle: BM25 (k1 1.2, b 0.75, Lucene idf, (k1+1) numerator) computed here from the tokens, with
    Lucene's one-byte document lengths, equals Elasticsearch's scores."""
    n = len(cases)
    avgdl = sum(len(c.tokens) for c in cases) / n
    df = Counter(t for c in cases for t in set(c.tokens))
    for c in cases[:50:10]:
        q = unique_terms(c.tokens)[:40]
        got = index.lexical(q, None, 10)
        for cid, score in got:
            doc = next(x for x in cases if x.record.id == cid)
            tf = Counter(doc.tokens)
            norm = 1.2 * (1 - 0.75 + 0.75 * _lucene_length(len(doc.tokens)) / avgdl)
            want = sum(
                np.log1p((n - df[t] + 0.5) / (df[t] + 0.5)) * tf[t] * 2.2 / (tf[t] + norm) for t in q if tf[t]
            )
            assert score == pytest.approx(want, rel=1e-4)


def test_bm25_agrees_with_the_embedded_backend(index, cases, tokenizer, tmp_path):
    """Same tokens, same k1/b, same idf: the same ranking; scores differ only by Lucene's length
    quantisation (lengths truncated by up to 1/8, so long documents score a little higher)."""
    from leian.retrieval.backends.embedded import EmbeddedBackend

    with EmbeddedBackend.building(tmp_path / "emb", _manifest("emb", tokenizer).model_copy()) as b:
        b.upsert(cases)
    emb = EmbeddedBackend(tmp_path / "emb")
    overlaps = []
    for c in cases[:60:6]:
        q = unique_terms(c.tokens)
        a, e = emb.lexical(q, None, 10), index.lexical(q, None, 10)
        overlaps.append(len({i for i, _ in a} & {i for i, _ in e}) / 10)
        assert a[0][0] == e[0][0] == c.record.id
        es_scores = dict(e)
        for cid, s in a:
            if cid in es_scores:
                assert s <= es_scores[cid] * (1 + 1e-5) and es_scores[cid] == pytest.approx(s, rel=0.12)
    assert np.mean(overlaps) >= 0.9
    emb.close()


def test_duplicate_terms_weigh_like_repeated_clauses(index, cases):
    term = cases[0].tokens[0]
    once, twice = dict(index.lexical([term], None, 5)), dict(index.lexical([term, term], None, 5))
    assert set(once) == set(twice)
    for cid, s in once.items():
        assert twice[cid] == pytest.approx(2 * s, rel=1e-5)


@pytest.mark.parametrize(
    "flt",
    [
        Filters(court_level=["中级"]),
        Filters(province=["浙江省", "广东省"]),
        Filters(year_from=2016, year_to=2018),
        Filters(year_to=2015),
        Filters(charge=["盗窃罪"]),
        Filters(charge=["走私、贩卖、运输、制造毒品罪"]),  # statute-level name vs 贩卖毒品罪 in judgments
        Filters(court_level=["基层"], charge=["故意伤害罪"], year_from=2015),
        Filters(tier=["指导性案例"]),
    ],
)
def test_filters_agree_with_reference_semantics(index, cases, flt):
    """With a term every case has, the filtered result set is exactly what base.matches() accepts."""
    term = Counter(t for c in cases for t in set(c.tokens)).most_common(1)[0][0]
    want = {c.record.id for c in cases if term in c.tokens and matches(filter_fields(c.record), flt)}
    got = {cid for cid, _ in index.lexical([term], flt, 1000)}
    assert got == want
    dense = {cid for cid, _ in index.dense(unit("q"), flt, 1000)}
    assert dense == {c.record.id for c in cases if matches(filter_fields(c.record), flt)}


def test_selective_filter_still_returns_k(index, cases):
    """Filters are applied before top-k in both BM25 and kNN."""
    by_province = Counter(c.record.province for c in cases if c.record.province)
    province = next(p for p, n in sorted(by_province.items(), key=lambda x: x[1]) if n >= 5)
    inside = [c for c in cases if c.record.province == province]
    outsider = next(c for c in cases if c.record.province != province)
    flt = Filters(province=[province])

    hits = index.lexical(unique_terms(outsider.tokens), flt, 5)
    assert len(hits) == 5 and all(cid in {c.record.id for c in inside} for cid, _ in hits)

    q = outsider.vector
    knn = index.dense(q, flt, 5)
    brute = sorted(((c.record.id, float(c.vector @ q)) for c in inside), key=lambda p: (-p[1], p[0]))[:5]
    assert [i for i, _ in knn] == [i for i, _ in brute]
    assert [s for _, s in knn] == pytest.approx([s for _, s in brute], abs=1e-5)


def test_dense_finds_itself_and_scores_inner_products(index, cases):
    c = cases[7]
    hits = index.dense(c.vector, None, 3)
    assert hits[0][0] == c.record.id and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(IndexIncompatible, match="dims"):
        index.dense(np.ones(DIM + 1, dtype=np.float32) / np.sqrt(DIM + 1), None, 3)


def test_scoring_a_given_candidate_list(index, cases):
    a, b = cases[0], cases[1]
    term = next(t for t in a.tokens if t not in b.tokens)
    got = dict(index.lexical([term], None, 10, ids=[a.record.id, b.record.id, "missing"]))
    assert got[b.record.id] == 0.0 and got[a.record.id] > 0  # unmatched candidates are kept, at 0
    dense = dict(index.dense(a.vector, None, 10, ids=[a.record.id, b.record.id]))
    assert dense[a.record.id] == pytest.approx(1.0, abs=1e-6)
    assert dense[b.record.id] == pytest.approx(float(a.vector @ b.vector), abs=1e-6)
    assert index.vectors_of([b.record.id])[b.record.id] == pytest.approx(b.vector)


def test_scoring_more_candidates_than_the_result_window(index, cases, monkeypatch):
    """A whole-corpus ranking scores every case: the ids go to the cluster in window-sized parts, and
    the parts add up to what one request gives (BM25 statistics are the index's)."""
    from leian.retrieval.backends.elastic import reader

    every = index.ids()
    assert every == sorted(c.record.id for c in cases)
    terms = unique_terms(cases[3].tokens)
    lex, dense = (
        index.lexical(terms, None, N_CASES, ids=every),
        index.dense(cases[3].vector, None, N_CASES, ids=every),
    )
    assert len(lex) == len(dense) == N_CASES
    monkeypatch.setattr(reader, "MAX_WINDOW", 7)
    assert index.lexical(terms, None, N_CASES, ids=every) == lex
    assert index.dense(cases[3].vector, None, N_CASES, ids=every) == dense
    assert index.lexical(terms, None, 5, ids=every) == lex[:5]


def test_too_large_k_is_refused(index):
    with pytest.raises(InvalidInput, match="result window"):
        index.lexical(["被告人"], None, 20_000)
    with pytest.raises(InvalidInput, match="more distinct terms"):
        index.lexical([f"词{i}" for i in range(20_000)], None, 10)


# ------------------------------------------------------------------------------------ writing
def test_update_replaces_record_terms_and_vector(small, cases):
    pool = cases[:40]
    counts = Counter(t for c in pool for t in set(c.tokens))
    target = next(c for c in pool if any(counts[t] == 1 for t in c.tokens))
    old_term = next(t for t in target.tokens if counts[t] == 1)
    assert [i for i, _ in small.lexical([old_term], None, 5)] == [target.record.id]
    snapshot = small.manifest().snapshot

    rec = target.record.model_copy(update={"title": "改过的标题"})
    new_vec = unit("new vector")
    report = small.upsert([IndexedCase(record=rec, tokens=["全新词语", "被告人"], vector=new_vec)])
    assert report.written == 1 and not report.failed
    assert small.lexical([old_term], None, 5) == []  # the old terms no longer match
    assert [i for i, _ in small.lexical(["全新词语"], None, 5)] == [target.record.id]
    assert small.get([rec.id])[rec.id].title == "改过的标题"
    assert small.dense(new_vec, None, 1)[0] == (rec.id, pytest.approx(1.0, abs=1e-5))
    assert small.count() == 40
    assert small.manifest().snapshot != snapshot
    assert [e["action"] for e in small.audit_log()][:2] == ["upsert", "build"]


def test_delete_removes_from_every_path(small, cases):
    gone = cases[3]
    report = small.delete([gone.record.id, "never-existed"])
    assert report.deleted == 1 and report.failed == {"never-existed": "no such case"}
    assert small.count() == 39
    assert small.get([gone.record.id]) == {}
    assert gone.record.id not in {i for i, _ in small.lexical(unique_terms(gone.tokens), None, 40)}
    assert gone.record.id not in {i for i, _ in small.dense(gone.vector, None, 40)}
    assert gone.record.id not in {r.id for r in small.iter_records()}


def test_partial_bulk_failure_is_reported_per_case(small, cases):
    def case(cid, vector):
        return IndexedCase(record=CaseRecord(id=cid, text="x"), tokens=["被告人"], vector=vector)

    bad_dims = np.ones(DIM - 1, dtype=np.float32) / np.sqrt(DIM - 1)
    report = small.upsert(
        [
            case("ok-1", unit("ok-1")),
            case("wrong-dims", bad_dims),  # refused by Elasticsearch
            case("not-unit", unit("x") * 3),  # refused by Elasticsearch (dot_product needs unit vectors)
            case("no-vector", None),
            case("nan", np.full(DIM, np.nan, dtype=np.float32)),
            case("ok-2", unit("ok-2")),
        ]
    )
    assert report.written == 2
    assert set(report.failed) == {"wrong-dims", "not-unit", "no-vector", "nan"}
    assert "dimensions" in report.failed["wrong-dims"]
    assert "unit-length" in report.failed["not-unit"]
    assert set(small.get(["ok-1", "ok-2", "wrong-dims", "not-unit"])) == {"ok-1", "ok-2"}
    assert small.count() == 42


def test_bulk_retries_429_with_backoff_then_reports(small, cases, opts):
    """A write-blocked index answers 429 per item (as when the disk flood-stage watermark is hit):
    the upsert backs off and retries; once the block is lifted everything is written, and if it never
    is, every case is reported failed with the reason — nothing is silently lost."""
    client = make_client(opts)
    concrete = small.concrete_index()
    block = {"index.blocks.read_only_allow_delete": True}
    client.indices.put_settings(index=concrete, settings=block)
    batch = [
        IndexedCase(record=c.record.model_copy(update={"id": f"retry-{i}"}), tokens=c.tokens, vector=c.vector)
        for i, c in enumerate(cases[40:50])
    ]
    lift = threading.Timer(
        0.8,
        lambda: client.indices.put_settings(
            index=concrete, settings={"index.blocks.read_only_allow_delete": None}
        ),
    )
    lift.start()
    t0 = time.monotonic()
    report = small.upsert(batch)
    lift.join()
    assert report.written == 10 and not report.failed
    assert time.monotonic() - t0 >= 0.5  # it waited for the block to go
    assert small.count() == 50

    client.indices.put_settings(index=concrete, settings=block)
    try:
        stubborn = ElasticBackend(
            opts.model_copy(update={"max_retries": 1, "initial_backoff": 0.1}), small.index_name
        )
        report = stubborn.upsert(batch[:3])
        stubborn.close()
    finally:
        client.indices.put_settings(index=concrete, settings={"index.blocks.read_only_allow_delete": None})
        client.close()
    assert report.written == 0 and set(report.failed) == {"retry-0", "retry-1", "retry-2"}
    assert all("cluster_block_exception" in why for why in report.failed.values())


def test_artifacts_are_chunked_and_replaced(small, monkeypatch):
    from leian.retrieval.backends.elastic import artifacts

    monkeypatch.setattr(artifacts, "ARTIFACT_CHUNK", 1000)
    blob = bytes(range(256)) * 20  # 5,120 bytes: 6 chunks
    small.put_artifact("model", blob)
    assert small.get_artifact("model") == blob
    small.put_artifact("model", b"short")
    assert small.get_artifact("model") == b"short"
    ids = [f"artifact:model:{i}" for i in range(6)]
    docs = small.client.mget(index=f"{small.index_name}-artifacts", ids=ids)["docs"]
    assert [d["found"] for d in docs] == [True] + [False] * 5  # stale chunks removed


# ------------------------------------------------------------------------------------ rebuilds
def test_rebuild_swaps_alias_with_zero_failed_queries(opts, cases, tokenizer):
    name = _name("swap")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(cases[:100])
        reader = open_elastic(opts, name)
        first = reader.concrete_index()
        q = unique_terms(cases[0].tokens)
        errors, answers, stop = [], Counter(), threading.Event()

        def query_forever():
            while not stop.is_set():
                try:
                    hits = reader.lexical(q, None, 5)
                    reader.dense(cases[0].vector, None, 5)
                    answers[len(hits)] += 1
                except Exception as e:  # noqa: BLE001 - any failure counts
                    errors.append(repr(e))

        t = threading.Thread(target=query_forever)
        t.start()
        try:
            time.sleep(0.3)
            with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
                b.upsert(cases[100:160])
            time.sleep(0.5)
        finally:
            stop.set()
            t.join()
        assert errors == []
        assert sum(answers.values()) > 10
        assert reader.count() == 60 and reader.concrete_index() != first
        client = make_client(opts)
        assert not client.indices.exists(index=first)  # the old build is deleted after the grace period
        assert reader.manifest().doc_count == 60
        client.close()
        reader.close()
    finally:
        drop_elastic(opts, name)


def test_failed_build_keeps_the_live_index(opts, cases, tokenizer):
    name = _name("fail")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(cases[:20])
        live = open_elastic(opts, name)
        before = live.concrete_index()
        with (
            pytest.raises(RuntimeError, match="boom"),
            ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b,
        ):
            b.upsert(cases[20:30])
            new = b.cases_index
            raise RuntimeError("boom")
        client = make_client(opts)
        assert not client.indices.exists(index=new) and not client.indices.exists(index=f"{new}-artifacts")
        client.close()
        assert live.concrete_index() == before and live.count() == 20
        live.close()
    finally:
        drop_elastic(opts, name)


def _tiny(n: int, tag: str = "") -> list[IndexedCase]:
    """Cases that need no corpus: a few words of facts each."""
    return [
        IndexedCase(
            record=CaseRecord(
                id=f"t{tag}{i}", text=f"被告人盗窃手机{i}部", sections=Sections(facts=f"盗窃手机{i}部")
            ),
            tokens=["盗窃", "手机", str(i)],
            vector=unit(f"t{tag}{i}"),
        )
        for i in range(n)
    ]


def test_a_rebuild_keeps_updates_and_other_builds_out_until_it_has_swapped(opts, tokenizer):
    name = _name("lock")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            assert b._lease is None  # a first build has nothing live to lose
            b.upsert(_tiny(3))
        live = open_elastic(opts, name)
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(_tiny(5, "n"))
            for write in (lambda: live.upsert(_tiny(1, "x")), lambda: live.delete(["t0"])):
                with pytest.raises(
                    IndexBusy, match=r"is being rebuilt \(build by process \d+ on .*, started "
                ):
                    write()
            with pytest.raises(IndexBusy, match="being rebuilt by another process"):  # noqa: SIM117
                with ElasticBackend.building(opts, name, _manifest(name, tokenizer)):
                    pass
            assert live.count() == 3  # searches go on meanwhile
        assert sorted(live.ids()) == [f"tn{i}" for i in range(5)]
        assert live.upsert(_tiny(1, "x")).written == 1 and live.delete(["tn0"]).deleted == 1

        # a failed rebuild lets writers in again at once
        with (
            pytest.raises(RuntimeError, match="boom"),
            ElasticBackend.building(opts, name, _manifest(name, tokenizer)),
        ):
            raise RuntimeError("boom")
        assert live.delete(["tn1"]).deleted == 1
        live.close()
    finally:
        drop_elastic(opts, name)


def test_a_killed_rebuild_holds_the_index_until_its_lease_runs_out(opts, tokenizer):
    name = _name("lease")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(_tiny(2))
        live = open_elastic(opts, name)
        # what a build killed outright leaves behind: its lock, lease still running
        client = make_client(opts)
        lock = {
            "kind": "lock",
            "detail": "build by process 1 on gone, started then",
            "at": "2026-01-01",
            "ts": 0,
        }
        client.index(
            index=f"{name}-artifacts", id=LOCK_ID, document={**lock, "ts": time.time_ns() + 60 * 10**9}
        )
        with pytest.raises(IndexBusy, match=r"process 1 on gone.*its lock runs out at "):
            live.upsert(_tiny(1, "x"))
        # once the lease has run out, updates go through and the next build takes the lock over
        client.index(index=f"{name}-artifacts", id=LOCK_ID, document={**lock, "ts": time.time_ns() - 1})
        assert live.upsert(_tiny(1, "x")).written == 1
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            assert b._lease is not None
            with pytest.raises(IndexBusy):
                live.delete(["t0"])
            b.upsert(_tiny(4, "n"))
        assert live.count() == 4 and live.delete(["tn0"]).deleted == 1
        client.close()
        live.close()
    finally:
        drop_elastic(opts, name)


def test_a_rebuild_renews_its_lease_and_stops_when_another_took_over(opts, tokenizer, monkeypatch):
    from leian.retrieval.backends.elastic import lease

    monkeypatch.setattr(lease, "_RENEW_EVERY_S", 0.05)
    name = _name("renew")
    client = make_client(opts)

    def lease_end() -> int:
        return client.get(index=f"{name}-artifacts", id=LOCK_ID)["_source"]["ts"]

    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(_tiny(2))
        live = open_elastic(opts, name)
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            first = lease_end()
            deadline = time.monotonic() + 10
            while lease_end() == first and time.monotonic() < deadline:  # renewed with no write
                time.sleep(0.05)
            assert lease_end() > first
            b.upsert(_tiny(2, "n"))
        # a build that stalled past its lease, and whose index another build took over, gives up
        # (at its next write, or before its swap) and leaves the other build's lock alone
        with (
            pytest.raises(IndexBusy, match="lost its lock .*another build took the index over"),
            ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b,
        ):
            theirs = {"kind": "lock", "detail": "the other build", "ts": time.time_ns() + 60 * 10**9}
            client.index(index=f"{name}-artifacts", id=LOCK_ID, document=theirs)
            b.upsert(_tiny(3, "z"))
        assert client.get(index=f"{name}-artifacts", id=LOCK_ID)["_source"]["detail"] == "the other build"
        assert sorted(live.ids()) == ["tn0", "tn1"]
        live.close()
    finally:
        client.close()
        drop_elastic(opts, name)


_BUILD_THEN_DIE = """
import os, signal, sys, time
from leian.retrieval.backends import elastic, new_manifest
from leian.retrieval.backends.elastic import lease
lease.BUILD_LEASE_S, lease._RENEW_EVERY_S = 2, 0.2
opts = elastic.ElasticOptions(url=sys.argv[1])
manifest = new_manifest("elasticsearch", sys.argv[2], tokenizer="t", dim=None)
with elastic.ElasticBackend.building(opts, sys.argv[2], manifest):
    time.sleep(3)  # past the first lease: only renewals keep the lock now
    print("building", flush=True)
    sys.stdin.readline()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_build_holds_its_lock_while_it_lives_and_a_killed_one_frees_the_index_in_a_lease(opts, tokenizer):
    import subprocess
    import sys

    name = _name("killed")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer, dim=None)) as b:
            b.upsert([IndexedCase(record=c.record, token_text=c.token_text) for c in _tiny(2)])
        live = open_elastic(opts, name)
        build = subprocess.Popen(
            [sys.executable, "-c", _BUILD_THEN_DIE, opts.url, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert build.stdout.readline() == "building\n"
            with pytest.raises(IndexBusy, match=f"build by process {build.pid} "):
                live.delete(["t0"])
            build.stdin.write("die\n")
            build.stdin.flush()
            assert build.wait(timeout=30) == -9
        finally:
            build.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(IndexBusy):
                assert live.delete(["t0"]).deleted == 1
                break
            time.sleep(0.2)
        else:
            pytest.fail("the killed build's lock outlived its lease")
        live.close()
    finally:
        drop_elastic(opts, name)


def test_a_write_during_which_a_build_takes_the_lock_is_reported(opts, tokenizer, monkeypatch):
    name = _name("overtaken")
    client = make_client(opts)
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(_tiny(2))
        live = open_elastic(opts, name)
        write = live._bulk

        def bulk_as_a_build_starts(actions, **kw):
            # a build takes the lock after this write's check and before its cases land
            lock = {
                "kind": "lock",
                "detail": "build by process 2 on racer",
                "ts": time.time_ns() + 60 * 10**9,
            }
            client.index(index=f"{name}-artifacts", id=LOCK_ID, document=lock)
            return write(actions, **kw)

        monkeypatch.setattr(live, "_bulk", bulk_as_a_build_starts)
        with pytest.raises(
            IndexBusy, match=r"began to be rebuilt while this write ran .*Write it again when"
        ):
            live.upsert(_tiny(1, "x"))
        live.close()
    finally:
        client.close()
        drop_elastic(opts, name)


def test_build_reports_duplicate_ids(opts, cases, tokenizer):
    name = _name("dup")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            r1 = b.upsert(cases[:5])
            r2 = b.upsert([cases[0], cases[5]])
        assert r1.written == 5 and r2.written == 1
        assert r2.failed == {cases[0].record.id: "duplicate id in corpus (first occurrence kept)"}
    finally:
        drop_elastic(opts, name)


# ------------------------------------------------------------------------------------ failures
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cluster_down_is_backend_unavailable_quickly(opts):
    dead = opts.model_copy(update={"url": f"http://127.0.0.1:{_free_port()}", "request_timeout": 2.0})
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable, match="unreachable.*start-elasticsearch"):
        open_elastic(dead, "anything")
    backend = ElasticBackend(dead, "anything")
    with pytest.raises(BackendUnavailable):
        backend.lexical(["盗窃"], None, 5)
    with pytest.raises(BackendUnavailable):
        backend.upsert([IndexedCase(record=CaseRecord(id="x", text="x"), tokens=["x"])])
    backend.close()
    assert time.monotonic() - t0 < 10


def test_silent_server_times_out_within_the_request_timeout():
    """A server that accepts connections and never answers (a stuck cluster) must not hang us."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(srv.accept()[0])  # read nothing, answer nothing

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        backend = ElasticBackend(ElasticOptions(url=url, request_timeout=1.0), "stuck")
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable, match="did not answer in time"):
            backend.lexical(["盗窃"], None, 5)
        assert time.monotonic() - t0 < 5
        backend.close()
    finally:
        stop.set()
        t.join()
        for s in held:
            s.close()
        srv.close()


def test_missing_index_is_a_clear_error(opts):
    with pytest.raises(IndexMissing, match="leian index CORPUS --backend elasticsearch"):
        open_elastic(opts, _name("absent"))
    with pytest.raises(InvalidInput, match="invalid Elasticsearch index name"):
        open_elastic(opts, "Bad Name")


def test_foreign_and_conflicting_indices_are_refused(opts, tokenizer):
    client = make_client(opts)
    plain = _name("plain")
    client.indices.create(index=plain)
    try:
        with pytest.raises(IndexIncompatible, match="not created by leian"):
            open_elastic(opts, plain)
        with (
            pytest.raises(BackendError, match="not a leian alias"),
            ElasticBackend.building(opts, plain, _manifest(plain, tokenizer)),
        ):
            pass
    finally:
        client.indices.delete(index=plain)

    # An index from another format: leian's layout, but court_level mapped as a number.
    name = _name("conflict")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer, dim=None)) as b:
            concrete = b.cases_index
        mapping = client.indices.get_mapping(index=concrete)[concrete]["mappings"]
        mapping["properties"]["court_level"] = {"type": "integer"}
        other = f"{name}-old"
        client.indices.create(
            index=other,
            mappings=mapping,
            settings={"similarity": {"leian_bm25": {"type": "BM25", "k1": 1.2, "b": 0.75}}},
        )
        client.indices.update_aliases(
            actions=[
                {"remove": {"index": concrete, "alias": name}},
                {"add": {"index": other, "alias": name}},
            ]
        )
        with pytest.raises(IndexIncompatible, match="court_level is integer"):
            open_elastic(opts, name)
        # Writing through it anyway: the per-case mapping error comes back in the report.
        raw = ElasticBackend(opts, name)
        rec = CaseRecord(id="c1", text="x", court_level="基层")
        report = raw.upsert([IndexedCase(record=rec, tokens=["x"])])
        assert report.written == 0 and "court_level" in report.failed["c1"]
        raw.close()
    finally:
        drop_elastic(opts, name)
        client.options(ignore_status=404).indices.delete(index=f"{name}-old")
        client.close()


def test_tokenizer_and_model_mismatch_refused(opts, cases, tokenizer):
    name = _name("mismatch")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(cases[:3])
        with pytest.raises(IndexIncompatible, match="tokenised with"):
            open_elastic(opts, name, tokenizer="jieba-legal:0000")
        with pytest.raises(IndexIncompatible, match="embedded with"):
            open_elastic(opts, name, model_fingerprint="another-model")
        open_elastic(opts, name, tokenizer=tokenizer.fingerprint).close()
    finally:
        drop_elastic(opts, name)


def test_artifacts_index_lost_is_corrupt(opts, cases, tokenizer):
    name = _name("noart")
    try:
        with ElasticBackend.building(opts, name, _manifest(name, tokenizer)) as b:
            b.upsert(cases[:3])
            art = b._art
        client = make_client(opts)
        client.indices.delete(index=art)
        client.close()
        with pytest.raises(IndexCorrupt, match="no artifacts index"):
            open_elastic(opts, name)
    finally:
        drop_elastic(opts, name)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--es-url", "localhost:9200"], "not an http"),
        (["--es-user", "elastic"], "both a user name and a password"),
        (["--es-timeout", "0"], "--es-timeout"),
        (["--es-api-key", "k", "--es-user", "u", "--es-password", "p"], "either an Elasticsearch API key"),
    ],
)
def test_cli_options_validated(argv, message):
    import argparse

    from leian.api.commands._es_args import add_es_arguments, es_options_from_args

    p = argparse.ArgumentParser()
    add_es_arguments(p)
    with pytest.raises(InvalidInput, match=message):
        es_options_from_args(p.parse_args(argv))
