"""The numeric conditions of the tiers (``data/amount_thresholds.tsv``), typed and checked when loaded.

Each row says what puts a 罪名 into the tier with ``condition_key``: an element of the case (数额, grams of
a drug, 血液酒精含量, deaths, 重伤 victims, 逃逸) at or above a figure. Most figures come from the 两高
judicial interpretations; where an interpretation gives a range (盗窃 数额较大 1,000–3,000元) each province
chooses its figure within it, and a row with ``province`` records that choice and the document that
published it. ``qualifier`` marks a figure that applies only under a condition the case elements cannot
show (贪污 一万元 with 其他较重情节; 恶意透支); ``responsibility`` restricts 交通肇事 rows to a share of the
responsibility; ``requires`` names another tier of the same 罪名 that must be met too (逃逸 presupposes the
offence). A ``drug_conversion`` row allows several drugs to be added up as 海洛因 by the ratio of their
figures (the row's source says which document allows it).

Loading refuses a row whose 罪名 is unknown or whose key is not one of that 罪名's tiers, a national range
with low > high, a province figure outside the national range or without its national row, and an empty
source; the error names the file and the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leian.corpora.dictionaries import PROVINCES, canonical_charge, charge_names
from leian.corpora.law.table import LawDataError, default_dir, parse_row, read_rows
from leian.corpora.law.tiers import ConditionKey, load_tiers

THRESHOLDS_FILE = "amount_thresholds.tsv"

Element = Literal[
    "amount_yuan",  # Elements.amount_yuan
    "drug_grams",  # Elements.drugs, for the row's kind
    "drug_conversion",  # several kinds may be added up as ``kind`` (no figure of its own)
    "bac_mg_per_100ml",  # Elements.bac_mg_per_100ml
    "deaths",  # Elements.deaths
    "grave_injuries",  # victims with 重伤一级/二级 among Elements.injuries
    "hit_and_run",  # Elements.hit_and_run (1 = 逃逸)
]
Responsibility = Literal["全部或者主要", "同等"]
_DRUG_ELEMENTS = ("drug_grams", "drug_conversion")


class ThresholdRow(BaseModel):
    """One figure that (with the others of its tier) puts a 罪名 into a tier."""

    model_config = ConfigDict(frozen=True)

    charge: str = Field(min_length=2)
    condition_key: ConditionKey
    element: Element
    kind: str = ""  # the drug, for drug elements
    responsibility: Responsibility | None = None  # 交通肇事: the share of responsibility required
    qualifier: str = ""  # a further condition the case elements cannot show
    requires: ConditionKey | None = None  # another tier of the same 罪名 that must be met as well
    national_low: float | None = Field(default=None, ge=0)
    national_high: float | None = Field(default=None, ge=0)
    province: str = ""  # empty: the national rule
    region: str = ""  # part of the province the figure applies to (广东省一类地区 …)
    value: float | None = Field(default=None, ge=0)  # the province's figure
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ThresholdRow:
        if self.element in _DRUG_ELEMENTS and not self.kind:
            raise ValueError(f"{self.element} needs the drug kind")
        if self.element not in _DRUG_ELEMENTS and self.kind:
            raise ValueError(f"kind is only for drug elements, not {self.element}")
        if self.element == "drug_conversion":
            if self.national_low is not None or self.national_high is not None or self.province:
                raise ValueError("a drug_conversion row has no figure and no province")
            return self
        if self.national_low is None or self.national_high is None:
            raise ValueError("national_low and national_high are required")
        if self.national_low > self.national_high:
            raise ValueError(f"national_low {self.national_low:g} > national_high {self.national_high:g}")
        if not self.province:
            if self.value is not None or self.region:
                raise ValueError("value and region belong to province rows")
            return self
        if self.province not in PROVINCES:
            raise ValueError(f"province {self.province!r} is not one of {', '.join(PROVINCES)}")
        if self.value is None:
            raise ValueError("a province row needs its value")
        if not self.national_low <= self.value <= self.national_high:
            raise ValueError(
                f"{self.province} value {self.value:g} is outside the national range "
                f"{self.national_low:g}–{self.national_high:g}"
            )
        return self

    @property
    def ranged(self) -> bool:
        """Whether the interpretation leaves the figure to the provinces within a range."""
        return self.national_low != self.national_high

    @property
    def rule_key(self) -> tuple[str, str, str, str, str | None, str]:
        """What a province figure refines: the national row with the same key, element and conditions."""
        return (self.charge, self.condition_key, self.element, self.kind, self.responsibility, self.qualifier)


@cache
def load_thresholds(data_dir: Path | None = None) -> Mapping[str, tuple[ThresholdRow, ...]]:
    """罪名 → its threshold rows in file order, from ``data_dir`` (default: the package data); checked, cached."""
    path = (data_dir or default_dir()) / THRESHOLDS_FILE
    known = set(charge_names())
    tiers = load_tiers(data_dir)
    national: dict[tuple, ThresholdRow] = {}
    by_charge: dict[str, list[ThresholdRow]] = {}
    for number, raw in read_rows(path):
        row = parse_row(ThresholdRow, path, number, raw)
        where = f"{path.name} line {number} ({row.charge})"
        if row.charge not in known:
            raise LawDataError(f"{where}: {row.charge!r} is not a 罪名 of charges.tsv")
        keys = {t.condition_key for t in tiers[row.charge]}
        for key in (row.condition_key, row.requires):
            if key is not None and key not in keys:
                raise LawDataError(
                    f"{where}: {key} is not a tier of {row.charge} ({', '.join(sorted(keys))})"
                )
        if not row.province:
            national[row.rule_key] = row
        elif (base := national.get(row.rule_key)) is None:
            raise LawDataError(f"{where}: {row.province}'s figure comes before or without its national row")
        elif (base.national_low, base.national_high) != (row.national_low, row.national_high):
            raise LawDataError(f"{where}: the national range differs from the national row's")
        by_charge.setdefault(row.charge, []).append(row)
    return MappingProxyType({c: tuple(rows) for c, rows in by_charge.items()})


def thresholds_of(charge: str, data_dir: Path | None = None) -> tuple[ThresholdRow, ...]:
    """The threshold rows of a 罪名 given in any form; empty when no numeric rule decides its tiers."""
    name = canonical_charge(charge)
    if name is None:
        raise KeyError(f"{charge!r} is not a 罪名 form; give a charge such as 盗窃罪 or 贩卖毒品罪")
    return load_thresholds(data_dir).get(name, ())
