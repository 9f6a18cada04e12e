"""A real `leian serve` for the bench scripts that load it, kill it and check it (soak.py, crash.py):
a copy of an index, keys made with `leian keys create`, the server process (start, kill -9,
restart), its memory, and the service's own checks (`leian audit verify`, `leian verify-report`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "leian.api.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leian(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEIAN_PROGRESS": "0"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def copy_index(index: Path, dest: Path) -> Path:
    """A copy of an embedded index directory (documents are written to it)."""
    if not (index / "CURRENT").exists():
        raise SystemExit(f"{index} is not an embedded leian index (no CURRENT file)")
    shutil.copytree(index, dest)
    return dest


def create_key(data_dir: Path, office: str, role: str, *, rpm: int | None = None,
               max_batches: int | None = None) -> str:  # fmt: skip
    extra = [*(["--rpm", str(rpm)] if rpm is not None else []),
             *(["--max-batches", str(max_batches)] if max_batches is not None else [])]  # fmt: skip
    p = leian("keys", "create", "--data-dir", str(data_dir), "--office", office, "--role", role, *extra)
    if p.returncode != 0:
        raise SystemExit(f"leian keys create failed: {p.stderr.strip()}")
    return p.stdout.strip().splitlines()[-1]


class Server:
    """`leian serve` on loopback in a subprocess (its own process, so kill -9 hits the server itself).
    ``LEIAN_API_KEYS`` is removed from its environment: only the keys of ``data_dir`` are accepted."""

    def __init__(self, index: Path, data_dir: Path, env: dict[str, str] | None = None):
        self.index = index
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("LEIAN_API_KEYS", "LEIAN_CONFIG")}
        self.env.update({"LEIAN_PROGRESS": "0", **(env or {})})
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 300) -> float:
        """Start and wait until /healthz answers 200; the seconds it took."""
        t0 = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - the child holds it
        cmd = [*CLI, "serve", "--index", str(self.index), "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--log-level", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.starts += 1
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"leian serve exited with {self.proc.returncode}; see {self.data_dir}/server.log"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"leian serve did not become healthy in {timeout:.0f}s; see {self.data_dir}/server.log"
        )

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no cleanup."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_mib(self) -> float | None:
        """Resident memory of the server process (psutil when installed, else /proc/PID/status)."""
        try:
            import psutil

            return psutil.Process(self.pid).memory_info().rss / 2**20
        except ImportError:
            pass
        except Exception:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return int(m.group(1)) / 1024 if m else None

    def client(self, key: str | None, timeout: float = 300) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=timeout)


@dataclass
class AuditCheck:
    ok: bool
    entries: int
    output: str


def audit_verify(data_dir: Path, reports: tuple[Path, ...] | list[Path] = ()) -> AuditCheck:
    """`leian audit verify` (with each report's chain head, ``--report``)."""
    args = ["audit", "verify", "--data-dir", str(data_dir)]
    for r in reports:
        args += ["--report", str(r)]
    p = leian(*args)
    out = (p.stdout + p.stderr).strip()
    m = re.search(r"(\d+) entries", out)
    return AuditCheck(ok=p.returncode == 0, entries=int(m.group(1)) if m else 0, output=out)


def verify_reports(data_dir: Path, files: list[Path], chunk: int = 200) -> tuple[int, list[str]]:
    """`leian verify-report --data-dir` over ``files``: (number intact, one line per file that is not)."""
    ok, bad = 0, []
    for i in range(0, len(files), chunk):
        part = files[i : i + chunk]
        p = leian("verify-report", "--data-dir", str(data_dir), *map(str, part))
        ok += sum(1 for line in p.stdout.splitlines() if line.startswith("OK "))
        bad += [line for line in p.stderr.splitlines() if line.strip()]
        if p.returncode != 0 and not bad:
            bad.append(f"leian verify-report exited {p.returncode}")
    return ok, bad


def audit_targets(data_dir: Path) -> dict[str, set[str]]:
    """action -> the targets the audit log records (read with `leian audit show`)."""
    import json

    p = leian("audit", "show", "--data-dir", str(data_dir))
    if p.returncode != 0:
        raise RuntimeError(f"leian audit show failed: {p.stderr.strip()}")
    out: dict[str, set[str]] = {}
    for line in p.stdout.splitlines():
        e = json.loads(line)
        out.setdefault(e["action"], set()).add(e["target"])
        for i in (e.get("detail") or {}).get("ids") or []:
            out[e["action"]].add(i)
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
