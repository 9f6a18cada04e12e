"""`leian sentence` (量刑测算 for a JSONL file of cases) as a user runs it, on the sample index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIELDS = {"id", "charges", "months", "low_months", "high_months", "basis", "estimates"}


def leian(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEIAN_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "leian.api.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def test_one_line_per_case_and_bad_lines_on_stderr(sample_index, sample_queries, tmp_path):
    wanted = ["2331", "2", "10"]  # two charges; one with an estimate; 故意伤害罪 (too few judgments)
    qs = {q["id"]: q for q in sample_queries}
    lines = [
        json.dumps({"id": "2331", "q": qs["2331"]["q"]}, ensure_ascii=False),  # LeCaRD's field name
        "not json",
        json.dumps({"id": "2", "facts": qs["2"]["q"], "charges": ["盗窃罪"]}, ensure_ascii=False),
        json.dumps({"id": "empty", "facts": "  "}),
        json.dumps({"id": "10", "facts": qs["10"]["q"]}, ensure_ascii=False),
    ]
    queries = write_lines(tmp_path / "cases.jsonl", lines)
    out = tmp_path / "estimates.jsonl"
    r = leian("sentence", "--index", str(sample_index), "--queries", str(queries), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == wanted  # one line per readable case, in input order
    for row in rows:
        assert set(row) == FIELDS, row
        assert row["basis"]  # never a number without its basis
        assert len(row["estimates"]) == len(row["charges"]) >= 1
        assert row["months"] == row["estimates"][0]["months"]
    two, theft, injury = rows
    assert len(two["charges"]) == 2 and all(e["months"] for e in two["estimates"])
    assert theft["charges"] == ["盗窃罪"] and theft["low_months"] <= theft["months"] <= theft["high_months"]
    assert theft["estimates"][0]["lines"][0]["factor"] == "基准"
    assert theft["estimates"][0]["elements"]["amount_yuan"] == 15000
    assert injury["months"] is None and injury["low_months"] is None and "无法测算" in injury["basis"]
    # each bad line: one stderr line naming its line number (and the case id when it has one)
    skipped = [x for x in r.stderr.splitlines() if x.startswith("leian sentence: skipped")]
    assert len(skipped) == 2, r.stderr
    assert "line 2" in skipped[0] and "cases.jsonl:2" in skipped[0]
    assert "empty (line 4)" in skipped[1] and "facts" in skipped[1]
    assert "3 cases" in r.stderr and "2 lines skipped" in r.stderr


def test_stdout_and_a_case_that_cannot_be_searched(sample_index, tmp_path):
    queries = write_lines(
        tmp_path / "cases.jsonl",
        [json.dumps({"id": "x", "facts": "被告人李某盗窃电动车一辆，价值2000元。", "charges": ["醉驾"]},
                    ensure_ascii=False)],
    )  # fmt: skip
    r = leian("sentence", "--index", str(sample_index), "--queries", str(queries))
    assert r.returncode == 0, r.stderr
    (row,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert row["id"] == "x" and row["months"] is None and "醉驾" in row["basis"] and row["estimates"] == []
    assert "case x" in r.stderr


def test_nothing_readable_is_an_error(sample_index, tmp_path):
    queries = write_lines(tmp_path / "bad.jsonl", ["not json", '{"id": "a"}'])
    out = tmp_path / "out.jsonl"
    r = leian("sentence", "--index", str(sample_index), "--queries", str(queries), "--out", str(out))
    assert r.returncode == 1
    assert "no usable case" in r.stderr.splitlines()[-1] and r.stderr.count("skipped") == 2
    assert not out.exists()
    r = leian("sentence", "--index", str(sample_index), "--queries", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 1 and "cannot read" in r.stderr and "Traceback" not in r.stderr
    r = leian("sentence", "--index", str(sample_index), "--queries", str(queries), "--province", "火星")
    assert r.returncode == 1 and "火星" in r.stderr
