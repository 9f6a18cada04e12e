"""Reading the law's TSV files: rows with their line numbers, and the one error every check raises."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Row = TypeVar("Row", bound=BaseModel)


class LawDataError(ValueError):
    """A row of a law data file breaks a rule; the message names the file, the line and the rule."""


def default_dir() -> Path:
    """The data shipped with the package (``leian/corpora/data``)."""
    return Path(str(files("leian.corpora") / "data"))


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data line of a TSV whose first non-comment line is the header."""
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        if len(cells) != len(header):
            raise LawDataError(
                f"{path.name} line {number}: {len(cells)} columns, the header has {len(header)}"
            )
        rows.append((number, dict(zip(header, cells, strict=True))))
    if header is None:
        raise LawDataError(f"{path.name}: no header line")
    return rows


def parse_row(model: type[Row], path: Path, number: int, row: dict[str, str]) -> Row:
    """``model`` from one row, with empty cells as missing values; a bad cell names its file and line."""
    try:
        return model.model_validate({k: v for k, v in row.items() if v != ""})
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise LawDataError(f"{path.name} line {number} ({row.get('charge', '')}): {problems}") from None


def _problem(error: dict) -> str:
    """``field: message``, or the message alone for a rule across fields."""
    message = error["msg"].removeprefix("Value error, ")
    where = ".".join(map(str, error["loc"]))
    return f"{where}: {message}" if where else message
