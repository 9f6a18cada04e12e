"""LeCaRD evaluation: hand-computed protocols, trec_eval parity (pytrec_eval), metrics.py parity, loader, CLI."""

from __future__ import annotations

import gzip
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.lecard import LABELLED_PER_QUERY, load_lecard
from leian.errors import CorpusReadError, InvalidInput
from leian.retrieval.evaluate import (
    ChargeInput,
    Protocol,
    collect_runs,
    evaluate_a,
    evaluate_b,
    evaluate_c,
    evaluate_split,
    lecard_query,
    ndcg_trec,
    parse_protocols,
    read_trec_run,
    trec_order,
)

L2 = math.log2


# ---------------------------------------------------------------------------------------------------
# hand-computed examples, one per protocol


def test_protocol_a_hand_computed():
    # q1: four candidates + one expert-added grade-3 label that is not a candidate
    qrels = {"q1": {"d1": 3, "d2": 0, "d3": 2, "d4": 1, "x1": 3}, "q2": {"e1": 0, "e2": 0}}
    candidates = {"q1": ["d1", "d2", "d3", "d4"], "q2": ["e1", "e2"]}
    run = {
        # x1 and z are not candidates: dropped before ranking, whatever their score
        "q1": [("d3", 0.9), ("d1", 0.8), ("x1", 0.7), ("d4", 0.5), ("d2", 0.1), ("z", 0.05)],
        "q2": [("e1", 1.0), ("e2", 0.5)],
    }
    res = evaluate_a(run, qrels, candidates, per_query=True)
    # ranked grades 2, 3, 1, 0; the ideal is over all labels 3, 3, 2, 1, 0 (x1 included)
    expected = (2 + 3 / L2(3) + 1 / L2(4)) / (3 + 3 / L2(3) + 2 / L2(4) + 1 / L2(5))
    assert res.per_query["q1"]["ndcg@10"] == pytest.approx(expected, abs=1e-12)
    assert res.per_query["q1"]["ndcg@30"] == pytest.approx(expected, abs=1e-12)
    assert res.per_query["q1"]["p@5"] == pytest.approx(1 / 5)  # grade 3 only: d1
    assert res.per_query["q2"] == {"ndcg@10": 0.0, "ndcg@20": 0.0, "ndcg@30": 0.0, "p@5": 0.0}
    assert res.n_queries == 2
    assert res.metrics["ndcg@30"] == pytest.approx(expected / 2)  # means over all queries


def test_protocol_a_missing_query_counts_zero():
    qrels = {"q1": {"d1": 3}, "q2": {"d2": 2}}
    res = evaluate_a({"q1": [("d1", 1.0)]}, qrels, {"q1": ["d1"], "q2": ["d2"]})
    assert res.metrics["ndcg@10"] == pytest.approx(0.5)


