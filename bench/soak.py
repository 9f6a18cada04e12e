"""Soak: a real `leian serve` under a mixed load from many concurrent clients for minutes, then its
audit chain checked.

    python bench/soak.py --index IDX [--minutes 10] [--clients 16] [--seed 1] [--work DIR]

The server runs on a copy of IDX with its own data directory. Two offices, each with an editor and
a reader key (6,000 requests a minute each: only the deliberate bursts below meet a limit). Each
client is a thread with its own connection and a key (editor and reader, office by office in turn)
and sends, with no pause between requests:

    search      POST /v1/search (a LeCaRD query of the sample)            35 %
    report      POST /v1/reports                                            15 %
    download    GET /v1/reports/{id}?format=md|docx (its office's report) 20 %
                (counted as get_md and get_docx)
    doc_write   POST /v1/documents (a judgment, a new id; editors)        10 %
    doc_delete  DELETE /v1/documents/{id} (one it wrote; editors)          5 %
    batch       POST /v1/batches (1–2 cases, json)                          5 %
    batch_get   GET /v1/batches/{id}, and its zip when done (batch_zip)    10 %

(readers send a search instead of a document write or delete). Intended 429s: once a minute a
burst of 80 requests with a key of 60 a minute (``burst``), and POST /v1/batches beyond a key's 2
running jobs (``too_many_batches``); each must carry Retry-After. Anything else that is not a 2xx —
another status, a 429 of the other keys, a connection error — is an error.

Printed at the end: requests, errors and 429s per kind, latency p50/p95/p99, the server's resident
memory sampled every 10 s (first, after one minute, last, max; "flat": last <= 1.2 x the value after
the first minute) and `leian audit verify` after the server stopped. Exit status 1 on any error, a
memory that is not flat or an audit chain that does not verify.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service import Server, audit_verify, copy_index, create_key, percentile, verify_reports  # noqa: E402

OFFICES = ("north", "south")
MIX = [("search", 35), ("report", 15), ("download", 20), ("doc_write", 10), ("doc_delete", 5), ("batch", 5),
       ("batch_get", 10)]  # fmt: skip
KINDS = [
    "search",
    "report",
    "get_md",
    "get_docx",
    "doc_write",
    "doc_delete",
    "batch",
    "batch_get",
    "batch_zip",
    "burst",
]
BURST_SIZE, BURST_RPM = 80, 60


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    limited: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # intended 429s
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, outcome: str, detail: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            {"ok": self.ok, "429": self.limited, "error": self.errors}[outcome][kind] += 1
            if outcome == "error" and len(self.examples) < 20:
                self.examples.append(f"{kind}: {detail}")


class Shared:
    """What the clients of an office made and others may fetch."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reports: dict[str, list[str]] = {o: [] for o in OFFICES}


