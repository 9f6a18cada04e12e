"""Crash proof: kill -9 a real `leian serve` in the middle of writes, restart it, and check that nothing
it acknowledged was lost or damaged.

    python bench/crash.py --index IDX [--kills 20] [--seed 1] [--work DIR] [--keep]

The server runs on a copy of IDX with its own data directory and an editor key for each of two offices.
Each round starts concurrent document writes (POST /v1/documents, one unique id per request),
report creations (POST /v1/reports) and a batch job (POST /v1/batches, json + md) for both offices,
and kills the server with SIGKILL at a random moment 0.5–4 s in. A write is *acknowledged* when its
2xx answer arrived in full before the kill. After the restart:

  * the server is healthy (the index opens) and the acknowledged batches are still known;
  * every acknowledged document is returned by GET /v1/cases/{id} with its office's key, and not to
    the other office (every document written here is private) — nor is any document whose write was
    cut off by the kill;
  * every acknowledged report is returned by GET /v1/reports/{id}, byte for byte as it was answered,
    and `leian verify-report --data-dir` finds it intact and signed by the installation;
  * every file of the batch jobs' reports/ folders (json and md) parses and verifies: no half-written
    report (the temporary files of an interrupted write, ``.NAME.tmp``, are counted, not checked);
  * `leian audit verify` passes, with the chain head printed on every acknowledged report still in the
    log, and every acknowledged write has its audit entry (the service answers only after it is
    committed).

Before the first kill one document and one report per office are written without a race, so every
check has something to check. Prints one line per kill and a summary; exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service import (  # noqa: E402
    Server,
    audit_targets,
    audit_verify,
    copy_index,
    create_key,
    verify_reports,
)

OFFICES = ("east", "west")


@dataclass
class Acked:
    """What the server acknowledged (2xx answered in full) and what it was asked and never answered."""

    docs: dict[str, str] = field(default_factory=dict)  # id -> office
    cut_docs: dict[str, str] = field(default_factory=dict)  # sent, no answer (killed): id -> office
    reports: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (office, body)
    batches: dict[str, str] = field(default_factory=dict)  # id -> office
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Round:
    n: int
    kill_at: float
    new_docs: int = 0
    new_reports: int = 0
    new_batches: int = 0
    restart_s: float = 0.0
    docs_present: int = 0
    docs_missing: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    reports_ok: int = 0
    reports_bad: list[str] = field(default_factory=list)
    batch_files_ok: int = 0
    batch_files_bad: list[str] = field(default_factory=list)
    batch_tmp_files: int = 0
    batches_missing: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    chain_ok: bool = False
    chain_entries: int = 0
    chain_output: str = ""
    load_errors: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        out = [f"answered {x}" for x in self.load_errors]
        out += [f"document {i} missing" for i in self.docs_missing]
        out += [f"document {i} visible to the other office" for i in self.leaks]
        out += [f"report {x}" for x in self.reports_bad]
        out += [f"batch file {x}" for x in self.batch_files_bad]
        out += [f"batch {i} missing" for i in self.batches_missing]
        out += [f"no audit entry for {x}" for x in self.unaudited]
        if not self.chain_ok:
            out.append(f"audit verify failed: {self.chain_output}")
        return out


@dataclass
class Summary:
    rounds: list[Round]
    acked_docs: int
    acked_reports: int
    acked_batches: int
    docs_present: int
    docs_missing: int
    reports_verified: int
    batch_files_verified: int
    chain_entries: int
    chain_ok: bool
    failures: list[str]


def sample_facts() -> list[str]:
    from leian.corpora.sample import sample_queries_path

    rows = [
        json.loads(x) for x in sample_queries_path().read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    return [r["q"] for r in rows]


class Load:
    """The writes of one round: document writers, report makers and one batch per office, until
    the server dies."""

    def __init__(self, srv: Server, keys: dict[str, str], acked: Acked, texts: list[str], facts: list[str],
                 round_no: int, rng: random.Random):  # fmt: skip
        self.srv, self.keys, self.acked, self.texts, self.facts = srv, keys, acked, texts, facts
        self.round_no, self.rng = round_no, rng
        self.counts = {"docs": 0, "reports": 0, "batches": 0}
        self.errors: list[str] = []  # answers that were neither an acknowledgement nor cut off
        self.threads = [
            threading.Thread(target=fn, args=(office,), daemon=True)
            for office in OFFICES
            for fn in (self.write_documents, self.write_reports, self.start_batch)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(120)

    def _post(self, client: httpx.Client, path: str, body: dict) -> httpx.Response | None:
        try:
            return client.post(path, json=body)
        except httpx.TransportError:
            return None  # the server died under it: not acknowledged

    def write_documents(self, office: str) -> None:
        with self.srv.client(self.keys[office], timeout=120) as c:
            for n in range(10**6):
                doc_id = f"crash-r{self.round_no}-{office}-{n}"
                with self.acked.lock:
                    self.acked.cut_docs[doc_id] = office
                r = self._post(c, "/v1/documents", {"id": doc_id, "text": self.texts[n % len(self.texts)]})
                if r is None:
                    return
                if r.status_code != 200 or r.json()["written"] != 1:
                    self.errors.append(f"POST /v1/documents {doc_id}: {r.status_code} {r.text[:300]}")
                    return
                with self.acked.lock:
                    del self.acked.cut_docs[doc_id]
                    self.acked.docs[doc_id] = office
                    self.counts["docs"] += 1

    def write_reports(self, office: str) -> None:
        with self.srv.client(self.keys[office], timeout=120) as c:
            while True:
                body = {"facts": self.rng.choice(self.facts), "top_k": 5, "stats_k": 20}
                r = self._post(c, "/v1/reports", body)
                if r is None:
                    return
                if r.status_code != 201:
                    self.errors.append(f"POST /v1/reports: {r.status_code} {r.text[:300]}")
                    return
                with self.acked.lock:
                    self.acked.reports[r.json()["id"]] = (office, r.content)
                    self.counts["reports"] += 1

    def start_batch(self, office: str) -> None:
        cases = [{"id": f"r{self.round_no}-{i}", "facts": self.rng.choice(self.facts)} for i in range(2)]
        with self.srv.client(self.keys[office], timeout=120) as c:
            r = self._post(
                c, "/v1/batches", {"cases": cases, "formats": ["json", "md"], "top_k": 5, "stats_k": 20}
            )
        if r is None:
            return
        if r.status_code != 202:
            self.errors.append(f"POST /v1/batches: {r.status_code} {r.text[:300]}")
            return
        with self.acked.lock:
            self.acked.batches[r.json()["id"]] = office
            self.counts["batches"] += 1


class Checker:
    def __init__(self, srv: Server, keys: dict[str, str], acked: Acked, work: Path):
        self.srv, self.keys, self.acked = srv, keys, acked
        self.saved = work / "acked-reports"
        self.saved.mkdir(parents=True, exist_ok=True)
        self.verified_reports: set[str] = set()
        self.verified_batch_files: set[Path] = set()

    def check(self, rnd: Round) -> None:
        with self.acked.lock:
            docs = dict(self.acked.docs)
            cut = dict(self.acked.cut_docs)
            reports = dict(self.acked.reports)
            batches = dict(self.acked.batches)
        clients = {o: self.srv.client(k, timeout=120) for o, k in self.keys.items()}
        try:
            other = {OFFICES[0]: OFFICES[1], OFFICES[1]: OFFICES[0]}
            for doc_id, office in docs.items():
                r = clients[office].get(f"/v1/cases/{doc_id}")
                if r.status_code == 200 and r.json().get("id") == doc_id:
                    rnd.docs_present += 1
                else:
                    rnd.docs_missing.append(f"{doc_id} ({r.status_code})")
                if clients[other[office]].get(f"/v1/cases/{doc_id}").status_code != 404:
                    rnd.leaks.append(doc_id)
            for doc_id, office in cut.items():  # may or may not have been written: never to the other office
                if clients[other[office]].get(f"/v1/cases/{doc_id}").status_code != 404:
                    rnd.leaks.append(f"{doc_id} (write cut off by the kill)")
            new_files = []
            for rid, (office, body) in reports.items():
                r = clients[office].get(f"/v1/reports/{rid}")
                if r.status_code != 200:
                    rnd.reports_bad.append(f"{rid}: GET answered {r.status_code}")
                    continue
                if r.content != body:
                    rnd.reports_bad.append(f"{rid}: stored bytes differ from the acknowledged answer")
                    continue
                if rid not in self.verified_reports:
                    path = self.saved / f"{rid}.json"
                    path.write_bytes(r.content)
                    new_files.append(path)
                else:
                    rnd.reports_ok += 1
            ok, bad = verify_reports(self.srv.data_dir, new_files)
            rnd.reports_ok += ok
            rnd.reports_bad += bad
            if not bad:
                self.verified_reports |= {p.stem for p in new_files}
            for job_id, office in batches.items():
                if clients[office].get(f"/v1/batches/{job_id}").status_code != 200:
                    rnd.batches_missing.append(job_id)
        finally:
            for c in clients.values():
                c.close()
        self.check_batch_files(rnd)
        self.check_audit(rnd, docs, reports, batches)

    def check_batch_files(self, rnd: Round) -> None:
        files, new = [], []
        for d in sorted((self.srv.data_dir / "batches").glob("*/out/reports")):
            for f in sorted(d.iterdir()):
                if f.name.startswith("."):
                    rnd.batch_tmp_files += f.name.endswith(".tmp")
                    continue
                files.append(f)
        for f in files:
            if f.suffix == ".json":
                try:
                    json.loads(f.read_bytes())
                except ValueError:
                    rnd.batch_files_bad.append(f"{f}: not JSON (half-written?)")
                    continue
            if f not in self.verified_batch_files:
                new.append(f)
        ok, bad = verify_reports(self.srv.data_dir, new)
        rnd.batch_files_ok = len(files) - len(new) + ok
        rnd.batch_files_bad += bad
        if not bad:
            self.verified_batch_files |= set(new)

    def check_audit(self, rnd: Round, docs: dict, reports: dict, batches: dict) -> None:
        res = audit_verify(self.srv.data_dir, sorted(self.saved.glob("*.json")))
        rnd.chain_ok, rnd.chain_entries, rnd.chain_output = res.ok, res.entries, res.output
        targets = audit_targets(self.srv.data_dir)
        want = [("add_documents", d) for d in docs] + [("create_report", r) for r in reports]
        want += [("create_batch", b) for b in batches]
        rnd.unaudited = [f"{action} {t}" for action, t in want if t not in targets.get(action, set())]


def run(index: Path, kills: int = 20, seed: int = 1, work: Path | None = None, log=print) -> Summary:
    rng = random.Random(seed)
    work = Path(work or tempfile.mkdtemp(prefix="leian-crash-"))
    data = work / "data"
    srv = Server(copy_index(index, work / "index"), data)
    keys = {o: create_key(data, o, "editor", rpm=0, max_batches=0) for o in OFFICES}
    facts = sample_facts()
    acked = Acked()
    log(f"crash: work dir {work}; starting the server …")
    srv.start()
    rounds: list[Round] = []
    try:
        with srv.client(keys[OFFICES[0]]) as c:
            ids = [h["id"] for h in c.post("/v1/search", json={"facts": facts[0], "top_k": 3}).json()["hits"]]
            texts = [c.get(f"/v1/cases/{i}").json()["text"] for i in ids]
        for office in OFFICES:  # written without a race: every check has something to check
            with srv.client(keys[office]) as c:
                doc_id = f"crash-r0-{office}"
                assert c.post("/v1/documents", json={"id": doc_id, "text": texts[0]}).status_code == 200
                acked.docs[doc_id] = office
                r = c.post("/v1/reports", json={"facts": facts[1], "top_k": 5, "stats_k": 20})
                assert r.status_code == 201, r.text
                acked.reports[r.json()["id"]] = (office, r.content)
        checker = Checker(srv, keys, acked, work)
        log(f"{'kill':>4} {'at s':>5} {'+docs':>5} {'+reps':>5} {'+bat':>4} {'restart s':>9} "
            f"{'docs ok/acked':>13} {'reports ok':>10} {'batch files':>11} {'tmp':>3} {'chain':>12}  result")  # fmt: skip
        for n in range(1, kills + 1):
            rnd = Round(n=n, kill_at=rng.uniform(0.5, 4.0))
            load = Load(srv, keys, acked, texts, facts, n, rng)
            load.start()
            time.sleep(rnd.kill_at)
            srv.kill()
            load.join()
            rnd.new_docs, rnd.new_reports, rnd.new_batches = (
                load.counts[k] for k in ("docs", "reports", "batches")
            )
            rnd.load_errors = load.errors
            rnd.restart_s = srv.start()
            checker.check(rnd)
            rounds.append(rnd)
            verdict = "ok" if not rnd.failures else "FAIL: " + "; ".join(rnd.failures[:5])
            log(f"{n:>4} {rnd.kill_at:>5.2f} {rnd.new_docs:>5} {rnd.new_reports:>5} {rnd.new_batches:>4} "
                f"{rnd.restart_s:>9.1f} {rnd.docs_present:>6}/{len(acked.docs):<6} {rnd.reports_ok:>10} "
                f"{rnd.batch_files_ok:>11} {rnd.batch_tmp_files:>3} "
                f"{(str(rnd.chain_entries) + (' ok' if rnd.chain_ok else ' BAD')):>12}  {verdict}")  # fmt: skip
    finally:
        srv.stop()
    last = rounds[-1] if rounds else Round(n=0, kill_at=0)
    failures = [f"kill {r.n}: {f}" for r in rounds for f in r.failures]
    return Summary(
        rounds=rounds,
        acked_docs=len(acked.docs),
        acked_reports=len(acked.reports),
        acked_batches=len(acked.batches),
        docs_present=last.docs_present,
        docs_missing=len(last.docs_missing),
        reports_verified=last.reports_ok,
        batch_files_verified=last.batch_files_ok,
        chain_entries=last.chain_entries,
        chain_ok=all(r.chain_ok for r in rounds),
        failures=failures,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--index", type=Path, required=True, help="an embedded index (copied; the copy is written to)"
    )
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="for the kill moments and the facts chosen")
    ap.add_argument("--work", type=Path, help="working directory (default: a new temporary one)")
    args = ap.parse_args()
    t0 = time.monotonic()
    s = run(args.index, args.kills, args.seed, args.work)
    print()
    print(f"kills                 {len(s.rounds)}")
    print(
        f"acknowledged writes   {s.acked_docs} documents, {s.acked_reports} reports, {s.acked_batches} batches"
    )
    print(f"documents             {s.docs_present} present, {s.docs_missing} missing")
    print(
        f"reports               {s.reports_verified} of {s.acked_reports} returned byte for byte and verified"
    )
    print(f"batch report files    {s.batch_files_verified} parse and verify")
    print(
        f"audit chain           {s.chain_entries} entries, {'intact after every kill' if s.chain_ok else 'BROKEN'}"
    )
    print(f"time                  {time.monotonic() - t0:.0f} s")
    if s.failures:
        print(f"\nFAILED ({len(s.failures)}):", *s.failures[:50], sep="\n  ")
        return 1
    print("\nOK: nothing acknowledged was lost or damaged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
