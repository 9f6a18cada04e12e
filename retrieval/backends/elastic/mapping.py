"""What the indices look like: settings, mappings, a case as a document, ``Filters`` as filter clauses.

Scoring agrees with the embedded backend: jieba tokens are computed in Python and indexed as
space-joined text in a ``whitespace``-analysed field with BM25 (k1 1.2, b 0.75); Elasticsearch's
"BM25" keeps the ``(k1 + 1)`` numerator factor (Lucene's LegacyBM25Similarity), as the embedded
backend does, so scores are comparable as they are. The remaining difference is Lucene's one-byte
encoding of document lengths (measured: < 1 % on LeCaRD judgments, rare rank swaps of near-ties).
Vectors are unit-length float32 in a ``dense_vector`` with ``dot_product`` similarity, whose score
``(1 + dot) / 2`` is mapped back to the inner product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leian.corpora.dictionaries import charge_group
from leian.retrieval.backends.base import IndexedCase
from leian.retrieval.backends.elastic.options import ElasticOptions
from leian.retrieval.models import Filters

# This backend's index format (the embedded one has its own, EMBEDDED_FORMAT_VERSION), in the
# manifest and the mappings' _meta: 2 facets stored per case; 3 their sentencing elements too (the strict
# mapping of a format-2 index would refuse a case written with them)
ELASTIC_FORMAT_VERSION = 3

K1, B = 1.2, 0.75

# what a facet absent from a stored document means (Elasticsearch drops empty lists and nulls)
FACET_MISSING: dict[str, list] = {"charge_groups": [], "statutes": [], "circumstances": []}


def case_settings(options: ElasticOptions) -> dict:
    """The cases index as a build creates it: bulk-load settings, which ``finish_settings`` ends."""
    return {
        "number_of_shards": options.shards,
        "number_of_replicas": 0,  # replicas are added after the bulk load (faster)
        "refresh_interval": "-1",
        "similarity": {"leian_bm25": {"type": "BM25", "k1": K1, "b": B}},
    }


def finish_settings(options: ElasticOptions) -> dict:
    return {"refresh_interval": "1s", "number_of_replicas": options.replicas}


def artifact_settings(options: ElasticOptions) -> dict:
    return {"number_of_shards": 1, "number_of_replicas": options.replicas}


def case_mappings(name: str, dim: int | None, vector_index: str) -> dict:
    kw = {"type": "keyword"}
    props: dict[str, Any] = {
        "id": kw,
        # jieba tokens joined by spaces; `whitespace` splits them back exactly (no analyzer plugin).
        "tokens": {
            "type": "text",
            "analyzer": "whitespace",
            "similarity": "leian_bm25",
            "index_options": "freqs",
        },
        "court_level": kw,
        "province": kw,
        "tier": kw,
        "year": {"type": "integer"},
        "charges": kw,
        "charge_groups": kw,
        "statutes": kw,
        "circumstances": kw,
        "court": kw,
        "case_number": kw,
        "procedure": kw,
        "judgment_date": {"type": "date", "format": "strict_date", "ignore_malformed": True},
        # first defendant's sentence and the amount: for sentencing statistics (aggregations)
        "sentence_kind": kw,
        "sentence_months": {"type": "integer"},
        "probation_months": {"type": "integer"},
        "fine_yuan": {"type": "double"},
        "amount_yuan": {"type": "double"},
        "n_defendants": {"type": "integer"},
        "elements": {"type": "object", "enabled": False},  # the element rerank's facet, read back as stored
        "record": {"type": "object", "enabled": False},  # the full CaseRecord, stored for display only
    }
    if dim:
        props["vector"] = {
            "type": "dense_vector",
            "dims": dim,
            "index": True,
            "similarity": "dot_product",  # unit vectors: inner product, and non-unit input is refused
            "index_options": {"type": vector_index},
        }
    return {
        "dynamic": "strict",
        "_meta": {"leian": {"name": name, "role": "cases", "format_version": ELASTIC_FORMAT_VERSION}},
        "properties": props,
    }


def artifact_mappings(name: str) -> dict:
    kw = {"type": "keyword"}
    return {
        "dynamic": "strict",
        "_meta": {"leian": {"name": name, "role": "artifacts", "format_version": ELASTIC_FORMAT_VERSION}},
        "properties": {
            "kind": kw,  # manifest | artifact | chunk | audit | lock
            "name": kw,
            "seq": {"type": "integer"},
            "n_chunks": {"type": "integer"},
            "size": {"type": "long"},
            "sha256": kw,
            "data": {"type": "binary"},
            "manifest": {"type": "object", "enabled": False},
            "write_seq": {"type": "long"},
            "at": {"type": "date"},
            "ts": {"type": "long"},  # ns since the epoch: orders audit entries written within a second
            "action": kw,
            "count": {"type": "integer"},
            "detail": {"type": "keyword", "index": False, "doc_values": False},
        },
    }


def document(case: IndexedCase) -> dict:
    r = case.record
    f = case.fields.filters
    first = r.defendants[0].sentence if r.defendants and r.defendants[0].sentence else None
    doc: dict[str, Any] = {
        "id": r.id,
        "tokens": case.token_text,
        "court_level": f["court_level"],
        "province": f["province"],
        "tier": f["tier"],
        "year": f["year"],
        "charges": f["charges"],
        "charge_groups": f["charge_groups"],
        "statutes": r.statutes,
        "circumstances": r.circumstances,
        "court": r.court,
        "case_number": r.case_number,
        "procedure": r.procedure,
        "judgment_date": r.judgment_date,
        "sentence_kind": first.kind if first else None,
        "sentence_months": first.months if first else None,
        "probation_months": first.probation_months if first else None,
        "fine_yuan": first.fine_yuan if first else None,
        "amount_yuan": r.amount_yuan,
        "n_defendants": len(r.defendants),
        "elements": case.fields.facets["elements"],
        "record": r.model_dump(mode="json"),
    }
    if case.vector is not None:
        v = np.asarray(case.vector, dtype=np.float32).reshape(-1)
        doc["vector"] = v.tolist()
    return doc


def compile_filters(filters: Filters | None) -> list[dict]:
    """``Filters`` as Elasticsearch filter clauses, with the semantics of ``base.matches``."""
    if filters is None or filters.is_empty():
        return []
    out: list[dict] = []
    if filters.court_level:
        out.append({"terms": {"court_level": list(filters.court_level)}})
    if filters.province:
        out.append({"terms": {"province": list(filters.province)}})
    if filters.tier:
        out.append({"terms": {"tier": list(filters.tier)}})
    if filters.year_from is not None or filters.year_to is not None:
        rng: dict[str, int] = {}
        if filters.year_from is not None:
            rng["gte"] = filters.year_from
        if filters.year_to is not None:
            rng["lte"] = filters.year_to
        out.append({"range": {"year": rng}})  # a case with no year has no value: excluded, as in matches()
    if filters.charge:
        out.append({"terms": {"charge_groups": sorted({charge_group(c) for c in filters.charge})}})
    return out
