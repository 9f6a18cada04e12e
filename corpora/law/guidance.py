"""The 2021 量刑指导意见's ranges for each common circumstance, as data (``guidance_adjustments.tsv``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leian.corpora.law.table import LawDataError, default_dir, parse_row, read_rows

FILE = "guidance_adjustments.tsv"


class Adjustment(BaseModel):
    """How far the guidance lets one circumstance move the 基准刑, in percent (negative: less)."""

    model_config = ConfigDict(frozen=True)

    circumstance: str = Field(min_length=2)
    direction: Literal["从轻", "从重"]
    min_pct: float = Field(ge=-100, le=100)
    max_pct: float = Field(ge=-100, le=100)
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Adjustment:
        if self.min_pct > self.max_pct:
            raise ValueError(f"min_pct {self.min_pct:g} > max_pct {self.max_pct:g}")
        if (self.direction == "从轻") != (self.max_pct <= 0):
            raise ValueError(f"{self.direction} does not match the range {self.min_pct:g}..{self.max_pct:g}")
        return self

    def allows(self, pct: float) -> bool:
        return self.min_pct <= pct <= self.max_pct


@cache
def adjustments(data_dir: Path | None = None) -> Mapping[str, Adjustment]:
    """circumstance -> its range; checked when loaded (a broken row names the file and line)."""
    path = (data_dir or default_dir()) / FILE
    out: dict[str, Adjustment] = {}
    for number, row in read_rows(path):
        adj = parse_row(Adjustment, path, number, row)
        if adj.circumstance in out:
            raise LawDataError(f"{path.name} line {number}: {adj.circumstance} is listed twice")
        out[adj.circumstance] = adj
    return out


__all__ = ["Adjustment", "adjustments"]
