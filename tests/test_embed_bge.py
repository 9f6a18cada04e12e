"""bge-small-zh-v1.5: the int8 ONNX graph fetched from Maven Central, run with no torch.

The real jar is downloaded once into ~/.cache/leian/models (16 MB; later runs find it there); the
failure cases run against a real HTTP server on the loopback. Nothing is mocked.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from leian.corpora.sample import sample_path
from leian.errors import ModelUnavailable
from leian.indexer.embedding import Embedder, EmbeddingOptions
from leian.indexer.models import BGE_SMALL_ZH, PROVENANCE_FILE, bge_zh, model_fingerprint
from leian.indexer.runtime import INT8_MODEL_FILE, META_FILE, ONNX_DIR
from leian.retrieval.backends import open_backend
from leian.retrieval.indexing import IndexJob
from leian.retrieval.models import Query
from leian.retrieval.search import open_searcher

FACTS = "被告人张某于2019年3月12日在某超市内趁店员不备，窃取货架上的手机一部，经鉴定价值人民币3200元。"
PARAPHRASE = "2019年3月12日，被告人张某在一家超市里偷走了一部手机，该手机经鉴定价值3200元。"
UNRELATED = "被告人李某醉酒后驾驶小型轿车在公路上行驶，经鉴定其血液中乙醇含量为186mg/100ml。"


@pytest.fixture(scope="session")
def bge_dir() -> Path:
    try:
        return bge_zh.fetch_model()  # idempotent: downloads only the first time
    except ModelUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"bge-small-zh cannot be fetched here: {e.message}")


@pytest.fixture(scope="module")
def bge(bge_dir) -> Embedder:
    return Embedder.load(bge_dir, cache=None)


@pytest.mark.slow
def test_vectors_are_512_wide_unit_and_tell_facts_apart(bge):
    assert (bge.dim, bge.max_tokens, bge.runtime, bge.device) == (512, 512, "onnxruntime", "cpu")
    assert (bge.query_precision, bge.document_precision) == ("int8", "int8")
    assert (bge.query_prompt, bge.passage_prompt) == ("", "")  # no instruction on either side
    v = bge.embed_documents([FACTS, PARAPHRASE, UNRELATED])
    assert v.dtype == np.float32 and v.shape == (3, 512)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1
    # no prompt: a query and a document of the same text are the same vector
    assert np.array_equal(bge.embed_queries([FACTS]), v[:1])


@pytest.mark.slow
def test_tokens_are_those_of_the_tokenizer_json(bge, bge_dir):
    ref = Tokenizer.from_file(str(bge_dir / "tokenizer.json"))
    ref.enable_truncation(512)
    long_text = FACTS * 30  # past the window: truncated to 512 with [SEP] kept last
    texts = [FACTS, PARAPHRASE, long_text, "ＡＢＣ１２３①㎡ 受贿", ""]
    ids, mask = bge._int8.tokenise(texts[:1])
    assert ids[0].tolist() == ref.encode(texts[0]).ids and mask.all()
    assert ids[0][0] == ref.token_to_id("[CLS]") and ids[0][-1] == ref.token_to_id("[SEP]")
    for text in texts:
        ids, _ = bge._int8.tokenise([text])
        assert ids[0].tolist() == ref.encode(text).ids, text[:20]
    assert len(ref.encode(long_text).ids) == 512
    # every chunk of a long text fits the window, with the special tokens
    chunks = bge.chunks(long_text)
    assert len(chunks) >= 2 and all(len(ref.encode(c).ids) <= 512 for c in chunks)


@pytest.mark.slow
def test_loads_by_name_without_torch_and_records_its_choices(bge_dir):
    code = (
        "import json, sys\n"
        "from leian.indexer.embedding import Embedder\n"
        f"emb = Embedder.load({BGE_SMALL_ZH!r}, cache=None)\n"
        "emb.embed_queries(['受贿'])\n"
        "mods = ('torch', 'transformers', 'sentence_transformers', 'onnx')\n"
        "print(json.dumps({'info': emb.info(), 'imported': [m for m in mods if m in sys.modules]}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["imported"] == []
    info = got["info"]
    assert (info["name"], info["path"], info["dim"]) == (bge_zh.NAME, str(bge_dir), 512)
    graph = (bge_dir / ONNX_DIR / INT8_MODEL_FILE).read_bytes()
    assert info["fingerprint"] == hashlib.sha256(graph).hexdigest() == model_fingerprint(bge_dir)
    meta = json.loads((bge_dir / ONNX_DIR / META_FILE).read_text())
    assert (meta["pooling"], meta["normalize"], meta["onnx_only"]) == ("cls", True, True)
    assert meta["settings"]["prompts"] == {"query": "", "passage": ""} and "prompt_choice" in meta
    prov = json.loads((bge_dir / PROVENANCE_FILE).read_text())
    assert prov["source_sha1"] == bge_zh.JAR_SHA1 and "MIT" in prov["licence"]


@pytest.mark.slow
def test_float32_and_torch_are_refused_clearly(bge_dir):
    with pytest.raises(ModelUnavailable, match=r"int8 ONNX graph .* float32 vectors cannot be made"):
        Embedder.load(bge_dir, cache=None, query_precision="float32")
    with pytest.raises(ModelUnavailable, match="float32 vectors cannot be made .*documents"):
        Embedder.load(bge_dir, cache=None, document_precision="float32")
    with pytest.raises(ModelUnavailable, match="runs on onnxruntime only"):
        Embedder.load(bge_dir, cache=None, runtime="torch")
    with pytest.raises(ModelUnavailable, match="CPU only"):
        Embedder.load(bge_dir, cache=None, device="cuda")
    with pytest.raises(ModelUnavailable, match="unset LEIAN_QUERY_PRECISION"):
        Embedder.load(bge_dir, cache=None, options=EmbeddingOptions(query_precision="float32"))


@pytest.mark.slow
def test_a_damaged_model_directory_is_unpacked_again(bge_dir, tmp_path):
    out = bge_zh.fetch_model(tmp_path / "bge")  # from the cached jar
    assert model_fingerprint(out) == model_fingerprint(bge_dir)
    graph = out / ONNX_DIR / INT8_MODEL_FILE
    graph.write_bytes(graph.read_bytes()[:100_000])  # cut short, as by a full disk
    with pytest.raises(ModelUnavailable, match="not the one its export.json was written for"):
        Embedder.load(out, cache=None)
    assert not bge_zh.is_installed(out)
    assert bge_zh.fetch_model(out) == out and bge_zh.is_installed(out)
    assert [p.name for p in tmp_path.iterdir()] == ["bge"]  # no temporary leftovers
    assert Embedder.load(out, cache=None).embed_queries(["受贿"]).shape == (1, 512)


@pytest.mark.slow
def test_a_corrupted_cached_jar_is_fetched_again(bge_dir, tmp_path):
    good = bge_zh.cached_jar()  # the real one, verified
    jar = tmp_path / "models" / "downloads" / bge_zh.JAR
    jar.parent.mkdir(parents=True)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: still a zip file, wrong SHA-1
    jar.write_bytes(data)
    out = bge_zh.fetch_model(home=tmp_path)
    assert hashlib.sha1(jar.read_bytes()).hexdigest() == bge_zh.JAR_SHA1  # downloaded again
    assert out == tmp_path / "models" / bge_zh.NAME and bge_zh.is_installed(out, tmp_path)
    assert sorted(p.name for p in jar.parent.iterdir()) == [bge_zh.JAR]


class _Mirror(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines on stderr
        pass


@pytest.fixture
def mirror(tmp_path):
    """A real HTTP Maven mirror on the loopback serving the files under ``root``, and the options
    (LEIAN_MAVEN_URL, an empty LEIAN_HOME) that point at it."""
    root = tmp_path / "mirror"
    folder = root / bge_zh.ARTIFACT / bge_zh.VERSION
    folder.mkdir(parents=True)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Mirror, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = {"home": tmp_path / "home", "maven_url": f"http://127.0.0.1:{server.server_address[1]}"}
    try:
        yield folder, options
    finally:
        server.shutdown()
        server.server_close()


def _downloads(tmp_path: Path) -> list[str]:
    folder = tmp_path / "home" / "models" / "downloads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_download_cut_short_leaves_nothing_behind(bge_dir, mirror, tmp_path):
    mirror, options = mirror
    real = bge_dir.parent / "downloads" / bge_zh.JAR
    (mirror / f"{bge_zh.JAR}.sha1").write_text(bge_zh.JAR_SHA1)
    (mirror / bge_zh.JAR).write_bytes(real.read_bytes()[:1_000_000])
    with pytest.raises(ModelUnavailable, match=r"has SHA-1 [0-9a-f]{40}, not .* \(cut short\?\)") as e:
        bge_zh.fetch_model(**options)
    assert "\n" not in e.value.message
    assert _downloads(tmp_path) == [] and not (tmp_path / "home" / "models" / bge_zh.NAME).exists()
    # the mirror gets the whole file: the same call now succeeds
    shutil.copyfile(real, mirror / bge_zh.JAR)
    assert bge_zh.is_installed(bge_zh.fetch_model(**options), options["home"])
    assert _downloads(tmp_path) == [bge_zh.JAR]


def test_a_foreign_sha1_or_a_missing_jar_is_one_clear_line(mirror, tmp_path):
    mirror, options = mirror
    with pytest.raises(
        ModelUnavailable, match=r"cannot download http://127\.0\.0\.1:\d+/.*\.jar\.sha1: HTTP 404"
    ):
        bge_zh.fetch_model(**options)
    (mirror / f"{bge_zh.JAR}.sha1").write_text("0" * 40 + "  " + bge_zh.JAR)
    with pytest.raises(ModelUnavailable, match="gives '0{40}', not the SHA-1"):
        bge_zh.fetch_model(**options)
    assert _downloads(tmp_path) == []


def test_an_unreachable_repository_is_one_clear_line(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LEIAN_MAVEN_URL", f"http://127.0.0.1:{port}/maven2")
    monkeypatch.setenv("LEIAN_HOME", str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "leian.api.cli", "model", "info", "--model", BGE_SMALL_ZH],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leian model: error: cannot download"), run.stderr
    assert "LEIAN_MAVEN_URL" in lines[0]
    assert not (tmp_path / "models" / bge_zh.NAME).exists()
    with pytest.raises(ModelUnavailable, match="must be an https:// URL"):  # plain HTTP off the machine
        bge_zh.fetch_model(home=tmp_path, maven_url="http://example.org/maven2")


@pytest.mark.slow
def test_cli_model_info_by_name(bge_dir):
    run = subprocess.run(
        [sys.executable, "-m", "leian.api.cli", "model", "info", "--model", BGE_SMALL_ZH, "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert (info["name"], info["dim"], info["runtime"]) == (bge_zh.NAME, 512, "onnxruntime")
    assert run.stderr.strip() == ""


@pytest.mark.slow
def test_an_index_built_with_it_records_its_fingerprint_and_searches(bge_dir, tmp_path):
    index = tmp_path / "index"
    IndexJob(
        corpus=str(sample_path()), index=str(index), model=BGE_SMALL_ZH, limit=12,
        embedding_cache=str(tmp_path / "cache.sqlite"),
    ).build()  # fmt: skip
    manifest = open_backend("embedded", index=str(index)).manifest()
    assert (manifest.model, manifest.model_path, manifest.dim) == (bge_zh.NAME, BGE_SMALL_ZH, 512)
    assert manifest.model_fingerprint == model_fingerprint(bge_dir) and manifest.embed_precision == "int8"
    searcher = open_searcher(index=str(index))  # the index's own model, by its recorded name
    try:
        hits = searcher.search(Query(facts=FACTS, top_k=3)).hits
        assert hits and all("dense" in h.components for h in hits)
    finally:
        searcher.close()


@pytest.mark.slow
def test_the_default_path_runs_without_torch(sample_index, tmp_path):
    """The default install has no torch: searching and writing a report on a default index (bge) import
    none of torch, transformers, sentence-transformers or onnx."""
    assert open_backend("embedded", index=str(sample_index)).manifest().model == bge_zh.NAME
    code = (
        "import sys\n"
        "from leian.api.cli import main\n"
        "rc = main(['search', '--index', sys.argv[1], '--query', sys.argv[2], '--top', '3'])\n"
        "rc += main(['report', '--index', sys.argv[1], '--facts', sys.argv[2], '--out', sys.argv[3]])\n"
        "mods = ('torch', 'transformers', 'sentence_transformers', 'onnx')\n"
        "print('heavy:', sorted(m for m in mods if m in sys.modules), 'rc:', rc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(sample_index), FACTS, str(tmp_path / "r.md")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "heavy: [] rc: 0" in run.stdout, run.stderr[-2000:]
