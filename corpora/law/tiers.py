"""The 法定刑 tiers of every 罪名 (``data/statutory_tiers.tsv``), typed and checked when loaded.

A tier is one 量刑幅度 of the Criminal Law as amended through 刑法修正案（十二）: the condition in the
law's words, a key from :data:`CONDITION_KEYS`, the principal penalty as months (刑法 arts. 38, 42, 45:
管制 3–24, 拘役 1–6, 有期徒刑 6–180; 无期徒刑 and 死刑 leave the bound open), the penalty kinds, the
fine, the penalty in the law's words and the article with the amendment that last set its wording.
``bench/make_statutory_tiers.py`` generates the file from the law's text.

Loading refuses a file where a row names no real 罪名, a key is outside the list, min > max, levels do
not run 1..n, a higher tier is milder than a lower one, a source is empty, or a 罪名 of
``charges.tsv`` has no tier; the error names the file, the line and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leian.corpora.dictionaries import canonical_charge, charge_names
from leian.corpora.law.table import LawDataError, default_dir, parse_row, read_rows

TIERS_FILE = "statutory_tiers.tsv"

ConditionKey = Literal[
    "base",  # 基本犯: the offence itself
    "lesser",  # 情节较轻
    "moderate",  # 情节较重 (the entry tier of 第三百五十条)
    "amount_large",  # 数额（数量）较大
    "amount_huge",  # 数额（数量）巨大
    "amount_extra",  # 数额（数量）特别巨大
    "amount_top",  # a statute's fourth amount tier (第一百四十条 销售金额二百万元以上)
    "amount_extra_loss",  # 数额特别巨大，并使国家和人民利益遭受特别重大损失 (第三百八十三条)
    "serious",  # 情节严重 / 其他严重情节
    "very_serious",  # 情节特别严重 / 其他特别严重情节
    "vile",  # 情节恶劣
    "very_vile",  # 情节特别恶劣
    "consequence_serious",  # 造成严重后果
    "consequence_very_serious",  # 后果特别严重
    "loss_large",  # 较大损失
    "loss_major",  # 重大损失
    "loss_extra",  # 特别重大损失
    "grave_injury",  # 致人重伤
    "death",  # 致人死亡
    "injury_or_death",  # 致人重伤、死亡
    "escape",  # 交通运输肇事后逃逸或者有其他特别恶劣情节
    "escape_death",  # 因逃逸致人死亡
    "drug_small",  # 少量毒品 (第三百四十七条第四款)
    "drug_medium",  # 毒品数量较大
    "drug_large",  # 毒品数量大
    "role_leader",  # 首要分子 / 组织、领导 / 罪行重大
    "role_active",  # 积极参加
    "role_other",  # 其他参加
    "wartime",  # 战时犯前款罪
    "aggravated",  # 有下列情形之一 (the listed aggravations)
    "specified",  # another condition the law names in its own words
]
CONDITION_KEYS: tuple[str, ...] = get_args(ConditionKey)
# how a report names the standard a key stands for ("达到数额巨大标准")
KEY_LABELS: dict[str, str] = {
    "base": "入罪", "lesser": "情节较轻", "moderate": "情节较重", "amount_large": "数额较大",
    "amount_huge": "数额巨大", "amount_extra": "数额特别巨大", "amount_top": "该条最高数额档",
    "amount_extra_loss": "数额特别巨大并使国家和人民利益遭受特别重大损失", "serious": "情节严重",
    "very_serious": "情节特别严重", "vile": "情节恶劣", "very_vile": "情节特别恶劣",
    "consequence_serious": "造成严重后果", "consequence_very_serious": "后果特别严重",
    "loss_large": "较大损失", "loss_major": "重大损失", "loss_extra": "特别重大损失",
    "grave_injury": "致人重伤", "death": "致人死亡", "injury_or_death": "致人重伤、死亡",
    "escape": "逃逸或者其他特别恶劣情节", "escape_death": "因逃逸致人死亡", "drug_small": "少量毒品",
    "drug_medium": "毒品数量较大", "drug_large": "毒品数量大", "role_leader": "首要分子",
    "role_active": "积极参加", "role_other": "其他参加", "wartime": "战时", "aggravated": "法定加重情形",
    "specified": "该档法定情形",
}  # fmt: skip
PenaltyKind = Literal["管制", "拘役", "有期徒刑", "无期徒刑", "死刑", "剥夺政治权利"]
FineKind = Literal["none", "可以并处", "并处", "并处或者单处", "单处"]
_OPEN = frozenset({"无期徒刑", "死刑"})
_TERMS = frozenset({"管制", "拘役", "有期徒刑"})


class TierRow(BaseModel):
    """One 量刑幅度 of one 罪名."""

    model_config = ConfigDict(frozen=True)

    charge: str = Field(min_length=2)
    article: str = Field(min_length=1)  # where the law states this tier, e.g. 刑法第二百六十四条
    level: int = Field(ge=1)  # 1 = the mildest tier of the charge
    condition: str = Field(min_length=1)  # the law's words, or 基本犯
    condition_key: ConditionKey
    min_months: int | None = Field(default=None, ge=1, le=180)  # None: only 无期徒刑/死刑
    max_months: int | None = Field(default=None, ge=1, le=180)  # None: 无期徒刑 or 死刑 open the top
    penalties: tuple[PenaltyKind, ...] = Field(min_length=1)
    fine: FineKind
    penalty_text: str = Field(pattern=r"^处")  # e.g. 处三年以上十年以下有期徒刑，并处罚金
    source: str = Field(min_length=1)  # the article and the amendment that last set its wording

    @field_validator("penalties", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return tuple(value.split("|")) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> TierRow:
        kinds = set(self.penalties)
        if self.min_months is not None and self.max_months is not None and self.min_months > self.max_months:
            raise ValueError(f"min_months {self.min_months} > max_months {self.max_months}")
        if (self.max_months is None) != bool(kinds & _OPEN):
            raise ValueError("max_months is empty exactly when 无期徒刑 or 死刑 is a penalty")
        if (self.min_months is None) != (not kinds & _TERMS):
            raise ValueError("min_months is empty exactly when no 管制/拘役/有期徒刑 is a penalty")
        return self

    @property
    def severity(self) -> tuple[float, float]:
        """(min, max) months with an open bound as infinity: the order tiers climb in."""
        inf = float("inf")
        return (
            inf if self.min_months is None else self.min_months,
            inf if self.max_months is None else self.max_months,
        )


class StatutoryRange(BaseModel):
    """The whole 法定刑 of a 罪名: its mildest and harshest bounds over all tiers."""

    model_config = ConfigDict(frozen=True)

    charge: str
    min_months: int | None
    max_months: int | None  # None: 无期徒刑 or 死刑 is possible
    penalties: tuple[PenaltyKind, ...]
    tiers: tuple[TierRow, ...]


@cache
def load_tiers(data_dir: Path | None = None) -> Mapping[str, tuple[TierRow, ...]]:
    """罪名 → its tiers by level, from ``data_dir`` (default: the package data); checked, cached."""
    path = (data_dir or default_dir()) / TIERS_FILE
    known = set(charge_names())
    by_charge: dict[str, list[tuple[int, TierRow]]] = {}
    for number, raw in read_rows(path):
        row = parse_row(TierRow, path, number, raw)
        if row.charge not in known:
            raise LawDataError(f"{path.name} line {number}: {row.charge!r} is not a 罪名 of charges.tsv")
        by_charge.setdefault(row.charge, []).append((number, row))
    missing = [c for c in charge_names() if c not in by_charge]
    if missing:
        raise LawDataError(
            f"{path.name}: no tier for {len(missing)} 罪名 of charges.tsv: {'、'.join(missing[:5])}"
        )
    return MappingProxyType({c: _checked(path, rows) for c, rows in by_charge.items()})


def _checked(path: Path, rows: list[tuple[int, TierRow]]) -> tuple[TierRow, ...]:
    rows = sorted(rows, key=lambda r: r[1].level)
    for expected, (number, row) in enumerate(rows, 1):
        if row.level != expected:
            raise LawDataError(
                f"{path.name} line {number} ({row.charge}): level {row.level} where {expected} is due; "
                "levels run 1..n"
            )
    for (_, lower), (number, higher) in zip(rows, rows[1:], strict=False):
        lo, hi = lower.severity, higher.severity
        if hi[0] < lo[0] or hi[1] < lo[1]:
            raise LawDataError(
                f"{path.name} line {number} ({higher.charge}): level {higher.level} "
                f"({higher.penalty_text}) is milder than level {lower.level} ({lower.penalty_text})"
            )
    return tuple(row for _, row in rows)


def tiers_of(charge: str, data_dir: Path | None = None) -> tuple[TierRow, ...]:
    """The tiers of a 罪名 given in any form (贩卖毒品罪, 强制猥亵妇女罪 …), mildest first."""
    name = canonical_charge(charge)
    if name is None:
        raise KeyError(f"{charge!r} is not a 罪名 form; give a charge such as 盗窃罪 or 贩卖毒品罪")
    return load_tiers(data_dir)[name]


def statutory_range(charge: str, data_dir: Path | None = None) -> StatutoryRange:
    """The 法定刑 of a 罪名 over all its tiers (e.g. 盗窃罪: 1 month 拘役 to 无期徒刑)."""
    tiers = tiers_of(charge, data_dir)
    lows = [t.min_months for t in tiers if t.min_months is not None]
    kinds = {k for t in tiers for k in t.penalties}
    return StatutoryRange(
        charge=tiers[0].charge,
        min_months=min(lows) if lows else None,
        max_months=None if any(t.max_months is None for t in tiers) else max(t.max_months for t in tiers),
        penalties=tuple(k for k in get_args(PenaltyKind) if k in kinds),
        tiers=tiers,
    )
