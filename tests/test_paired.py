"""bench/paired.py: paired differences of two `leian eval --per-query --format json` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _report(path: Path, per_query: dict[str, dict[str, dict[str, float]]]) -> Path:
    """A report shaped as `leian eval --per-query --format json` writes it: protocol → query → metrics."""
    results = [{"protocol": p, "metrics": {}, "per_query": q} for p, q in per_query.items()]
    path.write_text(json.dumps({"split": "dev", "results": results}), encoding="utf-8")
    return path


def _paired(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "paired.py"), *map(str, args)], capture_output=True, text=True
    )


def _row(out: str, label: str) -> list[str]:
    (line,) = [x for x in out.splitlines() if x.startswith(label)]
    return line[len(label) :].split()


def test_a_uniform_gain_is_measured_exactly_and_no_change_is_zero(tmp_path):
    base = {str(q): {"ndcg@30": q / 10} for q in range(10)}
    better = {q: {"ndcg@30": m["ndcg@30"] + 0.05} for q, m in base.items()}
    first = _report(tmp_path / "a.json", {"A": base, "B": base})
    second = _report(tmp_path / "b.json", {"A": better, "B": base})
    run = _paired(first, second, "--samples", "500")
    assert run.returncode == 0, run.stderr
    assert "10 queries" in run.stdout
    # first, second, diff, interval, up, down
    assert _row(run.stdout, "A ndcg@30") == ["0.4500", "0.5000", "+0.0500", "+0.0500..+0.0500", "10", "0"]
    assert _row(run.stdout, "B ndcg@30") == ["0.4500", "0.4500", "+0.0000", "+0.0000..+0.0000", "0", "0"]


def test_a_mixed_change_gets_an_interval_around_its_mean(tmp_path):
    base = {str(q): {"ndcg@10": 0.5} for q in range(40)}
    mixed = {q: {"ndcg@10": 0.5 + (0.1 if int(q) % 2 else -0.1)} for q in base}
    run = _paired(_report(tmp_path / "a.json", {"B": base}), _report(tmp_path / "b.json", {"B": mixed}))
    assert run.returncode == 0, run.stderr
    _, _, diff, interval, up, down = _row(run.stdout, "B ndcg@10")
    low, high = (float(x) for x in interval.split(".."))
    assert float(diff) == 0.0 and low < 0 < high and (up, down) == ("20", "20")


def test_runs_over_different_queries_or_wrong_files_are_refused_in_one_line(tmp_path):
    first = _report(tmp_path / "a.json", {"A": {"1": {"ndcg@30": 0.5}, "2": {"ndcg@30": 0.6}}})
    second = _report(tmp_path / "b.json", {"A": {"1": {"ndcg@30": 0.5}}})
    run = _paired(first, second)
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.strip().count("\n") == 0 and "different queries" in run.stderr
    (tmp_path / "table.txt").write_text("protocol ndcg@10\nA 0.8\n", encoding="utf-8")
    run = _paired(first, tmp_path / "table.txt")
    assert run.returncode != 0 and run.stderr.strip().count("\n") == 0
    assert "not the output of `leian eval --per-query --format json`" in run.stderr


def _full(value: float, n: int = 20) -> dict[str, dict[str, dict[str, float]]]:
    """Every headline metric of every protocol at ``value`` for n queries."""
    metrics = {"A": ["ndcg@30"], "B": ["ndcg@10", "ndcg@30"], "C": ["ndcg@30", "recall@100", "ndcg'@30"]}
    return {p: {str(q): dict.fromkeys(ms, value) for q in range(n)} for p, ms in metrics.items()}


def test_choice_cv_chooses_the_better_run_on_every_fold(tmp_path):
    worse, better = _report(tmp_path / "w.json", _full(0.4)), _report(tmp_path / "b.json", _full(0.6))
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "choice_cv.py"), str(worse), str(better), "--repeats", "3"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert _row(run.stdout, str(better))[-1] == "100.0%" and _row(run.stdout, str(worse))[-1] == "0.0%"
    assert set(_row(run.stdout, "chosen by the folds")) == {"0.6000"}
