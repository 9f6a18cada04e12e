"""The HTTP API against a real `leian serve` process on loopback (real uvicorn, real index, httpx).

Settings and error mapping that need no server are tested in-process at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

KEY = "test-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LeianServer:
    """`leian serve` in a subprocess; waits until /healthz answers."""

    def __init__(self, index: Path, data_dir: Path, *extra: str, keys: str = KEY):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LEIAN_API_KEYS": keys, "LEIAN_PROGRESS": "0"}
        cmd = [sys.executable, "-m", "leian.api.cli", "serve", "--index", str(index), "--port", str(self.port),
               "--data-dir", str(data_dir), "--log-level", "warning", *extra]  # fmt: skip
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leian serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"leian serve did not become healthy:\n{self.log.read_text()}")

    def client(self, key: str | None = KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=300)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    srv = LeianServer(sample_index, tmp_path_factory.mktemp("service"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def query(sample_queries) -> dict:
    # A real LeCaRD query with a single charge, so the sentencing picture has same-charge cases.
    return next(q for q in sample_queries if len(q["q"]) > 100)


def doc_count(client: httpx.Client) -> int:
    return client.get("/healthz").json()["doc_count"]


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


# ---------------------------------------------------------------- service


def test_health_is_public_and_reports_the_index(server):
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["auth"] is True and body["doc_count"] >= 300


def test_openapi_and_offline_docs(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    for path in ("/v1/search", "/v1/reports", "/v1/reports/{report_id}", "/v1/cases/{case_id}", "/v1/documents",
                 "/v1/documents/{doc_id}", "/v1/batches", "/v1/batches/{job_id}", "/v1/batches/{job_id}/download",
                 "/healthz", "/v1/stats"):  # fmt: skip
        assert path in spec["paths"], path
    assert "X-API-Key" in json.dumps(spec["components"]["securitySchemes"])
    assert "409" in spec["paths"]["/v1/documents"]["post"]["responses"]  # writes refused while rebuilt
    assert "409" in spec["paths"]["/v1/documents/{doc_id}"]["delete"]["responses"]
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert not external_refs(docs.text)
    assert not external_refs(httpx.get(server.url + "/").text)


def external_refs(html: str) -> list[str]:
    """src/href values that point outside the service (the pages must work with no internet)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(
                v for k, v in attrs if k in ("src", "href") and v and v.startswith(("http:", "https:", "//"))
            )

    P().feed(html)
    return found