def test_protocol_b_hand_computed_ties_and_unlabelled():
    qrels = {"q": {"a": 3, "b": 2, "c": 0, "e": 1}}
    # u is unlabelled (gain 0); a and b tie: trec_eval puts the larger doc id first (b, then a)
    run = {"q": [("a", 1.0), ("b", 1.0), ("u", 2.0), ("e", 0.5), ("out", 9.0)]}
    res = evaluate_b(run, qrels, pools={"q": ["a", "b", "c", "e", "u"]}, per_query=True)
    dcg = 2 / L2(3) + 3 / L2(4) + 1 / L2(5)
    idcg = 3 + 2 / L2(3) + 1 / L2(4)
    assert res.per_query["q"]["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-12)
    assert res.per_query["q"]["p@5"] == pytest.approx(3 / 5)  # grade >= 1: b, a, e
    # without the pool, "out" (unlabelled, top score) takes rank 1 and pushes the rest down
    wide = evaluate_b(run, qrels, per_query=True).per_query["q"]["ndcg@10"]
    assert wide == pytest.approx((2 / L2(4) + 3 / L2(5) + 1 / L2(6)) / idcg, abs=1e-12)


def test_protocol_c_hand_computed_exclusion_and_recall():
    qrels = {"q": {"g1": 2, "g2": 3, "g3": 1, "g4": 2}}
    fillers = [(f"f{i:03d}", 50.0 - i * 0.1) for i in range(98)]
    run = {"q": [("own", 100.0), ("g1", 60.0), *fillers, ("g2", 1.0), ("g3", 0.5)]}
    res = evaluate_c(run, qrels, exclude={"q": ["own"]}, per_query=True)
    # after dropping "own": g1 rank 1, g2 rank 100, g3 rank 101; grade >= 2: g1, g2, g4
    assert res.per_query["q"]["recall@100"] == pytest.approx(2 / 3)
    assert res.per_query["q"]["judged@30"] == pytest.approx(1 / 30)  # only g1 of the top 30 is labelled
    idcg = 3 + 2 / L2(3) + 2 / L2(4) + 1 / L2(5)
    assert res.per_query["q"]["ndcg@30"] == pytest.approx(2 / idcg, abs=1e-12)
    kept = evaluate_c(run, qrels, per_query=True).per_query["q"]
    assert kept["recall@100"] == pytest.approx(1 / 3)  # "own" pushes g2 to rank 101
    assert kept["ndcg@30"] == pytest.approx((2 / L2(3)) / idcg, abs=1e-12)
    # nDCG': the unlabelled documents taken out, g1 g2 g3 are ranks 1, 2, 3
    assert res.per_query["q"]["ndcg'@30"] == pytest.approx((2 + 3 / L2(3) + 1 / L2(4)) / idcg, abs=1e-12)


def test_recall_is_zero_without_relevant_documents():
    res = evaluate_c({"q": [("a", 1.0)]}, {"q": {"a": 1, "b": 0}}, per_query=True)
    assert res.per_query["q"] == {"ndcg@30": 1.0, "recall@100": 0.0, "judged@30": 1 / 30, "ndcg'@30": 1.0}


# ---------------------------------------------------------------------------------------------------
# ordering


def test_trec_order_score_desc_then_docid_desc():
    assert trec_order([("a", 1.0), ("c", 1.0), ("b", 1.0), ("z", 0.0), ("y", 2.0)]) == [
        "y",
        "c",
        "b",
        "a",
        "z",
    ]
    assert trec_order([("10", 1.0), ("9", 1.0)]) == ["9", "10"]  # strcmp, not numeric
    # scores equal in float32 tie, as in trec_eval (C float); 1e-6 apart they do not
    assert trec_order([("a", 1.0 + 1e-9), ("b", 1.0)]) == ["b", "a"]
    assert trec_order([("a", 1.0 + 1e-6), ("b", 1.0)]) == ["a", "b"]


def test_trec_order_rejects_duplicates_and_nan():
    with pytest.raises(InvalidInput, match="twice"):
        trec_order([("a", 1.0), ("a", 0.5)])
    with pytest.raises(InvalidInput, match="NaN"):
        trec_order([("a", float("nan"))])


def test_bad_grades_are_rejected():
    with pytest.raises(InvalidInput, match="grade"):
        evaluate_b({}, {"q": {"a": -1}})
    with pytest.raises(InvalidInput, match="grade"):
        evaluate_c({}, {"q": {"a": 1.5}})


def test_parse_protocols():
    assert parse_protocols("c, a") == [Protocol.A, Protocol.C]
    assert parse_protocols(["B"]) == [Protocol.B]
    with pytest.raises(InvalidInput, match="A, B, C"):
        parse_protocols("A,D")
    with pytest.raises(InvalidInput):
        parse_protocols(" , ")


# ---------------------------------------------------------------------------------------------------
# parity with trec_eval (pytrec_eval wraps its C code) and with LeCaRD's metrics.py


def _random_case(seed: int, n_queries: int = 40, tie_levels: int | None = 6):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.sample(range(400), rng.randrange(1, 45))
        qrels[qid] = {f"d{d}": rng.choice([0, 0, 1, 2, 3, 3]) for d in judged}
        if q % 7 == 0:
            qrels[qid] = dict.fromkeys(qrels[qid], 0)  # no relevant document at all
        retrieved = rng.sample(range(400), rng.randrange(0, 160))
        if tie_levels:  # heavy ties, negative scores
            run[qid] = [(f"d{d}", float(rng.randrange(tie_levels) - 2)) for d in retrieved]
        else:
            run[qid] = [(f"d{d}", rng.gauss(0, 1)) for d in retrieved]
    return qrels, run


@pytest.mark.parametrize("seed,ties", [(1, 6), (2, 3), (3, None), (4, 1)])
def test_protocol_b_and_c_equal_trec_eval(seed, ties):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, run = _random_case(seed, tie_levels=ties)
    as_dict = {q: dict(r) for q, r in run.items()}

    ref_b = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10,20,30", "P.5"}).evaluate(as_dict)
    ours_b = evaluate_b(run, qrels, per_query=True).per_query
    ref_c = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.30", "recall.100"}, relevance_level=2).evaluate(
        as_dict
    )
    ours_c = evaluate_c(run, qrels, per_query=True).per_query
    for qid in qrels:
        if qid not in ref_b:  # pytrec_eval skips queries with an empty ranking; ours count 0
            assert not run[qid] and ours_b[qid]["ndcg@30"] == 0.0
            continue
        for k in (10, 20, 30):
            assert ours_b[qid][f"ndcg@{k}"] == pytest.approx(ref_b[qid][f"ndcg_cut_{k}"], abs=1e-12), qid
        assert ours_b[qid]["p@5"] == pytest.approx(ref_b[qid]["P_5"], abs=1e-12)
        assert ours_c[qid]["ndcg@30"] == pytest.approx(ref_c[qid]["ndcg_cut_30"], abs=1e-12)
        assert ours_c[qid]["recall@100"] == pytest.approx(ref_c[qid]["recall_100"], abs=1e-12)


