"""The report as a legal document a prosecutor can file: Chinese only, Beijing time, whole months,
no quantiles from small samples, a chart that agrees with the table, A4 DOCX with page numbers, and
renderers that survive whatever characters a user or a stored judgment brings."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leian.api.cli import main
from leian.corpora.text import normalise_text
from leian.retrieval.models import Query
from leian.retrieval.report import Report, assemble_report, build_report, render, seal, verify
from leian.retrieval.report import chart as chart_module
from leian.retrieval.report import render_docx as docx_module
from leian.retrieval.report import render_html as html_module
from leian.retrieval.report.blocks import NO_QUANTILES, Chart, Table, blocks, term_histogram
from leian.retrieval.report.model import date_text, time_text
from leian.retrieval.report.render_docx import MARGINS_MM, PAGE_MM, docx_text, open_docx
from leian.retrieval.report.render_markdown import MD_DATA_OPEN, markdown_text
from leian.retrieval.search import open_searcher
from leian.retrieval.sentencing import ProposedSentence

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_report import FACTS, NOW, PROPOSED, REPORT_ID, fixed_inputs, fixed_report  # noqa: E402

LATIN = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+")  # ASCII and full-width Latin letters
# Latin a reader may meet whatever the report holds: the names of the hash, the product, the search
# engine (a product), the licence, and the ranking function the method section names.
ALLOWED_WORDS = {"SHA", "leian", "Elasticsearch", "MIT"}
WORD_PASTE = "经审理查明：\r\n被告人张某\v于2020年5月\f在某超市\x00盗窃\x1b商品，\u2028价值人民币三千元。\x85案发后如实供述。"


# ---------------------------------------------------------------- what a reader sees, per format


class _Visible(HTMLParser):
    """The text a browser shows (and reads aloud): data outside <script>/<style>, plus labels."""

    def __init__(self):
        super().__init__()
        self.out: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        for k, v in attrs:
            if k in ("aria-label", "alt", "title") and v:
                self.out.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.out.append(data)


def visible_md(report: Report) -> str:
    md = render(report, "md").decode("utf-8")
    return md[: md.index(MD_DATA_OPEN)]  # the rest is the machine data (base64), in an HTML comment


def visible_html(report: Report) -> str:
    p = _Visible()
    p.feed(render(report, "html").decode("utf-8"))
    return "\n".join(p.out)


def visible_docx(report: Report) -> str:
    doc = open_docx(render(report, "docx"))
    sec = doc.sections[0]
    parts = docx_text(doc)
    parts += [p.text for p in sec.header.paragraphs] + [p.text for p in sec.footer.paragraphs]
    return "\n".join(parts)


def quoted_latin(report: Report) -> set[str]:
    """Latin the report quotes rather than writes: identifiers (report, index, snapshot, corpus, case
    numbers), digests, model names, and text from the input and the judgments."""
    p, m = report.platform, report.method
    quoted = [report.id, report.sha256, report.generator, p.product, p.index_name, p.snapshot, p.corpus_name]
    quoted += [p.corpus_licence, p.tokenizer, p.model or "", report.pending.facts, *m.query_terms]
    quoted += [*m.excluded_ids, *report.requester.model_dump().values()]
    for c in report.results:
        quoted += [c.id, c.case_number or "", c.court or "", *c.matched_terms, *c.shared_statutes]
    for kp in report.key_points:
        quoted += [kp.case_number or "", kp.case_id, kp.court or "", *(s.text for s in kp.sentences)]
    if report.sentencing:
        for o in report.sentencing.observations:
            quoted += [o.case_id, o.case_number or "", o.defendant]
    return {w for q in quoted if q for w in LATIN.findall(q)}


def assert_chinese_only(report: Report) -> None:
    allowed = ALLOWED_WORDS | quoted_latin(report)
    for fmt, text in (
        ("md", visible_md(report)),
        ("html", visible_html(report)),
        ("docx", visible_docx(report)),
    ):
        stray = sorted(set(LATIN.findall(text)) - allowed)
        assert not stray, f"{fmt}: Latin a reader should not meet: {stray}"


# ---------------------------------------------------------------- a real report


@pytest.fixture(scope="module")
def searcher(sample_index):
    s = open_searcher(backend="embedded", index=str(sample_index))
    yield s
    s.close()


@pytest.fixture(scope="module")
def real_report(searcher, sample_queries) -> Report:
    # a query whose facts hold no Latin letters, so that any the report shows are its own words
    q = next(q for q in sample_queries if not LATIN.search(q["q"]))
    query = Query(facts=q["q"], exclude_ids=[str(q["source_doc_id"])])
    proposed = ProposedSentence(kind="有期徒刑", months=18)
    return build_report(searcher, query, None, proposed, top_k=10, stats_k=50)


@pytest.mark.slow
def test_real_report_is_chinese_only(real_report):
    assert real_report.results and real_report.sentencing is not None
    assert_chinese_only(real_report)


def test_fixed_report_is_chinese_only():
    assert_chinese_only(fixed_report(PROPOSED))


def test_backend_tokenizer_and_licence_in_words():
    md = markdown_text(fixed_report(PROPOSED))
    assert "| 检索引擎 | 单机嵌入式索引 |" in md and "embedded" not in md
    assert "结巴分词（法律词典，校验值 1a2b3c）" in md and "MIT 许可" in md
    assert "得分构成" in md and "bm25" not in md and "dense" not in md and "structure" not in md
    es = fixed_report(PROPOSED)
    es = seal(es.model_copy(update={"platform": es.platform.model_copy(update={"backend": "elasticsearch"})}))
    assert "| 检索引擎 | Elasticsearch 集群 |" in markdown_text(es)


# ---------------------------------------------------------------- time


def test_times_are_beijing_time_as_documents_write_them():
    assert time_text("2026-12-06T09:56:00Z") == "2026年12月6日 17时56分（北京时间）"
    assert time_text("2026-12-06T17:05:09Z") == "2026年12月7日 1时05分（北京时间）"  # past midnight
    assert time_text("2026-03-01T00:00:00+00:00") == "2026年3月1日 8时00分（北京时间）"
    assert date_text("2023-12-06") == "2023年12月6日" and date_text(None) == "—"
    r = fixed_report(PROPOSED)
    assert r.created_at == "2026-03-01T09:30:00Z"  # the data keeps UTC
    for fmt in ("md", "html", "docx"):
        text = {"md": visible_md, "html": visible_html, "docx": visible_docx}[fmt](r)
        assert "生成时间：2026年3月1日 17时30分（北京时间）" in text, fmt
        assert "UTC" not in text and "2026-03-01" not in text and "T09:30" not in text, fmt
        assert "近三年（2023年3月1日以后）" in text, fmt


def test_recent_years_count_from_the_beijing_date():
    """At 2026-02-28 20:00 UTC it is already 1 March in Beijing: the three years start on 1 March 2023."""
    description, result, records, stats_ids, pending = fixed_inputs()
    rep = assemble_report(
        description=description,
        query=Query(facts=FACTS, top_k=5),
        result=result,
        records=records,
        stats_ids=stats_ids,
        pending=pending,
        now=datetime(2026, 2, 28, 20, 0, tzinfo=UTC),
        report_id=REPORT_ID,
    )
    assert rep.analysis.recent_since == "2023-03-01"
    assert "2026年3月1日 4时00分（北京时间）" in markdown_text(rep)


# ---------------------------------------------------------------- months and small samples


@pytest.mark.slow
def test_months_are_whole_and_the_rounding_is_stated_once(real_report):
    for r in (fixed_report(PROPOSED), real_report):
        md = markdown_text(r)
        assert not re.search(r"\d\.\d+个月", md), re.findall(r"[^ |]*\d\.\d+个月[^ |]*", md)
        assert md.count("四舍五入到整月") == 1


def test_small_samples_get_no_quantiles():
    description, result, records, stats_ids, pending = fixed_inputs()
    rep = assemble_report(
        description=description,
        query=Query(facts=FACTS, top_k=5),
        result=result,
        records=records,
        stats_ids=stats_ids[:6],
        pending=pending,
        proposed=PROPOSED,
        now=NOW,
        report_id=REPORT_ID,
    )
    s = rep.sentencing
    assert s.months.n == 6
    table = next(b for b in blocks(rep) if isinstance(b, Table) and b.header[1] == "案件数")
    pooled = table.rows[0]
    assert pooled[1] == "6件（样本较少）" and pooled[3] == NO_QUANTILES and pooled[4] == "—"
    assert NO_QUANTILES == "样本不足10件，不计算分位数"
    chart = next(b for b in blocks(rep) if isinstance(b, Chart))
    assert "四分位距" not in chart.alt and "共6件" in chart.alt and chart.n == 6
    md = markdown_text(rep)
    assert "统计所依据的6件类案" in md  # the cases themselves are listed
    for o in s.observations:
        assert o.case_number in md
    # from 10 cases up the quantiles are there
    full = next(b for b in blocks(fixed_report(PROPOSED)) if isinstance(b, Table) and b.header[1] == "案件数")
    assert full.rows[0][1] == "14件" and "至" in full.rows[0][3] and NO_QUANTILES not in full.rows[0]


# ---------------------------------------------------------------- the chart


def _drawn(report: Report):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, rc = chart_module.figure(report)
    import matplotlib

    with matplotlib.rc_context(rc):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    return fig, canvas.get_renderer()


def _overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j and a.overlaps(b)]


@pytest.mark.parametrize(
    "proposed",
    [PROPOSED, ProposedSentence(kind="拘役", months=2), ProposedSentence(kind="有期徒刑", months=200)],
)
def test_chart_bars_match_the_table_and_labels_do_not_overlap(proposed):
    rep = fixed_report(proposed)
    bands = term_histogram(rep)
    chart_block = next(b for b in blocks(rep) if isinstance(b, Chart))
    assert chart_block.histogram == bands
    md = markdown_text(rep)
    for band in bands:  # the Markdown table lists the same bands with the same counts
        assert f"| {band.label} | {band.count} |" in md
    assert chart_block.n == sum(b.count for b in bands) == rep.sentencing.months.n
    assert f"共{rep.sentencing.months.n}件" in chart_block.alt
    assert any(b.holds(proposed.months) for b in bands)  # the proposed term's band is drawn

    fig, renderer = _drawn(rep)
    ax = fig.axes[0]
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in labels] == [b.label for b in bands]
    # the bars of the bands (the dashed outline of the proposed band is no bar)
    bars = [p for c in ax.containers for p in c if p.get_fill()]
    assert sum(p.get_width() for p in bars) == pytest.approx(rep.sentencing.months.n)
    assert f"共{rep.sentencing.months.n}件" in ax.get_title()
    for ticks in (labels, [t for t in ax.get_xticklabels() if t.get_text()]):
        boxes = [t.get_window_extent(renderer) for t in ticks]
        assert not _overlaps(boxes), [t.get_text() for t in ticks]
    # the title and the legend stay clear of the tick labels too
    others = [ax.title.get_window_extent(renderer)]
    if ax.get_legend():
        others.append(ax.get_legend().get_window_extent(renderer))
    for box in others:
        assert not any(box.overlaps(t.get_window_extent(renderer)) for t in labels)


# ---------------------------------------------------------------- DOCX for filing


def test_docx_is_a4_with_filing_margins_header_footer_and_properties():
    rep = fixed_report(PROPOSED)
    doc = open_docx(render(rep, "docx"))
    assert len(doc.sections) == 1
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == PAGE_MM == (210, 297)
    margins = {k: round(getattr(sec, f"{k}_margin").mm, 1) for k in MARGINS_MM}
    assert margins == {"top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0}
    header = "\n".join(p.text for p in sec.header.paragraphs)
    footer = "\n".join(p.text for p in sec.footer.paragraphs)
    assert rep.id in header and "类案检索报告" in header
    assert f"SHA-256：{rep.sha256}" in footer and "第" in footer and "共" in footer
    instr = [el.text.strip() for el in sec.footer._element.iter() if el.tag.endswith("}instrText")]
    assert instr == ["PAGE", "NUMPAGES"]
    xml = sec.footer._element.xml
    assert xml.index("第") < xml.index(" PAGE ") < xml.index("共") < xml.index(" NUMPAGES ")
    props = doc.core_properties
    assert props.title == "类案检索报告" and props.identifier == rep.id
    assert props.created == props.modified == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # the report's time
    assert props.author == props.last_modified_by == "leian 类案" and props.language == "zh-CN"
    assert "python-docx" not in (props.comments + props.author + props.last_modified_by)


def test_verify_sees_a_changed_docx_footer(tmp_path):
    import zipfile

    rep = fixed_report(PROPOSED)
    src = zipfile.ZipFile(io.BytesIO(render(rep, "docx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/footer1.xml":
                data = data.replace(rep.sha256[:8].encode(), b"00000000")
            z.writestr(item, data)
    path = tmp_path / "r.docx"
    path.write_bytes(out.getvalue())
    res = verify(path)
    assert not res.ok and "header or footer" in res.message


def test_docx_fonts_are_set_for_chinese_text():
    from docx.oxml.ns import qn

    doc = open_docx(render(fixed_report(PROPOSED), "docx"))
    for name, font in (("Normal", "仿宋"), ("Heading 1", "黑体"), ("Title", "宋体"), ("Quote", "仿宋")):
        rfonts = doc.styles[name].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsia")) == font, name
        assert rfonts.get(qn("w:eastAsiaTheme")) is None, name  # a theme font would win over it
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    font_table = doc.part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable"
    ).blob.decode("utf-8")
    for name, alt in (("仿宋", "FangSong"), ("黑体", "SimHei"), ("宋体", "SimSun")):
        assert f'w:name="{name}"><w:altName w:val="{alt}"/>' in font_table
    assert not doc.styles["Quote"].font.italic


# ---------------------------------------------------------------- input hygiene end to end


CONTROL_FACTS = "经审理查明：2020年5月3日，被告人张某\v在某超市\f盗窃商品\x00价值人民币3000元，\r\n后被抓获。"


@pytest.mark.slow
def test_cli_docx_with_control_characters_in_the_facts(sample_index, tmp_path, capsys):
    facts = tmp_path / "facts.txt"
    facts.write_bytes(CONTROL_FACTS.encode("utf-8"))
    out = tmp_path / "r.docx"
    argv = ["report", "--index", str(sample_index), "--facts-file", str(facts), "--out", str(out)]
    assert main([*argv, "--requester-name", "张\v检察官"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" not in err
    doc = open_docx(out.read_bytes())
    text = "\n".join(docx_text(doc))
    assert normalise_text(CONTROL_FACTS).strip() in text and "张\n检察官" in text
    assert verify(out).ok


@pytest.mark.slow
def test_api_docx_with_control_characters_in_the_facts(sample_index, tmp_path_factory):
    from test_api import LeianServer

    srv = LeianServer(sample_index, tmp_path_factory.mktemp("service-control"))
    try:
        with srv.client() as client:
            body = {"facts": CONTROL_FACTS, "requester": {"name": "张\f检察官", "org": "某区\x00人民检察院"}}
            r = client.post("/v1/reports", json=body)
            assert r.status_code == 201, r.text
            rid = r.json()["id"]
            assert r.json()["pending"]["facts"] == normalise_text(CONTROL_FACTS)
            for fmt in ("docx", "md", "html", "json"):
                got = client.get(f"/v1/reports/{rid}", params={"format": fmt})
                assert got.status_code == 200, (fmt, got.text[:300])
            doc = open_docx(client.get(f"/v1/reports/{rid}", params={"format": "docx"}).content)
            assert "某区人民检察院" in "\n".join(docx_text(doc))
            # a judgment with a stray NUL (a few pass the binary-data check) and Windows/Word breaks
            text = (
                "经审理查明\r\n"
                + normalise_text(CONTROL_FACTS) * 20
                + "本院认为\v被告人张某\x00构成盗窃罪。\f"
            )
            r = client.post("/v1/documents", json={"id": "ctrl-1", "text": text})
            assert r.status_code == 200, r.text
            case = client.get("/v1/cases/ctrl-1").json()
            stored = case.get("text") or case.get("record", {}).get("text", "")
            assert stored and "\x00" not in stored and "\r" not in stored and "\v" not in stored
    finally:
        srv.stop()


# ---------------------------------------------------------------- any text, every format


@pytest.fixture(scope="module")
def base_report() -> Report:
    return fixed_report(PROPOSED)


@pytest.fixture(scope="module")
def fast_charts(base_report):
    """The chart does not depend on the facts: draw it once for all the examples."""
    png, svg = chart_module.chart_png(base_report), chart_module.chart_svg(base_report)
    mp = pytest.MonkeyPatch()
    mp.setattr(docx_module, "chart_png", lambda _r, _i=0: png)
    mp.setattr(html_module, "chart_svg", lambda _r, _i=0: svg)
    yield
    mp.undo()


# any code point but surrogates (the JSON layer cannot carry them), with the characters Word, Windows
# and binary data bring made frequent
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from("\x00\x01\x08\v\f\r\n\t\x1b\x7f\x85\x9f\u2028\u2029\ufeff\ufffe\uffff<>&|*_#`\\"),
        st.sampled_from("被告人盗窃价值人民币元经审理查明"),
    ),
    max_size=300,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=ANY_TEXT, court=ANY_TEXT)
def test_any_text_renders_in_every_format(base_report, fast_charts, facts, court):
    """Facts (as a user sends them) and a stored judgment's court name (as a corpus holds it) with any
    characters: every format renders, the DOCX opens, and every copy verifies."""
    results = [base_report.results[0].model_copy(update={"court": court}), *base_report.results[1:]]
    rep = seal(
        base_report.model_copy(
            update={"pending": base_report.pending.model_copy(update={"facts": facts}), "results": results}
        )
    )
    raws = {fmt: render(rep, fmt) for fmt in ("json", "md", "html", "docx")}
    for fmt, raw in raws.items():
        res = verify(raw)
        assert res.ok, (fmt, res.message)
    doc = open_docx(raws["docx"])
    shown = normalise_text(facts).strip()
    if shown:
        assert shown in "\n".join(docx_text(doc))
