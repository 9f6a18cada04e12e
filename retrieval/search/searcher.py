"""One pass from a query to its ranking, the pending case's analysis and the statistics pool.

tokens → candidates (exclusions out first) → fusion (z-scores) → charges (given, or predicted with the
nearest cases' votes) → structure rerank → order (ties by case id) → explained hits. A report costs
one search: the same pass also yields the pending case and the cases sharing its charges, best first,
from which the sentencing statistics are computed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel

from leian import PRODUCT, __version__
from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord
from leian.indexer.charge_model import ChargeModel
from leian.indexer.embedding import Embedder
from leian.indexer.pending import analyse_facts, with_elements
from leian.indexer.pipeline import prepare
from leian.indexer.sentencing_model import SentencingModel
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.backends.base import Backend, Scored, WriteReport
from leian.retrieval.models import ChargePrediction, Query, SearchResult
from leian.retrieval.search.candidates import Candidates, gather
from leian.retrieval.search.charges import given_charges, predict_charges
from leian.retrieval.search.config import SearchConfig
from leian.retrieval.search.elements import QueryElements
from leian.retrieval.search.explain import TermRarity, explain_hit
from leian.retrieval.search.fusion import fuse, order
from leian.retrieval.search.structure import CONFIDENT, QuerySide, structure_scores
from leian.retrieval.search.terms import searchable_terms, weighted_terms

STAGE_GAP = 100.0  # ranks cases outside the first stage below every case inside it
QUERY_MEMO = 256  # query vectors kept in memory (never on disk: user input is not kept)


class SearchRun(BaseModel):
    """Everything one pass yields."""

    result: SearchResult
    pending: CaseRecord  # the new case's elements from its facts (circumstances, amount)
    charges: list[str]  # the charges the statistics are for: those given, else the likeliest predicted
    stats_ids: list[str]  # scored cases holding one of ``charges``, best first (at most ``stats_k``)


@runtime_checkable
class Searcher(Protocol):
    """What the API, the CLI, the report and the evaluation need of a searcher."""

    backend: Backend
    config: SearchConfig
    sentencing_model: SentencingModel | None  # the index's 量刑测算 model (None: built before it)

    def run(self, query: Query, stats_k: int = 0) -> SearchRun: ...

    def search(self, query: Query) -> SearchResult: ...

    def rank(self, query: Query, candidate_ids: list[str] | None = None) -> list[Scored]: ...

    def rank_all(self, query: Query) -> list[Scored]: ...

    def query_terms(self, facts: str) -> tuple[list[str], dict[str, float]]: ...

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]: ...

    def describe(self) -> dict: ...

    def add_documents(self, records: list[CaseRecord]) -> WriteReport: ...

    def delete_documents(self, ids: list[str]) -> WriteReport: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Scored:
    """The pool scored and ordered (positions into ``Candidates``)."""

    cands: Candidates
    score: np.ndarray
    components: dict[str, np.ndarray]
    order: list[int]  # positions best first (restricted ones and excluded ones already left out)
    facets: list[dict | None]
    charges: list[ChargePrediction]
    predicted: list[ChargePrediction]
    pending: CaseRecord  # the pending case with its elements read for the charges settled on
    elements: QueryElements | None  # the pending case's element facets (None: structure off)


CLOSE_CHARGES = 0.10  # predicted charges within 10 points of the likeliest each get a sentencing picture


def statistics_charges(given: Sequence[str] | None, predicted: Sequence[ChargePrediction]) -> list[str]:
    """The pending case's charges for the sentencing figures: those given always; else the likeliest
    predicted and every other within ``CLOSE_CHARGES`` of it (危险驾驶罪 61 % and 交通肇事罪 60 % are
    both pictured rather than one chosen by a point)."""
    if given:
        return list(dict.fromkeys(given))
    best = sorted(predicted, key=lambda p: (-p.probability, p.charge))
    if not best:
        return []
    return [p.charge for p in best if p.probability >= best[0].probability - CLOSE_CHARGES]


class HybridSearcher:
    """BM25 + dense candidates over any backend, fused, then reranked by the legal structure."""

    def __init__(
        self,
        backend: Backend,
        tokenizer: Tokenizer,
        embedder: Embedder | None = None,
        config: SearchConfig | None = None,
        charge_model: ChargeModel | None = None,
        sentencing_model: SentencingModel | None = None,
    ):
        self.backend = backend
        self.sentencing_model = sentencing_model
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.charge_model = charge_model
        self.rarity = TermRarity(charge_model)
        self._qcache: dict[str, np.ndarray] = {}
        self._qlock = threading.Lock()
        self._embed_pool = ThreadPoolExecutor(1, thread_name_prefix="leian-query-embed")

    # ---------------------------------------------------------------- the one pass
    def run(self, query: Query, stats_k: int = 0) -> SearchRun:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        tokens, terms = self.query_terms(query.facts)
        timings["tokenize"] = _ms(t0)
        pending = analyse_facts(query.facts)
        s = self._score(query, tokens, terms, pending, None, timings)
        t = time.perf_counter()
        charges = statistics_charges(query.charges, s.predicted)
        pending = s.pending
        top = s.order[: query.top_k]
        records = self.backend.get([s.cands.ids[j] for j in top])
        nameable = self.rarity.nameable(list(terms))
        hits = [
            explain_hit(
                rank,
                s.cands.ids[j],
                float(s.score[j]),
                self._components(s, j),
                records.get(s.cands.ids[j]),
                nameable,
                s.charges,
                pending,
                self.config,
                s.elements,
                s.facets[j],
            )  # fmt: skip
            for rank, j in enumerate(top, 1)
        ]
        wanted = {charge_group(c) for c in charges}
        stats_ids = [
            s.cands.ids[j]
            for j in s.order
            if s.facets[j] is not None and wanted & set(s.facets[j].get("charge_groups") or [])
        ][:stats_k]
        timings["explain"] = _ms(t)
        timings["total"] = _ms(t0)
        result = SearchResult(
            query_terms=list(terms)[:200],
            charges_given=query.charges,
            charges_predicted=s.predicted,
            charges_used=[c.charge for c in s.charges if c.probability >= CONFIDENT]
            or ([s.charges[0].charge] if s.charges else []),
            filters=query.filters,
            backend=self.backend.name,
            weights=self.config.weights(),
            total_candidates=len(s.cands.ids),
            hits=hits,
            timings_ms=timings,
        )
        return SearchRun(result=result, pending=pending, charges=charges, stats_ids=stats_ids)

    def search(self, query: Query) -> SearchResult:
        return self.run(query).result

    def rank(self, query: Query, candidate_ids: list[str] | None = None) -> list[Scored]:
        """(id, score) best first: the whole corpus (top ``query.top_k``) or exactly ``candidate_ids``."""
        tokens, terms = self.query_terms(query.facts)
        s = self._score(query, tokens, terms, analyse_facts(query.facts), candidate_ids, {})
        top = s.order if candidate_ids is not None else s.order[: query.top_k]
        return [(s.cands.ids[j], round(float(s.score[j]), 6)) for j in top]

    def rank_all(self, query: Query) -> list[Scored]:
        """Every case in the index (filters and ``exclude_ids`` still apply), best first: a TREC run."""
        return self.rank(query, self.backend.ids())

    def query_terms(self, facts: str) -> tuple[list[str], dict[str, float]]:
        """The facts' tokens and the weighted terms BM25 is asked for; InvalidInput when nothing in
        them can be searched (a batch checks every query with this before it answers any)."""
        tokens = self.tokenizer.tokenize(facts)
        return tokens, searchable_terms(tokens, self.config)

    def _score(
        self,
        query: Query,
        tokens: list[str],
        terms: dict[str, float],
        pending: CaseRecord,
        restrict: list[str] | None,
        timings: dict[str, float],
    ) -> _Scored:
        cfg = self.config
        exclude = frozenset(query.exclude_ids) | frozenset(query.hidden_ids)
        # the query embedding (the slowest stage; onnxruntime and torch release the GIL) runs in a thread
        # while BM25 runs here: a search costs max(embedding, BM25), not their sum
        embedding: Future | None = None
        if cfg.use_dense and self.embedder is not None:
            embedding = self._embed_pool.submit(self._timed_query_vector, query.facts)

        def query_vector() -> np.ndarray | None:
            if embedding is None:
                return None
            t = time.perf_counter()
            vec, timings["embed"] = embedding.result()
            timings["embed_wait"] = _ms(t)
            return vec

        stage1_terms = None
        if cfg.stage1_depth and cfg.use_bm25:
            stage1_terms = {
                t: w for t, w in weighted_terms(tokens, cfg, cfg.stage1_tf_power).items() if t in terms
            }
        cands = gather(
            self.backend, cfg, terms, query_vector, query.filters,
            depth=max(cfg.candidates, query.top_k), exclude=exclude, restrict=restrict,
            stage1_terms=stage1_terms, timings=timings,
        )  # fmt: skip
        t = time.perf_counter()
        fused = fuse(
            cands.bm25 if cfg.use_bm25 else None,
            cands.dense if cands.has_dense else None,
            cands.reference,
            cfg.w_bm25,
            cfg.w_dense,
        )
        if query.charges:
            charges = given_charges(query.charges)
            predicted: list[ChargePrediction] = []
        else:
            if cfg.knn_from == "fused":
                nearest = [cands.ids[j] for j in order(fused, cands.ids)[: cfg.knn_votes]]
            else:
                nearest = [i for i, _ in cands.lexical_top[: cfg.knn_votes]]
            votes = self.backend.facets(nearest) if nearest else {}
            groups = [votes.get(i, {}).get("charge_groups", []) for i in nearest]
            predicted = predict_charges(self.charge_model, tokens, groups, cfg.knn_weight)
            charges = predicted
        timings["charges"] = _ms(t)
        t = time.perf_counter()
        facet_map = self.backend.facets(cands.ids) if cands.ids else {}
        facets = [facet_map.get(i) for i in cands.ids]
        score = fused.copy()
        components: dict[str, np.ndarray] = {}
        # the pending case's figures read as the corpus's are: its 数额 only for the charges whose tiers
        # turn on one, summed over its counts
        pending = with_elements(pending, statistics_charges(query.charges, predicted))
        side = None
        if cfg.use_structure:
            side = QuerySide.of(charges, pending, elements=bool(cfg.w_elements))
            components = structure_scores(side, facets, cfg)
            score += components["structure"]
        if cands.stage1:
            in_stage1 = np.array([i in cands.stage1 for i in cands.ids], dtype=np.float64)
            components["stage1"] = in_stage1
            score -= STAGE_GAP * (1.0 - in_stage1)
        asked = set(restrict) if restrict is not None else None
        ranked = [j for j in order(score, cands.ids) if asked is None or cands.ids[j] in asked]
        timings["rerank"] = _ms(t)
        components = {"bm25": cands.bm25, "dense": cands.dense, "fused": fused, **components}
        return _Scored(
            cands=cands, score=score, components=components, order=ranked, facets=facets,
            charges=charges, predicted=predicted, pending=pending,
            elements=side.elements if side is not None else None,
        )  # fmt: skip

    @staticmethod
    def _components(s: _Scored, j: int) -> dict[str, float]:
        comp = {name: float(v[j]) for name, v in s.components.items()}
        if s.facets[j] is None:  # no structure known: only the text scores
            comp = {k: comp[k] for k in ("bm25", "dense", "fused", "stage1") if k in comp}
        comp["score"] = float(s.score[j])
        return comp

    # ---------------------------------------------------------------- the query vector
    def clear_query_memo(self) -> None:
        """Forget memoised query vectors (a latency benchmark repeating queries must embed each time)."""
        with self._qlock:
            self._qcache.clear()

    def _timed_query_vector(self, facts: str) -> tuple[np.ndarray, float]:
        t = time.perf_counter()
        return self._query_vector(facts), _ms(t)

    def _query_vector(self, facts: str) -> np.ndarray:
        """Memoised in memory: evaluation asks for the same facts under several protocols."""
        with self._qlock:
            vec = self._qcache.get(facts)
        if vec is None:
            text = facts
            if self.config.query_chunks:
                chunks = self.embedder.chunks(facts, prompt=self.embedder.query_prompt)
                text = "".join(chunks[: self.config.query_chunks])
            vec = self.embedder.embed_queries([text])[0]
            with self._qlock:
                if len(self._qcache) >= QUERY_MEMO:
                    self._qcache.pop(next(iter(self._qcache)))
                self._qcache[facts] = vec
        return vec

    # ---------------------------------------------------------------- the rest of the interface
    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]:
        return self.backend.get(ids)

    def describe(self) -> dict:
        m = self.backend.manifest()
        return {
            "product": PRODUCT,
            "version": __version__,
            "backend": self.backend.name,
            "index": m.model_dump(),
            "tokenizer": self.tokenizer.fingerprint,
            "model": m.model,
            # how the query is embedded here (same vectors either way): "onnxruntime" or "torch"
            "embedding_runtime": self.embedder.runtime if self.embedder is not None else None,
            # "int8" (the export's int8 copy: cosine >= 0.99 to the float vectors) or "float32"
            "query_precision": self.embedder.query_precision if self.embedder is not None else None,
            "weights": self.config.weights(),
            "config": self.config.model_dump(),
            "charge_model": self.charge_model is not None,
        }

    def add_documents(self, records: list[CaseRecord]) -> WriteReport:
        embedder = self.embedder if self.backend.manifest().dim else None
        return self.backend.upsert(list(prepare(records, self.tokenizer, embedder)))

    def delete_documents(self, ids: list[str]) -> WriteReport:
        return self.backend.delete(ids)

    def close(self) -> None:
        self._embed_pool.shutdown(wait=True)
        self.backend.close()


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


__all__ = ["HybridSearcher", "SearchRun", "Searcher", "statistics_charges"]