def test_float32_ties_and_infinities_equal_trec_eval():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels = {"q": {"a": 3, "b": 0, "c": 2}}
    inf = float("inf")
    cases = [
        {"a": 1.0 + 1e-9, "b": 1.0, "c": 0.0},  # a tie in float32: b (larger id) first
        {"a": 1.0 + 1e-6, "b": 1.0, "c": 0.0},  # not a tie
        {"a": 1e39, "b": inf, "c": 0.0},  # 1e39 overflows float32 to inf: a tie
        {"a": -0.0, "b": 0.0, "c": -inf},
    ]
    for scores in cases:
        ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.1,2,3"}).evaluate({"q": scores})["q"]
        grades = [qrels["q"][d] for d in trec_order(list(scores.items()))]
        for k in (1, 2, 3):
            assert ndcg_trec(grades, qrels["q"].values(), k) == pytest.approx(
                ref[f"ndcg_cut_{k}"], abs=1e-12
            ), scores


def _metrics_py_ndcg(ranked_ids, labels, K):
    """A transcription of LeCaRD metrics.py (NDCG branch) for one query, kept literal on purpose."""
    label30 = list(labels)[:30]
    rawranks = [labels[i] if i in label30 else 0 for i in ranked_ids]
    ranks = rawranks + [0] * (30 - len(rawranks))
    if sum(ranks) == 0:
        return 0.0
    sranks = sorted(labels.values(), reverse=True)
    dcg_value = idcg_value = 0.0
    for i in range(K):
        logi = math.log(i + 2, 2)
        dcg_value += ranks[i] / logi
        idcg_value += sranks[i] / logi
    return dcg_value / idcg_value


def test_protocol_a_equals_lecard_metrics_py():
    rng = random.Random(7)
    qrels, candidates, run = {}, {}, {}
    for q in range(30):
        qid = str(q)
        docs = [str(d) for d in rng.sample(range(1000), 30 + rng.choice([0, 0, 2, 3]))]
        qrels[qid] = {d: rng.choice([0, 1, 2, 3]) for d in docs[:30]} | {d: 3 for d in docs[30:]}
        candidates[qid] = docs[:30]
        run[qid] = [(d, float(rng.randrange(10))) for d in docs]  # expert-added ones too: dropped
    res = evaluate_a(run, qrels, candidates, per_query=True)
    for qid in qrels:
        ranked = [d for d in trec_order(run[qid]) if d in set(candidates[qid])]
        for k in (10, 20, 30):
            assert res.per_query[qid][f"ndcg@{k}"] == pytest.approx(
                _metrics_py_ndcg(ranked, qrels[qid], k), abs=1e-12
            )
        p5 = sum(1 for d in ranked[:5] if qrels[qid][d] == 3) / 5  # metrics.py "P" branch
        assert res.per_query[qid]["p@5"] == pytest.approx(p5)


# ---------------------------------------------------------------------------------------------------
# the LeCaRD loader


