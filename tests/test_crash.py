"""bench/crash.py with 3 kills: `leian serve` (on a copy of the sample index) killed with SIGKILL in the
middle of concurrent document writes, report creations and batch jobs, then restarted; nothing it
acknowledged is lost or damaged, nothing private leaks to the other office, the audit chain holds.

The kill moments vary with the machine's speed, so what is asserted are the invariants, never counts
of a particular round."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # about a minute; part of the normal suite


@pytest.fixture(scope="module")
def crash():
    sys.path.insert(0, str(ROOT / "bench"))  # crash.py imports its sibling _service.py
    try:
        spec = importlib.util.spec_from_file_location("crash", ROOT / "bench" / "crash.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["crash"] = mod  # its dataclasses look their module up there
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return mod


def test_nothing_acknowledged_is_lost_across_kill_9(crash, sample_index, tmp_path):
    lines: list[str] = []
    s = crash.run(sample_index, kills=3, seed=7, work=tmp_path / "crash", log=lines.append)
    report = "\n".join(lines)
    assert not s.failures, report + "\n" + "\n".join(s.failures)
    assert len(s.rounds) == 3
    # one document and one report per office are written before the first kill, so these are never 0
    assert s.acked_docs >= 2 and s.acked_reports >= 2, report
    assert s.docs_present == s.acked_docs and s.docs_missing == 0, report
    assert s.reports_verified == s.acked_reports, report
    for r in s.rounds:
        assert r.restart_s > 0 and r.chain_ok and not r.leaks and not r.unaudited, report
        assert r.docs_present + len(r.docs_missing) >= 2
    assert s.chain_ok and s.chain_entries >= s.acked_docs + s.acked_reports + s.acked_batches, report
    # the batch jobs' report files that exist all parsed and verified (none half-written)
    assert all(not r.batch_files_bad for r in s.rounds), report
