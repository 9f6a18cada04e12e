"""Turn loaded judgments into what a backend stores: extracted record + tokens + vector.

This is the one place that decides which text is searched (the facts, as queries are facts) so the
embedded and Elasticsearch backends and every query path agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from leian.corpora.record import CaseRecord
from leian.indexer.extract import extract
from leian.indexer.indexed import IndexedCase
from leian.indexer.tokenize import Tokenizer

Progress = Callable[[int], None]


def search_text(record: CaseRecord) -> str:
    """The text BM25 indexes: the facts section (fall back to the full text when none was found)."""
    return record.sections.facts or record.text


def prepare(
    records: Iterable[CaseRecord],
    tokenizer: Tokenizer,
    embedder=None,
    *,
    batch_size: int = 64,
    already_extracted: bool = False,
    on_progress: Progress | None = None,
) -> Iterator[IndexedCase]:
    """Extract, tokenise and (when an embedder is given) embed, in batches."""
    it = iter(records)
    while batch := list(islice(it, batch_size)):
        recs = batch if already_extracted else [_extract_keeping_sections(r) for r in batch]
        tokens = [tokenizer.tokenize(search_text(r)) for r in recs]
        vectors = embedder.embed_documents([embed_text(r) for r in recs]) if embedder is not None else None
        for i, r in enumerate(recs):
            yield IndexedCase(record=r, tokens=tokens[i], vector=None if vectors is None else vectors[i])
        if on_progress:
            on_progress(len(recs))


def embed_text(record: CaseRecord) -> str:
    from leian.indexer.embed import document_text

    return document_text(record)


def _extract_keeping_sections(record: CaseRecord) -> CaseRecord:
    """Extract fields; sections the corpus itself supplies (e.g. LeCaRD's 基本案情) win over the
    splitter's guess, since they are what the corpus's own queries were cut from."""
    given = record.sections
    out = extract(record)
    if any(given.model_dump().values()):
        merged = {k: v or getattr(out.sections, k) for k, v in given.model_dump().items()}
        out = out.model_copy(update={"sections": type(given)(**merged)})
    return out