def _write_split(root: Path, n_labels: int = 32, split: str = "dev") -> None:
    root.mkdir(parents=True, exist_ok=True)
    queries = [
        {
            "id": 1,
            "q": "被告人张某盗窃财物。",
            "crime": ["盗窃罪"],
            "query_type": "common",
            "source_doc_id": 900,
        },
        {"id": "2", "q": "被告人李某醉酒驾驶。", "crime": ["危险驾驶罪"], "query_type": "controversial"},
    ]
    (root / f"queries.{split}.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
    )
    qrels = ["query_id\tdoc_id\tgrade"]
    pools = ["query_id\tdoc_id\tpool_rank\tlabelled\tgrade"]
    for qid in ("1", "2"):
        for i in range(n_labels):
            grade = 3 if i >= 30 else i % 4
            qrels.append(f"{qid}\t{qid}{i:03d}\t{grade}")
            pools.append(f"{qid}\t{qid}{i:03d}\t{i + 1}\t1\t{grade}")
        pools.append(f"{qid}\t{qid}999\t{n_labels + 1}\t0\t0")
    (root / f"qrels.{split}.tsv").write_text("\n".join(qrels) + "\n")
    (root / f"pools.{split}.tsv").write_text("\n".join(pools) + "\n")


def test_load_lecard_split(tmp_path):
    _write_split(tmp_path)
    s = load_lecard(tmp_path, "dev")
    assert [q.id for q in s.queries] == ["1", "2"]
    assert s.queries[0].source_doc_id == "900" and s.queries[1].source_doc_id is None
    assert s.queries[0].crime == ["盗窃罪"]
    cands = s.labelled_candidates()
    assert len(cands["1"]) == LABELLED_PER_QUERY and "1030" not in cands["1"]  # expert-added: not a candidate
    assert len(s.qrels["1"]) == 32
    assert s.pool_ids()["2"][-1] == "2999"
    assert s.exclusions() == {"1": ["900"], "2": []}
    assert [q.id for q in s.head(1).queries] == ["1"] and list(s.head(1).qrels) == ["1"]


@pytest.mark.parametrize(
    "damage,match",
    [
        (lambda r: (r / "pools.dev.tsv").unlink(), "lacks pools.dev.tsv"),
        (
            lambda r: (r / "qrels.dev.tsv").write_text("q\td\tg\n1\t1000\t2\n"),
            r"qrels.dev.tsv:1: expected the header",
        ),
        (
            lambda r: _append(r / "qrels.dev.tsv", "1\t1000\t7\n"),
            r"qrels.dev.tsv:66: grade must be an integer 0..3",
        ),
        (lambda r: _append(r / "qrels.dev.tsv", "1\t1000\t2\n"), "labelled twice"),
        (lambda r: _append(r / "qrels.dev.tsv", "5\t1000\t2\n"), "query 5 is not in the queries file"),
        (lambda r: _append(r / "queries.dev.jsonl", "{not json\n"), r"queries.dev.jsonl:3: not JSON"),
        (
            lambda r: _append(r / "queries.dev.jsonl", '{"id": "3", "q": "x", "query_type": "odd"}\n'),
            "query_type",
        ),
        (lambda r: (r / "pools.dev.tsv").write_bytes(b"\xff\xfe"), "not UTF-8"),
    ],
)
def test_load_lecard_errors_name_file_and_line(tmp_path, damage, match):
    _write_split(tmp_path)
    damage(tmp_path)
    with pytest.raises(CorpusReadError, match=match):
        load_lecard(tmp_path, "dev")


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def test_load_lecard_missing_directory_and_bad_split(tmp_path):
    with pytest.raises(CorpusReadError, match="no such directory"):
        load_lecard(tmp_path / "nope")
    with pytest.raises(InvalidInput, match="plain name"):
        load_lecard(tmp_path, "../dev")


def test_real_lecard_dev(lecard_dir):
    s = load_lecard(lecard_dir, "dev")
    assert len(s.queries) == 87
    assert sum(map(len, s.qrels.values())) == 2628 and sum(map(len, s.pools.values())) == 8718
    assert sum(map(len, s.labelled_candidates().values())) == 87 * 30
    # the candidates are exactly the labelled documents of the original 100-document pool
    for qid, cands in s.labelled_candidates().items():
        assert set(cands) == {e.doc_id for e in s.pools[qid] if e.labelled and e.pool_rank <= 100}
    assert sum(1 for v in s.exclusions().values() if v) == 17


# ---------------------------------------------------------------------------------------------------
# collecting runs: what reaches the searcher


