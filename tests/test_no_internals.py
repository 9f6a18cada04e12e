"""Nothing internal in the service's answers: no server path (the index, the data directory, the corpus
file), no traceback, no Python exception name, no backend address — in /healthz, /v1/stats and the
error answers of a real `leian serve` process, and in the 503 of a backend that fails. Every answer
also carries the security headers (api/security_headers.py)."""

from __future__ import annotations

import builtins
import re

import httpx
import pytest
from test_api import KEY, LeianServer

from leian import errors as leian_errors

# Python's own exception names, leian's, and those of the libraries under the service.
EXCEPTION_NAMES = sorted(
    {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    | {n for n, v in vars(leian_errors).items() if isinstance(v, type) and issubclass(v, BaseException)}
    | {
        "BadZipFile",
        "ValidationError",
        "RequestValidationError",
        "HTTPException",
        "JSONDecodeError",
        "DatabaseError",
        "OperationalError",
        "ConnectionError",
        "ConnectionTimeout",
        "TransportError",
        "ApiError",
        "PackageNotFoundError",
    }  # fmt: skip
)
EXCEPTION_RE = re.compile(r"\b(" + "|".join(map(re.escape, EXCEPTION_NAMES)) + r")\b")
# a traceback, the usual homes of a checkout, a temporary directory, an installed package or a model cache
SERVER_WORDS = ("Traceback", 'File "/', "/home", "/tmp", "/work", "site-packages", "/.cache/")


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    srv = LeianServer(sample_index, tmp_path_factory.mktemp("no-internals-service"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def secrets(server, sample_index) -> list[str]:
    """What the server knows and a client must not: where the index, the data and the corpus are."""
    from leian.corpora.sample import sample_path

    data_dir = server.log.parent
    return [str(sample_index), str(sample_index.resolve()), str(data_dir), str(data_dir.resolve()),
            str(sample_path()), str(sample_path().parent)]  # fmt: skip


def internals(text: str, secrets: list[str], *, exception_names: bool = True) -> list[str]:
    found = [s for s in (*secrets, *SERVER_WORDS) if s in text]
    if exception_names:
        found += EXCEPTION_RE.findall(text)
    return found


def test_healthz_and_stats_publish_nothing_of_the_server(server, secrets):
    with server.client() as c:
        health = c.get("/healthz")
        stats = c.get("/v1/stats")
    assert health.status_code == 200 and stats.status_code == 200
    for r in (health, stats):
        assert not internals(r.text, secrets), (r.url, internals(r.text, secrets))
    s = stats.json()
    # what a client needs is still there
    assert s["doc_count"] >= 300 and s["backend"] == "embedded"
    m = s["manifest"]
    assert m["snapshot"] and m["created_at"] and m["model"] and m["model_fingerprint"] and m["doc_count"]
    assert set(m["corpus"]) <= {"name", "licence", "date_from", "date_to"} and m["corpus"]["name"]
    assert "model_path" not in m
    p = s["platform"]
    assert p["product"] and p["version"] and p["embedding_runtime"] and "index" not in p


def error_calls(c: httpx.Client, anon: httpx.Client) -> list[tuple[str, httpx.Response]]:
    big = "经审理查明，" + "被告人盗窃财物。" * 100_000  # over the 2 MiB body limit
    return [
        ("no key", anon.get("/v1/stats")),
        ("bad key", anon.get("/v1/stats", headers={"X-API-Key": "not-a-key-000000"})),
        ("no endpoint", c.get("/v1/no-such-thing")),
        ("wrong method", c.delete("/v1/stats")),
        ("no report", c.get("/v1/reports/01NOSUCHREPORT")),
        ("bad format", c.get("/v1/reports/01NOSUCHREPORT", params={"format": "pdf"})),
        ("no case", c.get("/v1/cases/no-such-case")),
        ("no batch", c.get("/v1/batches/no-such-batch")),
        ("bad top", c.get("/v1/stats", params={"top": 0})),
        ("not JSON", c.post("/v1/search", content=b"{", headers={"Content-Type": "application/json"})),
        ("not UTF-8", c.post("/v1/search", content=b'{"facts": "\xff"}', headers={"Content-Type": "application/json"})),
        ("empty facts", c.post("/v1/search", json={"facts": ""})),
        ("unknown field", c.post("/v1/search", json={"facts": "被告人盗窃", "nope": 1})),
        ("bad filter", c.post("/v1/search", json={"facts": "被告人盗窃", "filters": {"court_level": ["月球"]}})),
        ("too large", c.post("/v1/search", json={"facts": big})),
        ("unknown charge", c.post("/v1/sentencing", json={"facts": "被告人盗窃", "charges": ["月球罪"]})),
        ("no documents", c.post("/v1/documents", json={"documents": []})),
        ("empty upload", c.post("/v1/extract-text", files={"file": ("a.txt", b"", "text/plain")})),
        ("odd upload", c.post("/v1/extract-text", files={"file": ("a.exe", b"MZ\x90\x00", "application/x-msdownload")})),
        ("bad batch", c.post("/v1/batches", json={"cases": [{"id": "a", "facts": ""}]})),
    ]  # fmt: skip


def test_error_answers_publish_nothing_of_the_server(server, secrets):
    with server.client() as c, server.client(key=None) as anon:
        calls = error_calls(c, anon)
    for what, r in calls:
        assert r.status_code >= 400, (what, r.status_code, r.text)
        assert set(r.json()) == {"error"}, (what, r.text)
        assert not internals(r.text, secrets), (what, r.text)


def test_every_answer_carries_the_security_headers(server):
    with server.client() as c, server.client(key=None) as anon:
        answers = [
            c.get(p) for p in ("/", "/docs", "/static/app.js", "/openapi.json", "/healthz", "/v1/stats")
        ]
        answers += [r for _, r in error_calls(c, anon)]
    for r in answers:
        h = r.headers
        assert "script-src 'self'" in h["content-security-policy"], r.url
        assert (
            "frame-ancestors 'none'" in h["content-security-policy"]
            and "unsafe-inline" not in h["content-security-policy"]
        )
        assert (h["x-content-type-options"], h["x-frame-options"], h["referrer-policy"]) == (
            "nosniff",
            "DENY",
            "no-referrer",
        ), r.url
        if r.url.path.startswith("/v1/"):
            assert h["cache-control"] == "no-store", r.url  # answers about cases are not kept
    assert answers[0].headers["cache-control"] == "no-cache"  # the page's own header is left as it set it


# ---------------------------------------------------------------- a backend that fails (in-process)


@pytest.mark.parametrize(
    "failure",
    [
        lambda index: FileNotFoundError(2, "No such file or directory", str(index / "CURRENT")),
        lambda index: leian_errors.BackendUnavailable(
            "Elasticsearch at http://10.20.30.40:9200 is unreachable (count): ConnectionError(Connection refused)"
        ),
        lambda index: leian_errors.IndexCorrupt(
            f"{index}/gen-1: cannot be read (BadZipFile: File is not a zip file)"
        ),
    ],
    ids=["os-error", "backend-unavailable", "index-corrupt"],
)
def test_healthz_503_says_only_that_the_backend_is_unreachable(sample_index, tmp_path, caplog, failure):
    """The cause of an outage goes to the log; the public /healthz says the backend is unreachable."""
    from fastapi.testclient import TestClient

    from leian.api.app import create_app
    from leian.api.settings import Settings
    from leian.retrieval.search import open_searcher

    searcher = open_searcher(index=str(sample_index))
    error = failure(sample_index)

    def count():
        raise error

    try:
        app = create_app(
            Settings(index=str(sample_index), api_keys=[KEY], data_dir=tmp_path), searcher=searcher
        )
        with caplog.at_level("WARNING", logger="leian.api"), TestClient(app) as c:
            searcher.backend.count = count
            r = c.get("/healthz")
    finally:
        searcher.close()
    assert r.status_code == 503 and r.json()["error"]["code"] == "backend_unavailable"
    message = r.json()["error"]["message"]
    assert "not reachable" in message
    assert not internals(r.text, [str(sample_index), str(tmp_path), "10.20.30.40", "9200", "zip"]), message
    assert any("health check failed" in rec.getMessage() for rec in caplog.records)  # the cause is logged


def test_stats_leave_out_a_local_model_directory_and_the_corpus_file(sample_index, tmp_path):
    """An index built from a local model directory and a corpus file: /v1/stats names the model, not
    where it lies, and the corpus by name."""
    from fastapi.testclient import TestClient

    from leian.api.app import create_app
    from leian.api.settings import Settings
    from leian.retrieval.search import open_searcher

    searcher = open_searcher(index=str(sample_index))
    real = searcher.backend.manifest
    local = "/srv/models/my-bge"

    def manifest():
        m = real()
        return m.model_copy(
            update={"model_path": local, "corpus": {**m.corpus, "path": "/srv/corpora/cases.jsonl"}}
        )

    try:
        app = create_app(
            Settings(index=str(sample_index), api_keys=[KEY], data_dir=tmp_path), searcher=searcher
        )
        with TestClient(app, headers={"X-API-Key": KEY}) as c:
            searcher.backend.manifest = manifest
            r = c.get("/v1/stats")
    finally:
        searcher.close()
    assert r.status_code == 200
    assert "/srv/" not in r.text and str(sample_index) not in r.text
    assert r.json()["manifest"]["corpus"]["name"]
