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


# Chromium reports a Content-Security-Policy violation on the console, for the page and for its frames
# alike (the report preview is a sandboxed iframe, where no listener of ours can run); the page itself
# also gets a `securitypolicyviolation` event, kept here in case a message changes its wording.
CSP_EVENTS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def watch_csp(page) -> list[str]:
    """Collects the CSP violations the page's console reports; call before ``goto``."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(CSP_EVENTS)
    return found


def csp_violations(page, console: list[str]) -> list[str]:
    return console + page.evaluate("window.__cspViolations || []")


def watch_responses(page, server) -> list:
    """The service's answers to the page (the document, its static files, its API calls)."""
    seen: list = []
    page.on("response", lambda r: seen.append(r) if r.url.startswith(server.url) else None)
    return seen


def header_problems(responses) -> list[str]:
    """Each answer lacking a security header; a /v1 answer must not be cached either."""
    problems = []
    for r in responses:
        h = r.all_headers()
        csp = h.get("content-security-policy", "")
        if "script-src 'self'" not in csp or "frame-ancestors 'none'" not in csp or "unsafe-inline" in csp:
            problems.append(f"{r.url}: content-security-policy {csp!r}")
        problems += [f"{r.url}: {k} {h.get(k)!r}" for k, v in SECURITY_HEADERS.items() if h.get(k) != v]
        if "/v1/" in r.url and h.get("cache-control") != "no-store":
            problems.append(f"{r.url}: cache-control {h.get('cache-control')!r}")
    return problems


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
    csp = watch_csp(page)
    responses = watch_responses(page, server)
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
    # The suspected charges (the recommended input), as a prosecutor types two of them.
    page.fill("#charges", "，".join(query["labels"]["crime"]))
    page.select_option("#p-kind", "有期徒刑")
    page.fill("#p-months", "12")
    page.click("details:has(#r-name) > summary")  # 检索主体 is folded by default
    page.fill("#r-name", "王检察官")
    with page.expect_request(lambda r: r.url.endswith("/v1/search") and r.method == "POST") as searched:
        page.click("#submit")
    assert searched.value.post_data_json["charges"] == query["labels"]["crime"]
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
    expect(page.locator("#query-info")).to_contain_text("（用户指定）")

    # The report preview (HTML rendering in a sandboxed iframe) and the DOCX download.
    expect(page.locator("#dl-docx")).to_be_enabled(timeout=180_000)
    page.click('button[data-tab="report"]')
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("body")).to_contain_text("类案检索报告", timeout=30_000)
    for heading in ("检索主体", "检索平台", "检索方法", "检索结果", "类案裁判要点"):
        expect(frame.locator("body")).to_contain_text(heading)
    # The report's own style applies under the page's policy (its hash), and its charts are images.
    assert frame.locator("h1").evaluate("h => getComputedStyle(h).textAlign") == "center"
    charts = frame.locator("figure img")
    assert charts.count() >= 1
    charts.first.scroll_into_view_if_needed()
    assert charts.first.evaluate("img => img.complete && img.naturalWidth > 0")
    box = charts.first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
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
    assert not csp_violations(page, csp)  # the report preview included
    assert not header_problems(responses)
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


def test_pages_obey_the_content_security_policy(server, browser):
    """The web page and the /docs page run under the service's policy (no inline script or style, no
    inline handlers) without one violation, and every answer they get carries the security headers."""
    from playwright.sync_api import expect

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    csp = watch_csp(page)
    responses = watch_responses(page, server)

    doc = page.goto(server.url + "/")
    assert "default-src 'self'" in doc.all_headers()["content-security-policy"]
    expect(page.locator("#status")).to_contain_text("服务正常", timeout=30_000)
    page.click("details:has(#court-level) > summary")
    page.click('button[data-tab="sentencing"]')
    expect(page.locator("#tab-sentencing")).to_be_visible()
    assert not csp_violations(page, csp)

    page.goto(server.url + "/docs")
    expect(page.locator("#ops")).to_contain_text("/v1/search", timeout=30_000)
    expect(page.locator(".method.post").first).to_have_css("background-color", "rgb(46, 125, 79)")  # docs.css
    page.locator("details#search > summary").click()
    expect(page.locator("details#search .body")).to_be_visible()
    assert not csp_violations(page, csp)

    urls = {r.url.removeprefix(server.url) for r in responses}
    assert {"/", "/static/app.js", "/static/style.css", "/healthz", "/docs", "/static/docs.js",
            "/static/docs.css", "/openapi.json"} <= urls, urls  # fmt: skip
    assert not header_problems(responses)
    assert not errors, errors
    page.close()


def test_the_form_asks_for_the_charges_first(server, browser):
    """The suspected charges are the first thing the form asks (optional; the recommended mode)."""
    page = browser.new_page()
    page.goto(server.url + "/")
    fields = page.locator("#case-form input:not([type=password]):not([type=file]), #case-form textarea")
    assert fields.first.get_attribute("id") == "charges"
    label = page.locator('label[for="charges"]').inner_text()
    assert "可选" in label and "盗窃罪" in label
    assert "推荐" in page.locator("#charges-hint").inner_text()
    page.close()
