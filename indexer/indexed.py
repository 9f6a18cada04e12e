"""The unit the indexer hands to a search backend, and the fields every backend indexes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import cached_property
from typing import NamedTuple

import numpy as np

from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord
from leian.indexer.element_facets import element_facets


def filter_fields(record: CaseRecord) -> dict:
    """The filterable values of a case, computed once here so both backends index the same ones."""
    return {
        "court_level": record.court_level,
        "province": record.province,
        "tier": record.tier,
        "year": record.year,
        "charges": record.charges,
        "charge_groups": sorted({charge_group(c) for c in record.charges}),
    }


FACET_KEYS = ("charge_groups", "statutes", "circumstances", "amount_yuan", "court_level", "year", "elements")


def facets_of(record: CaseRecord) -> dict:
    """The few fields the structure rerank needs (``FACET_KEYS``), so ranking never loads full judgments."""
    return {
        "charge_groups": sorted({charge_group(c) for c in record.charges}),
        "statutes": record.statutes,
        "circumstances": record.circumstances,
        "amount_yuan": record.amount_yuan,
        "court_level": record.court_level,
        "year": record.year,
        "elements": element_facets(record),  # tiers, drugs, blood alcohol, harm, stage, role
    }


class CaseFields(NamedTuple):
    """What an index keeps of a record besides its text: ids, filter values, rerank facets."""

    id: str
    filters: dict  # filter_fields
    facets: dict  # facets_of
    judgment_date: str | None
    licence: str | None  # "corpus: licence" when the record carries a licence

    @classmethod
    def of(cls, record: CaseRecord) -> CaseFields:
        src = record.source
        return cls(
            record.id,
            filter_fields(record),
            facets_of(record),
            record.judgment_date,
            f"{src.corpus or '?'}: {src.licence}" if src.licence else None,
        )


class IndexedCase:
    """The extracted record, its jieba tokens and its embedding.

    Give it the ``record``, or the record's ``compact`` JSON (``CaseRecord.to_compact_json``, what the
    embedded backend stores) and, when at hand, its ``fields``; what is not given is derived on first
    use. Built in the indexer's worker processes, a case crosses into the main process in that compact
    form, and the main process, which every case of a build goes through, rebuilds no ``CaseRecord``
    unless a backend asks for ``.record``: rebuilding them all there took a fifth of its CPU.

    The tokens travel as one space-joined string (tokens hold no spaces): that is what both backends
    store. ``tokens=[...]`` is accepted too. ``counts`` are the term counts when the tokeniser already
    counted them (the worker processes do, so the main process does not count again).
    """

    def __init__(
        self,
        record: CaseRecord | None = None,
        *,
        token_text: str | None = None,
        tokens: list[str] | None = None,
        vector: np.ndarray | None = None,
        counts: Mapping[str, int] | None = None,
        compact: str | None = None,
        fields: CaseFields | None = None,
    ):
        if record is not None:
            self.record = record
        elif compact is None:
            raise TypeError("IndexedCase needs a record or its compact JSON")
        if compact is not None:
            self.compact = compact
        if fields is not None:
            self.fields = fields
        if (token_text is None) == (tokens is None):
            raise TypeError("IndexedCase needs token_text or tokens (one of them)")
        self.token_text = token_text if token_text is not None else " ".join(tokens)
        self.vector = vector  # float32, L2-normalised; None when embeddings are off
        self.counts = counts

    @cached_property
    def record(self) -> CaseRecord:
        return CaseRecord.from_compact_json(self.compact)

    @cached_property
    def compact(self) -> str:
        return self.record.to_compact_json()

    @cached_property
    def fields(self) -> CaseFields:
        return CaseFields.of(self.record)

    @property
    def id(self) -> str:
        return self.fields.id

    @property
    def charge_groups(self) -> list[str]:
        """The canonical charge groups of the judgment: what the charge model learns for it."""
        return self.fields.filters["charge_groups"]

    @cached_property
    def tokens(self) -> list[str]:
        return self.token_text.split(" ") if self.token_text else []

    @cached_property
    def term_counts(self) -> Mapping[str, int]:
        """term -> count in ``tokens``: what BM25 postings and the charge model read (counted once)."""
        return self.counts if self.counts is not None else Counter(self.tokens)

    @property
    def n_tokens(self) -> int:
        return sum(self.term_counts.values())

    def __repr__(self) -> str:
        vec = "no vector" if self.vector is None else f"vector[{np.asarray(self.vector).size}]"
        return f"IndexedCase(id={self.id!r}, {len(self.tokens)} tokens, {vec})"

    def __reduce__(self):
        # what crosses a process boundary: strings and small tuples, which pickle as fast as memcpy;
        # the counts as their terms joined, a dict of ~550 entries being slower to pickle
        counts = self.term_counts
        return _unpickle, (
            self.compact,
            self.fields,
            self.token_text,
            " ".join(counts),
            list(counts.values()),
            self.vector,
        )


def _unpickle(compact, fields, token_text, terms, counts, vector) -> IndexedCase:
    return IndexedCase(
        compact=compact,
        fields=fields,
        token_text=token_text,
        counts=dict(zip(terms.split(" "), counts, strict=True)) if terms else {},
        vector=vector,
    )
