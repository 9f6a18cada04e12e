"""Retrieval quality on LeCaRD: protocols A, B and C of data/lecard/README.md, as pure functions.

A *run* maps a query id to scored documents ``[(doc_id, score), …]``; *qrels* map a query id to
``{doc_id: grade}`` (grades 0..3). Every protocol first orders a run the way ``trec_eval`` does
(``form_res_rels.c``, ``comp_sim_docno``): scores compared as C ``float`` (float32), descending, ties
broken by doc id in *descending* ``strcmp`` order — so a run evaluates the same here, in
``pytrec_eval`` and from a TREC run file, whatever order the list came in. Means are over all the
split's queries (``trec_eval -c``; LeCaRD's metrics.py divides by the number of queries too): a query
with no results scores 0.

**A** — LeCaRD paper, ``metrics.py`` (github.com/myx666/LeCaRD): only the query's 30 labelled
candidates are ranked (the run is restricted to them). With ``g_i`` the grade of the document at rank
``i`` (1-based; linear gain, *not* 2^g−1) ::

    DCG@k  = Σ_{i≤k} g_i / log2(i + 1)
    IDCG@k = the same over *all* the query's labels sorted by grade, descending — including the
             expert-added grade-3 documents that are not among the 30 candidates
    NDCG@k = DCG@k / IDCG@k   (0 when the ranked grades sum to 0: metrics.py's ``if sum(ranks) != 0``)
    P@5    = |{grade = 3 in the top 5}| / 5

**B** — SAILER paper, ``trec_eval -m ndcg_cut.10,20,30 -m P.5``: the query's whole pool (~100 docs)
is ranked. ``m_ndcg_cut.c``: gain = grade (judged grade > 0 only; unlabelled documents 0), discount
``log2(rank + 1)``, ideal DCG from every judged document of the query in the qrels, value = DCG when
the ideal is 0. ``m_P.c``: relevant = grade ≥ 1 (``-l 1``), divided by 5 even when fewer came back.

**C** — the product: the whole corpus is ranked, the query's own judgment dropped; ``ndcg_cut.30`` as
in B and ``trec_eval -l 2 -m recall.100``: grade-≥2 documents in the top 100 over all grade-≥2
documents of the query (0 when it has none); Judged@30, the share of the top 30 that is labelled; and
nDCG'@30 (Sakai's condensed list), ``ndcg_cut.30`` of the run with its unlabelled documents taken out
first. The run is retrieved 1,000 deep (not 100) so that the condensed list holds the labelled cases
ranked below 100 too: it then scores the order of what LeCaRD judged, not how much of it made the top 100.

A and B restrict whatever run they get to the candidates, so one whole-corpus run (a TREC run file)
can be scored under all three; `leian eval --index` instead asks the searcher to rank each
protocol's candidate set itself (:func:`collect_runs`), which is what the protocols describe.

What the searcher is given (:class:`ChargeInput`): by default the facts alone, its charges predicted
from them — the setting of the literature's figures; with ``GIVEN`` also the query's labelled charges
(``crime``), as a prosecutor who knows the suspected 罪名 would type them: the product's recommended
mode, and not comparable with facts-only results.

Checked (tests/test_evaluate.py): B and C equal ``pytrec_eval`` (trec_eval 9's C code) per query to
1e-12 on random runs full of ties, float32 near-ties and ±inf; A equals a literal transcription of
metrics.py (which uses ``math.log(i + 2, 2)``: within an ulp of ``log2``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from leian.corpora.lecard import LecardQuery, LecardSplit
from leian.errors import CorpusReadError, InvalidInput
from leian.retrieval.models import MAX_TOP_K, Query

Ranking = Sequence[tuple[str, float]]
Run = Mapping[str, Ranking]
Qrels = Mapping[str, Mapping[str, int]]
# (query, candidate ids or None for the whole corpus) -> scored documents; a searcher's ``rank``
RankFn = Callable[[Query, list[str] | None], list[tuple[str, float]]]

C_RECALL_DEPTH = 100
# How deep protocol C's run goes: trec's customary 1,000 (MAX_TOP_K). NDCG@30 and Recall@100 read its
# top; nDCG'@30 needs the labelled cases that lie further down, or it scores recall instead of order
# (on LeCaRD dev the default ranking scores 0.863 at depth 100 and 0.916 at 1,000; ranking every case
# moves it by less than 0.001).
C_RUN_DEPTH = MAX_TOP_K


class Protocol(StrEnum):
    A = "A"
    B = "B"
    C = "C"


PROTOCOL_METRICS: dict[Protocol, tuple[str, ...]] = {
    Protocol.A: ("ndcg@10", "ndcg@20", "ndcg@30", "p@5"),
    Protocol.B: ("ndcg@10", "ndcg@20", "ndcg@30", "p@5"),
    Protocol.C: ("ndcg@30", "recall@100", "judged@30", "ndcg'@30"),
}
PROTOCOL_DESCRIPTIONS: dict[Protocol, str] = {
    Protocol.A: "LeCaRD metrics.py: re-rank the 30 labelled candidates; P@5 counts grade 3",
    Protocol.B: "SAILER / trec_eval: rank the ~100-doc pool; P@5 counts grade >= 1",
    Protocol.C: (
        "whole corpus minus the query's own judgment; Recall@100 of grade >= 2; "
        "Judged@30: share of the top 30 that LeCaRD labelled (unlabelled ones count as grade 0); "
        "nDCG'@30: the same NDCG with the unlabelled ones taken out of the top 1,000 first"
    ),
}


class ChargeInput(StrEnum):
    """Whether a LeCaRD query's charges reach the searcher (``leian eval --given-charges``)."""

    PREDICTED = "predicted"  # facts only; the searcher predicts the charges (the literature's setting)
    GIVEN = "given"  # facts + the labelled ``crime``, the prosecutor's 罪名 (the product's mode)


