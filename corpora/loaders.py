"""Stream ``CaseRecord``s from a corpus on disk, reporting every unusable input instead of failing.

Formats (``fmt="auto"`` decides from the path and the first line; pass one to override):

- ``lecard``: LeCaRD candidate lines (``docs.jsonl.gz``: ``id``, ``ajName``, ``ajjbqk``, ``cpfxgc``,
  ``pjjg``, ``qw``) → ``id``, ``title`` = ajName, ``text`` = qw, sections facts/reasoning/judgment;
- ``jsonl``: the project's own records, one ``CaseRecord`` JSON per line (``leian extract --format
  jsonl``, ``CaseRecord.model_dump_json()``);
- ``txt``: one judgment per ``.txt`` file (UTF-8 or GB18030, detected), id = file stem; a folder is
  read recursively in path order.

JSONL may be gzip-compressed (detected from the bytes, not the name). Everything streams: a line
at a time, never a whole file. A bad judgment — empty, not Chinese, binary, over the size limit, not
JSON, missing ``id``/``text``, a duplicate id — or a broken gzip becomes one :class:`LoadProblem`
naming the file and line, and reading goes on with the rest. :class:`LoadReport` counts what was read
and skipped. Only a missing path or an undecidable format raises (``CorpusReadError``): then
nothing at all could be read.

    loader = Loader("docs.jsonl.gz")
    for record in loader: ...
    print(loader.report.summary())
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Literal

from isal import igzip, isal_zlib
from pydantic import BaseModel, Field, ValidationError

from leian.corpora.record import CaseRecord, Sections, Source
from leian.corpora.text import normalise_record
from leian.errors import CorpusReadError, InvalidInput

Format = Literal["lecard", "jsonl", "txt"]
FORMATS: tuple[str, ...] = ("auto", "lecard", "jsonl", "txt")
Reason = Literal[
    "empty_text",
    "too_large",
    "binary",
    "not_chinese",
    "bad_encoding",
    "not_json",
    "not_object",
    "missing_field",
    "invalid_record",
    "duplicate_id",
    "broken_gzip",
    "unreadable",
]

MAX_TEXT_CHARS = 2_000_000  # a long judgment is ~100k characters; 2M is a data error, not a judgment
MIN_HAN_CHARS = 20
MIN_HAN_SHARE = 0.2  # of the non-space characters; real judgments are ~70–85% Chinese characters
MAX_CONTROL_SHARE = 0.005  # NULs and other control characters: binary data, not text
MAX_PROBLEMS_KEPT = 1000  # the report keeps the first problems in full; the counts are always complete
LECARD_LICENCE = "MIT"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_CONTROL_NOT_SPACE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f\ufffd]")  # _CONTROL less what \s removes
_HAN_STEP = 4096  # characters read at a time while a text has not yet proved itself Chinese
_SPACE = re.compile(r"\s+")
_LECARD_KEYS = frozenset({"qw", "ajjbqk", "ajName", "cpfxgc", "pjjg"})


class LoadProblem(BaseModel):
    """One input that could not be used: where, why (a stable code) and a message for people."""

    location: str  # "path" or "path:line"
    reason: Reason
    message: str

    def line(self) -> str:
        """The one-line form the CLI prints on stderr."""
        return f"{self.location}: {self.message}"

    def __str__(self) -> str:  # so an on_problem callback can print it or treat it as that line
        return self.line()


class LoadReport(BaseModel):
    path: str
    format: str = ""
    files: int = 0  # files opened
    ignored_files: int = 0  # files in a folder that are not .txt
    read: int = 0  # records yielded
    skipped: int = 0  # inputs that became problems
    by_reason: dict[str, int] = Field(default_factory=dict)
    problems: list[LoadProblem] = Field(default_factory=list)  # the first MAX_PROBLEMS_KEPT

    def add(self, problem: LoadProblem, keep: int = MAX_PROBLEMS_KEPT) -> None:
        self.skipped += 1
        self.by_reason[problem.reason] = self.by_reason.get(problem.reason, 0) + 1
        if len(self.problems) < keep:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return self.read > 0

    def summary(self) -> str:
        s = f"read {self.read} judgment(s) from {self.path} ({self.format or 'unknown format'})"
        if self.skipped:
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.by_reason.items(), key=lambda x: -x[1]))
            s += f"; skipped {self.skipped}: {reasons}"
        return s

    def raise_if_empty(self) -> None:
        """``CorpusReadError`` when nothing could be read (the CLI then exits non-zero)."""
        if not self.read:
            first = f" First problem: {self.problems[0].line()}" if self.problems else ""
            raise CorpusReadError(f"no judgment could be read ({self.skipped} skipped).{first}", self.path)


# --- text checks --------------------------------------------------------------------------------


def check_text(text: str, max_chars: int = MAX_TEXT_CHARS) -> tuple[Reason, str] | None:
    """Why ``text`` cannot be a judgment, or None. Cheap enough to run on every record."""
    if not text or not text.strip():
        return "empty_text", "empty text"
    if len(text) > max_chars:
        return "too_large", f"text has {len(text):,} characters; the limit is {max_chars:,} per judgment"
    if _clearly_chinese(text):
        return None
    return _check_counts(text)


def _clearly_chinese(text: str) -> bool:
    """A sufficient condition for passing ``_check_counts``, from as little of the text as it takes:
    its Chinese characters alone outnumber every bound there (the share is taken of the whole length,
    spaces included). A real judgment passes within its first few thousand characters."""
    controls = len(_CONTROL_NOT_SPACE.findall(text))
    share = MIN_HAN_SHARE * len(text)
    han = 0
    for i in range(0, len(text), _HAN_STEP):
        han += sum(map(len, _HAN.findall(text, i, i + _HAN_STEP)))
        # the checks of _check_counts with han (<= the non-space count) for that count
        if han >= MIN_HAN_CHARS and han >= share and controls <= MAX_CONTROL_SHARE * han:
            return True
    return False


def _check_counts(text: str) -> tuple[Reason, str] | None:
    compact = _SPACE.sub("", text)
    n = len(compact)
    controls = len(_CONTROL.findall(compact))
    if controls > MAX_CONTROL_SHARE * n:
        return "binary", f"binary or corrupt data ({controls} control/invalid characters), not text"
    han = sum(map(len, _HAN.findall(compact)))
    if han < MIN_HAN_CHARS or han < MIN_HAN_SHARE * n:
        return (
            "not_chinese",
            f"not a Chinese judgment ({han} Chinese characters, {han / max(n, 1):.0%} of the text)",
        )
    return None


def decode_text(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) for UTF-8 (BOM allowed) or GB18030 bytes; None when it is neither."""
    if b"\x00" in raw:
        return None  # UTF-16 or binary; neither encoding ever contains NUL in Chinese text
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return None


