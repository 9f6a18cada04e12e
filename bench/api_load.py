"""Load on the HTTP API: latency percentiles and throughput of /v1/search and /v1/reports with 1, 4
and 16 concurrent clients, and batch throughput (reports per minute), against a real `leian serve`
subprocess on loopback.

    python bench/api_load.py                          # builds the bundled sample's index in a temp dir
    python bench/api_load.py --index DIR              # e.g. an index of the whole LeCaRD corpus
    python bench/api_load.py --index DIR --queries ../shared/data/lecard/queries.dev.jsonl

Each (endpoint, concurrency) cell runs for at most --seconds or --requests, whichever comes first.
Numbers are printed, never asserted; they depend on the machine (note its CPU count with them).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

KEY = "bench-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_sample_index(dest: Path) -> Path:
    from leian.corpora.sample import sample_path
    from leian.retrieval.indexing import IndexJob

    print(f"building the sample index in {dest} …", file=sys.stderr)
    summary = IndexJob(
        corpus=str(sample_path()), index=str(dest), corpus_name="leian sample (LeCaRD)"
    ).build()
    print(f"  {summary.indexed} cases in {summary.seconds:.1f}s", file=sys.stderr)
    return dest


def load_queries(path: Path | None) -> list[str]:
    if path is None:
        from leian.corpora.sample import sample_queries_path

        path = sample_queries_path()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r.get("facts") or r["q"] for r in rows]


def start_server(index: Path, data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LEIAN_API_KEYS": KEY, "LEIAN_PROGRESS": "0"}
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "leian.api.cli", "serve", "--index", str(index), "--port", str(port),
         "--data-dir", str(data_dir), "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 300:
        if proc.poll() is not None:
            sys.exit(f"leian serve exited: {(data_dir / 'server.log').read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                print(f"server ready in {time.perf_counter() - t0:.1f}s at {url}", file=sys.stderr)
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("leian serve did not become healthy")


def run_cell(
    url: str,
    path: str,
    bodies: list[dict],
    clients: int,
    seconds: float,
    max_requests: int,
    fresh: bool = True,
) -> dict:
    """``clients`` threads, each with its own connection, sending requests back to back. With ``fresh``
    every request's facts get a unique suffix, so no cache (query embeddings) answers for the model:
    each request costs what a new case costs."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    tag = os.urandom(4).hex()

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=600) as c:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter)
                if i >= max_requests:
                    return
                t = time.perf_counter()
                body = dict(bodies[i % len(bodies)])
                if fresh:
                    body["facts"] += f"（{path}-{clients}-{i}-{tag}）"
                r = c.post(path, json=body)
                dt = time.perf_counter() - t
                with lock:
                    if r.status_code in (200, 201):
                        latencies.append(dt)
                    else:
                        errors += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    a = np.array(latencies) * 1000
    return {
        "endpoint": path,
        "clients": clients,
        "n": len(a),
        "errors": errors,
        "p50_ms": float(np.percentile(a, 50)) if len(a) else float("nan"),
        "p95_ms": float(np.percentile(a, 95)) if len(a) else float("nan"),
        "rps": len(a) / wall if wall else 0.0,
    }


def batch_throughput(url: str, facts: list[str], n: int, formats: list[str]) -> dict:
    tag = os.urandom(4).hex()  # fresh texts, as in run_cell: no cached query embeddings
    cases = [{"id": f"bench-{i}", "facts": f"{facts[i % len(facts)]}（batch-{i}-{tag}）"} for i in range(n)]
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=600) as c:
        t0 = time.perf_counter()
        job = c.post("/v1/batches", json={"cases": cases, "formats": formats, "top_k": 10}).json()
        while job["status"] not in ("done", "failed"):
            time.sleep(0.5)
            job = c.get(f"/v1/batches/{job['id']}").json()
        wall = time.perf_counter() - t0
    return {"cases": n, "formats": ",".join(formats), "ok": job["done"], "failed": job["failed"],
            "seconds": wall, "reports_per_min": job["done"] / wall * 60}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an embedded index (default: build the bundled sample)")
    ap.add_argument("--queries", type=Path, help="JSONL with facts or q (default: the sample queries)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=20.0, help="per cell")
    ap.add_argument("--requests", type=int, default=200, help="per cell")
    ap.add_argument("--batch", type=int, default=20, help="cases in the batch-throughput run (0: skip)")
    ap.add_argument("--formats", default="json,docx")
    ap.add_argument(
        "--repeat-queries",
        action="store_true",
        help="send the queries verbatim (cache hits after the first round) instead of fresh texts",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="leian-bench-") as tmp:
        tmp = Path(tmp)
        index = args.index or build_sample_index(tmp / "index")
        facts = load_queries(args.queries)
        proc, url = start_server(index, tmp)
        try:
            stats = httpx.get(url + "/healthz").json()
            print(f"index: {index} ({stats['doc_count']} cases, {stats['backend']}); "
                  f"{len(facts)} queries; {os.cpu_count()} CPUs")  # fmt: skip
            search_bodies = [{"facts": f, "top_k": 10} for f in facts]
            report_bodies = [{"facts": f, "top_k": 10} for f in facts]
            # Warm-up: the first requests load lazily-built state (idf tables, model graph).
            run_cell(url, "/v1/search", search_bodies, 1, 30, 2)
            print(
                f"{'endpoint':<12} {'clients':>7} {'n':>5} {'err':>4} {'p50 ms':>9} {'p95 ms':>9} {'req/s':>7}"
            )
            for path, bodies in (("/v1/search", search_bodies), ("/v1/reports", report_bodies)):
                for clients in [int(c) for c in args.clients.split(",")]:
                    r = run_cell(
                        url, path, bodies, clients, args.seconds, args.requests, not args.repeat_queries
                    )
                    print(f"{r['endpoint']:<12} {r['clients']:>7} {r['n']:>5} {r['errors']:>4} "
                          f"{r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} {r['rps']:>7.2f}", flush=True)  # fmt: skip
            if args.batch:
                b = batch_throughput(url, facts, args.batch, args.formats.split(","))
                print(f"batch: {b['ok']}/{b['cases']} reports ({b['formats']}), {b['failed']} failed, "
                      f"{b['seconds']:.1f}s -> {b['reports_per_min']:.1f} reports/min")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
