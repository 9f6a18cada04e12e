"""The 类案检索报告: data model, hash, renderings (md golden file, HTML, DOCX), verification, CLI, and a
report built on the real sample index."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leian.api.cli import main
from leian.corpora.dictionaries import charge_group
from leian.corpora.record import CaseRecord, Defendant, Sections, Sentence
from leian.errors import InvalidInput
from leian.retrieval.models import ChargePrediction, Filters, Hit, Query, SearchResult
from leian.retrieval.report import (
    Report,
    Requester,
    assemble_report,
    build_report,
    canonical_json,
    chart,
    chart_png,
    content_hash,
    load_report,
    markdown_text,
    render,
    seal,
    verify,
)
from leian.retrieval.report.blocks import blocks
from leian.retrieval.report.render_docx import render_docx
from leian.retrieval.report.render_html import render_html
from leian.retrieval.report.render_markdown import MD_DATA_OPEN, render_markdown
from leian.retrieval.search import open_searcher
from leian.retrieval.search.display_terms import SHOWN_TERMS, by_general_rarity, display_terms
from leian.retrieval.sentencing import ProposedSentence, comparable_observations

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
REPORT_ID = "01KJMZ3Q8P0000000000000000"
SECTIONS = [
    "一、检索主体",
    "二、检索时间",
    "三、检索平台",
    "四、检索方法",
    "五、检索结果",
    "六、类案裁判要点",
    "七、待决案件争议焦点",
    "八、参照、参考分析",
    "九、类案量刑情况",
    "十、量刑测算",
    "十一、拟量刑建议比对",
    "说明",
]

# ---------------------------------------------------------------- fixed data

FACTS = (
    "经审理查明：2025年6月3日凌晨，被告人李某在某市某区某小区地下车库，趁无人之机，用自带钥匙打开被害人王某停放的"
    "电动自行车车锁，将该车骑走。经鉴定，该车价值人民币4000元。案发后，被告人李某如实供述了自己的罪行，"
    "并赔偿了被害人的损失，取得了被害人的谅解。"
)
THEFT_MONTHS = [6, 8, 9, 10, 12, 12, 14, 18, 24, 30, 36, 42]


def _reasoning(name: str, months: int, amount: int) -> str:
    return (
        f"本院认为，被告人{name}以非法占有为目的，秘密窃取他人财物，价值人民币{amount}元，数额较大，其行为已构成盗窃罪。"
        "公诉机关指控的罪名成立。"
        f"被告人{name}到案后如实供述自己的罪行，系坦白，依法可以从轻处罚。"
        "本案审理过程中，双方就附带事项进行了说明。"
        "依照《中华人民共和国刑法》第二百六十四条、第六十七条第三款之规定，判决如下"
    )


def _theft(i: int, months: int) -> CaseRecord:
    name = f"张某{i}"
    kind = "拘役" if months < 6 else "有期徒刑"
    reasoning = _reasoning(name, months, 2000 + 500 * i)
    probation = 12 if months <= 12 and i % 2 == 0 else None
    return CaseRecord(
        id=f"t{i:02d}",
        text="……" + reasoning + "……",
        case_number=f"（2019）浙0102刑初{100 + i}号",
        court="杭州市上城区人民法院",
        court_level="基层",
        judgment_date=f"2019-0{1 + i % 9}-1{i % 10}",
        sections=Sections(facts="经审理查明……", reasoning=reasoning, judgment="判决如下……"),
        defendants=[
            Defendant(
                name=name,
                charges=["盗窃罪"],
                statutes=["刑法第二百六十四条", "刑法第六十七条"],
                sentence=Sentence(
                    kind=kind, months=months, probation_months=probation, fine_yuan=1000.0 * (1 + i % 4)
                ),
                circumstances=["坦白"] + (["赔偿", "谅解"] if i % 3 == 0 else []),
            )
        ],
        amount_yuan=2000.0 + 500 * i,
    )


def fixed_inputs():
    records = {r.id: r for r in (_theft(i, m) for i, m in enumerate(THEFT_MONTHS))}
    records["t12"] = _theft(12, 4)  # a 拘役 case
    recent = _theft(13, 10).model_copy(
        update={
            "id": "typ1",
            "tier": "典型案例",
            "judgment_date": "2024-05-10",
            "case_number": "（2024）浙01刑终55号",
        }
    )
    records["typ1"] = recent
    fraud = CaseRecord(
        id="f01",
        text="本院认为，被告人赵某以非法占有为目的，虚构事实骗取他人财物，其行为已构成诈骗罪。",
        case_number="（2018）浙0106刑初77号",
        court="杭州市西湖区人民法院",
        court_level="基层",
        judgment_date="2018-11-02",
        defendants=[
            Defendant(
                name="赵某", charges=["诈骗罪"], sentence=Sentence(kind="有期徒刑", months=8, fine_yuan=3000)
            )
        ],
    )
    records["f01"] = fraud
    top = ["t05", "typ1", "t02", "f01", "t08"]
    hits = []
    for rank, cid in enumerate(top, 1):
        rec = records[cid]
        same = cid != "f01"
        hits.append(
            Hit(
                id=cid,
                rank=rank,
                score=round(2.5 - 0.3 * rank, 3),
                components={
                    "bm25": round(1.8 - 0.2 * rank, 3),
                    "dense": 0.41,
                    "structure": 0.8 if same else 0.0,
                },
                reasons=(
                    ["罪名相同：盗窃罪", "共同情节：坦白", "数额相近"]
                    if same
                    else ["案情用语相近：财物、被害人"]
                ),
                shared_charges=["盗窃罪"] if same else [],
                shared_circumstances=["坦白"] if same else [],
                matched_terms=["电动自行车", "盗窃"] if same else ["财物"],
                case_number=rec.case_number,
                court=rec.court,
                court_level=rec.court_level,
                judgment_date=rec.judgment_date,
                tier=rec.tier,
                charges=rec.charges,
                sentence=rec.defendants[0].sentence,
                record=rec,
            )
        )
    result = SearchResult(
        query_terms=[
            "凌晨",
            "小区",
            "车库",
            "钥匙",
            "电动自行车",
            "车锁",
            "骑走",
            "价值",
            "如实供述",
            "赔偿",
            "谅解",
        ],
        charges_given=None,
        charges_predicted=[
            ChargePrediction(charge="盗窃罪", probability=0.86),
            ChargePrediction(charge="诈骗罪", probability=0.21),
        ],
        charges_used=["盗窃罪"],
        filters=Filters(),
        backend="embedded",
        weights={"w_bm25": 0.75, "w_dense": 0.25, "w_charge": 0.8},
        total_candidates=200,
        hits=hits,
    )
    description = {
        "product": "leian 类案",
        "version": "0.1.0",
        "backend": "embedded",
        "index": {
            "name": "sample",
            "snapshot": "20260301T000000Z-3f9a",
            "updated_at": "2026-03-01T00:00:00Z",
            "doc_count": 400,
            "corpus": {
                "name": "leian sample (LeCaRD)",
                "licence": "MIT",
                "date_from": "2013-01-05",
                "date_to": "2024-06-30",
            },
            "tokenizer": "rjieba+legal:1a2b3c",
            "model": "e5-small-zh",
        },
        "tokenizer": "rjieba+legal:1a2b3c",
        "model": "e5-small-zh",
        "weights": {"w_bm25": 0.75, "w_dense": 0.25, "w_charge": 0.8},
    }
    pending = CaseRecord(
        id="query",
        text=FACTS,
        amount_yuan=4000.0,
        defendants=[Defendant(name="李某", circumstances=["坦白", "赔偿", "谅解"])],
    )
    stats_ids = [i for i in records if i != "f01"]
    return description, result, records, stats_ids, pending


def fixed_report(
    proposed: ProposedSentence | None = None, predictions: list[ChargePrediction] | None = None
) -> Report:
    """The fixed report; ``predictions`` replaces the search's predicted (and used) charges."""
    description, result, records, stats_ids, pending = fixed_inputs()
    if predictions is not None:
        used = [p.charge for p in predictions]
        result = result.model_copy(update={"charges_predicted": predictions, "charges_used": used})
    return assemble_report(
        description=description,
        query=Query(facts=FACTS, top_k=5),
        result=result,
        records=records,
        stats_ids=stats_ids,
        pending=pending,
        requester=Requester(name="张检察官", organisation="杭州市上城区人民检察院"),
        proposed=proposed,
        stats_k=50,
        now=NOW,
        report_id=REPORT_ID,
    )


