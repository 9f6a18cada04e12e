"""The web page in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright) against a
real `leian serve` process: paste a LeCaRD query, see ranked hits with highlights and the report
preview, download the DOCX, and check a screenshot is a rendered page (not blank)."""

from __future__ import annotations

import io
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
    srv = LeianServer(sample_index, tmp_path_factory.mktemp("web-service"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def distinct_colours(png: bytes) -> int:
    import matplotlib.image as mpimg
    import numpy as np

    img = (mpimg.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(np.uint8)
    return len(np.unique(img.reshape(-1, 3), axis=0))


def test_search_report_and_docx_download(server, browser, sample_queries, tmp_path):
    from docx import Document
    from playwright.sync_api import expect

    query = next(q for q in sample_queries if len(q["q"]) > 100)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.url) or r.url.startswith(("blob:", "data:", "about:"))
            else external.append(r.url))  # fmt: skip
    page.goto(server.url + "/")

    # Auth is on: the page shows the key field once /healthz has answered.
    expect(page.locator("#status")).to_contain_text("服务正常", timeout=30_000)
    expect(page.locator("#key-row")).to_be_visible()

    # A wrong key gives the API's message, not a broken page.
    page.fill("#api-key", "wrong-key-000000")
    page.fill("#facts", query["q"])
    page.click("#submit")
    expect(page.locator("#error")).to_contain_text("API key", timeout=60_000)

    page.fill("#api-key", KEY)
    page.select_option("#p-kind", "有期徒刑")
    page.fill("#p-months", "12")
    page.click("details:has(#r-name) > summary")  # 检索主体 is folded by default
    page.fill("#r-name", "王检察官")
    page.click("#submit")
    hits = page.locator("#hits > li.hit")
    expect(hits.first).to_be_visible(timeout=180_000)
    assert hits.count() == 10
    first = hits.first
    expect(first.locator(".case-no")).not_to_be_empty()
    expect(first.locator(".reasons li").first).to_be_visible()
    assert first.locator("mark").count() >= 1  # matched terms highlighted
    marks = [m.inner_text() for m in page.locator("#hits mark").all()[:20]]
    assert all(m.strip() for m in marks)
    expect(page.locator("#query-info")).to_contain_text("适用罪名")

    # The report preview (HTML rendering in a sandboxed iframe) and the DOCX download.
    expect(page.locator("#dl-docx")).to_be_enabled(timeout=180_000)
    page.click('button[data-tab="report"]')
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("body")).to_contain_text("类案检索报告", timeout=30_000)
    for heading in ("检索主体", "检索平台", "检索方法", "检索结果", "类案裁判要点"):
        expect(frame.locator("body")).to_contain_text(heading)
    report_id = page.locator("#report-meta").inner_text().split()[1]
    with page.expect_download() as dl:
        page.click("#dl-docx")
    path = tmp_path / "report.docx"
    dl.value.save_as(path)
    assert dl.value.suggested_filename.endswith(".docx")
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert report_id in text and "类案检索报告" in text

    # The page renders: many colours, key elements visible. (Look at the PNG when changing the page.)
    page.click('button[data-tab="hits"]')
    shot = tmp_path / "leian-web.png"
    page.screenshot(path=str(shot), full_page=False)
    assert distinct_colours(shot.read_bytes()) > 200
    for sel in (".topbar h1", "#facts", "#submit", "#hits"):
        assert page.locator(sel).is_visible(), sel
    assert not errors, errors
    assert not external, external  # self-contained: nothing fetched from outside the service
    page.close()


def test_upload_docx_fills_the_facts(server, browser, tmp_path):
    from docx import Document

    doc = Document()
    doc.add_paragraph("经审理查明：2019年3月5日，被告人李某在某小区盗窃电动自行车一辆，价值人民币2000元。")
    path = tmp_path / "案件.docx"
    doc.save(path)
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#api-key", KEY)
    page.set_input_files("#upload", str(path))
    from playwright.sync_api import expect

    expect(page.locator("#facts")).to_have_value(
        "经审理查明：2019年3月5日，被告人李某在某小区盗窃电动自行车一辆，价值人民币2000元。", timeout=30_000
    )
    page.close()


def test_docs_page_renders_the_openapi_paths(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(server.url + "/docs")
    expect(page.locator("#ops")).to_contain_text("/v1/search", timeout=30_000)
    expect(page.locator("#ops")).to_contain_text("/v1/reports/{report_id}")
    expect(page.locator("#schemas")).to_contain_text("SearchIn")
    page.close()
