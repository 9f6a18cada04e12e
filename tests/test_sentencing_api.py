"""POST /v1/sentencing (量刑测算) against a real `leian serve` process on the sample index: from facts,
from corrected elements, the answers that carry a reason instead of a number, and the errors."""

from __future__ import annotations

import httpx
import pytest
from test_api import KEY, LeianServer, assert_error

THEFT = {"charges": ["盗窃罪"], "elements": {"amount_yuan": 15000}, "circumstances": []}


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    srv = LeianServer(sample_index, tmp_path_factory.mktemp("sentencing-service"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def by_id(sample_queries, qid: str) -> dict:
    return next(q for q in sample_queries if q["id"] == qid)


def assert_explained(est: dict) -> None:
    """A number comes with its basis, its 80 % interval around it, its lines and its statutory range."""
    assert est["months"] is not None and est["basis"], est
    assert est["low_months"] <= est["months"] <= est["high_months"], est
    assert est["lines"][0]["factor"] == "基准" and est["lines"][0]["months"] > 0
    assert est["statutory_min"] is not None and est["statutory_min"] <= est["months"]
    if est["statutory_max"] is not None:
        assert est["high_months"] <= est["statutory_max"]
    assert est["n_cases"] > 0 and est["model"]


def test_facts_in_gives_an_explained_estimate_per_charge(client, sample_queries):
    # LeCaRD query 2331: a drunk driver in a fatal collision, 危险驾驶罪 and 交通肇事罪 within 10 points.
    r = client.post("/v1/sentencing", json={"facts": by_id(sample_queries, "2331")["q"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["charges_from"] == "predicted"
    assert body["charges"] and [e["charge"] for e in body["estimates"]] == body["charges"]
    for est in body["estimates"]:
        assert_explained(est)
        assert est["elements"]["bac_mg_per_100ml"] and "赔偿" in est["circumstances"]
        assert "赔偿" in [line["factor"] for line in est["lines"]]  # each circumstance has its line
    assert body["elements"] == body["estimates"][0]["elements"]


def test_given_charges_are_used_and_province_is_checked(client, sample_queries):
    facts = by_id(sample_queries, "2")["q"]  # a motorbike worth 15,000 yuan taken "to borrow"
    r = client.post("/v1/sentencing", json={"facts": facts, "charges": ["盗窃"], "province": "云南"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["charges"] == ["盗窃罪"] and body["charges_from"] == "given"
    assert body["elements"]["amount_yuan"] == 15000
    assert_explained(body["estimates"][0])
    err = assert_error(client.post("/v1/sentencing", json={"facts": facts, "province": "火星"}), 422)
    assert "province" in err["message"] and "火星" in err["message"]


def test_a_corrected_amount_changes_the_estimate(client):
    low = client.post("/v1/sentencing", json=THEFT)
    high = client.post("/v1/sentencing", json={**THEFT, "elements": {"amount_yuan": 150_000}})
    assert low.status_code == high.status_code == 200, (low.text, high.text)
    a, b = low.json()["estimates"][0], high.json()["estimates"][0]
    assert_explained(a)
    assert_explained(b)
    assert b["months"] > a["months"] and b["tier_level"] > a["tier_level"]  # 数额巨大: the second tier
    assert high.json()["elements"]["amount_yuan"] == 150_000 and high.json()["charges_from"] == "given"
    short = client.post("/v1/sentencing", json={**THEFT, "charges": ["盗窃"]}).json()  # as a search takes it
    assert short["charges"] == ["盗窃罪"] and short["estimates"][0]["months"] == a["months"]
    # a circumstance ticked: its line appears beside the guidance's range
    c = client.post("/v1/sentencing", json={**THEFT, "circumstances": ["自首"]}).json()["estimates"][0]
    surrender = next(line for line in c["lines"] if line["factor"] == "自首")
    assert surrender["effect_pct"] is not None and "法发〔2021〕21号" in surrender["guidance"]
    assert c["circumstances"] == ["自首"]


def test_no_number_where_it_cannot_estimate(client, sample_queries):
    # a name that is no 罪名: a legitimate answer with the reason
    r = client.post("/v1/sentencing", json={**THEFT, "charges": ["不存在罪"]})
    assert r.status_code == 200, r.text
    est = r.json()["estimates"][0]
    assert est["months"] is None and est["low_months"] is None and "不是可识别的罪名" in est["basis"]
    # 故意伤害罪 has 13 judgments in the sample: too few to fit (from the facts of LeCaRD query 10)
    r = client.post("/v1/sentencing", json={"facts": by_id(sample_queries, "10")["q"]})
    assert r.status_code == 200, r.text
    est = r.json()["estimates"][0]
    assert est["charge"] == "故意伤害罪" and est["months"] is None and "无法测算" in est["basis"]
    assert est["elements"]["injuries"] == ["轻伤二级"]  # the elements it would rest on are still shown
    # elements below the threshold of any tier (20 mg/100 ml is not 醉酒): an answer that says so
    r = client.post("/v1/sentencing", json={"charges": ["危险驾驶罪"], "elements": {"bac_mg_per_100ml": 20}})
    assert r.status_code == 200, r.text
    est = r.json()["estimates"][0]
    assert est["basis"] and ("未达到" in est["tier_rule"] or est["months"] is None)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({}, 422, "either facts"),
        ({"charges": ["盗窃罪"]}, 422, "either facts"),
        ({"facts": "被告人李某盗窃电动车一辆。", "elements": {}}, 422, "not both"),
        ({"elements": {"amount_yuan": 1000}}, 422, "charges"),
        ({"facts": "被告人李某盗窃电动车一辆。", "circumstances": ["自首"]}, 422, "circumstances"),
        ({**THEFT, "elements": {"amount": 1000}}, 422, "elements.amount"),
        ({**THEFT, "elements": {"amount_yuan": -5}}, 422, "amount_yuan"),
        ({**THEFT, "circumstances": ["自守"]}, 422, "自首"),  # the valid names are listed
        ({"facts": "   "}, 422, "facts"),
        ({"facts": "被告人李某盗窃电动车一辆。", "charges": ["醉驾"]}, 422, "醉驾"),
    ],
)
def test_bad_input_is_the_error_json(client, body, status, says):
    err = assert_error(client.post("/v1/sentencing", json=body), status, "invalid_input")
    assert says in err["message"], err


def test_malformed_body_and_missing_key(server, client):
    r = client.post("/v1/sentencing", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")
    assert_error(httpx.post(server.url + "/v1/sentencing", json=THEFT), 401, "unauthorized")


def test_declared_in_openapi(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    op = spec["paths"]["/v1/sentencing"]["post"]
    assert op["operationId"] == "sentencing"
    assert set(op["responses"]) >= {"200", "400", "401", "413", "422", "500", "502", "503"}
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/SentencingOut"}
    assert op["security"]  # the API key, like every /v1 operation
    schemas = spec["components"]["schemas"]
    assert "ChargeEstimateOut" in schemas and "SentencingIn" in schemas


def test_an_index_without_a_model_answers_with_the_reason(sample_index, tmp_path):
    """An index built before the model (``sentencing_model`` None): every charge gets the reason."""
    from fastapi.testclient import TestClient

    from leian.api.app import create_app
    from leian.api.opening import open_searcher
    from leian.api.settings import Settings

    settings = Settings(index=str(sample_index), api_keys=[KEY], data_dir=tmp_path)
    searcher = open_searcher(settings)
    searcher.sentencing_model = None
    try:
        with TestClient(create_app(settings, searcher), headers={"X-API-Key": KEY}) as c:
            r = c.post("/v1/sentencing", json=THEFT)
    finally:
        searcher.close()
    assert r.status_code == 200, r.text
    est = r.json()["estimates"][0]
    assert est["months"] is None and "量刑模型" in est["basis"] and "重建索引" in est["basis"]
