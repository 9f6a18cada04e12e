"""How an index embeds its cases (how many chunks of the facts, in which precision): chosen at build,
kept by every later write."""

from __future__ import annotations

import os
import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path
from leian.errors import InvalidInput, ModelUnavailable
from leian.indexer.embedding import DEFAULT_MAX_CHUNKS, Embedder, document_text
from leian.indexer.models import E5_SMALL, e5
from leian.indexer.pipeline import extract_keeping_sections
from leian.indexer.runtime import INT8_MODEL_FILE
from leian.retrieval.backends import open_backend
from leian.retrieval.backends.base import IndexManifest
from leian.retrieval.indexing import IndexJob
from leian.retrieval.models import Query
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


def test_indexes_from_before_the_settings_read_as_they_were_made():
    old = {"format_version": 3, "backend": "embedded", "created_at": "x", "updated_at": "x", "snapshot": "x"}
    old["tokenizer"] = "t"
    manifest = IndexManifest.model_validate(old)
    assert (manifest.embed_chunks, manifest.embed_precision) == (DEFAULT_MAX_CHUNKS, "float32")


# ------------------------------------------------------------------------------------------- precision
# float32 needs a model with a float export: e5-small (bge-small-zh, the default, arrives as int8 only)
@pytest.fixture(scope="module")
def float_index(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("precision") / "float32"
    IndexJob(
        corpus=str(sample_path()), index=str(out), model=E5_SMALL, embed_precision="float32", limit=N // 4
    ).build()
    return out


@pytest.fixture(scope="module")
def e5_index(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("precision") / "int8"
    IndexJob(corpus=str(sample_path()), index=str(out), model=E5_SMALL, limit=N // 4).build()
    return out


def test_a_new_index_is_int8_unless_float32_is_asked_for(sample_index, e5_index, float_index, long_cases):
    assert open_backend("embedded", index=str(sample_index)).manifest().embed_precision == "int8"
    assert open_backend("embedded", index=str(e5_index)).manifest().embed_precision == "int8"
    assert open_backend("embedded", index=str(float_index)).manifest().embed_precision == "float32"
    rec = next(r for r in islice(Loader(sample_path()), N // 4) if r.id in {c.id for c in long_cases})
    text = document_text(extract_keeping_sections(rec))
    flt = Embedder.load(E5_SMALL, query_precision="float32", document_precision="float32")
    want = flt.embed_documents([text])[0]
    got, int8 = _vector(float_index, rec.id), _vector(e5_index, rec.id)
    assert np.allclose(got, want, atol=1e-6)
    assert float(got @ int8) >= 0.99 and not np.allclose(got, int8, atol=1e-3)


def test_cases_added_to_a_float32_index_are_embedded_in_float32(float_index, long_cases, tmp_path):
    index = tmp_path / "copy"
    shutil.copytree(float_index, index)
    built = next(r for r in long_cases if r.id in open_backend("embedded", index=str(index)).ids())
    searcher = open_searcher(index=str(index))
    try:
        assert (searcher.embedder.document_precision, searcher.embedder.query_precision) == (
            "float32",
            "int8",
        )
        assert searcher.add_documents([built.model_copy(update={"id": "added-later"})]).written == 1
    finally:
        searcher.close()
    assert np.allclose(_vector(index, "added-later"), _vector(index, built.id), atol=1e-6)


def test_adding_in_another_precision_is_refused_and_changes_nothing(float_index, tmp_path):
    index = tmp_path / "copy"
    shutil.copytree(float_index, index)
    before = open_backend("embedded", index=str(index)).manifest()
    with pytest.raises(InvalidInput, match="this index's vectors are float32; cases added in int8"):
        IndexJob(corpus=str(sample_path()), index=str(index), embed_precision="int8").add()
    with pytest.raises(InvalidInput, match="precision applies to embeddings"):
        IndexJob(
            corpus=str(sample_path()), index=str(tmp_path / "new"), embed_precision="int8", embeddings=False
        ).build()
    after = open_backend("embedded", index=str(index)).manifest()
    assert (after.snapshot, after.doc_count) == (before.snapshot, before.doc_count)
    assert not (tmp_path / "new").exists()


def test_an_int8_index_needs_the_models_int8_copy_to_grow(e5_index, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(e5.default_model_dir(), model, copy_function=os.link)
    (model / "onnx" / INT8_MODEL_FILE).unlink()  # as by a damaged copy
    with pytest.raises(ModelUnavailable, match="int8 copy"):
        IndexJob(
            corpus=str(sample_path()), index=str(tmp_path / "new"), model=str(model), embed_precision="int8"
        ).build()
    assert not (tmp_path / "new").exists()
    index = tmp_path / "copy"
    shutil.copytree(e5_index, index)
    searcher = open_searcher(index=str(index), model=str(model))
    try:
        assert searcher.search(Query(facts="被告人张某盗窃他人财物", top_k=3)).hits  # searching goes on
        with pytest.raises(ModelUnavailable, match="`leian model onnx --model"):
            searcher.add_documents([next(iter(Loader(sample_path())))])
    finally:
        searcher.close()
    assert (
        open_backend("embedded", index=str(index)).count()
        == open_backend("embedded", index=str(e5_index)).count()
    )
