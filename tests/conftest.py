"""Shared fixtures: the bundled sample indexed once per session (real files, real model)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory) -> Path:
    """An embedded index (BM25 + e5 vectors + charge model) of the bundled LeCaRD sample."""
    from leian.corpora.sample import sample_path
    from leian.retrieval.indexing import IndexJob

    out = tmp_path_factory.mktemp("index") / "sample"
    summary = IndexJob(corpus=str(sample_path()), index=str(out), corpus_name="leian sample (LeCaRD)").build()
    assert summary.indexed >= 300
    return out


@pytest.fixture(scope="session")
def sample_queries() -> list[dict]:
    import json

    from leian.corpora.sample import sample_queries_path

    return [
        json.loads(x) for x in sample_queries_path().read_text(encoding="utf-8").splitlines() if x.strip()
    ]


@pytest.fixture(scope="session")
def lecard_dir() -> Path:
    """../shared/data/lecard when present (development); tests needing it skip otherwise."""
    d = Path(os.environ.get("LEIAN_LECARD", ROOT.parent / "shared" / "data" / "lecard"))
    if not (d / "docs.jsonl.gz").exists():
        pytest.skip(f"LeCaRD data not found at {d} (set LEIAN_LECARD)")
    return d


# ---- Elasticsearch server (owner: scripts/start-elasticsearch; used by tests marked `elasticsearch`) ----
@pytest.fixture(scope="session")
def es_url() -> str:
    """A real Elasticsearch: ``LEIAN_ES_URL`` when set (CI starts the server), else the cached local
    node that scripts/start-elasticsearch fetches from Maven Central and starts (idempotent)."""
    import shutil
    import subprocess

    url = os.environ.get("LEIAN_ES_URL")
    if url:
        return url.rstrip("/")
    missing = [tool for tool in ("java", "mvn", "curl", "unzip") if shutil.which(tool) is None]
    if missing:
        msg = f"Elasticsearch tests need {', '.join(missing)} to start a server (or set LEIAN_ES_URL)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    run = subprocess.run(
        [str(ROOT / "scripts" / "start-elasticsearch")], capture_output=True, text=True, timeout=900
    )
    if run.returncode != 0:
        pytest.fail(f"scripts/start-elasticsearch failed:\n{run.stderr[-3000:]}")
    return run.stdout.strip().splitlines()[-1]


# ---- end of the Elasticsearch block ----