# --- the loader ---------------------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


_BROKEN_GZIP = (OSError, EOFError, zlib.error, isal_zlib.error)


def _open_binary(path: Path) -> IO[bytes]:
    # ISA-L's gzip reader: a third of the CPU of the standard library's (LeCaRD: 0.36 against 0.98 s),
    # in the process every judgment of a build is read by
    return igzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


def _first_object(path: Path) -> dict | None:
    """The first JSON object among the first lines, to tell LeCaRD from CaseRecord JSONL."""
    try:
        with _open_binary(path) as f:
            for _ in range(20):
                line = f.readline(1 << 20)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) == 1 << 20:
                    Loader._skip_rest_of_line(f)  # an oversized first line: judge by the next ones
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    return obj
    except _BROKEN_GZIP:
        return None
    return None


def detect_format(path: str | Path) -> Format:
    """``txt`` for a folder or a .txt file; for JSONL, ``lecard`` or ``jsonl`` from the first object."""
    p = Path(path)
    if not p.exists():
        raise CorpusReadError("no such file or folder", str(p))
    if p.is_dir() or p.suffix.lower() == ".txt":
        return "txt"
    gz = _is_gzip(p)
    if not gz:
        with p.open("rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{"):
            return "txt"  # a judgment saved without the .txt suffix
    obj = _first_object(p)
    if obj is None:
        what = "a gzip file" if gz else "a JSON-lines file"
        raise CorpusReadError(
            f"looks like {what} but no JSON object could be read from its first lines "
            "(broken gzip? not JSON?); pass the format explicitly: lecard, jsonl or txt",
            str(p),
        )
    if _LECARD_KEYS & obj.keys():
        return "lecard"
    if "text" in obj:
        return "jsonl"
    raise CorpusReadError(
        f"cannot tell the format: the first object has fields {sorted(obj)[:8]}, expected LeCaRD "
        "(qw, ajjbqk, …) or a case record (id, text); pass the format explicitly",
        str(p),
    )


