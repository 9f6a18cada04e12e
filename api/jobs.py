"""Batch report jobs for the API: the batch runner (``leian.retrieval.batch``) in background threads.

Each job is a directory under ``<data_dir>/batches/<job id>/`` holding its input (``cases.jsonl``),
its options and status (``job.json``) and the runner's output; so a job survives a restart of the
service — unfinished jobs are picked up again at start-up and resume where they stopped.

A job belongs to the office of the key that started it (another office is told there is no such
job); a key may have ``max_batches`` jobs queued or running at once; a finished job is deleted
``ttl`` after it finished. Each report a job writes is issued like one from POST /v1/reports:
signed, with the audit chain head, and logged.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import shutil
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from leian.api.errors import SERVER_SIDE_CODES, ApiError, server_side_message
from leian.errors import LeianError, NotFound
from leian.retrieval.batch import BatchProgress, BatchRunner, atomic_write, parse_cases
from leian.retrieval.models import Filters
from leian.retrieval.report import Report
from leian.retrieval.search import Searcher

log = logging.getLogger("leian.api")


class JobSpec(BaseModel):
    id: str
    office: str = "default"  # jobs from before offices belong to LEIAN_API_KEYS_OFFICE's default
    key_id: str = ""
    formats: list[str]
    top_k: int
    stats_k: int
    requester: dict | None = None
    filters: dict = Field(default_factory=dict)
    created_at: str
    status: str = "queued"
    total: int = 0
    done: int = 0
    failed: int = 0
    errors: dict[str, str] = Field(default_factory=dict)
    finished_at: str | None = None
    message: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# What the service gives the jobs: the ids an office may not see (office -> ids), and how a job's
# report is issued (report, job -> the signed report, logged).
Hidden = Callable[[str], list[str]]
Issue = Callable[[Report, "JobSpec"], Report]


class BatchJobs:
    def __init__(self, root: Path, searcher: Searcher, workers: int = 1, *, hidden: Hidden | None = None,
                 issue: Issue | None = None, ttl: timedelta = timedelta(days=7)):  # fmt: skip
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.searcher = searcher
        self.hidden = hidden
        self.issue = issue
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leian-batch")
        self._jobs: dict[str, JobSpec] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------
    def resume_unfinished(self) -> int:
        """Re-queue jobs a previous process left queued or running (the runner skips finished cases)."""
        n = 0
        for spec_path in sorted(self.root.glob("*/job.json")):
            try:
                spec = JobSpec.model_validate_json(spec_path.read_bytes())
            except (OSError, ValueError):
                log.warning("unreadable batch job %s: skipped", spec_path)
                continue
            with self._lock:
                self._jobs[spec.id] = spec
            if spec.status in ("queued", "running", "interrupted"):
                self._pool.submit(self._run, spec.id)
                n += 1
        self.expire()
        return n

    def shutdown(self) -> None:
        self._stop.set()  # running jobs stop after their current case; marked "interrupted"
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- API -----------------------------------------------------------------------------------
    def submit(self, cases_jsonl: str, total: int, formats: list[str], top_k: int, stats_k: int,
               requester: dict | None, filters: dict, *, office: str, key_id: str,
               max_active: int = 0) -> JobSpec:  # fmt: skip
        """Queue a job; ``max_active`` (0: no limit) jobs of the key may be queued or running."""
        self.expire()
        job_id = f"b{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        spec = JobSpec(
            id=job_id, office=office, key_id=key_id, formats=formats, top_k=top_k, stats_k=stats_k,
            requester=requester, filters=filters, created_at=_now(), total=total,
        )  # fmt: skip
        with self._lock:
            active = sum(
                1 for j in self._jobs.values() if j.key_id == key_id and j.status in ("queued", "running")
            )
            if max_active and active >= max_active:
                raise ApiError(
                    429,
                    "too_many_batches",
                    f"this key has {active} batch job(s) queued or running, its limit; "
                    "start another when one has finished",
                    headers={"Retry-After": "30"},
                )
            self._jobs[job_id] = spec  # counted from now on, before the lock is let go
        d = self.root / job_id
        d.mkdir(parents=True)
        atomic_write(d / "cases.jsonl", cases_jsonl.encode("utf-8"))
        self._save(spec)
        self._pool.submit(self._run, job_id)
        return spec

    def get(self, job_id: str, office: str | None = None) -> JobSpec:
        """The job; None as ``office`` only inside this class (the runner)."""
        with self._lock:
            spec = self._jobs.get(job_id)
        if spec is None or (office is not None and spec.office != office):
            raise NotFound(f"no batch job with id {job_id!r} (finished jobs are kept {_span(self.ttl)})")
        return spec.model_copy()

    def expire(self) -> int:
        """Delete finished jobs older than the time they are kept."""
        cutoff = datetime.now(UTC) - self.ttl
        with self._lock:
            old = [
                j.id for j in self._jobs.values()
                if j.status in ("done", "failed") and j.finished_at and datetime.fromisoformat(j.finished_at) < cutoff
            ]  # fmt: skip
            for job_id in old:
                del self._jobs[job_id]
        for job_id in old:
            # job.json first: a crash half-way leaves a directory that is no longer a job
            (self.root / job_id / "job.json").unlink(missing_ok=True)
            shutil.rmtree(self.root / job_id, ignore_errors=True)
        return len(old)

    def zip_bytes(self, job_id: str, office: str) -> bytes:
        spec = self.get(job_id, office)
        if spec.status not in ("done", "failed"):
            raise ApiError(
                409,
                "not_ready",
                f"batch {job_id} is {spec.status} ({spec.done}/{spec.total} done); "
                "download it when GET /v1/batches/{id} says done",
            )
        out = self.root / job_id / "out"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in sorted(out.rglob("*")):
                rel = f.relative_to(out)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    z.write(f, f"{job_id}/{rel.as_posix()}")
        return buf.getvalue()

    # -- internals -----------------------------------------------------------------------------
    def _save(self, spec: JobSpec) -> None:
        with self._lock:
            self._jobs[spec.id] = spec
            data = spec.model_dump_json(indent=1).encode()
        atomic_write(self.root / spec.id / "job.json", data)

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            spec = self._jobs[job_id].model_copy(update=changes)
        self._save(spec)

    def _run(self, job_id: str) -> None:
        spec = self.get(job_id)
        d = self.root / job_id
        try:
            cases, problems = parse_cases((d / "cases.jsonl").read_text("utf-8").splitlines(), source="cases")
            runner = BatchRunner(
                self.searcher,
                d / "out",
                formats=spec.formats,
                top_k=spec.top_k,
                stats_k=spec.stats_k,
                requester=spec.requester,
                filters=Filters(**spec.filters),
                hidden=(lambda: self.hidden(spec.office)) if self.hidden else None,
                issue=(lambda report: self.issue(report, spec)) if self.issue else None,
            )
            self._update(job_id, status="running", message=None)

            def progress(p: BatchProgress) -> None:
                self._update(job_id, done=p.done, failed=p.failed, total=p.total)

            summary = runner.run(cases, problems, stop=self._stop, on_progress=progress)
            if summary.stopped_early:
                self._update(
                    job_id, status="interrupted", message="the service stopped; resumes at next start"
                )
                return
            status = "done" if summary.ok else "failed"
            self._update(
                job_id, status=status, errors={k: _public(v) for k, v in summary.errors.items()},
                finished_at=_now(), message=f"{summary.ok} report(s) written, {summary.failed} failed",
            )  # fmt: skip
        except Exception as e:  # the job fails visibly, with the reason; the service stays up
            log.exception("batch job %s failed", job_id)
            code = e.code if isinstance(e, LeianError) else "internal_error"
            self._update(job_id, status="failed", finished_at=_now(), message=server_side_message(code, 500))


def _public(error: str) -> str:
    """A case's error as a client may read it: the caller's input problems as they are, the server's
    own failures (the runner writes them ``internal error: …``) without their detail."""
    code = error.split(":", 1)[0].strip()
    if error.startswith("internal error"):
        return server_side_message("internal_error", 500)
    if code in SERVER_SIDE_CODES or code.startswith("index_"):
        return server_side_message(code, 500)
    return error


def _span(ttl: timedelta) -> str:
    hours = ttl.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def cases_to_jsonl(cases: list[dict]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