def test_collect_runs_sends_facts_only_with_the_right_candidates(tmp_path):
    _write_split(tmp_path)
    split = load_lecard(tmp_path)
    calls = []

    def rank(query, candidate_ids):
        calls.append((query, candidate_ids))
        ids = candidate_ids or ["1000", "900", "1031"]
        return [(d, float(len(ids) - i)) for i, d in enumerate(ids)]

    ticks = []
    runs = collect_runs(rank, split, [Protocol.A, Protocol.B, Protocol.C], ticks.append)
    assert ticks == [1, 1]
    assert len(calls) == 6
    for query, _ in calls:
        assert query.charges is None  # the crime label never reaches the searcher
        assert "盗窃罪" not in query.facts
    q1 = [c for c in calls if c[0].facts.startswith("被告人张某")]
    assert [c[1] for c in q1][0] == split.labelled_candidates()["1"]
    assert [c[1] for c in q1][1] == split.pool_ids()["1"]
    assert q1[2][1] is None and q1[2][0].top_k == 1000  # deep enough for nDCG'
    assert all(c[0].exclude_ids == ["900"] for c in q1)
    results = {r.protocol: r for r in evaluate_split(split, runs, per_query=True)}
    assert set(results) == set(Protocol)
    # "900" (the query's own judgment) came back from the fake ranker: protocol C drops it
    c1 = results[Protocol.C].per_query["1"]
    assert c1["recall@100"] == pytest.approx(1 / 16)  # 1031, of 16 grade >= 2 labels
    kept = evaluate_c(runs[Protocol.C], split.qrels, per_query=True).per_query["1"]
    assert c1["ndcg@30"] / kept["ndcg@30"] == pytest.approx(L2(4) / L2(3))  # 1031 at rank 2, not 3


def test_given_charges_send_the_label_and_only_then(tmp_path):
    _write_split(tmp_path)
    split = load_lecard(tmp_path)
    sent = []

    def rank(query, candidate_ids):
        sent.append(query)
        return [(d, 1.0) for d in (candidate_ids or ["1000"])]

    collect_runs(rank, split, list(Protocol), charges=ChargeInput.GIVEN)
    assert [q.charges for q in sent] == [["盗窃罪"]] * 3 + [["危险驾驶罪"]] * 3
    assert {q.facts for q in sent} == {q.q for q in split.queries}  # the facts as before
    assert [q.top_k for q in sent[:3]] == [30, 33, 1000] and sent[0].exclude_ids == ["900"]
    sent.clear()
    collect_runs(rank, split, list(Protocol), charges="predicted")  # the enum's value works too
    assert sent and all(q.charges is None for q in sent)
    # a query without charges would silently fall back to predicted ones: refused before any search
    bare = split.model_copy(
        update={"queries": [split.queries[0], split.queries[1].model_copy(update={"crime": []})]}
    )
    sent.clear()
    with pytest.raises(InvalidInput, match=r"1 of the 2 queries have no charges \(crime\), e\.g\. 2"):
        collect_runs(rank, bare, list(Protocol), charges=ChargeInput.GIVEN)
    assert sent == []
    with pytest.raises(InvalidInput, match="query 2 has no charges"):
        lecard_query(bare.queries[1], ChargeInput.GIVEN)
    assert lecard_query(bare.queries[1]).charges is None


def _sample_split(sample_queries: list[dict], root: Path | None = None):
    """The bundled sample's queries as a LeCaRD split (their labels as qrels and pools); written to
    ``root`` as the three files when given."""
    queries = [
        {"id": q["id"], "q": q["q"], "crime": q["labels"]["crime"], "query_type": q["labels"]["query_type"]}
        | ({"source_doc_id": q["source_doc_id"]} if q.get("source_doc_id") else {})
        for q in sample_queries
    ]
    grades = {q["id"]: q["labels"]["grades"] for q in sample_queries}
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "queries.dev.jsonl").write_text(
            "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), "utf-8"
        )
        qrels = ["query_id\tdoc_id\tgrade"] + [
            f"{q}\t{d}\t{g}" for q, gs in grades.items() for d, g in gs.items()
        ]
        pools = ["query_id\tdoc_id\tpool_rank\tlabelled\tgrade"] + [
            f"{q}\t{d}\t{i}\t1\t{g}" for q, gs in grades.items() for i, (d, g) in enumerate(gs.items(), 1)
        ]
        (root / "qrels.dev.tsv").write_text("\n".join(qrels) + "\n", "utf-8")
        (root / "pools.dev.tsv").write_text("\n".join(pools) + "\n", "utf-8")
        return load_lecard(root)
    from leian.corpora.lecard import LecardQuery, LecardSplit, PoolEntry

    return LecardSplit(
        name="sample",
        data_dir="",
        queries=[LecardQuery.model_validate(q) for q in queries],
        qrels={q: dict(gs) for q, gs in grades.items()},
        pools={
            q: [
                PoolEntry(doc_id=d, pool_rank=i, labelled=True, grade=g)
                for i, (d, g) in enumerate(gs.items(), 1)
            ]
            for q, gs in grades.items()
        },
    )


