"""Batch reports (`leian batch`, ``leian.retrieval.batch``): outputs, per-case errors, resuming."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leian.retrieval.batch import BatchRunner, file_stem, parse_cases, parse_formats
from leian.retrieval.search import open_searcher


def leian(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEIAN_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "leian.api.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def write_cases(path: Path, queries: list[dict], n: int) -> list[dict]:
    cases = []
    for i, q in enumerate(queries[:n]):
        case = {"id": f"case-{i}", "q": q["q"]}  # LeCaRD's field name is accepted as the facts
        if i == 1:
            case["proposed_sentence"] = {"kind": "有期徒刑", "months": 10, "fine_yuan": 3000}
        cases.append(case)
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    return cases


def summary(out: Path) -> list[dict]:
    with open(out / "summary.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_parse_cases_records_every_bad_line():
    lines = [
        '{"id": "a", "facts": "被告人张某盗窃"}',
        "not json",
        '{"id": "b"}',
        '{"id": "c", "facts": "   "}',
        '{"id": "a", "facts": "again"}',
        "",
        "[1, 2]",
        '{"id": 7, "q": "被告人李某诈骗", "crime": ["诈骗罪"]}',
    ]
    cases, problems = parse_cases(lines, source="cases.jsonl")
    assert [c.id for c in cases] == ["a", "7"] and cases[1].facts == "被告人李某诈骗"
    assert [p.id for p in problems] == ["line 2", "b (line 3)", "c (line 4)", "a (line 5)", "line 7"]
    assert all(p.status == "error" and p.error.startswith("cases.jsonl:") for p in problems)
    assert "duplicate" in problems[3].error


def test_formats_and_file_names():
    assert parse_formats("json, MD,json") == ["json", "md"]
    with pytest.raises(Exception, match="valid: json, md, html, docx"):
        parse_formats("json,pdf")
    assert file_stem("case-1") == "case-1"
    a, b = file_stem("案/1"), file_stem("案:1")
    assert a != b and "/" not in a and not a.startswith(".")


def test_batch_cli_resumes_without_redoing_finished_cases(sample_index, sample_queries, tmp_path):
    cases = write_cases(tmp_path / "cases.jsonl", sample_queries, 4)
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "cases.jsonl"), "--index", str(sample_index), "--out", str(out),
            "--formats", "json,md", "--top-k", "5"]  # fmt: skip

    # First run is cut short after 2 cases (as if interrupted).
    p = leian(*args, "--limit", "2")
    assert p.returncode == 0, p.stderr
    done = sorted(f.name for f in (out / "reports").iterdir())
    assert done == ["case-0.json", "case-0.md", "case-1.json", "case-1.md"]
    first = {f: (out / "reports" / f).stat().st_mtime_ns for f in done}
    first_ids = {r["id"]: r["report_id"] for r in summary(out)}
    assert set(first_ids) == {"case-0", "case-1"}

    p = leian(*args)
    assert p.returncode == 0, p.stderr
    assert "2 already done" in p.stderr
    # Finished cases were not redone: same files (mtimes), same report ids.
    for f, mtime in first.items():
        assert (out / "reports" / f).stat().st_mtime_ns == mtime
    rows = summary(out)
    assert [r["id"] for r in rows] == [c["id"] for c in cases]
    assert {r["id"]: r["report_id"] for r in rows if r["id"] in first_ids} == first_ids
    for r in rows:
        assert r["status"] == "ok" and r["report_id"] and len(r["sha256"]) == 64 and r["top_case"]
        assert r["predicted_charge"] and int(r["n_comparable"]) >= 0
        report = json.loads((out / "reports" / f"{r['id']}.json").read_text(encoding="utf-8"))
        assert report["id"] == r["report_id"] and report["sha256"] == r["sha256"]
        assert r["top_case"] in (report["results"][0]["case_number"], report["results"][0]["id"])
    proposed = rows[1]
    assert proposed["proposed"].startswith("有期徒刑") and proposed["conflict"] in ("true", "false", "")

    # A third run has nothing to do.
    p = leian(*args)
    assert p.returncode == 0 and "4 already done" in p.stderr


def test_batch_survives_a_killed_process(sample_index, sample_queries, tmp_path):
    write_cases(tmp_path / "cases.jsonl", sample_queries, 5)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "leian.api.cli", "batch", str(tmp_path / "cases.jsonl"), "--index",
           str(sample_index), "--out", str(out), "--formats", "json", "--top-k", "3"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LEIAN_PROGRESS": "0"})  # fmt: skip
    markers = out / ".leian-batch" / "done"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if markers.is_dir() and len(list(markers.glob("*.json"))) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no cleanup: as a power cut would
    proc.wait()
    finished = {m.stem: m.read_bytes() for m in markers.glob("*.json")}
    assert finished, "the batch did not finish any case before being killed"
    # Nothing half-written is visible: every report file present is complete JSON.
    for f in (out / "reports").glob("*.json"):
        json.loads(f.read_text(encoding="utf-8"))

    p = leian("batch", str(tmp_path / "cases.jsonl"), "--index", str(sample_index), "--out", str(out),
              "--formats", "json", "--top-k", "3")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert f"{len(finished)} already done" in p.stderr
    for stem, data in finished.items():  # markers of finished cases untouched
        assert (markers / f"{stem}.json").read_bytes() == data
    assert len(summary(out)) == 5 and all(r["status"] == "ok" for r in summary(out))


def test_failed_cases_are_recorded_and_the_batch_goes_on(sample_index, sample_queries, tmp_path):
    lines = [
        json.dumps({"id": "good", "facts": sample_queries[0]["q"]}, ensure_ascii=False),
        json.dumps(
            {
                "id": "bad-proposal",
                "facts": sample_queries[0]["q"],
                "proposed_sentence": {"kind": "拘役", "months": 30},
            },
            ensure_ascii=False,
        ),  # fmt: skip
        "{broken",
        json.dumps({"id": "good-2", "facts": sample_queries[1]["q"]}, ensure_ascii=False),
    ]
    cases, problems = parse_cases(lines)
    searcher = open_searcher(index=str(sample_index))
    try:
        progress = []
        runner = BatchRunner(searcher, tmp_path / "out", formats=["json"], top_k=3)
        result = runner.run(cases, problems, on_progress=progress.append)
    finally:
        searcher.close()
    assert result.ok == 2 and result.failed == 2 and result.total == 4
    assert "bad-proposal" in result.errors and "拘役" in result.errors["bad-proposal"]
    assert progress[-1].done == 2 and progress[-1].failed == 2
    rows = {r["id"]: r for r in summary(tmp_path / "out")}
    assert rows["good"]["status"] == "ok" and rows["good-2"]["status"] == "ok"
    assert rows["bad-proposal"]["status"] == "error" and rows["bad-proposal"]["error"]
    assert rows["line 3"]["status"] == "error"
    assert not (tmp_path / "out" / "reports" / "bad-proposal.json").exists()


def test_batch_cli_errors_are_one_line(sample_index, tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    p = leian(
        "batch", str(tmp_path / "empty.jsonl"), "--index", str(sample_index), "--out", str(tmp_path / "o")
    )
    assert p.returncode == 1 and p.stderr.strip().splitlines()[-1].startswith("leian batch: error:")
    p = leian(
        "batch", str(tmp_path / "missing.jsonl"), "--index", str(sample_index), "--out", str(tmp_path / "o")
    )
    assert p.returncode == 1 and "missing.jsonl" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (tmp_path / "c.jsonl").write_text('{"id": "a", "facts": "x"}\n', encoding="utf-8")
    p = leian("batch", str(tmp_path / "c.jsonl"), "--index", str(sample_index), "--out", str(tmp_path / "o"),
              "--formats", "pdf")  # fmt: skip
    assert p.returncode == 1 and "valid: json, md, html, docx" in p.stderr


def test_a_full_disk_stops_the_batch_in_one_line_and_it_resumes(sample_index, sample_queries, tmp_path):
    import resource

    write_cases(tmp_path / "cases.jsonl", sample_queries, 4)
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "cases.jsonl"), "--index", str(sample_index), "--out", str(out),
            "--formats", "json,docx", "--top-k", "3"]  # fmt: skip
    # a report is 50-90 KB: a 40 KB file size limit (room for the index's 32 KB shared-memory file)
    # fails the first one, as a full disk would
    p = subprocess.run(
        [sys.executable, "-m", "leian.api.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (40 << 10, resource.RLIM_INFINITY)),
    )
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith(f"leian batch: error: cannot write to {out} (File too large); the batch stopped")
    assert "run it again: it resumes where it stopped" in last
    p = leian(*args)  # room again: every case is done
    assert p.returncode == 0, p.stderr
    assert [r["status"] for r in summary(out)] == ["ok"] * 4


def test_an_output_directory_that_cannot_be_created_is_one_line(sample_index, sample_queries, tmp_path):
    write_cases(tmp_path / "cases.jsonl", sample_queries, 1)
    (tmp_path / "a-file").write_text("mine")
    out = tmp_path / "a-file" / "out"
    p = leian("batch", str(tmp_path / "cases.jsonl"), "--index", str(sample_index), "--out", str(out))
    assert p.returncode == 1 and p.stderr.strip().splitlines()[-1] == (
        f"leian batch: error: cannot create the output directory {out}: Not a directory"
    )
