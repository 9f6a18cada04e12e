"""`leian extract` end to end: the real command in a subprocess, on files written to tmp_path.

Bad input must never stop the run: one line on stderr per unreadable item naming the file and line,
counts at the end, exit status 1 only when nothing could be read.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leian.corpora.record import EXTRACT_FIELDS, CaseRecord
from leian.indexer.extract import extract, extract_fields

GOLD = Path(__file__).parent / "gold" / "gold.jsonl"


def gold_items(n: int | None = None) -> list[dict]:
    with open(GOLD, encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    return items[:n] if n else items


def leian_extract(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leian.api.cli", "extract", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_jsonl(path: Path, rows: list) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def objects(stdout: str) -> list[dict]:
    """Parse concatenated JSON objects (one per line, or indented)."""
    dec, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(stdout) and stdout[i].isspace():
            i += 1
        if i >= len(stdout):
            return out
        obj, i = dec.raw_decode(stdout, i)
        out.append(obj)


def test_extract_prints_one_object_per_judgment_with_exactly_the_fields(tmp_path):
    items = gold_items(3)
    path = write_jsonl(tmp_path / "cases.jsonl", [{"id": x["id"], "text": x["text"]} for x in items])
    res = leian_extract(str(path))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    for line, item in zip(lines, items, strict=True):
        obj = json.loads(line)
        assert tuple(obj) == EXTRACT_FIELDS
        assert obj["id"] == item["id"]
        assert obj["case_number"] == item["expected"]["case_number"]
        assert [d["name"] for d in obj["defendants"]] == [d["name"] for d in item["expected"]["defendants"]]
        assert "spans" not in obj
    assert "3 judgments extracted, 0 problems" in res.stderr


def test_cli_output_equals_the_in_process_extraction_on_the_gold_set(tmp_path):
    items = gold_items()
    path = write_jsonl(tmp_path / "gold.jsonl", [{"id": x["id"], "text": x["text"]} for x in items])
    res = leian_extract(str(path), "--spans")
    assert res.returncode == 0, res.stderr
    got = objects(res.stdout)
    want = [
        json.loads(json.dumps(extract_fields(extract(CaseRecord(id=x["id"], text=x["text"])), spans=True)))
        for x in items
    ]
    assert got == want


def test_pretty_format_and_spans(tmp_path):
    item = gold_items(1)[0]
    path = write_jsonl(tmp_path / "one.jsonl", [{"id": item["id"], "text": item["text"]}])
    res = leian_extract(str(path), "--format", "pretty", "--spans")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("{\n  ")
    (obj,) = objects(res.stdout)
    assert obj["spans"], "no spans"
    for s in obj["spans"]:
        assert item["text"][s["start"] : s["end"]] == s["text"]
    fields = {s["field"] for s in obj["spans"]}
    assert {"case_number", "court", "judgment_date", "defendants.0.name", "defendants.0.charges.0"} <= fields


def test_bad_items_are_reported_with_file_and_line_and_the_rest_is_extracted(tmp_path):
    good = gold_items(2)
    rows = [
        {"id": good[0]["id"], "text": good[0]["text"]},
        {"id": "empty", "text": ""},
        "{this is not json",
        {"id": "blank", "text": "   \n\t  "},
        {"id": "english", "text": "This is not a Chinese judgment at all. " * 20},
        {
            "id": "prose",
            "text": "今天天气很好，我们去公园散步，看见湖边有很多人在钓鱼，孩子们在草地上放风筝。" * 3,
        },
        {"id": good[1]["id"], "text": good[1]["text"]},
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    res = leian_extract(str(path))
    assert res.returncode == 0, res.stderr
    ids = [json.loads(line)["id"] for line in res.stdout.splitlines()]
    assert ids == [good[0]["id"], "prose", good[1]["id"]]
    err = res.stderr.splitlines()
    # empty (lines 2, 4), not JSON (3), not Chinese (5): each one line naming the file and line
    for line_no in (2, 3, 4, 5):
        assert any(f"mixed.jsonl:{line_no}:" in e for e in err), res.stderr
    # Chinese prose is readable, so it is printed, with a warning that no judgment was recognised
    assert any("mixed.jsonl:6" in e and "no judgment structure" in e for e in err), res.stderr
    assert err[-1] == "leian extract: 3 judgments extracted, 4 problems, 1 without a recognisable judgment"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("junk.jsonl", bytes(range(256)) * 64),
        ("broken.jsonl.gz", gzip.compress(b'{"id": "1", "text": "abc"}\n' * 1000)[:200]),
    ],
)
def test_unreadable_files_exit_non_zero_with_one_line_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    res = leian_extract(str(path))
    assert res.returncode == 1
    assert res.stdout == ""
    assert name in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_path_is_one_line_and_exit_1(tmp_path):
    res = leian_extract(str(tmp_path / "nope.jsonl"))
    assert res.returncode == 1
    assert "nope.jsonl" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_20_mb_file_is_refused_quickly_without_a_traceback(tmp_path):
    path = tmp_path / "huge.jsonl"
    text = "被告人张某犯盗窃罪，判处有期徒刑一年。" * (20_000_000 // 57 + 1)
    write_jsonl(path, [{"id": "huge", "text": text}])
    assert path.stat().st_size > 20_000_000
    res = leian_extract(str(path), timeout=120)
    assert res.returncode == 1
    assert res.stdout == ""
    assert "huge" in res.stderr
    assert "Traceback" not in res.stderr


def test_good_file_next_to_a_bad_one_still_succeeds(tmp_path):
    item = gold_items(1)[0]
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": item["id"], "text": item["text"]}])
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    res = leian_extract(str(bad), str(good))
    assert res.returncode == 0, res.stderr
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == [item["id"]]
    assert "bad.jsonl.gz" in res.stderr