class Client(threading.Thread):
    def __init__(self, n: int, srv: Server, office: str, role: str, key: str, stats: Stats, shared: Shared,
                 facts: list[str], texts: list[str], stop: threading.Event, seed: int):  # fmt: skip
        super().__init__(daemon=True, name=f"client-{n}")
        self.n, self.srv, self.office, self.role, self.key = n, srv, office, role, key
        self.stats, self.shared, self.facts, self.texts, self.stop = stats, shared, facts, texts, stop
        self.rng = random.Random(seed * 1000 + n)
        self.docs: list[str] = []
        self.batches: list[str] = []
        self.serial = 0

    def run(self) -> None:
        kinds, weights = zip(*MIX, strict=True)
        with self.srv.client(self.key, timeout=600) as c:
            while not self.stop.is_set():
                kind = self.rng.choices(kinds, weights)[0]
                if self.role == "reader" and kind in ("doc_write", "doc_delete"):
                    kind = "search"
                getattr(self, kind)(c)

    def call(self, c: httpx.Client, kind: str, method: str, url: str, ok: int, *, json_body=None,
             params=None, may_limit: str | None = None) -> httpx.Response | None:  # fmt: skip
        t0 = time.perf_counter()
        try:
            r = c.request(method, url, json=json_body, params=params)
        except httpx.HTTPError as e:
            self.stats.record(kind, time.perf_counter() - t0, "error", f"{type(e).__name__}: {e}")
            return None
        dt = time.perf_counter() - t0
        if r.status_code == ok:
            self.stats.record(kind, dt, "ok")
            return r
        code = _code(r)
        if r.status_code == 429 and code == may_limit and r.headers.get("retry-after"):
            self.stats.record(kind, dt, "429")
        else:
            self.stats.record(kind, dt, "error", f"{method} {url} -> {r.status_code} {r.text[:200]}")
        return None

    def search(self, c):
        self.call(
            c,
            "search",
            "POST",
            "/v1/search",
            200,
            json_body={"facts": self.rng.choice(self.facts), "top_k": 10},
        )

    def report(self, c):
        r = self.call(c, "report", "POST", "/v1/reports", 201,
                      json_body={"facts": self.rng.choice(self.facts), "top_k": 10})  # fmt: skip
        if r is not None:
            with self.shared.lock:
                self.shared.reports[self.office].append(r.json()["id"])

    def download(self, c):
        with self.shared.lock:
            ids = list(self.shared.reports[self.office][-50:])
        if not ids:
            return self.report(c)
        fmt = self.rng.choice(["md", "docx"])
        self.call(c, f"get_{fmt}", "GET", f"/v1/reports/{self.rng.choice(ids)}", 200, params={"format": fmt})

    def doc_write(self, c):
        self.serial += 1
        doc_id = f"soak-{self.n}-{self.serial}"
        body = {"id": doc_id, "text": self.rng.choice(self.texts)}
        if self.call(c, "doc_write", "POST", "/v1/documents", 200, json_body=body) is not None:
            self.docs.append(doc_id)

    def doc_delete(self, c):
        if not self.docs:
            return self.doc_write(c)
        doc_id = self.docs.pop(self.rng.randrange(len(self.docs)))
        self.call(c, "doc_delete", "DELETE", f"/v1/documents/{doc_id}", 200)

    def batch(self, c):
        cases = [{"id": f"s{i}", "facts": self.rng.choice(self.facts)} for i in range(self.rng.randint(1, 2))]
        body = {"cases": cases, "formats": ["json"], "top_k": 5, "stats_k": 20}
        r = self.call(c, "batch", "POST", "/v1/batches", 202, json_body=body, may_limit="too_many_batches")
        if r is not None:
            self.batches.append(r.json()["id"])

    def batch_get(self, c):
        if not self.batches:
            return self.search(c)
        job_id = self.rng.choice(self.batches)
        r = self.call(c, "batch_get", "GET", f"/v1/batches/{job_id}", 200)
        if r is not None and r.json()["status"] in ("done", "failed"):
            self.batches.remove(job_id)
            self.call(c, "batch_zip", "GET", f"/v1/batches/{job_id}/download", 200)


def burster(srv: Server, key: str, report_id: str, stats: Stats, stop: threading.Event) -> None:
    """Once a minute, BURST_SIZE requests as fast as one connection goes, with a key of BURST_RPM."""
    with srv.client(key, timeout=600) as c:
        while not stop.wait(60):
            for _ in range(BURST_SIZE):
                t0 = time.perf_counter()
                try:
                    r = c.get(f"/v1/reports/{report_id}")
                except httpx.HTTPError as e:
                    stats.record("burst", time.perf_counter() - t0, "error", str(e))
                    continue
                dt = time.perf_counter() - t0
                if r.status_code == 200:
                    stats.record("burst", dt, "ok")
                elif (
                    r.status_code == 429 and _code(r) == "too_many_requests" and r.headers.get("retry-after")
                ):
                    stats.record("burst", dt, "429")
                else:
                    stats.record("burst", dt, "error", f"{r.status_code} {r.text[:200]}")


