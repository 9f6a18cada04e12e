"""The 量刑测算 panel of the web page in a real headless Chromium against a real `leian serve` process
(as tests/test_web.py drives the rest of the page): the estimate per charge with its explanation,
the extracted elements edited and the circumstances ticked, recomputed through POST /v1/sentencing."""

from __future__ import annotations

import os
import shutil

import pytest
from test_api import KEY, LeianServer

CHROMIUM = os.environ.get("LEIAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    srv = LeianServer(sample_index, tmp_path_factory.mktemp("web-sentencing-service"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_sentencing_panel_recomputes_with_an_edited_amount(server, browser, sample_queries, tmp_path):
    """After a search the 量刑测算 tab shows each charge's estimate with its explanation; editing the
    amount and recomputing (POST /v1/sentencing with elements) changes it."""
    from playwright.sync_api import expect

    query = next(q for q in sample_queries if q["id"] == "2")  # a motorbike worth 15,000 yuan: 盗窃罪
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    expect(page.locator("#status")).to_contain_text("服务正常", timeout=30_000)
    page.fill("#api-key", KEY)
    page.fill("#facts", query["q"])
    page.fill("#charges", "盗窃罪")
    page.click("#submit")
    expect(page.locator("#est-count")).to_have_text("(1)", timeout=180_000)
    page.click('button[data-tab="sentencing"]')
    card = page.locator('.est-card[data-charge="盗窃罪"]')
    expect(card).to_be_visible()
    median = card.locator(".est-median")
    before = median.inner_text()
    assert before.endswith(("月", "年")), before  # a term, not 无法测算
    expect(card.locator(".est-range")).to_contain_text("80%区间")
    expect(card.locator(".est-statutory")).to_contain_text("第一档")
    expect(card.locator(".est-lines tbody tr").first).to_contain_text("基准")
    amount = card.locator('input[name="amount_yuan"]')
    expect(amount).to_have_value("15000")  # the extracted element, editable

    # 15万元 is 数额巨大: the second tier, a longer term; 自首 ticked gets its own line
    amount.fill("150000")
    card.locator('label.circ:has-text("自首") input').check()
    card.locator("button.recompute").click()
    expect(card.locator(".est-status")).to_contain_text("重新测算", timeout=60_000)
    expect(card.locator(".est-statutory")).to_contain_text("第二档")
    after = median.inner_text()
    assert after != before, (before, after)
    expect(card.locator(".est-lines")).to_contain_text("自首")

    # a bad value is the API's message in the card, and the estimate shown stays
    card.locator('input[name="offence_count"]').fill("0")
    card.locator("button.recompute").click()
    expect(card.locator(".error")).to_contain_text("offence_count", timeout=60_000)
    assert median.inner_text() == after
    page.screenshot(path=str(tmp_path / "leian-sentencing.png"), full_page=False)
    assert not errors, errors
    page.close()