class Loader:
    """An iterator of records (single pass, like a file); ``report`` fills as it goes.

    ``on_problem`` is called with each :class:`LoadProblem` as it happens; ``str(problem)`` is its
    one-line form (``path:line: message``), so a callback may simply print it.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: str = "auto",
        *,
        max_chars: int = MAX_TEXT_CHARS,
        on_problem: Callable[[LoadProblem], None] | None = None,
        report: LoadReport | None = None,
    ):
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown corpus format {fmt!r}; use one of: {', '.join(FORMATS)}")
        if max_chars < 1:
            raise InvalidInput(f"the size limit must be at least 1 character, got {max_chars}")
        self.path = Path(path)
        self.max_chars = max_chars
        self.on_problem = on_problem
        if not self.path.exists():
            raise CorpusReadError("no such file or folder", str(self.path))
        try:
            self.format: Format = detect_format(self.path) if fmt == "auto" else fmt  # type: ignore[assignment]
        except OSError as e:
            raise CorpusReadError(f"cannot read: {e.strerror or e}", str(self.path)) from e
        if self.format != "txt" and self.path.is_dir():
            raise CorpusReadError(f"is a folder; the {self.format} format reads one file", str(self.path))
        self.report = report if report is not None else LoadReport(path=str(self.path))
        self.report.path, self.report.format = str(self.path), self.format
        self._records: Iterator[CaseRecord] | None = None
        self._seen: dict[str, str] = {}  # id -> where it was first read

    # -- bookkeeping

    def _problem(self, location: str, reason: Reason, message: str) -> None:
        p = LoadProblem(location=location, reason=reason, message=message)
        self.report.add(p)
        if self.on_problem:
            self.on_problem(p)

    def _accept(self, record: CaseRecord, location: str) -> CaseRecord | None:
        bad = check_text(record.text, self.max_chars)  # on the text as read: NULs there mean binary data
        if bad:
            self._problem(location, *bad)
            return None
        record = normalise_record(record)
        first = self._seen.get(record.id)
        if first is not None:
            self._problem(location, "duplicate_id", f"duplicate id {record.id!r} (first read at {first})")
            return None
        self._seen[record.id] = location
        self.report.read += 1
        return record

    # -- iteration

    def __iter__(self) -> Iterator[CaseRecord]:
        return self

    def __next__(self) -> CaseRecord:
        if self._records is None:
            self._records = self._iter_txt() if self.format == "txt" else self._iter_jsonl()
        return next(self._records)

    def _iter_txt(self) -> Iterator[CaseRecord]:
        if self.path.is_dir():
            files = []
            for p in sorted(self.path.rglob("*")):
                if not p.is_file() or any(part.startswith(".") for part in p.relative_to(self.path).parts):
                    continue
                if p.suffix.lower() == ".txt":
                    files.append(p)
                else:
                    self.report.ignored_files += 1
        else:
            files = [self.path]
        for p in files:
            rec = self._read_txt(p)
            if rec is not None:
                yield rec

    def _read_txt(self, p: Path) -> CaseRecord | None:
        self.report.files += 1
        loc = str(p)
        try:
            size = p.stat().st_size
            # 4 bytes per character at most (UTF-8, GB18030): larger files are refused unread
            if size > 4 * self.max_chars:
                self._problem(
                    loc, "too_large", f"file is {size:,} bytes; the limit is {self.max_chars:,} characters"
                )
                return None
            raw = p.read_bytes()
        except OSError as e:
            self._problem(loc, "unreadable", f"cannot read: {e.strerror or e}")
            return None
        decoded = decode_text(raw)
        if decoded is None:
            reason: Reason = "binary" if b"\x00" in raw else "bad_encoding"
            self._problem(loc, reason, "not UTF-8 or GB18030 text (binary data?); save it as UTF-8")
            return None
        text, _enc = decoded
        record = CaseRecord(id=p.stem, text=text, source=Source(path=loc))
        return self._accept(record, loc)

    def _iter_jsonl(self) -> Iterator[CaseRecord]:
        self.report.files += 1
        path, name = self.path, str(self.path)
        limit = 4 * self.max_chars + (1 << 16)  # bytes: the text plus room for the other fields
        to_record = self._lecard_record if self.format == "lecard" else self._project_record
        lineno = 0
        try:
            f = _open_binary(path)
        except OSError as e:
            self._problem(name, "unreadable", f"cannot open: {e.strerror or e}")
            return
        with f:
            while True:
                try:
                    line = f.readline(limit)
                except _BROKEN_GZIP as e:
                    self._problem(
                        f"{name}:{lineno + 1}", "broken_gzip", f"broken gzip data, reading stopped: {e}"
                    )
                    return
                if not line:
                    return
                lineno += 1
                loc = f"{name}:{lineno}"
                if len(line) >= limit and not line.endswith(b"\n"):
                    total = len(line) + self._skip_rest_of_line(f)
                    self._problem(
                        loc,
                        "too_large",
                        f"line is over {total:,} bytes; the limit is {self.max_chars:,} characters",
                    )
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except UnicodeDecodeError:
                    self._problem(loc, "bad_encoding", "line is not UTF-8")
                    continue
                except ValueError as e:
                    msg = getattr(e, "msg", str(e))
                    col = getattr(e, "colno", None)
                    self._problem(loc, "not_json", f"not JSON ({msg}{f' at column {col}' if col else ''})")
                    continue
                if not isinstance(obj, dict):
                    self._problem(loc, "not_object", f"a JSON {type(obj).__name__}, expected an object")
                    continue
                record = to_record(obj, loc)
                if record is not None:
                    accepted = self._accept(record, loc)
                    if accepted is not None:
                        yield accepted

    @staticmethod
    def _skip_rest_of_line(f: IO[bytes]) -> int:
        n = 0
        while chunk := f.readline(1 << 20):
            n += len(chunk)
            if chunk.endswith(b"\n"):
                break
        return n

    def _missing(self, obj: dict, fields: tuple[str, str], loc: str) -> bool:
        """``fields`` = (id field, text field): both present, id not blank, text a string."""
        absent = [f for f in fields if obj.get(f) is None]
        if absent:
            self._problem(loc, "missing_field", f"missing field {' and '.join(map(repr, absent))}")
            return True
        id_field, text_field = fields
        if not str(obj[id_field]).strip():
            self._problem(loc, "missing_field", f"field {id_field!r} is empty")
            return True
        if not isinstance(obj[text_field], str):
            kind = type(obj[text_field]).__name__
            self._problem(loc, "invalid_record", f"field {text_field!r} is a {kind}, expected text")
            return True
        return False

    def _lecard_record(self, obj: dict, loc: str) -> CaseRecord | None:
        if self._missing(obj, ("id", "qw"), loc):
            return None

        def field(name: str) -> str:
            v = obj.get(name)
            return v.strip() if isinstance(v, str) else ""

        return CaseRecord(
            id=str(obj["id"]).strip(),
            text=obj["qw"],
            title=field("ajName") or None,
            sections=Sections(facts=field("ajjbqk"), reasoning=field("cpfxgc"), judgment=field("pjjg")),
            source=Source(corpus="LeCaRD", licence=LECARD_LICENCE, path=loc),
        )

    def _project_record(self, obj: dict, loc: str) -> CaseRecord | None:
        if self._missing(obj, ("id", "text"), loc):
            return None
        try:
            record = CaseRecord.model_validate(obj)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "record"
            more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
            self._problem(loc, "invalid_record", f"invalid case record: {where}: {err['msg']}{more}")
            return None
        if not record.source.path:
            record.source = record.source.model_copy(update={"path": loc})
        return record


def load(
    path: str | Path,
    fmt: str = "auto",
    *,
    report: LoadReport | None = None,
    max_chars: int = MAX_TEXT_CHARS,
    on_problem: Callable[[LoadProblem], None] | None = None,
) -> Loader:
    """Stream the records of ``path``: the returned :class:`Loader` is an iterator with a ``report``.

    Pass a ``LoadReport`` to have it filled instead. The path and the format are checked when this is
    called (a ``CorpusReadError`` here means nothing can be read), not on the first ``next()``.
    """
    return Loader(path, fmt, max_chars=max_chars, on_problem=on_problem, report=report)


__all__ = [
    "FORMATS",
    "MAX_TEXT_CHARS",
    "LoadProblem",
    "LoadReport",
    "Loader",
    "check_text",
    "decode_text",
    "detect_format",
    "load",
]
