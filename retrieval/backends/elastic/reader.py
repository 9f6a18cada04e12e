"""Reading cases: BM25 and kNN candidates, records, facets and vectors by id, and every case in order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from leian.corpora.record import CaseRecord
from leian.errors import BackendError, IndexIncompatible, InvalidInput
from leian.retrieval.backends.base import FACET_KEYS, IndexedCase, Scored
from leian.retrieval.backends.elastic.connection import reason
from leian.retrieval.backends.elastic.core import ElasticCore, chunks
from leian.retrieval.backends.elastic.mapping import FACET_MISSING, compile_filters
from leian.retrieval.models import Filters

MAX_WINDOW = 10_000  # index.max_result_window and the kNN num_candidates ceiling


def _ranked(pairs: Iterable[Scored], k: int) -> list[Scored]:
    return sorted(pairs, key=lambda p: (-p[1], p[0]))[:k]


def check_window(size: int) -> None:
    if size > MAX_WINDOW:
        raise InvalidInput(f"k={size} is above Elasticsearch's result window ({MAX_WINDOW}); ask for fewer")


class ElasticReader(ElasticCore):
    def lexical(
        self,
        terms: list[str] | dict[str, float],
        filters: Filters | None,
        k: int,
        ids: list[str] | None = None,
    ) -> list[Scored]:
        """BM25; a term repeated n times (or mapped to weight n) is one clause with boost n
        (Lucene sums duplicate clauses)."""
        if k <= 0 or (ids is not None and not ids):
            return []
        # The analyzer splits on whitespace, so a query term must be split the same way.
        pairs = terms.items() if isinstance(terms, dict) else ((t, 1.0) for t in terms)
        weights: Counter[str] = Counter()
        for term, w in pairs:
            for t in term.split():
                weights[t] += w
        if not weights and ids is None:
            return []
        should = [{"term": {"tokens": {"value": t, "boost": float(w)}}} for t, w in weights.items()]
        if ids is not None:
            # scored in window-sized requests: BM25's statistics are the index's, so parts add up exactly
            scored: list[Scored] = []
            for part in chunks(dict.fromkeys(ids), MAX_WINDOW):
                query = {
                    "bool": {
                        "should": should,
                        "filter": [*compile_filters(filters), {"ids": {"values": part}}],
                    }
                }
                scored += self._bm25(query, len(part))
            return _ranked(scored, k)
        check_window(k)
        query = {"bool": {"should": should, "filter": compile_filters(filters), "minimum_should_match": 1}}
        return self._bm25(query, k)  # only cases sharing a term, as in the embedded one

    def _bm25(self, query: dict[str, Any], size: int) -> list[Scored]:
        body = {
            "query": query,
            "size": size,
            "_source": False,
            "sort": [{"_score": "desc"}, {"id": "asc"}],  # deterministic ties: (-score, id)
            "track_scores": True,
            "track_total_hits": False,
        }
        if self.options.shards > 1:
            body["search_type"] = "dfs_query_then_fetch"  # global term statistics, as one shard
        resp = self._search("BM25 search", body)
        return _ranked(((h["_id"], float(h["_score"] or 0.0)) for h in resp["hits"]["hits"]), size)

    def dense(
        self, vector: np.ndarray, filters: Filters | None, k: int, ids: list[str] | None = None
    ) -> list[Scored]:
        """kNN with the filters inside the kNN clause (pre-filtering: a selective filter still gives k)."""
        if k <= 0 or (ids is not None and not ids):
            return []
        dim = self._index_dim()
        if not dim:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != dim:
            self._dim = None  # the alias may have moved to an index built with another model
            dim = self._index_dim()
            if q.shape[0] != dim:
                raise IndexIncompatible(
                    f"query vector has {q.shape[0]} dims, the index {dim}: "
                    "the index was built with another embedding model"
                )
        flt = compile_filters(filters)
        if ids is not None:
            # Exact inner products of exactly these cases (re-ranking a candidate list), fetched in
            # window-sized requests
            pairs = []
            for part in chunks(dict.fromkeys(ids), MAX_WINDOW):
                body = {
                    "query": {"bool": {"filter": [*flt, {"ids": {"values": part}}]}},
                    "size": len(part),
                    "_source": ["vector"],
                }
                for h in self._search("vector scoring", body)["hits"]["hits"]:
                    v = h["_source"].get("vector")
                    pairs.append((h["_id"], float(np.asarray(v, dtype=np.float32) @ q) if v else 0.0))
            return _ranked(pairs, k)
        check_window(k)
        candidates = int(min(MAX_WINDOW, max(100, k * self.options.knn_candidates_factor)))
        knn: dict[str, Any] = {
            "field": "vector",
            "query_vector": q.tolist(),
            "k": k,
            "num_candidates": max(candidates, k),
        }
        if flt:
            knn["filter"] = flt
        body = {"knn": knn, "size": k, "_source": False, "track_total_hits": False}
        resp = self._search("vector search", body)
        # dot_product similarity scores (1 + dot) / 2: map back to the inner product.
        return _ranked(((h["_id"], 2.0 * float(h["_score"]) - 1.0) for h in resp["hits"]["hits"]), k)

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]:
        out: dict[str, CaseRecord] = {}
        for chunk in chunks(dict.fromkeys(ids), 500):
            resp = self._call("get", self._client.mget, index=self._cases, ids=chunk, source=["record"])
            for d in resp["docs"]:
                if d.get("found"):
                    out[d["_id"]] = CaseRecord.model_validate(d["_source"]["record"])
                elif "error" in d:
                    raise BackendError(f"Elasticsearch get of {d['_id']}: {reason(d['error'])}")
        return out

    def facets(self, ids: Iterable[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for chunk in chunks(dict.fromkeys(ids), 500):
            resp = self._call(
                "facets", self._client.mget, index=self._cases, ids=chunk, source=list(FACET_KEYS)
            )
            for d in resp["docs"]:
                if d.get("found"):
                    src = d["_source"]
                    out[d["_id"]] = {k: src.get(k, FACET_MISSING.get(k)) for k in FACET_KEYS}
        return out

    def vectors_of(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for chunk in chunks(dict.fromkeys(ids), 500):
            resp = self._call(
                "get vectors", self._client.mget, index=self._cases, ids=chunk, source=["vector"]
            )
            for d in resp["docs"]:
                if d.get("found") and d["_source"].get("vector") is not None:
                    out[d["_id"]] = np.asarray(d["_source"]["vector"], dtype=np.float32)
        return out

    def ids(self) -> list[str]:
        return [h["_id"] for h in self._scan([], page=5000)]

    def _scan(self, source: list[str], page: int = 500) -> Iterator[dict]:
        """Every case in id order (search_after on the concrete index: a swap cannot mix two builds)."""
        index = self.concrete_index()
        after = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": page,
                "sort": [{"id": "asc"}],
                "_source": source or False,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self._search("scan", body, index=index)["hits"]["hits"]
            yield from hits
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def iter_records(self) -> Iterator[CaseRecord]:
        for h in self._scan(["record"]):
            yield CaseRecord.model_validate(h["_source"]["record"])

    def iter_indexed(self) -> Iterator[IndexedCase]:
        """Records with their stored tokens and vectors: a rebuild needs no re-tokenising/embedding."""
        for h in self._scan(["record", "tokens", "vector"]):
            s = h["_source"]
            v = s.get("vector")
            yield IndexedCase(
                record=CaseRecord.model_validate(s["record"]),
                token_text=s.get("tokens", ""),
                vector=None if v is None else np.asarray(v, dtype=np.float32),
            )
