"""The settings tree: every LEIAN_* variable, the config file's tables and the CLI's flags land in one
validated ``Settings``, flags over variables over the file over the defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from leian.api.commands._common import add_backend_arguments, add_ranking_argument, settings_from_args
from leian.api.settings import PART_VARIABLES, Settings, load_settings
from leian.errors import InvalidInput
from leian.indexer.embedding import EmbeddingOptions, Precision, RuntimeKind
from leian.retrieval.backends import BackendKind


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in (
        "LEIAN_CONFIG",
        "LEIAN_INDEX",
        "LEIAN_BACKEND",
        "LEIAN_RANKING",
        "LEIAN_PROGRESS",
        *PART_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_backend_arguments(p)
    add_ranking_argument(p)
    return p.parse_args(argv)


def test_flags_over_variables_over_the_file_over_the_defaults(monkeypatch, tmp_path):
    cfg = tmp_path / "leian.toml"
    cfg.write_text(
        'index = "from-file"\nes_url = "http://file:9200"\n\n[ranking]\nw_court = 0.5\nw_recent = 0.5\n\n'
        "[es]\nrequest_timeout = 30\nbulk_timeout = 300\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LEIAN_CONFIG", str(cfg))
    s = settings_from_args(parse())
    assert (s.index, s.backend, s.es.url, s.es.request_timeout, s.es.bulk_timeout) == (
        "from-file", BackendKind.embedded, "http://file:9200", 30.0, 300.0
    )  # fmt: skip
    assert (s.ranking.w_court, s.ranking.w_recent, s.progress) == (0.5, 0.5, True)

    monkeypatch.setenv("LEIAN_INDEX", "from-env")
    monkeypatch.setenv("LEIAN_ES_URL", "http://env:9200")
    monkeypatch.setenv("LEIAN_ES_TIMEOUT", "20")
    monkeypatch.setenv("LEIAN_ES_USERNAME", "elastic")
    monkeypatch.setenv("LEIAN_ES_PASSWORD", "secret")
    monkeypatch.setenv("LEIAN_RANKING", '{"w_recent": 2}')
    monkeypatch.setenv("LEIAN_PROGRESS", "0")
    s = settings_from_args(parse())
    assert (s.index, s.es.url, s.es.request_timeout, s.es.bulk_timeout, s.es.username) == (
        "from-env", "http://env:9200", 20.0, 300.0, "elastic"
    )  # fmt: skip
    assert s.es.password.get_secret_value() == "secret"
    assert (s.ranking.w_court, s.ranking.w_recent, s.progress) == (0.5, 2.0, False)

    s = settings_from_args(
        parse(
            "--index",
            "flag",
            "--backend",
            "elasticsearch",
            "--es-url",
            "http://flag:9200",
            "--es-timeout",
            "5",
            "--es-no-verify-certs",
            "--config",
            "w_recent=3",
        )  # fmt: skip
    )
    assert (s.index, s.backend, s.es.url, s.es.request_timeout, s.es.verify_certs) == (
        "flag", BackendKind.elasticsearch, "http://flag:9200", 5.0, False
    )  # fmt: skip
    # a part merges key by key: the flag's weight, the variable's and the file's
    assert (s.ranking.w_court, s.ranking.w_recent) == (0.5, 3.0)


def test_bad_values_name_where_they_came_from(monkeypatch, tmp_path):
    with pytest.raises(InvalidInput, match=r"^--es-timeout: .*greater than 0 \(got 0.0\)"):
        settings_from_args(parse("--es-timeout", "0"))
    with pytest.raises(InvalidInput, match="not an http"):
        settings_from_args(parse("--es-url", "localhost:9200"))
    with pytest.raises(InvalidInput, match="bad --config"):
        settings_from_args(parse("--config", "w_nonsense=1"))
    monkeypatch.setenv("LEIAN_ES_TIMEOUT", "soon")
    with pytest.raises(InvalidInput, match="^LEIAN_ES_TIMEOUT: .* number.*'soon'"):
        settings_from_args(parse())
    monkeypatch.delenv("LEIAN_ES_TIMEOUT")
    monkeypatch.setenv("LEIAN_BACKEND", "solr")
    with pytest.raises(InvalidInput, match=r"^LEIAN_BACKEND: .*'embedded' or 'elasticsearch' \(got 'solr'\)"):
        load_settings()
    monkeypatch.delenv("LEIAN_BACKEND")
    cfg = tmp_path / "leian.json"
    cfg.write_text('{"es": {"shardz": 2}}', encoding="utf-8")
    monkeypatch.setenv("LEIAN_CONFIG", str(cfg))
    with pytest.raises(InvalidInput, match="^setting es.shardz: "):
        load_settings()
    with pytest.raises(InvalidInput, match="8 characters"):
        Settings(api_keys="short")


def test_no_index_is_one_clear_error():
    with pytest.raises(InvalidInput, match="no index given: pass --index DIR"):
        settings_from_args(parse()).require_index()


def test_the_embedding_part_takes_its_variables(monkeypatch, tmp_path):
    s = load_settings()
    assert s.embedding == EmbeddingOptions()  # the library's own defaults
    monkeypatch.setenv("LEIAN_HOME", str(tmp_path))
    monkeypatch.setenv("LEIAN_EMBED_RUNTIME", "ONNX")
    monkeypatch.setenv("LEIAN_QUERY_PRECISION", "float32")
    monkeypatch.setenv("LEIAN_TORCH_THREADS", "1")
    monkeypatch.setenv("LEIAN_MAVEN_URL", "http://127.0.0.1:8081/maven2")
    e = load_settings().embedding
    assert (e.home, e.runtime, e.query_precision, e.threads, e.maven_url) == (
        tmp_path, RuntimeKind.onnx, Precision.float32, 1, "http://127.0.0.1:8081/maven2"
    )  # fmt: skip
    monkeypatch.setenv("LEIAN_TORCH_THREADS", "two")
    with pytest.raises(InvalidInput, match="^LEIAN_TORCH_THREADS: .*integer.*'two'"):
        load_settings()
    monkeypatch.setenv("LEIAN_TORCH_THREADS", "0")
    with pytest.raises(InvalidInput, match=r"\(LEIAN_TORCH_THREADS\) must be a positive integer, got 0"):
        load_settings()
    monkeypatch.delenv("LEIAN_TORCH_THREADS")
    monkeypatch.setenv("LEIAN_EMBED_RUNTIME", "gpu")
    with pytest.raises(
        InvalidInput, match=r"^LEIAN_EMBED_RUNTIME: .*'auto', 'onnx' or 'torch' \(got 'gpu'\)"
    ):
        load_settings()


def test_embedding_options_check_what_the_library_is_given():
    assert EmbeddingOptions(runtime=" Torch", query_precision="FLOAT32", home="~/x") == EmbeddingOptions(
        runtime=RuntimeKind.torch, query_precision=Precision.float32, home=Path.home() / "x"
    )
    with pytest.raises(InvalidInput, match="runtime must be one of auto, onnx, torch; got 'gpu'"):
        EmbeddingOptions(runtime="gpu")