def _code(r: httpx.Response) -> str | None:
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--index", type=Path, required=True, help="an embedded index (copied; the copy is written to)"
    )
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, help="working directory (default: a new temporary one)")
    args = ap.parse_args()

    from leian.corpora.sample import sample_queries_path

    facts = [
        json.loads(x)["q"]
        for x in sample_queries_path().read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    work = Path(args.work or tempfile.mkdtemp(prefix="leian-soak-"))
    data = work / "data"
    srv = Server(copy_index(args.index, work / "index"), data)
    keys = {(o, r): create_key(data, o, r, rpm=6000) for o in OFFICES for r in ("editor", "reader")}
    burst_key = create_key(data, OFFICES[0], "reader", rpm=BURST_RPM)
    print(f"soak: work dir {work}; starting the server …", flush=True)
    srv.start()
    stats, shared, stop = Stats(), Shared(), threading.Event()
    with srv.client(keys[(OFFICES[0], "reader")]) as c:
        hits = c.post("/v1/search", json={"facts": facts[0], "top_k": 5}).json()["hits"]
        texts = [c.get(f"/v1/cases/{h['id']}").json()["text"] for h in hits]
        first = c.post("/v1/reports", json={"facts": facts[1], "top_k": 5})
        assert first.status_code == 201, first.text
    shared.reports[OFFICES[0]].append(first.json()["id"])

    rss: list[tuple[float, float]] = []
    t_start = time.monotonic()
    clients = [
        Client(i, srv, OFFICES[i % 2], ("editor", "reader")[(i // 2) % 2], keys[(OFFICES[i % 2], ("editor", "reader")[(i // 2) % 2])],
               stats, shared, facts, texts, stop, args.seed)
        for i in range(args.clients)
    ]  # fmt: skip
    threads = [*clients, threading.Thread(target=burster, args=(srv, burst_key, first.json()["id"], stats, stop),
                                          daemon=True)]  # fmt: skip
    for t in threads:
        t.start()
    deadline = t_start + args.minutes * 60
    while time.monotonic() < deadline:
        m = srv.rss_mib()
        if m is not None:
            rss.append((time.monotonic() - t_start, m))
        done = sum(stats.ok.values()) + sum(stats.limited.values()) + sum(stats.errors.values())
        print(f"  {time.monotonic() - t_start:6.0f} s  {done:6d} requests  {sum(stats.errors.values()):3d} errors  "
              f"RSS {m or 0:6.0f} MiB", flush=True)  # fmt: skip
        time.sleep(min(10, max(0, deadline - time.monotonic())))
    stop.set()
    for t in threads:
        t.join(600)
    elapsed = time.monotonic() - t_start
    if (m := srv.rss_mib()) is not None:
        rss.append((elapsed, m))
    with srv.client(keys[(OFFICES[0], "reader")]) as c:  # a sample of the reports made, checked as issued
        sample = shared.reports[OFFICES[0]][-20:]
        saved = work / "sample-reports"
        saved.mkdir(exist_ok=True)
        for rid in sample:
            (saved / f"{rid}.json").write_bytes(c.get(f"/v1/reports/{rid}").content)
    srv.stop()
    audit = audit_verify(data, sorted(saved.glob("*.json")))
    reports_ok, reports_bad = verify_reports(data, sorted(saved.glob("*.json")))

    print(f"\nsoak: {args.clients} clients, {elapsed / 60:.1f} min, index {args.index}")
    print(
        f"{'kind':<11} {'requests':>8} {'2xx':>7} {'429':>5} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    total = {"n": 0, "ok": 0, "429": 0, "err": 0}
    for kind in KINDS:
        lat = stats.latency.get(kind, [])
        if not lat:
            continue
        n, ok, lim, err = len(lat), stats.ok[kind], stats.limited[kind], stats.errors[kind]
        total = {
            "n": total["n"] + n,
            "ok": total["ok"] + ok,
            "429": total["429"] + lim,
            "err": total["err"] + err,
        }
        print(f"{kind:<11} {n:>8} {ok:>7} {lim:>5} {err:>6} {percentile(lat, 50) * 1000:>8.0f} "
              f"{percentile(lat, 95) * 1000:>8.0f} {percentile(lat, 99) * 1000:>8.0f}")  # fmt: skip
    print(f"{'all':<11} {total['n']:>8} {total['ok']:>7} {total['429']:>5} {total['err']:>6}   "
          f"({total['n'] / elapsed:.1f} requests/s)")  # fmt: skip
    after_1min = next((v for t, v in rss if t >= 60), rss[-1][1] if rss else None)
    flat = bool(rss) and rss[-1][1] <= 1.2 * after_1min
    if rss:
        print(f"server RSS MiB: first {rss[0][1]:.0f}, after 1 min {after_1min:.0f}, last {rss[-1][1]:.0f}, "
              f"max {max(v for _, v in rss):.0f} ({len(rss)} samples) -> {'flat' if flat else 'NOT flat'}")  # fmt: skip
    print(
        f"audit verify: {'OK' if audit.ok else 'FAILED'} — {audit.output.splitlines()[-1] if audit.output else ''}"
    )
    print(
        f"reports sampled: {reports_ok}/{len(sample)} verify"
        + (f"; {reports_bad[:3]}" if reports_bad else "")
    )
    for e in stats.examples:
        print("  error:", e)
    failed = total["err"] > 0 or not flat or not audit.ok or reports_bad
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