def test_on_a_real_index_the_label_reaches_the_ranking_only_when_given(sample_index, sample_queries):
    """The real searcher on the bundled sample's index: in the default mode the rankings are the same
    whatever the queries' ``crime`` labels say (so the label cannot be reaching the search, by any
    path); given, the labels are what the searcher is sent and they change the rankings."""
    from leian.retrieval.search import open_searcher

    searcher = open_searcher(index=str(sample_index))
    sent = []

    def rank(query, candidate_ids):
        sent.append(query)
        return searcher.rank(query, candidate_ids)

    split = _sample_split(sample_queries)
    # the same queries labelled with a charge none of them has (故意杀人罪 is in no sample query)
    relabelled = split.model_copy(
        update={"queries": [q.model_copy(update={"crime": ["故意杀人罪"]}) for q in split.queries]}
    )
    assert all("故意杀人罪" not in q.crime for q in split.queries)
    protocols = [Protocol.B, Protocol.C]
    facts_only = collect_runs(rank, split, protocols)
    assert len(sent) == 2 * len(split.queries) and all(q.charges is None for q in sent)
    assert collect_runs(rank, relabelled, protocols) == facts_only
    sent.clear()
    given = collect_runs(rank, split, protocols, charges=ChargeInput.GIVEN)
    assert [q.charges for q in sent] == [q.crime for q in split.queries for _ in protocols]
    assert given != facts_only
    wrong = collect_runs(rank, relabelled, protocols, charges=ChargeInput.GIVEN)
    assert wrong != given
    # the true charges rank the labelled cases at least as well as a wrong charge does
    ndcg = {
        name: evaluate_split(split, run)[0].metrics["ndcg@10"]
        for name, run in (("given", given), ("wrong", wrong))
    }
    assert ndcg["given"] > ndcg["wrong"]


# ---------------------------------------------------------------------------------------------------
# a tiny BM25 (here only) over the pools of a few real queries: the whole path on real data


def _tiny_bm25(docs: dict[str, list[str]], k1: float = 1.5, b: float = 0.75):
    ids = list(docs)
    df: dict[str, int] = {}
    for toks in docs.values():
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    n = len(ids)
    lengths = np.array([len(docs[i]) for i in ids], dtype=float)
    avg = lengths.mean()
    tfs = [{} for _ in ids]
    for j, i in enumerate(ids):
        for t in docs[i]:
            tfs[j][t] = tfs[j].get(t, 0) + 1

    def score(query_tokens):
        out = np.zeros(n)
        for t in set(query_tokens):
            if t not in df:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            tf = np.array([tfs[j].get(t, 0) for j in range(n)], dtype=float)
            out += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
        return dict(zip(ids, out.tolist(), strict=True))

    return score


