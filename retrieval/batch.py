"""Batch reports: one 类案检索报告 per case of a JSONL file, resumable after an interruption.

Layout of an output directory::

    reports/<case>.{json,md,html,docx}   the reports, one file per case and format
    summary.csv                          one row per case of the input, in input order
    .leian-batch/done/<case>.json        completion marker of each case (written last, atomically)

A case counts as finished when its marker says ``ok`` for every requested format and the files are
there; a rerun skips it, so an interrupted batch (killed process, power cut, Ctrl-C) resumes where it
stopped without redoing finished cases. A case that fails is recorded with its error (in its marker
and in summary.csv) and the batch goes on; a rerun retries failed cases.

Used by ``leian batch`` and by the API's batch jobs (``POST /v1/batches``), which run the same code
in a background thread.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from leian.errors import DISK_ERRNOS, CorpusReadError, InvalidInput, LeianError, OutputWriteFailed
from leian.retrieval.models import Filters, Query
from leian.retrieval.report import FORMATS, Report, ReportFormat, Requester, build_report, render
from leian.retrieval.search import Searcher
from leian.retrieval.sentencing import ProposedSentence, sentence_text

log = logging.getLogger("leian.batch")

STATE_DIR = ".leian-batch"
SUMMARY_COLUMNS = (
    "id",
    "status",
    "top_case",
    "predicted_charge",
    "n_comparable",
    "median_months",
    "proposed",
    "percentile",
    "conflict",
    "report_id",
    "sha256",
    "error",
)


def parse_formats(value: str | Iterable[str]) -> list[ReportFormat]:
    """``"json,md"`` or a list -> validated, de-duplicated list (the error lists the valid values)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = [f.strip().lower() for f in items if f and f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise InvalidInput(
            f"unknown report format(s) {', '.join(bad) or '(none)'}; valid: {', '.join(FORMATS)}"
        )
    return [ReportFormat(f) for f in dict.fromkeys(out)]


class BatchCase(BaseModel):
    """One line of the input: ``id``, the facts (``facts`` or LeCaRD's ``q``), optional charges and
    a proposed sentence ({kind, months, probation_months, fine_yuan})."""

    model_config = ConfigDict(extra="ignore")  # LeCaRD query lines carry crime/query_type etc.

    id: str = Field(min_length=1)
    facts: str = Field(validation_alias=AliasChoices("facts", "q"))
    charges: list[str] | None = None
    proposed_sentence: dict[str, Any] | None = None
    exclude_ids: list[str] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_str(cls, v):
        return str(v) if isinstance(v, int) else v

    @field_validator("facts")
    @classmethod
    def _facts(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("facts is empty")
        return v

    @field_validator("charges", mode="before")
    @classmethod
    def _charges(cls, v):
        return [v] if isinstance(v, str) else v


class CaseResult(BaseModel):
    """The completion marker of one case (also one row of summary.csv)."""

    id: str
    status: Literal["ok", "error"]
    error: str | None = None
    report_id: str | None = None
    sha256: str | None = None
    formats: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # relative to the output directory
    summary: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0
    finished_at: str = ""


class BatchProgress(BaseModel):
    total: int
    done: int = 0  # finished ok (this run or before it)
    failed: int = 0
    resumed: int = 0  # of ``done``, finished by an earlier run and skipped now
    current: str | None = None


class BatchSummary(BaseModel):
    out_dir: str
    total: int
    ok: int
    failed: int
    resumed: int
    written_now: int
    seconds: float
    stopped_early: bool
    errors: dict[str, str]


def read_cases(path: str | Path) -> tuple[list[BatchCase], list[CaseResult]]:
    """The cases of a JSONL file, and one error result per unusable line (never silently dropped)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise CorpusReadError(f"cannot read the cases file ({e.strerror})", str(p)) from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusReadError(f"not UTF-8 (byte {e.start}); save the JSONL as UTF-8", str(p)) from e
    return parse_cases(text.splitlines(), source=str(p))


def parse_cases(lines: Iterable[str], source: str = "cases") -> tuple[list[BatchCase], list[CaseResult]]:
    cases: list[BatchCase] = []
    problems: list[CaseResult] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        obj = None
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            case = BatchCase.model_validate(obj)
        except ValueError as e:  # also pydantic's ValidationError
            ident = obj.get("id") if isinstance(obj, dict) else None
            msg = _validation_text(e) if isinstance(e, ValidationError) else str(e)
            problems.append(_error_result(f"{ident} (line {n})" if ident else f"line {n}", f"{where}: {msg}"))
            continue
        if case.id in seen:
            problems.append(_error_result(f"{case.id} (line {n})", f"{where}: duplicate id {case.id!r}"))
            continue
        seen.add(case.id)
        cases.append(case)
    return cases, problems


def _validation_text(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "line"
    return f"{loc}: {err['msg']}"


def _error_result(ident: str, message: str) -> CaseResult:
    return CaseResult(id=ident, status="error", error=message, finished_at=_now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(case_id: str) -> str:
    """A file name for a case id: the id itself when it is safe, else a cleaned id plus a short hash
    (so two ids that clean to the same text never share files)."""
    clean = _SAFE.sub("_", case_id).strip("._") or "case"
    if clean == case_id and len(clean) <= 100:
        return clean
    return f"{clean[:80]}-{hashlib.sha256(case_id.encode()).hexdigest()[:10]}"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def summary_fields(report) -> dict[str, str]:
    """The summary.csv columns a report contributes (empty where the report has no such figure)."""
    top = report.results[0] if report.results else None
    predicted = report.pending.charges_predicted
    stats = report.sentencing
    check = report.proposed
    out = {
        "top_case": (top.case_number or top.id) if top else "",
        "predicted_charge": predicted[0].charge if predicted else "",
        "n_comparable": str(stats.n_cases) if stats else "0",
        "median_months": f"{stats.months.median:g}" if stats and stats.months else "",
        "proposed": "",
        "percentile": "",
        "conflict": "",
    }
    if check is not None:
        p = check.proposed
        out["proposed"] = sentence_text(p.kind, p.months, p.probation_months, p.fine_yuan)
        out["percentile"] = f"{check.percentile:.0f}" if check.percentile is not None else ""
        # conflict is None when there were too few cases to judge: left empty, not "false"
        out["conflict"] = "" if check.conflict is None else str(check.conflict).lower()
    return out


class BatchRunner:
    """Runs the cases into ``out_dir``; safe to call again on the same directory (it resumes)."""

    def __init__(
        self,
        searcher: Searcher,
        out_dir: str | Path,
        formats: Iterable[str] = ("json", "docx"),
        top_k: int = 10,
        stats_k: int = 50,
        requester: dict[str, Any] | None = None,  # {name, organisation}
        filters: Filters | None = None,
        *,
        hidden: Callable[[], list[str]] | None = None,
        issue: Callable[[Report], Report] | None = None,
    ):
        """``hidden``: ids no report of this batch may cite (asked per case: the service's other
        offices' private documents); ``issue``: what a service does to a report before it is
        written (its audit chain head, its signature)."""
        self.searcher = searcher
        self.hidden = hidden
        self.issue = issue
        self.out = Path(out_dir)
        self.formats = parse_formats(list(formats))
        self.top_k, self.stats_k = top_k, stats_k
        self.requester = requester
        self.filters = filters or Filters()
        self.state = self.out / STATE_DIR / "done"

    # -- state ---------------------------------------------------------------------------------
    def marker_path(self, case_id: str) -> Path:
        return self.state / f"{file_stem(case_id)}.json"

    def load_marker(self, case_id: str) -> CaseResult | None:
        p = self.marker_path(case_id)
        try:
            return CaseResult.model_validate_json(p.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError):
            log.warning("unreadable completion marker %s: the case will be redone", p)
            return None

    def is_finished(self, case_id: str) -> bool:
        m = self.load_marker(case_id)
        return bool(
            m
            and m.status == "ok"
            and set(self.formats) <= set(m.formats)
            and all((self.out / f).is_file() for f in m.files)
        )

    # -- one case ------------------------------------------------------------------------------
    def run_case(self, case: BatchCase) -> CaseResult:
        t0 = time.perf_counter()
        query = Query(
            facts=case.facts,
            charges=case.charges or None,
            filters=self.filters,
            top_k=self.top_k,
            exclude_ids=case.exclude_ids,
            hidden_ids=self.hidden() if self.hidden else [],
        )
        proposed = ProposedSentence.model_validate(case.proposed_sentence) if case.proposed_sentence else None
        requester = Requester.model_validate(self.requester) if self.requester else None
        report = build_report(
            self.searcher, query, requester, proposed, top_k=self.top_k, stats_k=self.stats_k
        )
        if self.issue is not None:
            report = self.issue(report)
        stem = file_stem(case.id)
        files = []
        for fmt in self.formats:
            rel = f"reports/{stem}{fmt.suffix}"
            atomic_write(self.out / rel, render(report, fmt))
            files.append(rel)
        return CaseResult(
            id=case.id,
            status="ok",
            report_id=report.id,
            sha256=report.sha256,
            formats=self.formats,
            files=files,
            summary=summary_fields(report),
            seconds=round(time.perf_counter() - t0, 3),
            finished_at=_now(),
        )

    # -- the batch -----------------------------------------------------------------------------
    def run(
        self,
        cases: list[BatchCase],
        problems: list[CaseResult] | None = None,
        limit: int | None = None,
        stop: threading.Event | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        progress_bar: bool = False,
    ) -> BatchSummary:
        """Run the unfinished cases (at most ``limit`` of them), then write summary.csv.

        ``stop`` ends the run after the current case (the API uses it on shutdown);
        ``problems`` are input lines that could not be read, reported in the summary.
        """
        t0 = time.perf_counter()
        problems = problems or []
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.state.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInput(f"cannot create the output directory {self.out}: {e.strerror or e}") from None
        for stale in [*self.out.glob("reports/.*.tmp"), *self.state.glob(".*.tmp")]:
            stale.unlink(missing_ok=True)  # left by a process killed in the middle of a write
        todo = [c for c in cases if not self.is_finished(c.id)]
        progress = BatchProgress(total=len(cases) + len(problems), failed=len(problems))
        progress.resumed = progress.done = len(cases) - len(todo)
        if on_progress:
            on_progress(progress.model_copy())
        bar = None
        if progress_bar:
            from tqdm import tqdm

            bar = tqdm(
                total=len(cases), initial=progress.done, unit="case", desc="reports", dynamic_ncols=True
            )
        written = processed = 0
        stopped = False
        errors = {p.id: p.error or "" for p in problems}
        failing = False
        try:
            for case in todo:
                if (limit is not None and processed >= limit) or (stop is not None and stop.is_set()):
                    stopped = True
                    break
                progress.current = case.id
                result = self._run_one(case)
                processed += 1
                atomic_write(self.marker_path(case.id), result.model_dump_json(indent=1).encode())
                if result.status == "ok":
                    written += 1
                    progress.done += 1
                else:
                    progress.failed += 1
                    errors[case.id] = result.error or ""
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=progress.failed, refresh=False)
                if on_progress:
                    on_progress(progress.model_copy())
        except OSError as e:  # writing a marker, or the disk under a case (_run_one)
            failing = True
            fix = "Free some space" if e.errno in DISK_ERRNOS else "Fix that"
            raise OutputWriteFailed(
                f"cannot write to {self.out} ({e.strerror or e}); the batch stopped after {written} new "
                f"report(s). {fix} and run it again: it resumes where it stopped"
            ) from e
        except BaseException:
            failing = True
            raise
        finally:
            if bar is not None:
                bar.close()
            try:
                self.write_summary(cases, problems)
            except OSError:
                if not failing:  # else the reason already on its way matters more
                    raise
        progress.current = None
        if on_progress:
            on_progress(progress.model_copy())
        return BatchSummary(
            out_dir=str(self.out),
            total=progress.total,
            ok=progress.done,
            failed=progress.failed,
            resumed=progress.resumed,
            written_now=written,
            seconds=round(time.perf_counter() - t0, 3),
            stopped_early=stopped,
            errors=errors,
        )

    def _run_one(self, case: BatchCase) -> CaseResult:
        t0 = time.perf_counter()
        try:
            return self.run_case(case)
        except LeianError as e:
            msg = f"{e.code}: {e.message}"
        except Exception as e:  # one broken case must not stop the batch; the traceback goes to the log
            if isinstance(e, OSError) and e.errno in DISK_ERRNOS:
                raise  # the disk, not this case: every case after it would fail the same way (run)
            log.exception("case %s failed", case.id)
            msg = f"internal error: {type(e).__name__}: {e}"
        return CaseResult(
            id=case.id,
            status="error",
            error=msg,
            seconds=round(time.perf_counter() - t0, 3),
            finished_at=_now(),
        )

    def write_summary(self, cases: list[BatchCase], problems: list[CaseResult] | None = None) -> Path:
        """summary.csv: every case that has a result, in input order, then unreadable input lines."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for case in cases:
            m = self.load_marker(case.id)
            if m is not None:
                w.writerow(_row(m))
        for p in problems or []:
            w.writerow(_row(p))
        path = self.out / "summary.csv"
        # utf-8-sig: Excel (what a case-management office opens it with) needs the BOM for Chinese.
        atomic_write(path, buf.getvalue().encode("utf-8-sig"))
        return path


def _row(m: CaseResult) -> dict[str, str]:
    row = {k: "" for k in SUMMARY_COLUMNS}
    row.update(m.summary)
    row.update(
        id=m.id, status=m.status, report_id=m.report_id or "", sha256=m.sha256 or "", error=m.error or ""
    )
    return row