CHARGE_INPUT_DESCRIPTIONS: dict[ChargeInput, str] = {
    ChargeInput.PREDICTED: "facts only, charges predicted from them",
    ChargeInput.GIVEN: "facts + the labelled charges as input (a product mode, not comparable with facts-only)",
}


class ProtocolResult(BaseModel):
    protocol: Protocol
    description: str
    n_queries: int
    metrics: dict[str, float]  # mean over queries, in PROTOCOL_METRICS order
    per_query: dict[str, dict[str, float]] | None = None
    by_query_type: dict[str, dict[str, float]] | None = None  # "common"/"controversial" -> means (+ "n")


class EvalReport(BaseModel):
    """What `leian eval` prints: one result per protocol, plus where the numbers came from."""

    split: str
    data_dir: str
    n_queries: int
    setup: dict[str, str | float | int | bool | None] = Field(default_factory=dict)
    config: dict[str, str | float | int | bool | None] = Field(default_factory=dict)  # the SearchConfig used
    results: list[ProtocolResult]


def parse_protocols(text: str | Iterable[str]) -> list[Protocol]:
    """``"A,B,C"`` (any case, any order) -> protocols in A, B, C order; unknown names are an error."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    wanted: set[Protocol] = set()
    for part in (p.strip().upper() for p in parts):
        if not part:
            continue
        try:
            wanted.add(Protocol(part))
        except ValueError:
            raise InvalidInput(
                f"unknown protocol {part!r}; choose from {', '.join(p.value for p in Protocol)} (e.g. A,B,C)"
            ) from None
    if not wanted:
        raise InvalidInput("no protocol given; choose from A, B, C (e.g. --protocols A,B,C)")
    return [p for p in Protocol if p in wanted]


# ---------------------------------------------------------------------------------------------------
# ordering and per-query measures


def trec_order(ranking: Ranking) -> list[str]:
    """Doc ids in trec_eval's order: float32 score descending, then doc id descending.

    trec_eval keeps scores in a C ``float``, so two doubles equal after rounding to float32 tie there;
    Python's ``str`` order equals ``strcmp`` on UTF-8 bytes (UTF-8 preserves code-point order).
    """
    ids = [d for d, _ in ranking]
    if len(set(ids)) != len(ids):
        dup = next(d for i, d in enumerate(ids) if d in ids[:i])
        raise InvalidInput(f"document {dup!r} appears twice in one ranking (trec_eval rejects duplicates)")
    scores = [float(s) for _, s in ranking]
    if any(math.isnan(s) for s in scores):
        raise InvalidInput("a ranking has a NaN score; scores must be numbers")
    with np.errstate(over="ignore"):  # beyond float32's range a score saturates to ±inf, as in trec_eval
        f32 = np.asarray(scores, dtype=np.float32).tolist()
    keyed = sorted(zip(f32, ids, strict=True), reverse=True)
    return [d for _, d in keyed]


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def dcg(gains: Sequence[float], k: int) -> float:
    """Σ_{i≤k} g_i / log2(i+1), ranks from 1; only positive gains count (m_ndcg_cut.c: ``gain > 0``)."""
    g = np.asarray(gains[:k], dtype=np.float64)
    g = np.where(g > 0, g, 0.0)
    return float(np.sum(g * _discounts(len(g))))


def ndcg_trec(ranked_grades: Sequence[int], judged_grades: Iterable[int], k: int) -> float:
    """trec_eval ``ndcg_cut.k``: ideal from all judged grades of the query; DCG itself when that is 0."""
    ideal = dcg(sorted((g for g in judged_grades if g > 0), reverse=True), k)
    value = dcg(ranked_grades, k)
    return value / ideal if ideal > 0 else value


def ndcg_lecard(ranked_grades: Sequence[int], all_grades: Iterable[int], k: int) -> float:
    """LeCaRD metrics.py ``ndcg(ranks, gt_ranks, K)``, skipping queries whose ranked grades sum to 0."""
    if sum(ranked_grades) == 0:
        return 0.0
    return dcg(ranked_grades, k) / dcg(sorted(all_grades, reverse=True), k)


def judged_at(ranked: Sequence[str], labels: Mapping[str, int], k: int) -> float:
    """Share of the top k that is labelled at any grade, over k (pyserini's Judged@k): how much of a
    ranking the pooled labels can see at all; unlabelled documents are scored as grade 0."""
    return sum(1 for d in ranked[:k] if d in labels) / k


def condensed_ndcg(ranked: Sequence[str], labels: Mapping[str, int], k: int) -> float:
    """nDCG' (Sakai, SIGIR 2007, "condensed lists"): trec NDCG@k of the ranking with its unlabelled
    documents taken out first. Where the labels come from another system's pool, as LeCaRD's do, an
    unlabelled document is unknown rather than irrelevant: this scores the order of what is known."""
    return ndcg_trec([labels[d] for d in ranked if d in labels], labels.values(), k)


def precision_at(ranked_grades: Sequence[int], k: int, relevant: Callable[[int], bool]) -> float:
    """trec_eval ``P.k``: relevant documents in the top k over k (not over the number returned)."""
    return sum(1 for g in ranked_grades[:k] if relevant(g)) / k


def recall_at(ranked_grades: Sequence[int], judged_grades: Iterable[int], k: int, level: int) -> float:
    """trec_eval ``-l level recall.k``; 0 for a query without relevant documents (m_recall.c)."""
    n_rel = sum(1 for g in judged_grades if g >= level)
    if n_rel == 0:
        return 0.0
    return sum(1 for g in ranked_grades[:k] if g >= level) / n_rel


# ---------------------------------------------------------------------------------------------------
# the three protocols


def evaluate_a(
    run: Run, qrels: Qrels, candidates: Mapping[str, Sequence[str]], per_query: bool = False
) -> ProtocolResult:
    """Protocol A. ``candidates``: each query's labelled candidates (LecardSplit.labelled_candidates)."""
    _check_qrels(qrels)
    rows: dict[str, dict[str, float]] = {}
    for qid, labels in qrels.items():
        allowed = set(candidates.get(qid, ()))
        # metrics.py: gains only for the candidates; any other document (incl. expert-added) is 0
        ranked = [d for d in trec_order(run.get(qid, ())) if d in allowed]
        grades = [labels.get(d, 0) for d in ranked]
        all_grades = list(labels.values())
        rows[qid] = {f"ndcg@{k}": ndcg_lecard(grades, all_grades, k) for k in (10, 20, 30)}
        rows[qid]["p@5"] = precision_at(grades, 5, lambda g: g == 3)
    return _result(Protocol.A, rows, per_query)


def evaluate_b(
    run: Run, qrels: Qrels, pools: Mapping[str, Sequence[str]] | None = None, per_query: bool = False
) -> ProtocolResult:
    """Protocol B. With ``pools``, documents outside a query's pool are dropped from its ranking first."""
    _check_qrels(qrels)
    rows: dict[str, dict[str, float]] = {}
    for qid, labels in qrels.items():
        ranked = trec_order(run.get(qid, ()))
        if pools is not None:
            allowed = set(pools.get(qid, ()))
            ranked = [d for d in ranked if d in allowed]
        grades = [labels.get(d, 0) for d in ranked]
        judged = list(labels.values())
        rows[qid] = {f"ndcg@{k}": ndcg_trec(grades, judged, k) for k in (10, 20, 30)}
        rows[qid]["p@5"] = precision_at(grades, 5, lambda g: g >= 1)
    return _result(Protocol.B, rows, per_query)


def evaluate_c(
    run: Run, qrels: Qrels, exclude: Mapping[str, Sequence[str]] | None = None, per_query: bool = False
) -> ProtocolResult:
    """Protocol C. ``exclude``: documents dropped from a query's ranking (its own judgment)."""
    _check_qrels(qrels)
    rows: dict[str, dict[str, float]] = {}
    for qid, labels in qrels.items():
        ranked = trec_order(run.get(qid, ()))
        if exclude and exclude.get(qid):
            dropped = set(exclude[qid])
            ranked = [d for d in ranked if d not in dropped]
        grades = [labels.get(d, 0) for d in ranked]
        judged = list(labels.values())
        rows[qid] = {
            "ndcg@30": ndcg_trec(grades, judged, 30),
            "recall@100": recall_at(grades, judged, C_RECALL_DEPTH, level=2),
            "judged@30": judged_at(ranked, labels, 30),
            "ndcg'@30": condensed_ndcg(ranked, labels, 30),
        }
    return _result(Protocol.C, rows, per_query)


def evaluate_split(
    split: LecardSplit, runs: Mapping[Protocol, Run], per_query: bool = False
) -> list[ProtocolResult]:
    """Score each protocol's run against the split's labels (runs from :func:`collect_runs`).

    Each result also carries the means by query type (LeCaRD's common / controversial queries).
    """
    types = {q.id: q.query_type for q in split.queries}
    results = []
    for protocol in Protocol:
        if protocol not in runs:
            continue
        run = runs[protocol]
        if protocol is Protocol.A:
            res = evaluate_a(run, split.qrels, split.labelled_candidates(), per_query=True)
        elif protocol is Protocol.B:
            res = evaluate_b(run, split.qrels, split.pool_ids(), per_query=True)
        else:
            res = evaluate_c(run, split.qrels, split.exclusions(), per_query=True)
        rows = res.per_query or {}
        groups: dict[str, dict[str, float]] = {}
        for qtype in sorted(set(types.values())):
            members = [r for qid, r in rows.items() if types.get(qid) == qtype]
            groups[qtype] = {m: math.fsum(r[m] for r in members) / len(members) for m in res.metrics}
            groups[qtype]["n"] = len(members)
        results.append(
            res.model_copy(update={"by_query_type": groups, "per_query": rows if per_query else None})
        )
    return results


def lecard_query(
    q: LecardQuery,
    charges: ChargeInput = ChargeInput.PREDICTED,
    top_k: int = 10,
    exclude_ids: Sequence[str] = (),
) -> Query:
    """The searcher's input for one LeCaRD query: its facts ``q``, and its ``crime`` label only
    when ``charges`` is :attr:`ChargeInput.GIVEN` (otherwise ``charges=None``: they are predicted)."""
    given: list[str] | None = None
    if charges is ChargeInput.GIVEN:
        if not q.crime:
            # an empty list would silently fall back to predicted charges and mix the two modes
            raise InvalidInput(f"query {q.id} has no charges (crime) to give; run without --given-charges")
        given = list(q.crime)
    return Query(facts=q.q, charges=given, top_k=top_k, exclude_ids=list(exclude_ids))


def collect_runs(
    rank: RankFn,
    split: LecardSplit,
    protocols: Sequence[Protocol],
    advance: Callable[[int], object] | None = None,
    charges: ChargeInput = ChargeInput.PREDICTED,
) -> dict[Protocol, dict[str, list[tuple[str, float]]]]:
    """Ask ``rank`` for every query of the split, once per protocol.

    By default only the facts ``q`` are sent — never ``crime``, which is the label; with
    ``charges=ChargeInput.GIVEN`` the label goes too, as the query's given charges
    (:func:`lecard_query`). Each protocol gets its own call because a ranking over a candidate set
    (fusion normalises over the candidates) is not the same as a slice of a bigger one.
    ``advance(1)`` is called after each query (a progress bar).
    """
    charges = ChargeInput(charges)
    if charges is ChargeInput.GIVEN:
        lacking = [q.id for q in split.queries if not q.crime]
        if lacking:  # refuse before any search rather than after minutes of them
            raise InvalidInput(
                f"--given-charges: {len(lacking)} of the {len(split.queries)} queries have no charges "
                f"(crime), e.g. {', '.join(lacking[:3])}; run without --given-charges"
            )
    candidates = split.labelled_candidates()
    pools = split.pool_ids()
    exclusions = split.exclusions()
    runs: dict[Protocol, dict[str, list[tuple[str, float]]]] = {p: {} for p in protocols}
    for q in split.queries:
        exclude = exclusions[q.id]
        for protocol in protocols:
            if protocol is Protocol.A:
                ids: list[str] | None = candidates.get(q.id, [])
                top_k = max(len(ids), 1)
            elif protocol is Protocol.B:
                ids = pools.get(q.id, [])
                top_k = max(len(ids), 1)
            else:
                ids, top_k = None, C_RUN_DEPTH
            if ids is not None and not ids:
                runs[protocol][q.id] = []
                continue
            query = lecard_query(q, charges, top_k=top_k, exclude_ids=exclude)
            runs[protocol][q.id] = [(str(d), float(s)) for d, s in rank(query, ids)]
        if advance is not None:
            advance(1)
    return runs


def read_trec_run(path: str | Path) -> dict[str, list[tuple[str, float]]]:
    """A TREC run file (``qid Q0 docid rank score tag`` per line), e.g. from ``leian search --format trec``.

    As in trec_eval the rank column is ignored (order comes from the scores) and a document twice
    for one query is an error.
    """
    run: dict[str, dict[str, float]] = {}
    where = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                cols = line.split()
                if not cols:
                    continue
                where = f"{path}:{lineno}"
                if len(cols) != 6:
                    raise CorpusReadError(
                        f"expected 6 columns 'qid Q0 docid rank score tag', got {len(cols)}", where
                    )
                qid, _, doc_id, _, score, _ = cols
                try:
                    value = float(score)
                except ValueError:
                    raise CorpusReadError(f"score {score!r} is not a number", where) from None
                if math.isnan(value):
                    raise CorpusReadError("score is NaN", where)
                docs = run.setdefault(qid, {})
                if doc_id in docs:
                    raise CorpusReadError(f"query {qid}: document {doc_id} appears twice", where)
                docs[doc_id] = value
    except FileNotFoundError:
        raise CorpusReadError("no such run file", str(path)) from None
    except UnicodeDecodeError:
        raise CorpusReadError("not UTF-8 text", where) from None
    except OSError as e:
        raise CorpusReadError(e.strerror or str(e), str(path)) from None
    if not run:
        raise CorpusReadError("the run file is empty", str(path))
    return {qid: list(docs.items()) for qid, docs in run.items()}


# ---------------------------------------------------------------------------------------------------


def _check_qrels(qrels: Qrels) -> None:
    for qid, labels in qrels.items():
        for doc_id, grade in labels.items():
            if isinstance(grade, bool) or not isinstance(grade, int | np.integer) or grade < 0:
                raise InvalidInput(
                    f"qrels: query {qid}, doc {doc_id}: grade {grade!r} is not an integer >= 0"
                )


def _result(protocol: Protocol, rows: dict[str, dict[str, float]], per_query: bool) -> ProtocolResult:
    names = PROTOCOL_METRICS[protocol]
    n = len(rows)
    means = {m: (math.fsum(r[m] for r in rows.values()) / n if n else 0.0) for m in names}
    return ProtocolResult(
        protocol=protocol,
        description=PROTOCOL_DESCRIPTIONS[protocol],
        n_queries=n,
        metrics=means,
        per_query=rows if per_query else None,
    )


__all__ = [
    "CHARGE_INPUT_DESCRIPTIONS",
    "C_RECALL_DEPTH",
    "C_RUN_DEPTH",
    "PROTOCOL_DESCRIPTIONS",
    "PROTOCOL_METRICS",
    "ChargeInput",
    "EvalReport",
    "Protocol",
    "ProtocolResult",
    "RankFn",
    "collect_runs",
    "dcg",
    "evaluate_a",
    "evaluate_b",
    "evaluate_c",
    "evaluate_split",
    "judged_at",
    "lecard_query",
    "ndcg_lecard",
    "ndcg_trec",
    "parse_protocols",
    "precision_at",
    "read_trec_run",
    "recall_at",
    "trec_order",
]
