"""Property-based fuzzing of the HTTP API with schemathesis against a real `leian serve` process (on a
copy of the sample index: documents are written to it), with a key of each role of one office and with
no key at all. Every operation of /openapi.json is exercised; nothing is excluded.

Checks on every answer: no 5xx (``not_a_server_error``), a documented status
(``status_code_conformance``), a documented media type (``content_type_conformance``), the declared
headers (``response_headers_conformance``) and a body that validates against the operation's schema
for that status (``response_schema_conformance``).

Not checked: schemathesis's ``negative_data_rejection``. Its negative cases add unknown query
parameters, which FastAPI ignores by design (``GET /v1/audit?x=1`` is a 200), and drop the
X-API-Key header that this test puts back on every case, so it would report requests that are valid.

Two parts:
  * ``test_fuzz[role]``: schemathesis data for every operation (valid and invalid by the schema),
    ``EXAMPLES`` per operation and role. Random text is almost never a judgment, so most bodies end
    in a 422 — the point is that nothing ends in a 5xx or off the schema.
  * ``test_fuzz_realistic``: the same generated cases with real facts (the sample's LeCaRD queries),
    real judgment texts and real ids (of cases, reports, batches and documents made here) put in, so
    the 2xx answers of every operation with an id or a body (reports in json/md/html/docx, batch
    zips, case records, write results) are checked against the schema too.

schemathesis's pytest loader (``schemathesis.pytest.from_fixture``) needs pytest's private
``Function._nodeid``, which pytest 9 no longer has; so the schema is loaded from the running
server in the test and each operation runs as a hypothesis test of ``operation.as_strategy()``, one
subtest per operation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_api import LeianServer

# Fuzzing takes a few minutes; it is part of the normal suite (CI runs every test, slow ones too).
pytestmark = pytest.mark.slow

OFFICE = "fuzz"
ROLES = ("admin", "editor", "reader", "none")
EXAMPLES = 50  # per operation and role: 4 roles x 18 operations x 50 ≈ 3,500 requests, about 2.5 minutes
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a report takes a second on 2 cores: time is not what is tested
    database=None,  # no .hypothesis/ in the checkout
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found (with its curl)
    suppress_health_check=list(HealthCheck),
)
SEEN: Counter = Counter()  # (part, operation) -> requests sent


def create_key(data_dir: Path, office: str, role: str, *extra: str) -> str:
    """A key made with `leian keys create` (its last stdout line)."""
    p = subprocess.run(
        [sys.executable, "-m", "leian.api.cli", "keys", "create", "--data-dir", str(data_dir),
         "--office", office, "--role", role, *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def fuzz_server(sample_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    index = root / "index"
    shutil.copytree(sample_index, index)  # the session's index is shared: writes go to a copy
    data = root / "data"
    # --rpm 0: no rate limit, so the generated cases reach the endpoints instead of a 429
    keys = {role: create_key(data, OFFICE, role, "--rpm", "0") for role in ROLES if role != "none"}
    srv = LeianServer(index, data)
    yield srv, keys
    srv.stop()
    print("\nschemathesis requests per operation:")
    for (part, label), n in sorted(SEEN.items()):
        print(f"  {part:<10} {label:<40} {n}")


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    srv, _ = fuzz_server
    return schemathesis.openapi.from_url(srv.url + "/openapi.json")


def operations(schema) -> list:
    ops = [r.ok() for r in schema.get_all_operations()]  # .ok() raises on an operation it cannot read
    assert len(ops) >= 18, [op.label for op in ops]
    return ops


def send(case, key: str | None, part: str):
    """Send ``case`` with exactly ``key`` (schemathesis generates and mutates X-API-Key itself) and run
    the checks."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    if key:
        headers["X-API-Key"] = key
    case.headers = headers
    response = case.call(timeout=300)
    SEEN[(part, case.operation.label)] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response


@pytest.mark.parametrize("role", ROLES)
def test_fuzz(role, fuzz_server, api_schema, subtests):
    _, keys = fuzz_server
    key = keys.get(role)
    for op in operations(api_schema):
        cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ
        @given(case=cases)
        def run(case):
            send(case, key, role)

        with subtests.test(msg=op.label):
            run()
    assert {label for part, label in SEEN if part == role} == {op.label for op in operations(api_schema)}


# ---------------------------------------------------------------- realistic inputs


def realistic(op, body_fix=None, **fixed):
    """``op``'s valid generated cases, with ``fixed`` path/query parameters (each a strategy) and
    the body passed through ``body_fix(body, draw)``."""

    @st.composite
    def cases(draw):
        kw = {where: {name: draw(s) for name, s in params.items()} for where, params in fixed.items()}
        case = draw(op.as_strategy(GenerationMode.POSITIVE, **kw))
        if body_fix is not None:
            case.body = body_fix(case.body, draw)
        return case

    return cases()


