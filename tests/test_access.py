"""Offices and roles on a real `leian serve`: the matrix of role × office × endpoint, private documents
kept inside their office, keys made and revoked from the command line, and the per-key limits.

Office 甲 owns a report, a batch, a private and a public document; each key of 甲 and 乙 (reader,
editor, admin) then calls every endpoint, and each answer is checked against what its role and
office allow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leian.api.access import KeyStore, Role
from leian.api.jobs import BatchJobs, JobSpec
from leian.errors import NotFound
from tests.test_api import LeianServer, assert_error

OFFICES = ("甲", "乙")
ROLES = tuple(Role)


@pytest.fixture(scope="module")
def office_server(sample_index, tmp_path_factory):
    """A server on a copy of the sample index (documents are written), with a key per office and role."""
    root = tmp_path_factory.mktemp("offices")
    index = root / "index"
    shutil.copytree(sample_index, index)
    data = root / "service"
    store = KeyStore(data / "keys.sqlite")
    keys = {(o, r): store.create(o, r, owner=f"{o}-{r.value}")[1] for o in OFFICES for r in ROLES}
    store.close()
    srv = LeianServer(index, data, keys="")
    srv.keys = keys
    yield srv
    srv.stop()


def _client(srv, office: str, role: Role) -> httpx.Client:
    return srv.client(srv.keys[(office, role)])


@pytest.fixture(scope="module")
def owned(office_server, sample_queries):
    """What office 甲 owns: a report, a finished batch, a private and a public document."""
    q = next(q for q in sample_queries if len(q["q"]) > 100)
    with _client(office_server, "甲", Role.editor) as c:
        top = c.post("/v1/search", json={"facts": q["q"], "top_k": 1}).json()["hits"][0]["id"]
        text = c.get(f"/v1/cases/{top}").json()["text"]
        for doc_id, public in (("甲-private", False), ("甲-public", True)):
            r = c.post("/v1/documents", json={"documents": [{"id": doc_id, "text": text}], "public": public})
            assert r.status_code == 200, r.text
        report = c.post("/v1/reports", json={"facts": q["q"], "top_k": 3})
        assert report.status_code == 201, report.text
        batch = c.post(
            "/v1/batches", json={"cases": [{"id": "c1", "facts": q["q"]}], "formats": ["json"], "top_k": 3}
        )
        assert batch.status_code == 202, batch.text
        deadline = time.monotonic() + 300
        while (job := c.get(f"/v1/batches/{batch.json()['id']}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert job["status"] == "done", job
    return {"query": q, "source": top, "report": report.json()["id"], "batch": job["id"]}


CALLERS = [(o, r) for o in OFFICES for r in ROLES]
ids = [f"{o}-{r.value}" for o, r in CALLERS]


@pytest.mark.parametrize(("office", "role"), CALLERS, ids=ids)
def test_reads_of_what_an_office_owns(office_server, owned, office, role):
    mine = office == "甲"
    with _client(office_server, office, role) as c:
        r = c.get(f"/v1/reports/{owned['report']}")
        assert r.status_code == 200 if mine else assert_error(r, 404, "not_found")
        for fmt in ("md", "html", "docx"):
            r = c.get(f"/v1/reports/{owned['report']}", params={"format": fmt})
            assert r.status_code == (200 if mine else 404)
        r = c.get(f"/v1/batches/{owned['batch']}")
        assert r.status_code == 200 if mine else assert_error(r, 404, "not_found")
        r = c.get(f"/v1/batches/{owned['batch']}/download")
        assert r.status_code == 200 if mine else assert_error(r, 404, "not_found")
        r = c.get("/v1/cases/甲-private")
        assert r.status_code == 200 if mine else assert_error(r, 404, "not_found")
        assert c.get("/v1/cases/甲-public").status_code == 200  # public: every office


@pytest.mark.parametrize(("office", "role"), CALLERS, ids=ids)
def test_searches_reports_and_sentencing_see_only_what_the_office_may(office_server, owned, office, role):
    mine = office == "甲"
    facts = owned["query"]["q"]
    with _client(office_server, office, role) as c:
        r = c.post("/v1/search", json={"facts": facts, "top_k": 10})
        assert r.status_code == 200, r.text
        hits = [h["id"] for h in r.json()["hits"]]
        # the private copy of the top case scores like it: in the top 10 for its office only
        assert ("甲-private" in hits) == mine and "甲-public" in hits
        r = c.post("/v1/reports", json={"facts": facts, "top_k": 10})
        assert r.status_code == 201, r.text
        cited = r.text
        assert ("甲-private" in cited) == mine
        assert c.get(f"/v1/reports/{r.json()['id']}").status_code == 200  # the office's own report
        assert c.post("/v1/sentencing", json={"facts": facts}).status_code == 200
        assert c.get("/v1/stats").status_code == 200
        up = c.post("/v1/extract-text", files={"file": ("a.txt", "经审理查明：被告人李某盗窃。".encode())})
        assert up.status_code == 200


@pytest.mark.parametrize(("office", "role"), CALLERS, ids=ids)
def test_document_writes_by_role_and_office(office_server, owned, office, role):
    mine = office == "甲"
    with _client(office_server, office, role) as c:
        text = c.get(f"/v1/cases/{owned['source']}").json()["text"]
        new_id = f"new-{office}-{role.value}"
        r = c.post("/v1/documents", json={"id": new_id, "text": text})
        if role is Role.reader:
            assert_error(r, 403, "forbidden")
            assert_error(c.delete("/v1/documents/甲-private"), 403, "forbidden")
            return
        assert r.status_code == 200, r.text
        assert c.get(f"/v1/cases/{new_id}").status_code == 200
        # another office's document cannot be replaced or deleted, nor found when private
        r = c.post("/v1/documents", json={"id": "甲-private", "text": text})
        assert r.status_code == 200 if mine else assert_error(r, 409, "id_in_use")
        if not mine:
            assert_error(c.delete("/v1/documents/甲-private"), 404, "not_found")
            assert_error(c.delete("/v1/documents/甲-public"), 409, "id_in_use")
        # a judgment of the index itself: only an admin changes it
        r = c.post("/v1/documents", json={"id": owned["source"], "text": text})
        assert r.status_code == 200 if role is Role.admin else assert_error(r, 403, "forbidden")
        assert c.delete(f"/v1/documents/{new_id}").status_code == 200
        assert_error(c.get(f"/v1/cases/{new_id}"), 404)


@pytest.mark.parametrize(("office", "role"), CALLERS, ids=ids)
def test_keys_and_audit_are_an_admins_of_its_own_office(office_server, owned, office, role):
    with _client(office_server, office, role) as c:
        if role is not Role.admin:
            assert_error(c.get("/v1/keys"), 403, "forbidden")
            assert_error(c.get("/v1/audit"), 403, "forbidden")
            assert_error(c.post("/v1/keys", json={"role": "reader"}), 403, "forbidden")
            return
        listed = c.get("/v1/keys").json()["keys"]
        assert {k["office"] for k in listed} == {office} and len(listed) >= len(ROLES)
        assert all("secret" not in k and "secret_sha256" not in k for k in listed)
        made = c.post("/v1/keys", json={"role": "reader", "owner": "测试"})
        assert made.status_code == 201, made.text
        new = made.json()
        with office_server.client(new["secret"]) as n:
            assert n.get("/v1/stats").status_code == 200
            rotated = c.post(f"/v1/keys/{new['key']['id']}/rotate").json()
            assert_error(n.get("/v1/stats"), 401, "unauthorized")  # the old secret stopped working
        with office_server.client(rotated["secret"]) as n:
            assert n.get("/v1/stats").status_code == 200
            assert c.delete(f"/v1/keys/{new['key']['id']}").json()["revoked_at"]
            assert_error(n.get("/v1/stats"), 401, "unauthorized")
        # the other office's keys are not there to rotate or revoke
        other = next(k for k in _admin_list(office_server, next(o for o in OFFICES if o != office)))
        assert_error(c.delete(f"/v1/keys/{other['id']}"), 404, "not_found")
        assert_error(c.post(f"/v1/keys/{other['id']}/rotate"), 404, "not_found")
        entries = c.get("/v1/audit", params={"limit": 1000}).json()["entries"]
        assert entries and {e["office"] for e in entries} == {office}


def _admin_list(srv, office: str) -> list[dict]:
    with _client(srv, office, Role.admin) as c:
        return c.get("/v1/keys").json()["keys"]


def test_no_key_or_a_bad_key_is_401_everywhere(office_server, owned):
    spec = httpx.get(office_server.url + "/openapi.json").json()
    bad = office_server.client("lk_000000000000_" + "x" * 43)
    none = office_server.client(None)
    for path, ops in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        url = path.replace("{report_id}", owned["report"]).replace("{job_id}", owned["batch"])
        url = (
            url.replace("{case_id}", "甲-public")
            .replace("{doc_id}", "甲-public")
            .replace("{key_id}", "0" * 12)
        )
        for method in ops:
            for c in (bad, none):
                assert_error(c.request(method.upper(), url), 401, "unauthorized")


def test_keys_from_the_command_line(tmp_path, sample_index):
    def leian(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "leian.api.cli", *args, "--data-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    made = leian("keys", "create", "--office", "丙院", "--role", "admin", "--owner", "王五")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("lk_") and key not in (tmp_path / "keys.sqlite").read_bytes().decode("latin-1")
    listed = leian("keys", "list", "--format", "json")
    assert "丙院" in listed.stdout and "王五" in listed.stdout and key not in listed.stdout
    key_id = key.split("_")[1]
    rotated = leian("keys", "rotate", key_id)
    assert rotated.returncode == 0 and rotated.stdout.strip().splitlines()[-1] != key
    assert leian("keys", "revoke", key_id).returncode == 0
    assert "revoked" in leian("keys", "list").stdout
    bad = leian("keys", "create", "--office", "a b/c", "--role", "reader")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert leian("keys", "revoke", "ffffffffffff").returncode == 1
    huge = leian("keys", "create", "--office", "丙院", "--role", "reader", "--rpm", str(2**64))
    assert huge.returncode == 1 and huge.stderr.count("\n") == 1 and "requests_per_minute" in huge.stderr
    # every change is in the audit log, and the chain holds
    verified = leian("audit", "verify")
    assert verified.returncode == 0 and "3 entries" in verified.stdout, verified.stdout + verified.stderr


def test_rate_and_batch_limits_answer_429_with_retry_after(sample_index, sample_queries, tmp_path):
    data = tmp_path / "service"
    store = KeyStore(data / "keys.sqlite")
    _, slow = store.create("甲", Role.reader, requests_per_minute=5)
    _, one = store.create("甲", Role.reader, max_batches=1)
    _, other = store.create("甲", Role.reader)
    store.close()
    srv = LeianServer(sample_index, data, keys="")
    try:
        with srv.client(slow) as c, srv.client(one) as b, srv.client(other) as o:
            answers = [c.get("/v1/stats") for _ in range(7)]
            assert [a.status_code for a in answers[:5]] == [200] * 5
            assert_error(answers[5], 429, "too_many_requests")
            assert int(answers[5].headers["Retry-After"]) >= 1
            assert o.get("/v1/stats").status_code == 200  # per key: the other keys are not slowed
            # 1,000 reports take minutes: the first job is still queued or running when the second comes
            cases = [{"id": f"c{i}", "facts": q["q"]} for i, q in enumerate(sample_queries * 1000)][:1000]
            first = b.post("/v1/batches", json={"cases": cases, "formats": ["json"], "top_k": 3})
            assert first.status_code == 202, first.text
            second = b.post("/v1/batches", json={"cases": cases[:1], "formats": ["json"], "top_k": 3})
            assert_error(second, 429, "too_many_batches")
            assert int(second.headers["Retry-After"]) > 0
            assert o.post("/v1/batches", json={"cases": cases[:1], "formats": ["json"]}).status_code == 202
    finally:
        srv.stop()


def test_every_answer_is_in_the_audit_log_and_a_report_is_tied_to_it(office_server, owned, tmp_path):
    with _client(office_server, "甲", Role.reader) as c:
        report = c.get(f"/v1/reports/{owned['report']}").json()
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    data_dir = office_server.log.parent

    def leian(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "leian.api.cli", *args, "--data-dir", str(data_dir)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    verified = leian("audit", "verify", "--report", str(saved))
    assert verified.returncode == 0, verified.stderr
    assert leian("verify-report", str(saved)).stdout.strip().endswith("intact")
    entries = [json.loads(x) for x in leian("audit", "show", "--office", "甲").stdout.splitlines()]
    made = [e for e in entries if e["action"] == "create_report" and e["target"] == owned["report"]]
    assert len(made) == 1 and made[0]["detail"]["sha256"] == report["sha256"]
    assert made[0]["key_id"] == office_server.keys[("甲", Role.editor)].split("_")[1]
    # the head printed on the report is the entry just before the report's own
    assert any(e["hash"] == report["audit_head"] and e["seq"] < made[0]["seq"] for e in entries) or (
        report["audit_head"] not in {e["hash"] for e in entries}  # another office's entry: in the chain
        and verified.returncode == 0
    )
    # the other office's admin sees none of 甲's entries
    with _client(office_server, "乙", Role.admin) as c:
        assert all(e["office"] == "乙" for e in c.get("/v1/audit", params={"limit": 1000}).json()["entries"])


def test_finished_batch_jobs_expire(tmp_path):
    root = tmp_path / "batches"
    old, recent, running = (datetime.now(UTC) - timedelta(days=d) for d in (8, 1, 30))
    for job_id, status, finished in (
        ("b-old", "done", old),
        ("b-recent", "failed", recent),
        ("b-run", "running", None),
    ):
        (root / job_id).mkdir(parents=True)
        spec = JobSpec(id=job_id, office="甲", formats=["json"], top_k=3, stats_k=10, status=status,
                       created_at=running.isoformat(), finished_at=finished.isoformat() if finished else None)  # fmt: skip
        (root / job_id / "job.json").write_text(spec.model_dump_json())
    jobs = BatchJobs(root, searcher=None, ttl=timedelta(days=7))
    try:
        jobs._stop.set()  # the running job would be resumed: stop it before it starts
        jobs.resume_unfinished()
        assert not (root / "b-old").exists()
        with pytest.raises(NotFound):
            jobs.get("b-old", "甲")
        assert jobs.get("b-recent", "甲").status == "failed" and (root / "b-recent").exists()
        assert (root / "b-run").exists()  # never expires while it runs
        with pytest.raises(NotFound):
            jobs.get("b-recent", "乙")  # another office
    finally:
        jobs.shutdown()