def test_stats(client):
    r = client.get("/v1/stats", params={"top": 5})
    assert r.status_code == 200
    s = r.json()
    assert (
        s["doc_count"] >= 300 and s["manifest"]["snapshot"] and s["manifest"]["doc_count"] == s["doc_count"]
    )
    assert 1 <= len(s["charges"]) <= 5
    counts = [c["count"] for c in s["charges"]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    assert s["platform"]["product"] and s["platform"]["version"]
    # the default model's ONNX export is built with it, and a new index and its searches embed on
    # its int8 copy
    assert s["platform"]["embedding_runtime"] == "onnxruntime" and s["platform"]["query_precision"] == "int8"
    assert s["manifest"]["embed_precision"] == "int8"


# ---------------------------------------------------------------- search and cases


def test_search_returns_explained_hits_with_correct_highlights(client, query):
    r = client.post("/v1/search", json={"facts": query["q"], "top_k": 5, "exclude_ids": [query["source_doc_id"]]}
                    if query.get("source_doc_id") else {"facts": query["q"], "top_k": 5})  # fmt: skip
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["charges_used"] and res["query_terms"]
    hits = res["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == 5
    assert all(hits[i]["score"] >= hits[i + 1]["score"] for i in range(len(hits) - 1))
    assert query.get("source_doc_id") not in {h["id"] for h in hits}
    h = hits[0]
    for field in (
        "id",
        "case_number",
        "court",
        "date",
        "charges",
        "sentence",
        "score",
        "components",
        "reasons",
    ):
        assert field in h
    assert h["reasons"] and {"bm25", "dense"} <= set(h["components"])
    assert h["record"] is None  # only on request
    case = client.get(f"/v1/cases/{h['id']}").json()
    # Highlight offsets point at the matched term in the named section of the case record.
    assert h["highlights"]
    for hl in h["highlights"]:
        text = case["text"] if hl["section"] == "text" else case["sections"][hl["section"]]
        assert text[hl["start"] : hl["end"]] == hl["term"], hl
    # Passages are exact slices of the section, split at the highlights.
    for p in h["passages"]:
        text = case["text"] if p["section"] == "text" else case["sections"][p["section"]]
        assert "".join(seg for seg, _ in p["segments"]) == text[p["start"] : p["end"]]
        assert any(m for _, m in p["segments"])


def test_search_with_filters_and_records(client, query):
    r = client.post(
        "/v1/search",
        json={
            "facts": query["q"],
            "top_k": 3,
            "include_record": True,
            "filters": {"court_level": "基层", "year_from": 2010},
        },
    )
    assert r.status_code == 200, r.text
    for h in r.json()["hits"]:
        assert h["court_level"] == "基层" and h["record"]["id"] == h["id"]
        assert h["date"] is None or int(h["date"][:4]) >= 2010


def test_case_by_id(client):
    first = client.post(
        "/v1/search", json={"facts": "被告人酒后驾驶机动车，血液酒精含量超标", "top_k": 1}
    ).json()["hits"][0]
    r = client.get(f"/v1/cases/{first['id']}")
    assert r.status_code == 200
    rec = r.json()
    assert rec["id"] == first["id"] and rec["text"] and rec["case_number"] == first["case_number"]
    assert_error(client.get("/v1/cases/no-such-case"), 404, "not_found")


# ---------------------------------------------------------------- the report, end to end


def test_report_end_to_end(client, query):
    from docx import Document

    from leian.retrieval.report import verify

    body = {
        "facts": query["q"],
        "top_k": 8,
        "proposed_sentence": {"kind": "有期徒刑", "months": 12, "fine_yuan": 5000},
        "requester": {"name": "王检察官", "org": "某区人民检察院"},
    }
    r = client.post("/v1/reports", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(r.json()["id"])
    rep = r.json()
    for section in ("id", "sha256", "created_at", "requester", "platform", "method", "pending", "results",
                    "key_points", "analysis", "sentencing", "proposed"):  # fmt: skip
        assert rep.get(section) not in (None, ""), section
    assert rep["requester"] == {"name": "王检察官", "organisation": "某区人民检察院"}
    assert rep["platform"]["doc_count"] >= 300 and rep["platform"]["snapshot"]
    assert "指导性案例" in [t["tier"] for t in rep["analysis"]["tiers"]]  # always present, even when empty
    # 结果 are the hits of the same search, in the same order.
    hits = client.post("/v1/search", json={"facts": query["q"], "top_k": 8}).json()["hits"]
    assert [c["id"] for c in rep["results"]] == [h["id"] for h in hits]
    assert [c["case_number"] for c in rep["results"]] == [h["case_number"] for h in hits]
    assert [c["reasons"] for c in rep["results"]] == [h["reasons"] for h in hits]
    assert {k["case_id"] for k in rep["key_points"]} <= {c["id"] for c in rep["results"]}
    assert rep["proposed"]["proposed"]["months"] == 12 and rep["proposed"]["status"] in (
        "一致",
        "类案冲突",
        "无法判断",
        "超出法定刑幅度",
    )
    assert rep["sentencing"]["n_cases"] >= 1

    rid = rep["id"]
    stored = client.get(f"/v1/reports/{rid}")
    assert stored.status_code == 200 and stored.content == r.content  # the archived copy is the same bytes
    assert verify(stored.content).ok

    md = client.get(f"/v1/reports/{rid}", params={"format": "md"})
    assert (
        md.headers["content-type"].startswith("text/markdown") and rid in md.text and rep["sha256"] in md.text
    )
    html = client.get(f"/v1/reports/{rid}", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<html" in html.text and rid in html.text
    docx = client.get(f"/v1/reports/{rid}", params={"format": "docx"})
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        docx.headers["content-disposition"].startswith("attachment;")
        and rid in docx.headers["content-disposition"]
    )
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert rid in text and verify(docx.content).ok
    assert_error(client.get(f"/v1/reports/{rid}", params={"format": "pdf"}), 422, "invalid_input")


# ---------------------------------------------------------------- ingest


def test_add_and_delete_documents(client, query):
    source = client.get(
        f"/v1/cases/{client.post('/v1/search', json={'facts': query['q'], 'top_k': 1}).json()['hits'][0]['id']}"
    ).json()
    before = doc_count(client)
    new = {"id": "api-test-doc-1", "text": source["text"]}
    r = client.post("/v1/documents", json=new)
    assert r.status_code == 200, r.text
    assert r.json()["written"] == 1 and r.json()["doc_count"] == before + 1 and not r.json()["failed"]
    rec = client.get("/v1/cases/api-test-doc-1").json()
    assert rec["defendants"] and rec["defendants"][0]["charges"]  # extracted from the raw text
    hits = client.post("/v1/search", json={"facts": query["q"], "top_k": 10}).json()["hits"]
    assert "api-test-doc-1" in {h["id"] for h in hits}  # a copy of a top hit ranks with it
    many = {
        "documents": [
            {"id": "api-test-doc-2", "text": source["text"]},
            {"id": "api-test-doc-3", "text": source["text"]},
        ]
    }
    assert client.post("/v1/documents", json=many).json()["doc_count"] == before + 3
    for i in (1, 2, 3):
        d = client.delete(f"/v1/documents/api-test-doc-{i}")
        assert d.status_code == 200 and d.json()["deleted"] == 1
    assert doc_count(client) == before
    assert_error(client.delete("/v1/documents/api-test-doc-1"), 404, "not_found")
    assert_error(client.get("/v1/cases/api-test-doc-1"), 404)

    # an id with a "/" (as some case-handling systems number cases) can be read back and deleted
    slash = {"id": "2020/118 号", "text": source["text"]}
    assert client.post("/v1/documents", json=slash).json()["written"] == 1
    quoted = "/v1/cases/2020%2F118%20%E5%8F%B7"
    assert client.get(quoted).json()["id"] == "2020/118 号"
    assert client.delete("/v1/documents/2020%2F118%20%E5%8F%B7").json()["deleted"] == 1
    assert_error(client.get(quoted), 404, "not_found")
    assert doc_count(client) == before


def test_writes_while_the_index_is_rebuilt_are_409_and_searches_go_on(sample_index, client, query):
    from leian.retrieval.backends import new_manifest
    from leian.retrieval.backends.embedded import EmbeddedBackend

    before = doc_count(client)
    top = client.post("/v1/search", json={"facts": query["q"], "top_k": 1}).json()["hits"][0]["id"]
    m = new_manifest("embedded", "rebuild", tokenizer="t", dim=None)
    # a rebuild by another program (here: this test process) holds the index until it swaps
    with pytest.raises(RuntimeError, match="abandoned"), EmbeddedBackend.building(sample_index, m):
        e = assert_error(
            client.post("/v1/documents", json={"id": "api-busy", "text": query["q"]}), 409, "index_busy"
        )
        assert "being rebuilt" in e["message"] and "try again" in e["message"].lower()
        assert_error(client.delete(f"/v1/documents/{top}"), 409, "index_busy")
        r = client.post("/v1/search", json={"facts": query["q"], "top_k": 1})
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == top
        raise RuntimeError("abandoned")
    assert doc_count(client) == before
    assert_error(client.get("/v1/cases/api-busy"), 404)
    assert client.get(f"/v1/cases/{top}").status_code == 200


# ---------------------------------------------------------------- batches


def test_batch_job(client, sample_queries):
    cases = [{"id": q["id"], "facts": q["q"]} for q in sample_queries[:2]]
    cases[1]["proposed_sentence"] = {"kind": "有期徒刑", "months": 24}
    r = client.post("/v1/batches", json={"cases": cases, "formats": ["json", "md"], "top_k": 5})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running") and job["total"] == 2
    early = client.get(f"/v1/batches/{job['id']}/download")
    if early.status_code != 200:  # (unless it already finished)
        assert_error(early, 409, "not_ready")
    deadline = time.monotonic() + 600
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(1)
        job = client.get(f"/v1/batches/{job['id']}").json()
        assert 0 <= job["done"] <= job["total"] == 2
    assert job["status"] == "done" and job["done"] == 2 and job["failed"] == 0, job
    z = client.get(job["download"])
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert f"{job['id']}/summary.csv" in names
    for c in cases:
        assert f"{job['id']}/reports/{c['id']}.json" in names and f"{job['id']}/reports/{c['id']}.md" in names
    assert not any("/.leian-batch/" in n for n in names)
    assert_error(client.get("/v1/batches/nope"), 404)


# ---------------------------------------------------------------- bad input: real HTTP, JSON errors, no writes


def test_bad_input_is_rejected_with_json_errors_and_no_writes(server, client, query):
    before = doc_count(client)
    e = assert_error(client.post("/v1/search", json={"facts": ""}), 422, "invalid_input")
    assert "facts" in e["message"]
    assert_error(client.post("/v1/search", json={"facts": "   \n "}), 422)
    assert_error(client.post("/v1/search", json={}), 422)

    big = "盗" * (5 * 1024 * 1024 // 3 + 10)  # 5 MB of UTF-8
    e = assert_error(client.post("/v1/search", json={"facts": big}), 413, "input_too_large")
    assert "limit" in e["message"]
    e = assert_error(client.post("/v1/documents", json={"id": "huge", "text": big * 7}), 413)

    def chunks():  # no Content-Length: the limit is enforced on the streamed body
        for _ in range(6):
            yield b'{"facts": "' + b"a" * (512 * 1024)

    assert_error(
        client.post("/v1/search", content=chunks(), headers={"Content-Type": "application/json"}), 413
    )

    gbk = json.dumps({"facts": "被告人张某盗窃"}, ensure_ascii=False).encode("gbk")
    e = assert_error(
        client.post("/v1/search", content=gbk, headers={"Content-Type": "application/json"}), 400
    )
    assert "UTF-8" in e["message"]
    assert_error(client.post("/v1/search", content=b'{"facts": ', headers={"Content-Type": "application/json"}), 400,
                 "malformed_json")  # fmt: skip

    e = assert_error(
        client.post("/v1/search", json={"facts": query["q"], "filters": {"courtlevel": "基层"}}), 422
    )
    assert "courtlevel" in e["message"]
    e = assert_error(
        client.post("/v1/search", json={"facts": query["q"], "filters": {"court_level": "区级"}}), 422
    )
    assert "区级" in e["message"] and "基层" in e["message"]
    e = assert_error(
        client.post("/v1/search", json={"facts": query["q"], "filters": {"charge": "偷东西罪"}}), 422
    )
    assert "偷东西罪" in e["message"]
    assert_error(client.post("/v1/search", json={"facts": query["q"], "filters": {"province": "火星"}}), 422)
    assert_error(client.post("/v1/search", json={"facts": query["q"], "top_k": 0}), 422)
    assert_error(client.post("/v1/search", json={"facts": query["q"], "surprise": 1}), 422)
    assert_error(
        client.post("/v1/reports", json={"facts": query["q"], "proposed_sentence": {"kind": "有期徒刑"}}), 422
    )  # a term sentence without its term

    with server.client(key="wrong-key-000000") as bad:
        assert_error(bad.post("/v1/search", json={"facts": query["q"]}), 401, "unauthorized")
        assert_error(bad.post("/v1/documents", json={"id": "x", "text": query["q"]}), 401)
    with server.client(key=None) as anon:
        assert_error(anon.get("/v1/stats"), 401)
        assert_error(anon.delete("/v1/documents/whatever"), 401)

    assert_error(client.get("/v1/reports/01NOSUCHREPORT"), 404, "not_found")
    assert_error(client.get("/v1/no-such-endpoint"), 404)
    assert_error(client.post("/v1/documents", json={"id": "x"}), 422)
    assert_error(client.post("/v1/documents", json={"id": "x", "text": "  "}), 422)
    # what `leian index` would skip as no judgment is not indexed through the API either
    for junk in ("！！！。。。", "lorem ipsum dolor sit amet " * 20, "被告人盗窃。"):
        e = assert_error(client.post("/v1/documents", json={"id": "x", "text": junk}), 422)
        assert "not a Chinese judgment" in e["message"], e
    assert_error(
        client.post(
            "/v1/documents",
            json={"documents": [{"id": "d", "text": query["q"]}, {"id": "d", "text": query["q"]}]},
        ),
        422,
    )
    assert_error(client.post("/v1/batches", json={"cases": [{"id": "a", "facts": ""}]}), 422)
    assert_error(
        client.post("/v1/batches", json={"cases": [{"id": "a", "facts": "x"}], "formats": ["pdf"]}), 422
    )
    # Nothing above reached the index.
    assert doc_count(client) == before
    assert client.get("/v1/cases/x").status_code == 404 and client.get("/v1/cases/huge").status_code == 404


def test_extract_text_from_uploads(client):
    from docx import Document

    doc = Document()
    doc.add_paragraph("经审理查明：被告人李某于2019年3月盗窃电动车一辆。")
    buf = io.BytesIO()
    doc.save(buf)
    r = client.post("/v1/extract-text", files={"file": ("case.docx", buf.getvalue())})
    assert r.status_code == 200 and "盗窃电动车" in r.json()["text"]
    r = client.post("/v1/extract-text", files={"file": ("case.txt", "被告人王某酒后驾驶".encode("gb18030"))})
    assert r.status_code == 200 and r.json()["text"] == "被告人王某酒后驾驶"
    assert_error(client.post("/v1/extract-text", files={"file": ("x.docx", b"PK\x03\x04 not really")}), 422)
    assert_error(client.post("/v1/extract-text", files={"file": ("x.pdf", b"%PDF-1.4")}), 422)


# ---------------------------------------------------------------- in-process: settings


def test_settings_require_keys_unless_auth_is_disabled(monkeypatch, tmp_path):
    from leian.api.app import create_app
    from leian.api.settings import Settings, load_settings
    from leian.errors import InvalidInput

    monkeypatch.delenv("LEIAN_API_KEYS", raising=False)
    monkeypatch.delenv("LEIAN_CONFIG", raising=False)
    assert Settings(index="x").api_keys == []  # the CLI's searches need no keys: the service does
    with pytest.raises(InvalidInput, match="--no-auth"):
        create_app(Settings(index="x"))
    assert Settings(index="x", auth_disabled=True).api_keys == []
    monkeypatch.setenv("LEIAN_API_KEYS", " key-aaaaaaaa , key-bbbbbbbb ")
    assert Settings(index="x").api_keys == ["key-aaaaaaaa", "key-bbbbbbbb"]
    monkeypatch.delenv("LEIAN_API_KEYS")
    cfg = tmp_path / "leian.toml"
    cfg.write_text('[leian]\napi_keys = ["key-from-file-1"]\nmax_body_bytes = 4096\n', encoding="utf-8")
    monkeypatch.setenv("LEIAN_CONFIG", str(cfg))
    s = Settings(index="x")
    assert s.api_keys == ["key-from-file-1"] and s.max_body_bytes == 4096
    cfg.write_text("[leian]\nmax_bdy = 1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="unknown setting"):
        Settings(index="x")
    monkeypatch.delenv("LEIAN_CONFIG")
    with pytest.raises(InvalidInput, match="max_body_bytes"):
        load_settings(index="x", auth_disabled=True, max_body_bytes=1)


def test_the_service_ranks_as_configured(sample_index, tmp_path, monkeypatch):
    """The ranking comes from a [ranking] table of the config file, LEIAN_RANKING or `serve --config`."""
    import datetime as dt

    from leian.api.settings import Settings, load_settings
    from leian.errors import InvalidInput

    monkeypatch.delenv("LEIAN_RANKING", raising=False)
    cfg = tmp_path / "leian.toml"
    cfg.write_text("[ranking]\nw_court = 0.5\n", encoding="utf-8")
    monkeypatch.setenv("LEIAN_CONFIG", str(cfg))
    assert Settings(index="x", auth_disabled=True).ranking.w_court == 0.5
    monkeypatch.setenv("LEIAN_RANKING", '{"w_recent": 2}')
    s = Settings(index="x", auth_disabled=True)
    assert (s.ranking.w_court, s.ranking.w_recent, s.ranking.w_charge) == (0.5, 2.0, 1.5)
    monkeypatch.setenv("LEIAN_RANKING", '{"w_nonsense": 2}')
    with pytest.raises(InvalidInput, match="ranking.w_nonsense"):
        load_settings(index="x", auth_disabled=True)
    monkeypatch.delenv("LEIAN_RANKING")
    monkeypatch.delenv("LEIAN_CONFIG")

    srv = LeianServer(sample_index, tmp_path / "svc", "--config", "w_recent=5", "recent_years=20")
    try:
        with srv.client() as c:
            r = c.post(
                "/v1/search", json={"facts": "被告人醉酒驾驶机动车，血液酒精含量为180mg/100ml", "top_k": 5}
            )
        assert r.status_code == 200, r.text
        this_year = dt.date.today().year
        for h in r.json()["hits"]:
            recent = h["date"] is not None and this_year - int(h["date"][:4]) < 20
            assert h["components"]["recent"] == float(recent)
            assert any(x.startswith("近20年的裁判") for x in h["reasons"]) == recent
        assert any(h["components"]["recent"] for h in r.json()["hits"])
    finally:
        srv.stop()


def test_serve_refuses_to_start_open_without_no_auth(sample_index, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LEIAN_API_KEYS", "LEIAN_CONFIG")}
    p = subprocess.run([sys.executable, "-m", "leian.api.cli", "serve", "--index", str(sample_index), "--port", "0"],
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == 1 and "no API keys" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_no_auth_mode(sample_index, tmp_path, caplog):
    """With auth disabled explicitly the API needs no key, and the service says so in a warning."""
    from fastapi.testclient import TestClient

    from leian.api.app import create_app
    from leian.api.settings import Settings

    app = create_app(Settings(index=str(sample_index), auth_disabled=True, data_dir=tmp_path))
    with caplog.at_level("WARNING", logger="leian.api"), TestClient(app) as c:
        assert any("DISABLED" in r.message for r in caplog.records)
        assert c.get("/healthz").json()["auth"] is False
        r = c.post(
            "/v1/search", json={"facts": "被告人醉酒驾驶机动车，血液酒精含量为180mg/100ml", "top_k": 2}
        )
        assert r.status_code == 200 and len(r.json()["hits"]) == 2
        assert c.get("/v1/stats").status_code == 200


# ---------------------------------------------------------------- backend outage (real Elasticsearch)


class TcpProxy:
    """A real TCP forwarder on loopback: the service reaches Elasticsearch through it, and stopping it
    is a genuine outage (connections refused), restarting it on the same port a genuine recovery."""

    def __init__(self, upstream: tuple[str, int], port: int = 0):
        import threading

        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while self.running:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                return
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.running = False
        # shutdown() first: a bare close() leaves the socket listening while accept() still holds it.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()


@pytest.mark.elasticsearch
def test_elasticsearch_outage_is_503_and_recovers(es_url, tmp_path):
    """`leian serve --backend elasticsearch`: search works; when the cluster becomes unreachable the
    health check and the API answer 503 with the JSON error (quickly, no hang); then they recover."""
    import secrets
    from urllib.parse import urlparse

    from leian.corpora.sample import sample_path
    from leian.retrieval.backends.elastic import ElasticOptions, drop_elastic
    from leian.retrieval.indexing import IndexJob

    opts = ElasticOptions(url=es_url)
    name = f"leian-test-api-{secrets.token_hex(3)}"
    IndexJob(corpus=str(sample_path()), backend="elasticsearch", index=name, es_options=opts,
             embeddings=False, limit=120, corpus_name="sample").build()  # fmt: skip
    u = urlparse(es_url)
    proxy = TcpProxy((u.hostname, u.port or 9200))
    srv = LeianServer(name, tmp_path / "svc", "--backend", "elasticsearch", "--es-url",
                      f"http://127.0.0.1:{proxy.port}", "--es-timeout", "3")  # fmt: skip
    try:
        with srv.client() as c:
            assert c.get("/healthz").json()["backend"] == "elasticsearch"
            r = c.post("/v1/search", json={"facts": "被告人酒后驾驶机动车，血液酒精含量超标", "top_k": 3})
            assert r.status_code == 200 and r.json()["hits"], r.text

            proxy.stop()
            t0 = time.monotonic()
            assert_error(c.get("/healthz"), 503, "backend_unavailable")
            assert_error(
                c.post("/v1/search", json={"facts": "被告人盗窃电动车", "top_k": 3}),
                503,
                "backend_unavailable",
            )
            assert_error(c.get("/v1/cases/whatever"), 503)
            assert time.monotonic() - t0 < 60  # bounded: no request hangs on a dead cluster

            proxy = TcpProxy((u.hostname, u.port or 9200), port=proxy.port)
            deadline = time.monotonic() + 30
            while c.get("/healthz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert c.post("/v1/search", json={"facts": "被告人盗窃电动车", "top_k": 3}).status_code == 200
    finally:
        srv.stop()
        proxy.stop()
        drop_elastic(opts, name)


def test_unfinished_batch_jobs_resume_when_the_service_restarts(sample_index, sample_queries, tmp_path):
    """A job a previous process left 'running' (one case done) is picked up at start-up and finished,
    without redoing the finished case."""
    from fastapi.testclient import TestClient

    from leian.api.app import create_app
    from leian.api.jobs import JobSpec, cases_to_jsonl
    from leian.api.settings import Settings
    from leian.retrieval.batch import BatchRunner, parse_cases
    from leian.retrieval.search import open_searcher

    job_dir = tmp_path / "batches" / "b-interrupted"
    cases = [{"id": f"r{i}", "facts": q["q"]} for i, q in enumerate(sample_queries[:3])]
    job_dir.mkdir(parents=True)
    (job_dir / "cases.jsonl").write_text(cases_to_jsonl(cases), encoding="utf-8")
    spec = JobSpec(id="b-interrupted", formats=["json"], top_k=3, stats_k=20, created_at="2026-01-01T00:00:00+00:00",
                   status="running", total=3)  # fmt: skip
    (job_dir / "job.json").write_text(spec.model_dump_json(), encoding="utf-8")
    searcher = open_searcher(index=str(sample_index))
    try:  # the "previous process" finished the first case before it died
        parsed, _ = parse_cases(cases_to_jsonl(cases).splitlines())
        BatchRunner(searcher, job_dir / "out", formats=["json"], top_k=3, stats_k=20).run(parsed, limit=1)
    finally:
        searcher.close()
    first = (job_dir / "out" / "reports" / "r0.json").read_bytes()

    app = create_app(Settings(index=str(sample_index), api_keys=[KEY], data_dir=tmp_path))
    with TestClient(app, headers={"X-API-Key": KEY}) as c:
        deadline = time.monotonic() + 300
        job = c.get("/v1/batches/b-interrupted").json()
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = c.get("/v1/batches/b-interrupted").json()
        assert job["status"] == "done" and job["done"] == 3, job
        names = zipfile.ZipFile(io.BytesIO(c.get("/v1/batches/b-interrupted/download").content)).namelist()
        assert {f"b-interrupted/reports/r{i}.json" for i in range(3)} <= set(names)
    assert (job_dir / "out" / "reports" / "r0.json").read_bytes() == first  # not redone
