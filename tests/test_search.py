"""Searcher over a real no-embeddings index of the bundled sample: components, reasons, highlights,
exclusions, candidate re-ranking with per-query fixed normalisation, given charges, filters, input
validation, compatibility checks, determinism."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from pydantic import ValidationError

from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord
from leian.corpora.sample import sample_path, sample_queries_path
from leian.errors import IndexIncompatible, InvalidInput
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.backends.base import Backend, filter_fields, matches
from leian.retrieval.models import MAX_FACTS_CHARS, ChargePrediction, Filters, Query
from leian.retrieval.search import HybridSearcher, SearchConfig, check_compatible, open_searcher
from leian.retrieval.search.explain import COMMON_IDF, distinct_terms
from leian.retrieval.search.structure import COURT_PREFERENCE, QuerySide, structure_scores
from leian.retrieval.search.terms import weighted_terms

HAN = re.compile(r"[\u4e00-\u9fff]")
COMPONENTS = {"bm25", "fused", "charge", "statute", "circumstance", "amount", "structure", "score"}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> str:
    from leian.retrieval.indexing import IndexJob

    out = tmp_path_factory.mktemp("search") / "sample"
    summary = IndexJob(corpus=str(sample_path()), index=str(out), embeddings=False, workers=1).build()
    assert summary.indexed == 405 and summary.charge_labels > 0
    return str(out)


@pytest.fixture(scope="module")
def searcher(index_dir) -> HybridSearcher:
    s = open_searcher(index=index_dir)
    assert s.embedder is None and s.charge_model is not None
    return s


@pytest.fixture(scope="module")
def queries() -> list[dict]:
    lines = sample_queries_path().read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def _q(queries, i: int = 0, **kw) -> Query:
    q = queries[i]
    return Query(facts=q["q"], exclude_ids=[str(q["source_doc_id"])], **kw)


def test_hits_carry_components_and_chinese_reasons(searcher, queries):
    res = searcher.search(_q(queries, top_k=10))
    assert res.backend == "embedded" and len(res.hits) == 10
    assert [h.rank for h in res.hits] == list(range(1, 11))
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    assert res.charges_predicted and res.charges_used
    for h in res.hits:
        assert set(h.components) >= COMPONENTS, h.components
        assert h.score == pytest.approx(h.components["score"], abs=1e-5)
        assert h.components["score"] == pytest.approx(
            h.components["fused"] + h.components["structure"], abs=1e-5
        )
        assert h.components["bm25"] > 0
        assert h.reasons and all(HAN.search(r) for r in h.reasons), h.reasons
        assert h.record is not None and h.record.id == h.id
    assert any(r.startswith("罪名相同：") for h in res.hits for r in h.reasons)
    assert any(r.startswith("关键事实用语相同：") for h in res.hits for r in h.reasons)


def test_matched_terms_are_distinct_words_not_pieces_of_each_other(searcher, queries):
    for i in range(3):
        for h in searcher.search(_q(queries, i, top_k=5)).hits:
            assert h.matched_terms
            for a in h.matched_terms:
                assert not [b for b in h.matched_terms if a != b and a in b], h.matched_terms
    assert distinct_terms(["三轮", "摩托车", "三轮车", "摩托", "电动三轮车", "路面"], 3) == [
        "电动三轮车",
        "摩托车",
        "路面",
    ]


def test_matched_terms_leave_out_words_most_judgments_share(searcher, queries):
    common = {
        t for t in ("被害人", "人民币", "犯罪事实") if searcher.rarity.idf.get(t, COMMON_IDF) < COMMON_IDF
    }
    assert common  # the sample has them in most judgments
    shared = 0
    for i in range(3):
        res = searcher.search(_q(queries, i, top_k=5))
        for h in res.hits:
            shared += bool(common & set(res.query_terms) & set(searcher.tokenizer(h.record.sections.facts)))
            assert not common & set(h.matched_terms), h.matched_terms
            assert all(searcher.rarity.idf.get(t, COMMON_IDF) >= COMMON_IDF for t in h.matched_terms)
    assert shared  # they were there to match


def test_matched_terms_never_name_a_party(searcher, queries):
    # judgments anonymise people as 郭某, 李某甲, 某某: a shared pseudonym (and a cut through one, 对罗某,
    # 某于) is a coincidence of the anonymisation, not a fact the two cases share
    shared = 0
    for i in range(len(queries)):
        res = searcher.search(_q(queries, i, top_k=10))
        for h in res.hits:
            facts = h.record.sections.facts or ""
            shared += any("某" in t and t in facts for t in res.query_terms)
            assert not [t for t in h.matched_terms if "某" in t], h.matched_terms
            assert not [hl.term for hl in h.highlights if "某" in hl.term]
    assert shared  # there were pseudonyms to match


def test_highlights_point_at_the_matched_terms(searcher, queries):
    seen = 0
    for i in range(3):
        for h in searcher.search(_q(queries, i, top_k=5)).hits:
            facts = h.record.sections.facts
            for hl in h.highlights:
                assert hl.section == "facts"
                assert facts[hl.start : hl.end] == hl.term
                assert hl.term in h.matched_terms
                seen += 1
            assert [(x.start, -x.end) for x in h.highlights] == sorted(
                (x.start, -x.end) for x in h.highlights
            )
    assert seen > 20


def test_excluded_ids_are_never_returned(searcher, queries):
    first = searcher.search(_q(queries, 1, top_k=10))
    banned = [h.id for h in first.hits[:4]] + [str(queries[1]["source_doc_id"])]
    again = searcher.search(Query(facts=queries[1]["q"], top_k=10, exclude_ids=banned))
    assert len(again.hits) == 10
    assert not {h.id for h in again.hits} & set(banned)
    ranked = searcher.rank(Query(facts=queries[1]["q"], top_k=50, exclude_ids=banned))
    assert not {cid for cid, _ in ranked} & set(banned)


class _Hiding:
    """The real backend with some cases gone from every candidate list (corpus statistics unchanged):
    what a search excluding them must see."""

    def __init__(self, backend: Backend, hidden: set[str]):
        self._backend, self._hidden = backend, hidden

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def lexical(self, terms, filters, k, ids=None):
        return [
            s
            for s in self._backend.lexical(terms, filters, k + len(self._hidden), ids)
            if s[0] not in self._hidden
        ][:k]

    def dense(self, vector, filters, k, ids=None):
        return [
            s
            for s in self._backend.dense(vector, filters, k + len(self._hidden), ids)
            if s[0] not in self._hidden
        ][:k]

    def ids(self):
        return [i for i in self._backend.ids() if i not in self._hidden]


def test_an_excluded_case_changes_nothing_about_the_others(searcher, queries):
    """Exclusions leave at candidate generation: the others' scores, components and the predicted
    charges are exactly those of a search that never saw the excluded cases — the query's own judgment
    neither votes for its charge nor moves the normalisation."""
    for i in range(len(queries)):
        own = str(queries[i]["source_doc_id"])
        top = [h.id for h in searcher.search(Query(facts=queries[i]["q"], top_k=5)).hits]
        banned = sorted({own, *top[:2]})
        excluded = searcher.search(Query(facts=queries[i]["q"], top_k=20, exclude_ids=banned))
        blind = HybridSearcher(
            _Hiding(searcher.backend, set(banned)),
            searcher.tokenizer,
            None,
            searcher.config,
            searcher.charge_model,
        )
        unseen = blind.search(Query(facts=queries[i]["q"], top_k=20))
        assert excluded.charges_predicted == unseen.charges_predicted
        assert excluded.total_candidates == unseen.total_candidates
        assert [(h.id, h.score, h.components) for h in excluded.hits] == [
            (h.id, h.score, h.components) for h in unseen.hits
        ]
        assert blind.rank_all(Query(facts=queries[i]["q"])) == searcher.rank_all(
            Query(facts=queries[i]["q"], exclude_ids=banned)
        )


def test_a_case_scores_the_same_under_every_protocol(searcher, queries):
    q10 = _q(queries, 2, top_k=10)
    full10 = dict(searcher.rank(q10))
    full100 = dict(searcher.rank(_q(queries, 2, top_k=100)))
    found = dict((h.id, h.score) for h in searcher.search(q10).hits)
    # candidates: some from the top, some from deep down, some that share no term with the query
    all_ids = [r.id for r in searcher.backend.iter_records()]
    deep = list(full100)[60:70]
    unmatched = [i for i in all_ids if i not in full100][:5]
    cands = list(full10)[::2] + deep + unmatched
    reranked = searcher.rank(q10, cands)
    assert sorted(c for c, _ in reranked) == sorted(cands)  # exactly the candidates
    assert reranked == sorted(reranked, key=lambda x: (-x[1], x[0]))
    reranked = dict(reranked)
    for cid, s in full10.items():
        assert full100[cid] == pytest.approx(s, abs=1e-6)
        assert found[cid] == pytest.approx(s, abs=1e-6)
    for cid in cands:
        if cid in full100:
            assert reranked[cid] == pytest.approx(full100[cid], abs=1e-6), cid
    # a candidate list that excludes the query's own judgment drops it
    own = str(queries[2]["source_doc_id"])
    assert own not in dict(searcher.rank(q10, [own, *cands[:3]]))


def test_given_charges_override_the_prediction(searcher, queries):
    res = searcher.search(_q(queries, 0, top_k=10, charges=["盗窃"]))
    assert res.charges_given == ["盗窃罪"]  # the short form, completed
    assert res.charges_predicted == []
    assert res.charges_used == ["盗窃罪"]
    for h in res.hits:
        thief = any(c.startswith("盗窃") for c in h.charges)
        assert h.components["charge"] == (1.0 if thief else 0.0), (h.id, h.charges)
        assert ("罪名相同：" in "".join(h.reasons)) == thief
    predicted = searcher.search(_q(queries, 0, top_k=10))
    assert predicted.charges_given is None and predicted.charges_predicted
    assert predicted.charges_used != res.charges_used or predicted.hits != res.hits


def test_charge_component_is_the_chance_of_sharing_a_predicted_charge(searcher, queries):
    """1 − Π(1 − p) over the predicted charges a case holds: a case holding two of them is ahead of
    one holding either alone, and one holding none gets 0."""
    res = searcher.search(_q(queries, 0, top_k=400))
    probs = {c.charge: c.probability for c in res.charges_predicted}
    assert probs
    for h in res.hits:
        miss = 1.0
        for g in {charge_group(c) for c in h.charges} & probs.keys():
            miss *= 1.0 - probs[g]
        assert h.components["charge"] == pytest.approx(1.0 - miss, abs=1e-6), (h.id, h.charges, probs)
    side = QuerySide.of(
        [
            ChargePrediction(charge="故意伤害罪", probability=0.5),
            ChargePrediction(charge="寻衅滋事罪", probability=0.4),
        ],
        CaseRecord(id="new", text="……"),
    )
    facets = [{"charge_groups": ["寻衅滋事罪", "故意伤害罪"]}, {"charge_groups": ["故意伤害罪", "盗窃罪"]}]
    both, one, none = structure_scores(side, [*facets, {"charge_groups": ["盗窃罪"]}], searcher.config)[
        "charge"
    ]
    assert both == pytest.approx(0.7) and one == pytest.approx(0.5)
    assert none == 0.0


@pytest.mark.parametrize(
    "filters",
    [
        Filters(court_level=["中级"]),
        Filters(province=["北京市", "上海市"]),
        Filters(year_from=2018, year_to=2019),
        Filters(charge=["盗窃罪"]),
        Filters(court_level=["基层"], year_to=2015),
    ],
    ids=lambda f: json.dumps(f.model_dump(exclude_none=True), ensure_ascii=False),
)
def test_filters_are_respected_and_k_returned(searcher, queries, filters):
    be = searcher.backend
    allowed = {r.id for r in be.iter_records() if matches(filter_fields(r), filters)}
    q = Query(facts=queries[3]["q"], top_k=10, filters=filters)
    lexical_matches = {
        c
        for c, _ in be.lexical(
            weighted_terms(searcher.tokenizer.tokenize(q.facts), searcher.config), None, 1000
        )
    }
    expected_k = min(10, len(allowed & lexical_matches))
    assert expected_k == 10, "pick filters that leave at least 10 matching cases"
    res = searcher.search(q)
    assert len(res.hits) == expected_k
    assert {h.id for h in res.hits} <= allowed
    assert res.filters == filters
    assert {c for c, _ in searcher.rank(q.model_copy(update={"top_k": 400}))} <= allowed


def test_court_level_and_recency_preferences_when_configured(index_dir, queries):
    """Off by default; when set, each adds its weight × its component to the structure score, the
    ranking follows, and the hit says why."""
    plain = open_searcher(index=index_dir)
    cfg = SearchConfig(w_court=3.0, w_recent=2.0, recent_years=9)
    pref = open_searcher(index=index_dir, config=cfg)
    this_year = dt.date.today().year
    every = {h.id: h for h in plain.search(_q(queries, top_k=400)).hits}
    top = pref.search(_q(queries, top_k=20)).hits
    for h in top:
        court = COURT_PREFERENCE.get(h.court_level or "", 0.0)
        year = int(h.judgment_date[:4]) if h.judgment_date else None
        recent = float(year is not None and this_year - year < 9)
        assert h.components["court"] == pytest.approx(court) and h.components["recent"] == recent
        before = every[h.id].components
        assert before["structure"] + 3.0 * court + 2.0 * recent == pytest.approx(h.components["structure"])
        assert ("中级法院裁判" in h.reasons) == (h.court_level == "中级")
        assert any(r.startswith("近9年的裁判") for r in h.reasons) == bool(recent)
        assert not any("法院裁判" in r or "近9年" in r for r in every[h.id].reasons)
    plain_top = list(every.values())[:20]
    for k in ("court", "recent"):
        assert sum(h.components[k] for h in top) > sum(h.components[k] for h in plain_top), k


def test_place_names_are_not_searched_unless_configured(index_dir):
    facts = "被告人闵某在江阴市某某镇舒景村的超市内盗窃手机一部，后逃至广东省深圳市宝安区。"
    places = {"江阴市", "舒景村", "广东省", "深圳市", "宝安区"}
    tokens, terms = open_searcher(index=index_dir).query_terms(facts)
    assert places <= set(tokens) and not places & set(terms)
    assert {"超市", "盗窃", "手机"} <= set(terms)  # two-character nouns are no division names
    hits = open_searcher(index=index_dir).search(Query(facts=facts, top_k=10)).hits
    assert hits and not {hl.term for h in hits for hl in h.highlights} & places
    _, kept = open_searcher(index=index_dir, config=SearchConfig(query_places=True)).query_terms(facts)
    assert places <= set(kept) and set(terms) < set(kept)
    # zones a crime is defined by are elements of the case, not places
    zones = "被告人在禁猎区、自然保护区内狩猎，又在禁渔区捕捞，后非法进入军事管理区"
    _, terms = open_searcher(index=index_dir).query_terms(zones)
    assert {"禁猎区", "自然保护区", "禁渔区", "管理区"} <= set(terms)


@pytest.mark.parametrize(
    "facts", ["", "   \n\t　", "！？。，、", "的了是在", "12345 678", "hello world DNA", "广东省深圳市宝安区"]
)
def test_facts_without_chinese_words_are_invalid(searcher, facts):
    with pytest.raises(InvalidInput):
        searcher.search(Query(facts=facts))


def test_oversized_facts_are_invalid():
    with pytest.raises(InvalidInput, match="limit"):
        Query(facts="盗窃" * (MAX_FACTS_CHARS // 2 + 1))
    Query(facts="盗" * MAX_FACTS_CHARS)  # the limit itself is allowed


def test_unknown_filter_fields_are_refused():
    with pytest.raises(ValidationError, match="courts"):
        Filters(courts=["中级"])
    with pytest.raises(ValidationError):
        Query.model_validate({"facts": "被告人盗窃", "filters": {"region": "浙江"}})
    with pytest.raises(ValidationError):
        Filters(court_level=["乡镇"])
    with pytest.raises(ValidationError):
        Query(facts="被告人盗窃", top_k=0)


def test_check_compatible_refuses_another_tokenizer(searcher):
    m = searcher.backend.manifest()
    tok = Tokenizer()
    check_compatible(m, tok, None)
    with pytest.raises(IndexIncompatible, match="tokenizer"):
        check_compatible(m.model_copy(update={"tokenizer": "jieba:0.0/other-dictionary"}), tok, None)


@pytest.mark.slow
def test_check_compatible_refuses_another_embedding_model(searcher):
    from leian.indexer.embedding import Embedder

    embedder = Embedder.load(None)
    m = searcher.backend.manifest().model_copy(
        update={"model": embedder.name, "model_fingerprint": embedder.fingerprint, "dim": embedder.dim}
    )
    check_compatible(m, Tokenizer(), embedder)
    other = m.model_copy(update={"model": "some-other-model", "model_fingerprint": "0" * 32})
    with pytest.raises(IndexIncompatible, match="some-other-model"):
        check_compatible(other, Tokenizer(), embedder)


def test_open_searcher_refuses_an_index_of_another_tokenizer(index_dir, tmp_path):
    import shutil
    from pathlib import Path

    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    gen = copy / (copy / "CURRENT").read_text().strip()
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    m["tokenizer"] = "jieba:0.0/other-dictionary"
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexIncompatible, match="other-dictionary"):
        open_searcher(index=str(Path(copy)))


def test_search_is_deterministic(searcher, queries):
    a = searcher.search(_q(queries, 4, top_k=20)).model_dump(exclude={"timings_ms"})
    b = searcher.search(_q(queries, 4, top_k=20)).model_dump(exclude={"timings_ms"})
    assert a == b
    fresh = open_searcher(index=str(searcher.backend.root))
    assert fresh.search(_q(queries, 4, top_k=20)).model_dump(exclude={"timings_ms"}) == a


@pytest.mark.slow
def test_hybrid_scores_are_protocol_independent_too(sample_index, queries):
    """With e5 vectors the dense list joins the fusion; the fixed pool must still hold."""
    s = open_searcher(index=str(sample_index))
    assert s.embedder is not None and s.backend.manifest().dim == s.embedder.dim
    q = _q(queries, 5, top_k=10)
    res = s.search(q)
    assert len(res.hits) == 10
    assert any(h.components["dense"] > 0 for h in res.hits)
    assert any(r.startswith("案情语义相似度") for h in res.hits for r in h.reasons)
    full = dict(s.rank(_q(queries, 5, top_k=120)))
    deep = list(full)[80:90]
    reranked = dict(s.rank(q, [h.id for h in res.hits[::3]] + deep))
    for h in res.hits:
        assert full[h.id] == pytest.approx(h.score, abs=1e-6)
    for cid, score in reranked.items():
        assert full[cid] == pytest.approx(score, abs=1e-6), cid
