"""How many chunks of the facts an index embeds per case: chosen at build, kept by every later write."""

from __future__ import annotations

import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path
from leian.errors import InvalidInput
from leian.indexer.embed import DEFAULT_MAX_CHUNKS, Embedder, document_text
from leian.indexer.pipeline import extract_keeping_sections
from leian.retrieval.backends import open_backend
from leian.retrieval.backends.base import IndexManifest
from leian.retrieval.indexing import IndexJob
from leian.retrieval.search import open_searcher

N = 40


@pytest.fixture(scope="module")
def one_chunk_index(sample_index, tmp_path_factory) -> Path:
    # after sample_index: its chunk vectors are in the embedding cache, and a first chunk is a chunk
    out = tmp_path_factory.mktemp("chunks") / "one"
    IndexJob(corpus=str(sample_path()), index=str(out), max_chunks=1, limit=N).build()
    return out


@pytest.fixture(scope="module")
def long_cases(one_chunk_index):
    """Extracted sample cases whose facts make more than one chunk."""
    emb = Embedder.load(max_chunks=None)
    recs = [extract_keeping_sections(r) for r in islice(Loader(sample_path()), N)]
    long = [r for r in recs if len(emb.chunks(document_text(r))) > 1]
    assert len(long) >= 3
    return long


def _vector(index: Path, cid: str) -> np.ndarray:
    return open_backend("embedded", index=str(index)).vectors_of([cid])[cid]


def test_a_one_chunk_index_embeds_only_the_first_chunk(one_chunk_index, sample_index, long_cases):
    assert open_backend("embedded", index=str(one_chunk_index)).manifest().embed_chunks == 1
    assert open_backend("embedded", index=str(sample_index)).manifest().embed_chunks == DEFAULT_MAX_CHUNKS
    first = Embedder.load(max_chunks=1)
    for rec in long_cases[:3]:
        want = first.embed_documents([document_text(rec)])[0]
        got = _vector(one_chunk_index, rec.id)
        assert np.allclose(got, want, atol=1e-6)
        assert not np.allclose(got, _vector(sample_index, rec.id), atol=1e-3)


def test_cases_added_later_are_embedded_like_the_index(one_chunk_index, long_cases, tmp_path):
    index = tmp_path / "copy"
    shutil.copytree(one_chunk_index, index)
    rec = long_cases[0].model_copy(update={"id": "added-later"})
    searcher = open_searcher(index=str(index))
    try:
        assert searcher.embedder.max_chunks == 1
        assert searcher.add_documents([rec]).written == 1
    finally:
        searcher.close()
    assert np.allclose(_vector(index, "added-later"), _vector(index, long_cases[0].id), atol=1e-6)


def test_adding_with_another_chunk_setting_is_refused_and_changes_nothing(one_chunk_index, tmp_path):
    index = tmp_path / "copy"
    shutil.copytree(one_chunk_index, index)
    before = open_backend("embedded", index=str(index)).manifest()
    with pytest.raises(InvalidInput, match="first 1 chunk"):
        IndexJob(corpus=str(sample_path()), index=str(index), max_chunks=2).add()
    after = open_backend("embedded", index=str(index)).manifest()
    assert (after.snapshot, after.doc_count, after.embed_chunks) == (before.snapshot, before.doc_count, 1)


def test_indexes_from_before_the_setting_read_as_the_default():
    old = {"backend": "embedded", "created_at": "x", "updated_at": "x", "snapshot": "x", "tokenizer": "t"}
    assert IndexManifest.model_validate(old).embed_chunks == DEFAULT_MAX_CHUNKS
