"""Loaders on real files: LeCaRD gz and plain, project JSONL round-trip, txt folders, and every bad input."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from leian.corpora.loaders import MAX_TEXT_CHARS, Loader, LoadReport, check_text, detect_format, load
from leian.corpora.record import CaseRecord, Defendant, Sentence
from leian.corpora.sample import sample_path
from leian.errors import CorpusReadError, InvalidInput

JUDGMENT = (
    "江西省南昌市青山湖区人民法院\n刑事判决书\n（2018）赣0111刑初485号\n公诉机关南昌市青山湖区人民检察院。\n"
    "被告人张某某，男，1980年1月1日出生。\n经审理查明，2018年3月5日22时许，被告人张某某醉酒后驾驶小型轿车"
    "行驶至青山湖大道时被民警查获，经鉴定其血液酒精含量为186.5mg/100ml。\n本院认为，被告人张某某在道路上"
    "醉酒驾驶机动车，其行为已构成危险驾驶罪。被告人到案后如实供述，系坦白，依法可以从轻处罚。\n判决如下：\n"
    "被告人张某某犯危险驾驶罪，判处拘役二个月，并处罚金人民币四千元。\n审判员 李某\n二〇一八年九月十日\n"
)


def lecard_line(i: int, text: str = JUDGMENT, **extra) -> dict:
    row = {
        "id": i,
        "ajId": f"aj-{i}",
        "ajName": f"张某某危险驾驶一案{i}",
        "ajjbqk": " 经审理查明，被告人张某某醉酒后驾驶小型轿车。",
        "cpfxgc": "本院认为，被告人张某某构成危险驾驶罪。",
        "pjjg": " 被告人张某某犯危险驾驶罪，判处拘役二个月。",
        "qw": text,
        "writId": f"w{i}",
        "writName": "张某某危险驾驶一审刑事判决书",
    }
    row.update(extra)
    return row


def write_jsonl(path: Path, rows: list, gz: bool = False) -> Path:
    data = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def read_all(path, fmt="auto", **kw) -> tuple[list[CaseRecord], LoadReport]:
    loader = Loader(path, fmt, **kw)
    return list(loader), loader.report


# --- good input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_lecard_gz_and_plain(tmp_path, gz):
    path = write_jsonl(
        tmp_path / ("docs.jsonl.gz" if gz else "docs.jsonl"), [lecard_line(1), lecard_line(2)], gz
    )
    assert detect_format(path) == "lecard"
    recs, rep = read_all(path)
    assert [r.id for r in recs] == ["1", "2"]
    r = recs[0]
    assert r.text == JUDGMENT  # full text untouched: extracted spans index into it
    assert r.title == "张某某危险驾驶一案1"
    assert r.sections.facts.startswith("经审理查明")  # LeCaRD's leading space trimmed
    assert r.sections.judgment == "被告人张某某犯危险驾驶罪，判处拘役二个月。"
    assert (r.source.corpus, r.source.licence) == ("LeCaRD", "MIT")
    assert r.source.path.endswith(":1")
    assert (rep.read, rep.skipped, rep.format, rep.files) == (2, 0, "lecard", 1)


def test_gzip_detected_from_bytes_not_name(tmp_path):
    path = write_jsonl(tmp_path / "docs.data", [lecard_line(7)], gz=True)
    recs, rep = read_all(path)
    assert [r.id for r in recs] == ["7"] and rep.format == "lecard"


def test_project_jsonl_round_trip(tmp_path):
    original = CaseRecord(
        id="case-1",
        text=JUDGMENT,
        case_number="（2018）赣0111刑初485号",
        court_level="基层",
        judgment_date="2018-09-10",
        defendants=[
            Defendant(
                name="张某某",
                charges=["危险驾驶罪"],
                sentence=Sentence(kind="拘役", months=2, fine_yuan=4000.0),
                circumstances=["坦白"],
            )
        ],
    )
    path = tmp_path / "records.jsonl"
    path.write_text(original.model_dump_json() + "\n", encoding="utf-8")
    assert detect_format(path) == "jsonl"
    (back,), rep = read_all(path)
    assert back.model_dump(exclude={"source"}) == original.model_dump(exclude={"source"})
    assert back.source.path == f"{path}:1"  # filled in when the record had none
    assert rep.read == 1


def test_txt_folder_utf8_and_gb18030(tmp_path):
    folder = tmp_path / "judgments"
    (folder / "sub").mkdir(parents=True)
    (folder / "a1.txt").write_bytes(JUDGMENT.encode("utf-8"))
    (folder / "sub" / "b2.txt").write_bytes(JUDGMENT.replace("张某某", "李某").encode("gb18030"))
    (folder / "c3.txt").write_bytes(b"\xef\xbb\xbf" + JUDGMENT.encode("utf-8"))  # BOM
    (folder / "notes.md").write_text("not a judgment", encoding="utf-8")
    (folder / ".hidden.txt").write_text(JUDGMENT, encoding="utf-8")
    assert detect_format(folder) == "txt"
    recs, rep = read_all(folder)
    assert [r.id for r in recs] == ["a1", "c3", "b2"]  # path order: a1.txt, c3.txt, sub/b2.txt
    assert "李某" in recs[2].text and "犯危险驾驶罪" in recs[2].text  # GB18030 decoded
    assert recs[1].text == JUDGMENT  # BOM stripped
    assert (rep.read, rep.skipped, rep.ignored_files, rep.files) == (3, 0, 1, 3)


def test_single_txt_file_and_file_without_suffix(tmp_path):
    p = tmp_path / "2018赣0111刑初485号.txt"
    p.write_text(JUDGMENT, encoding="utf-8")
    (rec,), _ = read_all(p)
    assert rec.id == "2018赣0111刑初485号"
    q = tmp_path / "judgment"
    q.write_text(JUDGMENT, encoding="gb18030")
    assert detect_format(q) == "txt"
    (rec,), _ = read_all(q)
    assert rec.text == JUDGMENT


def test_bundled_sample_reads_clean():
    recs, rep = read_all(sample_path())
    assert rep.format == "lecard" and rep.skipped == 0
    assert 300 <= len(recs) <= 500
    assert len({r.id for r in recs}) == len(recs)


def test_load_function_fills_report_and_streams(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [lecard_line(1), "not json", lecard_line(2)])
    rep = LoadReport(path="")
    it = load(path, report=rep)
    first = next(it)
    assert first.id == "1" and rep.read == 1  # streaming: counts grow as records are consumed
    rest = list(it)
    assert [r.id for r in rest] == ["2"]
    assert (rep.read, rep.skipped, rep.by_reason) == (2, 1, {"not_json": 1})
    assert it.report is rep
    assert list(it) == []  # single pass, like a file
    loader = load(path)
    assert [r.id for r in loader] == ["1", "2"] and loader.report.skipped == 1


# --- bad input: one clear problem each, the run goes on -------------------------------------------


def test_bad_jsonl_lines_each_reported_and_skipped(tmp_path):
    rows = [
        lecard_line(1),
        "{this is not json",
        json.dumps([1, 2, 3]),
        json.dumps({"ajName": "no id", "qw": JUDGMENT}, ensure_ascii=False),
        json.dumps({"id": 4, "ajName": "no text"}, ensure_ascii=False),
        lecard_line(5, text="   \n\t "),
        lecard_line(6, text="The defendant was sentenced to two months of detention. " * 20),
        lecard_line(7, text=JUDGMENT[:200] + "\x00\x01\x02\x03" * 50 + JUDGMENT[200:]),
        lecard_line(1),  # duplicate id
        "",  # blank lines are not problems
        lecard_line(8),
    ]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    seen = []
    recs, rep = read_all(path, "lecard", on_problem=seen.append)
    assert [r.id for r in recs] == ["1", "8"]
    reasons = {p.location.rsplit(":", 1)[1]: p.reason for p in rep.problems}
    assert reasons == {
        "2": "not_json",
        "3": "not_object",
        "4": "missing_field",
        "5": "missing_field",
        "6": "empty_text",
        "7": "not_chinese",
        "8": "binary",
        "9": "duplicate_id",
    }
    assert seen == rep.problems  # reported as they happen, too
    assert str(seen[0]) == seen[0].line() == f"{path}:2: {seen[0].message}"
    assert rep.read == 2 and rep.skipped == 8
    lines = [p.line() for p in rep.problems]
    assert all(ln.startswith(f"{path}:") and "\n" not in ln for ln in lines)
    assert "missing field 'id'" in lines[2] and "missing field 'qw'" in lines[3]
    assert "first read at" in lines[7]
    assert "skipped 8" in rep.summary()


def test_project_jsonl_missing_and_invalid_fields(tmp_path):
    rows = [
        {"id": "a", "text": JUDGMENT},
        {"text": JUDGMENT},
        {"id": "c"},
        {"id": "", "text": JUDGMENT},
        {"id": "e", "text": JUDGMENT, "court_level": "乡镇"},
        {"id": "f", "text": 42},
    ]
    path = write_jsonl(tmp_path / "records.jsonl", rows)
    recs, rep = read_all(path, "jsonl")
    assert [r.id for r in recs] == ["a"]
    msgs = [p.line() for p in rep.problems]
    assert [p.reason for p in rep.problems] == [
        "missing_field",
        "missing_field",
        "missing_field",
        "invalid_record",
        "invalid_record",
    ]
    assert (
        "missing field 'id'" in msgs[0] and "missing field 'text'" in msgs[1] and "'id' is empty" in msgs[2]
    )
    assert "court_level" in msgs[3]
    assert "'text' is a int" in msgs[4]


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    good = tmp_path / "docs.jsonl.gz"
    write_jsonl(good, [lecard_line(i) for i in range(1, 201)], gz=True)
    data = good.read_bytes()
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(data[: len(data) * 2 // 3])
    recs, rep = read_all(broken)
    assert 0 < len(recs) < 200
    assert rep.by_reason == {"broken_gzip": 1}
    assert rep.problems[0].location == f"{broken}:{len(recs) + 1}"
    assert "broken gzip" in rep.problems[0].message


def test_gzip_corrupt_from_the_start_is_an_error(tmp_path):
    p = tmp_path / "bad.jsonl.gz"
    p.write_bytes(b"\x1f\x8b" + os.urandom(4000))
    with pytest.raises(CorpusReadError) as e:
        Loader(p)
    assert str(p) in str(e.value) and "broken gzip" in str(e.value)
    # with the format given, the problem is reported and the (empty) run ends cleanly
    recs, rep = read_all(p, "lecard")
    assert recs == [] and rep.by_reason == {"broken_gzip": 1}
    with pytest.raises(CorpusReadError, match="no judgment could be read"):
        rep.raise_if_empty()


def test_twenty_megabyte_inputs_refused_without_reading_them_whole(tmp_path):
    big_text = "被告人张某某盗窃财物。" * (20_000_000 // 33)  # ~20 MB of UTF-8
    big_txt = tmp_path / "big.txt"
    big_txt.write_text(big_text, encoding="utf-8")
    assert big_txt.stat().st_size > 19_000_000
    (tmp_path / "ok.txt").write_text(JUDGMENT, encoding="utf-8")
    recs, rep = read_all(tmp_path)
    assert [r.id for r in recs] == ["ok"]
    assert rep.problems[0].reason == "too_large" and "big.txt" in rep.problems[0].location

    path = write_jsonl(tmp_path / "docs.jsonl", [lecard_line(1, text=big_text), lecard_line(2)])
    recs, rep = read_all(path)
    assert [r.id for r in recs] == ["2"]
    assert rep.problems[0].reason == "too_large" and rep.problems[0].location.endswith(":1")


def test_size_limit_is_configurable(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [lecard_line(1)])
    recs, rep = read_all(path, max_chars=100)
    assert recs == [] and rep.by_reason == {"too_large": 1}
    assert "limit is 100" in rep.problems[0].message
    assert read_all(path)[0]  # the default (MAX_TEXT_CHARS) accepts it
    assert MAX_TEXT_CHARS >= 1_000_000


def test_bad_txt_files(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n ", encoding="utf-8")
    (tmp_path / "english.txt").write_text(
        "This is an English court decision about theft. " * 30, encoding="utf-8"
    )
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "latin1.txt").write_bytes("Café crème brûlée ".encode("latin-1") * 10 + b"\xff\xfe\xfa")
    (tmp_path / "good.txt").write_text(JUDGMENT, encoding="utf-8")
    recs, rep = read_all(tmp_path)
    assert [r.id for r in recs] == ["good"]
    got = {Path(p.location).name: p.reason for p in rep.problems}
    assert got == {
        "empty.txt": "empty_text",
        "english.txt": "not_chinese",
        "binary.txt": "binary",
        "latin1.txt": "bad_encoding",
    }
    assert all(p.line().startswith(str(tmp_path)) for p in rep.problems)


def test_nothing_readable_and_path_errors(tmp_path):
    with pytest.raises(CorpusReadError, match="no such file"):
        Loader(tmp_path / "missing.jsonl")
    with pytest.raises(CorpusReadError, match="no such file"):
        load(tmp_path / "missing.jsonl")  # raised at the call, not on first next()
    with pytest.raises(
        InvalidInput, match="unknown corpus format 'xml'; use one of: auto, lecard, jsonl, txt"
    ):
        Loader(tmp_path, "xml")
    with pytest.raises(InvalidInput, match="size limit"):
        Loader(tmp_path, max_chars=0)
    with pytest.raises(CorpusReadError, match="is a folder"):
        Loader(tmp_path, "lecard")
    odd = write_jsonl(tmp_path / "odd.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(CorpusReadError, match="cannot tell the format"):
        Loader(odd)
    only_bad = write_jsonl(tmp_path / "bad.jsonl", ["{nope", "[]"])
    recs, rep = read_all(only_bad, "lecard")
    assert recs == [] and not rep.ok
    with pytest.raises(CorpusReadError, match="no judgment could be read"):
        rep.raise_if_empty()


def test_check_text_accepts_real_judgments():
    assert check_text(JUDGMENT) is None
    reason, message = check_text("Case 123: the court ruled.")
    assert reason == "not_chinese" and "Chinese characters" in message


def test_the_quick_acceptance_agrees_with_the_full_count():
    # check_text accepts most texts from their opening characters; it must decide as the full count does
    from leian.corpora.loaders import _CONTROL, _CONTROL_NOT_SPACE, _SPACE, _check_counts, _clearly_chinese

    for cp in range(0x110000):
        c = chr(cp)
        assert bool(_CONTROL_NOT_SPACE.match(c)) == bool(_CONTROL.match(c) and not _SPACE.match(c)), hex(cp)
    judgments = [r.text for r in Loader(sample_path())]
    assert all(_clearly_chinese(t) for t in judgments)  # the quick path is the one real judgments take
    han = "被告人张某盗窃手机一部价值人民币三千元"  # 19 Chinese characters
    texts = judgments + [
        han,
        han + "罪",
        han + "罪" + "x" * 80,  # exactly 20%
        han + "罪" + "x" * 81,
        han + "罪" + " " * 500,  # spaces do not count against the share
        (han + "罪") * 10 + "\x00",  # one control in 201 characters
        (han + "罪") * 10 + "\x00\x00",
        (han + "罪") * 10 + "\x1c\x1d\x0b",  # whitespace controls are spaces
        "x" * 9000 + (han + "罪") * 600,  # Chinese only after the first steps
        "Case 123: the court ruled." * 300,
    ]
    for text in texts:
        assert (None if _clearly_chinese(text) else _check_counts(text)) == _check_counts(text), text[:40]