@pytest.mark.slow
def test_tiny_bm25_on_real_queries(lecard_dir):
    import rjieba

    split = load_lecard(lecard_dir).head(6)
    wanted = {d for ids in split.pool_ids().values() for d in ids}
    docs = {}
    with gzip.open(lecard_dir / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if str(d["id"]) in wanted:
                docs[str(d["id"])] = [w for w in rjieba.cut(d.get("ajjbqk") or "") if w.strip()]
    score = _tiny_bm25(docs)

    def rank(query, candidate_ids, sign=1.0):
        s = score([w for w in rjieba.cut(query.facts) if w.strip()])
        ids = candidate_ids if candidate_ids is not None else list(s)
        ranked = sorted(
            ((d, sign * s.get(d, 0.0)) for d in ids if d not in query.exclude_ids), key=lambda x: -x[1]
        )
        return ranked[: len(ranked) if candidate_ids is not None else query.top_k]

    protocols = list(Protocol)
    good = {r.protocol: r.metrics for r in evaluate_split(split, collect_runs(rank, split, protocols))}
    worst = collect_runs(lambda q, c: rank(q, c, sign=-1.0), split, protocols)
    bad = {r.protocol: r.metrics for r in evaluate_split(split, worst)}
    for p in protocols:
        for m, v in good[p].items():
            assert 0.0 <= v <= 1.0
            assert v >= bad[p][m], (p, m)
    assert good[Protocol.A]["ndcg@30"] > bad[Protocol.A]["ndcg@30"] + 0.05
    assert good[Protocol.B]["ndcg@10"] > bad[Protocol.B]["ndcg@10"] + 0.1


# ---------------------------------------------------------------------------------------------------
# the CLI


def _leian(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leian.api.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "queries.dev.jsonl").write_text("")  # another split's file, and one of many
    (tmp_path / "notes.txt").write_text("not LeCaRD")
    for args, needle in [
        (["--data", str(tmp_path / "nope")], "no such directory"),
        (["--data", str(tmp_path), "--protocols", "A,X"], "unknown protocol 'X'"),
        (
            ["--data", str(tmp_path), "--split", "test"],
            "lacks queries.test.jsonl, qrels.test.tsv, pools.test.tsv (splits there: dev)",
        ),
        (["--data", str(tmp_path), "--run", str(tmp_path / "r")], "not both"),
    ]:
        p = _leian("eval", "--index", str(tmp_path / "idx"), *args)
        assert p.returncode == 1, p.stderr
        assert p.stderr.count("\n") == 1 and needle in p.stderr and p.stderr.startswith("leian eval: error:")
        assert p.stdout == ""


def _write_run(path: Path, run: dict[str, list[tuple[str, float]]]) -> None:
    lines = [f"{q} Q0 {d} {i} {x!r} test" for q, r in run.items() for i, (d, x) in enumerate(r, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_read_trec_run_and_its_errors(tmp_path):
    f = tmp_path / "run.trec"
    _write_run(f, {"1": [("a", 2.5), ("b", -1.0)], "2": [("c", 0.0)]})
    assert read_trec_run(f) == {"1": [("a", 2.5), ("b", -1.0)], "2": [("c", 0.0)]}
    for text, needle in [
        ("1 Q0 a 1 2.0 t\n1 Q0 b 2 x t\n", r"run.trec:2: score 'x' is not a number"),
        ("1 Q0 a 1 2.0\n", r"run.trec:1: expected 6 columns"),
        ("1 Q0 a 1 2.0 t\n1 Q0 a 2 1.0 t\n", "appears twice"),
        ("\n", "empty"),
    ]:
        f.write_text(text)
        with pytest.raises(CorpusReadError, match=needle):
            read_trec_run(f)
    with pytest.raises(CorpusReadError, match="no such run file"):
        read_trec_run(tmp_path / "nope.trec")


def test_cli_scores_a_run_file_like_the_library(tmp_path):
    _write_split(tmp_path / "data")
    split = load_lecard(tmp_path / "data")
    rng = random.Random(3)
    docs = [d for ids in split.pool_ids().values() for d in ids] + ["900", "1"]
    run = {q: [(d, float(rng.randrange(20))) for d in rng.sample(docs, 60)] for q in split.query_ids()}
    _write_run(tmp_path / "run.trec", run)
    p = _leian(
        "eval", "--run", str(tmp_path / "run.trec"), "--data", str(tmp_path / "data"), "--format", "json"
    )
    assert p.returncode == 0, p.stderr
    got = {r["protocol"]: r["metrics"] for r in json.loads(p.stdout)["results"]}
    want = {r.protocol.value: r.metrics for r in evaluate_split(split, dict.fromkeys(Protocol, run))}
    assert set(got) == set(want) == {"A", "B", "C"}
    for name, metrics in want.items():
        assert got[name] == pytest.approx(metrics, abs=1e-12)
    for r in evaluate_split(split, dict.fromkeys(Protocol, run), per_query=True):
        # one query of each type in the fixture: the group means are that query's numbers
        assert r.by_query_type["common"] == pytest.approx(r.per_query["1"] | {"n": 1})
        assert r.by_query_type["controversial"] == pytest.approx(r.per_query["2"] | {"n": 1})
    _write_run(tmp_path / "half.trec", {"1": run["1"]})
    h = _leian(
        "eval", "--run", str(tmp_path / "half.trec"), "--data", str(tmp_path / "data"), "--format", "json"
    )
    assert h.returncode == 0 and "no results for 1 of the 2 queries" in h.stderr
    t = _leian("eval", "--run", str(tmp_path / "run.trec"), "--data", str(tmp_path / "data"), "--per-query")
    assert t.returncode == 0, t.stderr
    lines = t.stdout.splitlines()
    assert lines[1].split()[:3] == ["protocol", "ndcg@10", "ndcg@20"] and lines[2].startswith("A ")
    assert [ln.split()[0] for ln in lines[-2:]] == ["1", "2"] and lines[-1].split()[1] == "controversial"


def test_cli_says_which_charges_the_searcher_was_given(sample_index, sample_queries, tmp_path):
    split = _sample_split(sample_queries, tmp_path / "data")
    args = ["eval", "--index", str(sample_index), "--data", str(tmp_path / "data"), "--protocols", "B,C"]
    given = _leian(*args, "--given-charges", "--format", "json", "--per-query")
    assert given.returncode == 0, given.stderr
    report = json.loads(given.stdout)
    assert report["setup"]["charges"] == "given"
    assert set(report["results"][0]["per_query"]) == set(split.query_ids())
    facts = _leian(*args)
    assert facts.returncode == 0, facts.stderr
    assert "charges predicted: facts only" in facts.stdout.splitlines()[0]
    # the library's runs, scored the same way: the CLI sent what collect_runs sends
    from leian.retrieval.search import open_searcher

    searcher = open_searcher(index=str(sample_index))
    runs = collect_runs(searcher.rank, split, [Protocol.B, Protocol.C], charges=ChargeInput.GIVEN)
    want = {r.protocol.value: r.metrics for r in evaluate_split(split, runs)}
    got = {r["protocol"]: r["metrics"] for r in report["results"]}
    assert set(got) == set(want) == {"B", "C"}
    for name, metrics in want.items():
        assert got[name] == pytest.approx(metrics, abs=1e-12)
    _write_run(tmp_path / "run.trec", {"1": [("a", 1.0)]})
    both = _leian(
        "eval", "--run", str(tmp_path / "run.trec"), "--data", str(tmp_path / "data"), "--given-charges"
    )
    assert both.returncode == 1 and both.stderr.count("\n") == 1
    assert "--given-charges decides what the searcher is sent" in both.stderr


@pytest.mark.slow
def test_cli_end_to_end_json_and_table(tmp_path, lecard_dir):
    """Index the pools of three real queries (BM25 + structure, no vectors) and evaluate them."""
    pytest.importorskip("leian.corpora.loaders")  # `leian index` reads the corpus through it
    split = load_lecard(lecard_dir).head(3)
    data = tmp_path / "data"
    data.mkdir()
    ids = {q.id for q in split.queries}
    queries = (lecard_dir / "queries.dev.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "queries.dev.jsonl").write_text(
        "".join(x for x in queries if json.loads(x)["id"] in ids), "utf-8"
    )
    for name in ("qrels.dev.tsv", "pools.dev.tsv"):
        header, *rows = (lecard_dir / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (data / name).write_text(header + "".join(x for x in rows if x.split("\t")[0] in ids), "utf-8")
    wanted = {d for v in split.pool_ids().values() for d in v}
    corpus = tmp_path / "docs.jsonl.gz"
    with (
        gzip.open(lecard_dir / "docs.jsonl.gz", "rt", encoding="utf-8") as f,
        gzip.open(corpus, "wt", encoding="utf-8") as out,
    ):
        for line in f:
            if str(json.loads(line)["id"]) in wanted:
                out.write(line)
    index = tmp_path / "idx"
    built = _leian("index", str(corpus), "--index", str(index), "--no-embeddings", "--format", "lecard")
    assert built.returncode == 0, built.stderr
    p = _leian("eval", "--index", str(index), "--data", str(data), "--format", "json", "--per-query")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["n_queries"] == 3 and [r["protocol"] for r in report["results"]] == ["A", "B", "C"]
    for r in report["results"]:
        assert set(r["per_query"]) == ids
        assert all(0.0 <= v <= 1.0 for v in r["metrics"].values())
    assert report["results"][0]["metrics"]["ndcg@30"] > 0.5
    t = _leian("eval", "--index", str(index), "--data", str(data), "--protocols", "b")
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines()[1].split()[:5] == ["protocol", "ndcg@10", "ndcg@20", "ndcg@30", "p@5"]
    assert t.stdout.splitlines()[2].startswith("B ")