def run_realistic(op, strategy, key: str, n: int, on_answer=None) -> None:
    @settings(FUZZ, max_examples=n)
    @given(case=strategy)
    def run(case):
        r = send(case, key, "realistic")
        if on_answer is not None:
            on_answer(case, r)

    run()


def test_fuzz_realistic(fuzz_server, api_schema, sample_queries, subtests):
    srv, keys = fuzz_server
    key = keys["editor"]
    ops = {op.label: op for op in operations(api_schema)}
    facts = st.sampled_from([q["q"] for q in sample_queries])
    found: dict[str, list[str]] = {"case": [], "report": [], "batch": [], "document": []}

    with srv.client(key) as c:
        for q in sample_queries[:3]:
            hits = c.post("/v1/search", json={"facts": q["q"], "top_k": 3}).json()["hits"]
            found["case"] += [h["id"] for h in hits]
        texts = [c.get(f"/v1/cases/{i}").json()["text"] for i in found["case"][:3]]

    def with_facts(body, draw):
        # charges and filters of random text are refused (422) by the law data: keep them out
        body = {k: v for k, v in body.items() if k not in ("charges", "filters")}
        body["facts"] = draw(facts)
        return body

    def sentencing_body(body, draw):
        if draw(st.booleans()):
            return with_facts(body, draw)
        return {"charges": ["盗窃罪"], "elements": {"amount_yuan": draw(st.integers(100, 10**6))},
                "circumstances": draw(st.lists(st.sampled_from(["自首", "认罪认罚", "累犯", "退赔"]), unique=True)),
                "province": draw(st.sampled_from([None, "浙江省", "湖北省"]))}  # fmt: skip

    serial = iter(range(10**6))

    def documents_body(body, draw):
        docs = [{"id": f"fuzz-doc-{next(serial)}", "text": draw(st.sampled_from(texts))}
                for _ in range(draw(st.integers(1, 2)))]  # fmt: skip
        return {"documents": docs, "public": bool(body.get("public"))}

    def batch_body(body, draw):
        cases = [{"id": f"c{i}", "facts": draw(facts)} for i in range(draw(st.integers(1, 2)))]
        return {**{k: v for k, v in body.items() if k not in ("filters", "cases")}, "cases": cases,
                "top_k": 5, "stats_k": 20}  # fmt: skip

    def keep(kind: str, field: str = "id"):
        def on_answer(case, r):
            if r.status_code < 300:
                body = r.json()
                found[kind] += (
                    [d["id"] for d in case.body["documents"]] if kind == "document" else [body[field]]
                )

        return on_answer

    plan = [
        ("POST /v1/search", realistic(ops["POST /v1/search"], with_facts), 10, None),
        ("POST /v1/reports", realistic(ops["POST /v1/reports"], with_facts), 6, keep("report")),
        ("POST /v1/sentencing", realistic(ops["POST /v1/sentencing"], sentencing_body), 10, None),
        ("POST /v1/documents", realistic(ops["POST /v1/documents"], documents_body), 4, keep("document")),
        ("POST /v1/batches", realistic(ops["POST /v1/batches"], batch_body), 2, keep("batch")),
    ]
    for label, strategy, n, on_answer in plan:
        with subtests.test(msg=label):
            run_realistic(ops[label], strategy, key, n, on_answer)
    assert all(found.values()), found  # each kind was made at least once

    ids = {kind: st.sampled_from(v) for kind, v in found.items()}
    reads = [
        ("GET /v1/cases/{case_id}", {"path_parameters": {"case_id": st.sampled_from(found["case"] + found["document"])}}, 10),
        ("GET /v1/reports/{report_id}", {"path_parameters": {"report_id": ids["report"]}}, 12),
        ("GET /v1/batches/{job_id}", {"path_parameters": {"job_id": ids["batch"]}}, 4),
        ("GET /v1/batches/{job_id}/download", {"path_parameters": {"job_id": ids["batch"]}}, 4),
        ("DELETE /v1/documents/{doc_id}", {"path_parameters": {"doc_id": ids["document"]}}, 4),
    ]  # fmt: skip
    for label, fixed, n in reads:
        with subtests.test(msg=label):
            run_realistic(ops[label], realistic(ops[label], **fixed), key, n)
    statuses = Counter()
    with srv.client(key) as c:  # the reads above got real answers, not only 404s
        for rid in found["report"]:
            statuses[c.get(f"/v1/reports/{rid}").status_code] += 1
    assert statuses == {200: len(found["report"])}, statuses