PROPOSED = ProposedSentence(kind="有期徒刑", months=48, fine_yuan=10000)


@pytest.fixture(scope="module")
def report() -> Report:
    return fixed_report(PROPOSED)


# ---------------------------------------------------------------- the data


def test_hash_is_over_canonical_json(report):
    data = report.data()
    assert report.sha256 == content_hash(data)
    body = {k: v for k, v in data.items() if k not in ("sha256", "signature")}  # a signature is over the hash
    import hashlib

    assert (
        report.sha256
        == hashlib.sha256(
            json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()
    )
    assert canonical_json({"b": 1, "a": "类"}) == '{"a":"类","b":1}'.encode()
    # Same inputs, same report, same hash.
    assert fixed_report(PROPOSED).sha256 == report.sha256
    assert load_report(json.dumps(data)).sha256 == report.sha256
    # Stored and reloaded (as the API does), the content hashes the same.
    assert content_hash(load_report(render(report, "json")).data()) == report.sha256


def test_results_follow_the_hits(report):
    _, result, *_ = fixed_inputs()
    assert [r.id for r in report.results] == [h.id for h in result.hits]
    assert [r.case_number for r in report.results] == [h.case_number for h in result.hits]
    assert report.results[0].reasons == result.hits[0].reasons
    assert report.results[0].sentence_text.startswith("有期徒刑")
    typ = next(r for r in report.results if r.id == "typ1")
    assert typ.recent and typ.role == "参考"
    assert not any(r.recent for r in report.results if r.id != "typ1")


def test_tiers_always_include_guiding_cases(report):
    tiers = [g.tier for g in report.analysis.tiers]
    assert tiers == ["指导性案例", "典型案例", "参考性案例", "普通"]
    guiding = report.analysis.tiers[0]
    assert guiding.ranks == [] and "未发现指导性案例" in guiding.text and guiding.role == "参照"
    typical = report.analysis.tiers[1]
    assert typical.ranks == [2] and typical.recent_ranks == [2] and typical.role == "参考"
    assert report.analysis.recent_since == "2023-03-01"


def test_key_points_cite_the_reasoning(report):
    _, _, records, *_ = fixed_inputs()
    assert [kp.case_id for kp in report.key_points] == ["t05", "typ1", "t02", "f01", "t08"]
    for kp in report.key_points:
        rec = records[kp.case_id]
        assert 1 <= len(kp.sentences) <= 3
        for s in kp.sentences:
            source = rec.sections.reasoning if s.section == "reasoning" else rec.text
            assert source[s.start : s.end] == s.text
    first = report.key_points[0].sentences
    assert any("盗窃罪" in s.text for s in first) and any("坦白" in s.text for s in first)
    assert not any("附带事项" in s.text for s in first)  # a sentence with no legal content is left out


def test_pending_case_and_focus(report):
    p = report.pending
    assert p.facts == FACTS and p.charges == ["盗窃罪"] and p.amount_yuan == 4000
    assert any("盗窃罪" in f and "86%" in f for f in p.focus)
    assert any(
        "诈骗罪" in f for f in p.focus
    )  # a second charge with probability >= 0.2 is a point of dispute


def test_sentencing_numbers_rest_on_the_same_charge_cases(report):
    s = report.sentencing
    # 12 theft cases + a 拘役 one + the typical case; the fraud case is not the same charge.
    assert s.n_cases == 14 and s.months.n == 14
    assert {o.case_id for o in s.observations} == {f"t{i:02d}" for i in range(13)} | {"typ1"}
    assert "14件" in report.sentencing_note
    notes = {n.circumstance for n in s.circumstance_notes}
    assert notes == {"坦白", "赔偿谅解"}
    # 有期徒刑4年 for a 4,000元 theft: above the first tier's three years (an error of law), and
    # above the similar cases' usual band as well — reported as the error, with both reasons
    assert report.proposed.status == "超出法定刑幅度" and report.proposed.outside_statutory
    assert any(r.startswith("【超出法定刑幅度】") for r in report.proposed.reasons)
    assert any(r.startswith("【冲突】") for r in report.proposed.reasons)


def test_every_section_is_rendered_in_order(report):
    headings = [b.text for b in blocks(report) if type(b).__name__ == "Heading" and b.level == 2]
    assert headings == SECTIONS


def test_markdown_matches_golden_file(report):
    md = render_markdown(report).decode("utf-8")
    path = GOLDEN / "report.md"
    if os.environ.get("LEIAN_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(md, encoding="utf-8")
    assert md == path.read_text(encoding="utf-8"), (
        "rendering changed: LEIAN_UPDATE_GOLDEN=1 pytest tests/test_report.py, and raise leian.__version__ "
        "(verify-report compares a rendered copy with a fresh rendering only for reports of its own version)"
    )


def test_markdown_without_proposal_says_so():
    md = render_markdown(fixed_report()).decode("utf-8")
    assert "未提供拟量刑建议" in md


def test_small_sample_is_called_small():
    description, result, records, stats_ids, pending = fixed_inputs()
    rep = assemble_report(
        description=description,
        query=Query(facts=FACTS, top_k=5),
        result=result,
        records=records,
        stats_ids=stats_ids[:4],
        pending=pending,
        proposed=PROPOSED,
        now=NOW,
        report_id=REPORT_ID,
    )
    assert rep.sentencing.n_cases == 4 and rep.sentencing.small_sample
    md = markdown_text(rep)
    assert "可比类案仅4件，样本较少，仅供参考" in md and "普遍" not in md
    assert rep.sentencing.reference.basis == "min-max" and rep.proposed.band == "min-max"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained(report):
    raw = render_html(report).decode("utf-8")
    assert raw.startswith("<!DOCTYPE html>")
    p = _Collect()
    p.feed(raw)
    p.close()
    tags = [t for t, _ in p.tags]
    assert "svg" in tags and "style" in tags and "link" not in tags
    for tag, attrs in p.tags:
        for key in ("src", "href", "xlink:href"):
            v = attrs.get(key)
            assert v is None or v.startswith("#") or v.startswith("data:"), (
                f"external resource <{tag} {key}={v!r}>"
            )
    text = "".join(p.text)
    assert report.id in text and report.sha256 in text
    for h in SECTIONS:
        assert f">{h}</h2>" in raw
    assert "类案冲突" in text


def test_docx_opens_with_sections_and_chart(report):
    from docx import Document

    raw = render_docx(report)
    names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    assert len(names) == len(set(names)), "duplicate parts in the DOCX package"
    doc = Document(io.BytesIO(raw))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [h for h in headings if h in SECTIONS] == SECTIONS
    assert len(doc.inline_shapes) == 1
    text = "\n".join(p.text for p in doc.paragraphs)
    assert report.id in text and report.sha256 in text
    assert len(doc.tables) >= 5
    result_table = next(t for t in doc.tables if t.rows[0].cells[0].text == "序号")
    assert [r.cells[1].text for r in result_table.rows[1:]] == [r.case_number for r in report.results]


def test_chart_png_with_and_without_cjk_font(report, monkeypatch):
    png = chart_png(report)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr(chart, "cjk_font", lambda: None)  # no CJK font installed: digits only, still a chart
    assert chart_png(report)[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.chart_svg(report).startswith("<svg")
    fig, _ = chart.figure(report)
    words = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]
    assert words and all(re.fullmatch(r"[0-9>\-.−]+", w) for w in words), words  # no English, no tofu


# ---------------------------------------------------------------- verification


@pytest.mark.parametrize("fmt", ["json", "md", "html", "docx"])
def test_verify_ok_on_a_fresh_copy(report, fmt, tmp_path):
    path = tmp_path / f"r.{fmt}"
    path.write_bytes(render(report, fmt))
    res = verify(path)
    assert res.ok, res.message
    assert (res.id, res.sha256, res.format) == (report.id, report.sha256, fmt)
    assert res.rendering_checked is (None if fmt == "json" else True)


def _flip(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    "fmt,old,new",
    [
        ("json", '"months": 48', '"months": 47'),
        ("md", "杭州市上城区人民法院", "杭州市上城区人民法阮"),  # visible text
        ("md", "DATA", ""),  # one character of the embedded data
        ("html", "超出法定刑幅度：拟量刑建议", "未超法定刑幅度：拟量刑建议"),
        ("html", '"months": 48', '"months": 47'),
    ],
)
def test_verify_fails_on_one_changed_character(report, fmt, old, new, tmp_path):
    raw = render(report, fmt).decode("utf-8")
    if old == "DATA":  # change the 50th character of the base64 payload
        i = raw.index(MD_DATA_OPEN) + len(MD_DATA_OPEN) + 50
        old = raw[i - 5 : i + 1]
        new = old[:-1] + ("A" if old[-1] != "A" else "B")
    path = tmp_path / f"r.{fmt}"
    path.write_text(_flip(raw, old, new), encoding="utf-8")
    assert not verify(path).ok


def test_verify_fails_on_tampered_docx(report, tmp_path):
    src = zipfile.ZipFile(io.BytesIO(render_docx(report)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = _flip(data.decode("utf-8"), "杭州市上城区人民法院", "杭州市上城区人民法阮").encode(
                    "utf-8"
                )
            z.writestr(item, data)
    path = tmp_path / "r.docx"
    path.write_bytes(out.getvalue())
    res = verify(path)
    assert not res.ok and "rendered content was changed" in res.message


def test_verify_other_generator_checks_data_only(report, tmp_path):
    older = seal(report.model_copy(update={"generator": "leian 0.0.9"}))
    path = tmp_path / "r.md"
    path.write_bytes(render(older, "md"))
    res = verify(path)
    assert res.ok and res.rendering_checked is False and "0.0.9" in res.message


def test_verify_rejects_non_reports(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"hello": 1}', encoding="utf-8")
    assert not verify(p).ok
    p.write_text("# just markdown\n", encoding="utf-8")
    assert not verify(p).ok


# ---------------------------------------------------------------- CLI


def test_cli_verify_report(report, tmp_path, capsys):
    good = tmp_path / "r.md"
    good.write_bytes(render(report, "md"))
    assert main(["verify-report", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and report.id in out and report.sha256 in out
    bad = tmp_path / "bad.md"
    bad.write_text(_flip(good.read_text(encoding="utf-8"), "坦白", "自首"), encoding="utf-8")
    assert main(["verify-report", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ALTERED" in err[0]
    assert main(["verify-report", str(tmp_path / "missing.md")]) == 1


def test_cli_report_rejects_bad_input(tmp_path, capsys):
    rc = main(["report", "--index", str(tmp_path), "--facts", "x", "--proposed", "三年"])
    assert rc == 1 and "proposed" in capsys.readouterr().err
    rc = main(["report", "--index", str(tmp_path), "--facts", "x", "--format", "docx"])
    assert rc == 1 and "--out" in capsys.readouterr().err


# ---------------------------------------------------------------- on the real sample index


@pytest.fixture(scope="module")
def searcher(sample_index):
    s = open_searcher(backend="embedded", index=str(sample_index))
    yield s
    s.close()


@pytest.fixture(scope="module")
def theft_query(sample_queries) -> Query:
    # The labels only pick which demo query to use; they are never an input of the search.
    q = next(
        (q for q in sample_queries if "盗窃罪" in (q.get("labels") or {}).get("crime", [])), sample_queries[0]
    )
    exclude = [str(q["source_doc_id"])] if q.get("source_doc_id") else []
    return Query(facts=q["q"], exclude_ids=exclude)


@pytest.mark.slow
def test_report_on_the_sample_index(searcher, theft_query, tmp_path):
    proposed = ProposedSentence(kind="有期徒刑", months=10)
    rep = build_report(
        searcher, theft_query, Requester(organisation="测试检察院"), proposed, top_k=10, stats_k=50
    )
    res = searcher.search(theft_query.model_copy(update={"top_k": 10}))
    assert [r.id for r in rep.results] == [h.id for h in res.hits]
    assert [r.case_number for r in rep.results] == [h.case_number for h in res.hits]
    assert rep.method.charges_used == res.charges_used
    shown = display_terms(res.query_terms, theft_query.facts, order=by_general_rarity, limit=SHOWN_TERMS)
    assert rep.method.query_terms == shown and rep.method.query_terms_total == len(res.query_terms)
    assert "地名不作检索词" in rep.method.methods[0]
    charges = rep.pending.charges
    top = max(res.charges_predicted, key=lambda p: p.probability).charge
    assert charges == (theft_query.charges or [top]) == rep.method.stats_charges == rep.sentencing.charges
    assert rep.platform.doc_count == searcher.backend.count() and rep.platform.snapshot
    assert [g.tier for g in rep.analysis.tiers][0] == "指导性案例"
    # The statistics rest on the same search's scored cases that hold the charge, best first.
    run = searcher.run(theft_query.model_copy(update={"top_k": 10}), stats_k=50)
    assert [h.id for h in run.result.hits] == [h.id for h in res.hits] and run.charges == charges
    recs = searcher.get(run.stats_ids)
    same = [recs[i] for i in run.stats_ids]
    assert 0 < len(same) <= 50 and all({charge_group(c) for c in r.charges} & set(charges) for r in same)
    ranked = [cid for cid, _ in searcher.rank_all(theft_query)]
    assert run.stats_ids == [cid for cid in ranked if cid in set(run.stats_ids)]  # in score order
    assert not set(run.stats_ids) & set(theft_query.exclude_ids)
    obs, excluded, unknown = comparable_observations(same, charges)
    s, picture = rep.sentencing, rep.pictures[0]
    assert picture.n_charge == len(obs) and s.n_excluded_multi == excluded and s.n_unknown == unknown
    if picture.basis == "同档次":  # the pending case's tier first, when it has enough cases
        assert s.n_cases == picture.n_same_tier >= 3
        assert {o.tier_level for o in s.observations} == {picture.statutory.level}
    else:
        assert s.n_cases == len(obs)
    assert s.months.n == sum(1 for o in s.observations if o.kind in ("有期徒刑", "拘役"))
    assert len(same) <= 50 and s.n_cases + excluded + unknown <= len(same)
    assert rep.proposed is not None and rep.proposed.n == s.months.n
    for fmt in ("json", "md", "html", "docx"):
        path = tmp_path / f"r.{fmt}"
        path.write_bytes(render(rep, fmt))
        assert verify(path).ok, fmt


@pytest.mark.slow
def test_cli_report_on_the_sample_index(sample_index, theft_query, tmp_path, capsys):
    facts = tmp_path / "facts.txt"
    facts.write_text(theft_query.facts, encoding="utf-8")
    out = tmp_path / "report.docx"
    argv = ["report", "--index", str(sample_index), "--facts-file", str(facts), "--out", str(out)]
    argv += ["--proposed", "有期徒刑一年六个月，缓刑二年，罚金五千元", "--requester-org", "测试检察院"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert re.search(r"report [0-9A-Z]{26} sha256 [0-9a-f]{64}", err)
    assert main(["verify-report", str(out)]) == 0
    assert capsys.readouterr().out.startswith("OK ")


def _with_predictions(preds: list[ChargePrediction], proposed=None) -> Report:
    return fixed_report(proposed, predictions=preds)


def test_uncertain_charge_prediction_is_flagged():
    rep = _with_predictions(
        [
            ChargePrediction(charge="盗窃罪", probability=0.33),
            ChargePrediction(charge="诈骗罪", probability=0.26),
        ]
    )
    assert rep.pending.charges == ["盗窃罪", "诈骗罪"] and "把握不大" in rep.sentencing_note
    assert "把握不大" not in fixed_report().sentencing_note


def test_close_predicted_charges_each_get_a_picture_and_given_charges_win():
    """Within 10 points of the likeliest, each predicted charge is pictured on its own; a charge the
    prosecutor gives replaces the predictions."""
    close = [
        ChargePrediction(charge="盗窃罪", probability=0.61),
        ChargePrediction(charge="诈骗罪", probability=0.60),
    ]
    rep = _with_predictions(close)
    assert [p.charge for p in rep.pictures] == ["盗窃罪", "诈骗罪"]
    theft, fraud = rep.pictures
    assert theft.stats.n_cases == 14  # each charge's own cases, counted apart
    assert all(o.charges == ["盗窃罪"] for o in theft.stats.observations)
    assert all(o.charges == ["诈骗罪"] for o in fraud.stats.observations)
    apart = [
        ChargePrediction(charge="盗窃罪", probability=0.61),
        ChargePrediction(charge="诈骗罪", probability=0.40),
    ]
    assert [p.charge for p in _with_predictions(apart).pictures] == ["盗窃罪"]


def test_no_charge_means_no_statistics():
    rep = _with_predictions([])
    assert rep.sentencing is None and "未能确定" in rep.sentencing_note
    assert "未能确定待决案件的罪名" in render_markdown(rep).decode("utf-8")
    with pytest.raises(InvalidInput):
        _with_predictions([], proposed=PROPOSED)
