"""The audit log and signed reports against tampering: every edit, deletion, reordering or rewrite of
the log, and every change to a signed report, is caught — on a real SQLite file, with the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from leian.api.audit import GENESIS, AuditLog, verify_chain
from leian.api.signing import Signer, installation_signer, installation_verifier
from leian.retrieval.models import Query
from leian.retrieval.report import build_report, content_hash, issue, load_report, render, verify
from leian.retrieval.report.formats import ReportFormat
from leian.retrieval.search import open_searcher


@pytest.fixture
def log(tmp_path):
    signer = installation_signer(tmp_path)
    audit = AuditLog(tmp_path / "audit.sqlite", signer)
    for i in range(6):
        audit.append("search", key_id=f"k{i % 2}", office="甲" if i % 2 else "乙", status=200,
                     input_sha256=f"{i:064x}", output_sha256=f"{i + 100:064x}", detail={"n": i})  # fmt: skip
    yield audit
    audit.close()


def _db(log: AuditLog) -> sqlite3.Connection:
    return sqlite3.connect(log.path, isolation_level=None)


def _check(log: AuditLog, heads=()):
    return verify_chain(log.iter_all(), installation_verifier(log.path.parent), heads=heads)


def _cli_verify(tmp_path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leian.api.cli", "audit", "verify", "--data-dir", str(tmp_path), *more],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_an_untouched_log_verifies(log, tmp_path):
    res = _check(log)
    assert res.ok and res.entries == 6 and res.head == log.head() != GENESIS
    p = _cli_verify(tmp_path)
    assert p.returncode == 0 and "6 entries" in p.stdout


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE audit SET office = '丙' WHERE seq = 3", "entry 3: its content does not match its hash"),
        ("UPDATE audit SET output_sha256 = 'ff' WHERE seq = 6", "entry 6: its content does not match"),
        ("UPDATE audit SET detail = '{\"n\": 99}' WHERE seq = 1", "entry 1: its content does not match"),
        ("DELETE FROM audit WHERE seq = 4", "entry 5: expected number 4"),
        ("DELETE FROM audit WHERE seq = 1", "entry 2: expected number 1"),
    ],
    ids=["edit-office", "edit-output", "edit-detail", "delete-middle", "delete-first"],
)
def test_edits_and_deletions_are_found(log, tmp_path, tamper, found):
    _db(log).execute(tamper)
    res = _check(log)
    assert not res.ok and any(found in p for p in res.problems), res.problems
    p = _cli_verify(tmp_path)
    assert p.returncode == 1 and found in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_reordering_is_found(log):
    db = _db(log)
    rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    db.execute("DELETE FROM audit")
    order = [0, 1, 3, 2, 4, 5]  # entries 3 and 4 swapped in the file, each with its own number and hash
    cols = len(rows[0])
    db.execute("DROP TABLE audit")
    db.execute(
        "CREATE TABLE audit (seq INTEGER, at TEXT, key_id TEXT, office TEXT, action TEXT, target TEXT, status INTEGER,"
        " input_sha256 TEXT, output_sha256 TEXT, detail TEXT, prev TEXT, hash TEXT, signature TEXT)"
    )
    db.executemany(f"INSERT INTO audit VALUES ({','.join('?' * cols)})", [rows[i] for i in order])
    res = _check(log)
    assert not res.ok and any("entry 4" in p and "reordered" in p for p in res.problems), res.problems


def test_a_rewritten_chain_fails_on_its_signatures(log):
    """A forger edits an entry and recomputes every hash after it: without the installation's key the
    signatures give it away."""
    forger = Signer(Ed25519PrivateKey.generate())
    entries = list(log.iter_all())
    entries[2].office = "丙"
    prev = entries[1].hash
    db = _db(log)
    for e in entries[2:]:
        e.prev = prev
        e.hash = e.computed_hash()
        e.signature = forger.sign(e.hash.encode())
        db.execute("UPDATE audit SET office=?, prev=?, hash=?, signature=? WHERE seq=?",
                   (e.office, e.prev, e.hash, e.signature, e.seq))  # fmt: skip
        prev = e.hash
    res = _check(log)
    assert not res.ok and any("entry 3: its signature is not this installation's" in p for p in res.problems)


def test_cutting_off_the_newest_entries_is_found_by_a_reports_head(log, tmp_path):
    head = log.head()
    log.append("create_report", key_id="k1", office="甲", target="R1")
    _db(log).execute("DELETE FROM audit WHERE seq >= 6")  # the report's own entry and the one before
    assert _check(log).ok  # a shorter chain is a chain…
    res = _check(log, heads=[head])
    assert not res.ok and res.heads_missing == [head]  # …but not the one the report was issued at
    p = _cli_verify(tmp_path, "--head", head)
    assert p.returncode == 1 and "not in the log" in p.stderr


def test_concurrent_appends_keep_one_chain(tmp_path):
    audit = AuditLog(tmp_path / "audit.sqlite", installation_signer(tmp_path))
    other = AuditLog(tmp_path / "audit.sqlite", installation_signer(tmp_path))  # a second process's view
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: (audit if i % 2 else other).append("search", target=str(i)), range(200)))
    res = _check(audit)
    assert res.ok and res.entries == 200
    audit.close()
    other.close()


# ---------------------------------------------------------------- signed reports


def test_signed_report_verdicts(sample_index, tmp_path):
    searcher = open_searcher(index=str(sample_index))
    try:
        report = build_report(
            searcher, Query(facts="被告人张某酒后驾驶小型轿车，血液酒精含量为150mg/100ml。"), top_k=3
        )
    finally:
        searcher.close()
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    ours = installation_signer(here)
    issued = issue(report, "a" * 64, ours)
    data = issued.data()
    verifier = installation_verifier(here)
    assert verify(data, verifier).verdict == "intact"
    assert verify(data).verdict == "unsigned"  # no key to check against: the hash alone

    edited = json.loads(json.dumps(data))
    edited["pending"]["facts"] = edited["pending"]["facts"] + "另查明……"
    assert verify(edited, verifier).verdict == "altered"
    edited["sha256"] = content_hash(edited)  # the forger recomputes the hash
    res = verify(edited, verifier)
    assert res.verdict == "altered" and "recomputed" in res.message

    foreign = issue(report, "a" * 64, installation_signer(elsewhere)).data()
    res = verify(foreign, verifier)
    assert res.verdict == "not_issued" and "signed with key" in res.message
    assert verify(report.data(), verifier).verdict == "not_issued"  # a command-line report: unsigned

    # the same in a rendered copy, through the CLI (exit 1 altered, 3 not issued)
    files = {
        "ok.docx": render(issued, ReportFormat.DOCX),
        "forged.json": json.dumps(edited, ensure_ascii=False).encode(),
        "foreign.md": render(load_report(foreign), ReportFormat.MD),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)

    def cli(name):
        return subprocess.run([sys.executable, "-m", "leian.api.cli", "verify-report", str(tmp_path / name),
                               "--data-dir", str(here)], capture_output=True, text=True, timeout=120)  # fmt: skip

    ok, forged, foreign_md = cli("ok.docx"), cli("forged.json"), cli("foreign.md")
    assert ok.returncode == 0 and ok.stdout.strip().endswith("intact"), ok.stderr
    assert forged.returncode == 1 and "ALTERED" in forged.stderr
    assert foreign_md.returncode == 3 and "NOT ISSUED" in foreign_md.stderr
    # the issued report prints its chain head and who signed it
    md = render(issued, ReportFormat.MD).decode()
    assert "审计日志链头：" + "a" * 64 in md and ours.fingerprint in md
