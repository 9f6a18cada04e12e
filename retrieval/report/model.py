"""The 类案检索报告 as data: the pydantic ``Report`` and its parts.

Sections follow 最高人民法院《关于统一法律适用加强类案检索的指导意见（试行）》(法发〔2020〕24号) art. 8:
检索主体、时间、平台、方法、结果、类案裁判要点、待决案件争议焦点, and the 参照/参考 analysis by tier
(art. 4 order, art. 9 roles, art. 11 for conflicts); plus the sentencing picture of the similar cases
with the same charge and, when given, the check of a proposed sentence (see ``sentencing``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError

from leian import __version__
from leian.corpora.record import Elements, Sentence, Span
from leian.errors import InvalidInput
from leian.retrieval.models import ChargePrediction
from leian.retrieval.sentencing import ChargePicture, ProposedCheck, SentencingStats

SCHEMA = "leian.report/1"
TIER_NAMES = {"普通": "其他裁判生效案件"}  # how the tier is named in the report's words

try:  # the data keeps UTC; what a person reads is Beijing time
    BEIJING: timezone | ZoneInfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database (Windows without tzdata): China keeps UTC+8, no DST since 1991
    BEIJING = timezone(timedelta(hours=8), "北京时间")


def parse_time(iso: str) -> datetime:
    """An ISO 8601 time as stored in a report (``2026-03-01T09:30:00Z``) as an aware datetime (UTC
    when it names no zone)."""
    t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def beijing_time(iso: str) -> datetime:
    return parse_time(iso).astimezone(BEIJING)


def time_text(iso: str | None) -> str:
    """``2026-12-06T09:56:00Z`` -> ``2026年12月6日 17时56分（北京时间）``, as official documents write it."""
    if not iso:
        return "—"
    try:
        t = beijing_time(iso)
    except ValueError:
        return iso
    return f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute:02d}分（北京时间）"


def date_text(value: str | date | None) -> str:
    """``2023-12-06`` (or a date, or the date part of a longer ISO string) -> ``2023年12月6日``; a
    partial date keeps what it has (``2023-12`` -> ``2023年12月``)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    parts = value[:10].split("-")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return value
    return "".join(f"{int(p)}{unit}" for p, unit in zip(parts, "年月日", strict=False))


class Requester(BaseModel):
    """检索主体: who ran the retrieval."""

    name: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)


class Platform(BaseModel):
    """检索平台: what was searched, stated truthfully."""

    product: str
    version: str
    backend: str
    index_name: str = ""
    snapshot: str = ""
    index_updated_at: str | None = None
    doc_count: int = 0
    corpus_name: str = ""
    corpus_licence: str = ""
    date_from: str | None = None
    date_to: str | None = None
    tokenizer: str = ""
    model: str | None = None


class Method(BaseModel):
    """检索方法."""

    methods: list[str]
    # the 检索词 the report names: the most distinctive legal and factual words of the facts (at most
    # SHOWN_TERMS; no person, place, date, number or fragment — retrieval.search.display_terms)
    query_terms: list[str]
    query_terms_total: int = 0  # how many terms the keyword search used (every token, names included)
    filters: dict[str, Any]
    charges_given: list[str] | None
    charges_predicted: list[ChargePrediction]
    charges_used: list[str]  # the charges the ranking boosted (given, or every predicted one, weighted)
    stats_charges: list[
        str
    ]  # the pending case's charge for the sentencing figures (given, or the top prediction)
    backend: str
    weights: dict[str, float]
    top_k: int
    stats_k: int
    excluded_ids: list[str] = Field(default_factory=list)


class ResultCase(BaseModel):
    """检索结果: one similar case."""

    rank: int
    id: str
    case_number: str | None = None
    title: str | None = None
    court: str | None = None
    court_level: str | None = None
    judgment_date: str | None = None
    tier: str = "普通"
    role: Literal["参照", "参考"]
    recent: bool  # judged within the last RECENT_YEARS years before the report
    committee: bool  # the judgment says it was discussed by the 审判委员会 (art. 11)
    charges: list[str] = Field(default_factory=list)
    sentence: Sentence | None = None
    sentence_text: str = "—"
    score: float
    components: dict[str, float] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    shared_charges: list[str] = Field(default_factory=list)
    shared_statutes: list[str] = Field(default_factory=list)
    shared_circumstances: list[str] = Field(default_factory=list)
    matched_terms: list[str] = Field(default_factory=list)


class KeySentence(BaseModel):
    text: str
    section: Literal["reasoning", "text"]  # offsets into record.sections.reasoning, or into record.text
    start: int
    end: int


class KeyPoint(BaseModel):
    """类案裁判要点: the reasoning sentences of one top case that name the charge, circumstances and
    sentencing grounds."""

    rank: int
    case_id: str
    case_number: str | None = None
    court: str | None = None
    sentences: list[KeySentence]


class PendingDefendant(BaseModel):
    """A suspect the facts name, with the sentencing elements read for the case's charges."""

    name: str
    elements: Elements
    elements_text: list[str] = Field(default_factory=list)  # 检索要素 as a reader reads them
    spans: list[Span] = Field(default_factory=list)  # where each element stands in the facts


class PendingCase(BaseModel):
    """待决案件要素 and 争议焦点, extracted from the facts (never from labels)."""

    facts: str
    charges_given: list[str] | None = None
    charges_predicted: list[ChargePrediction] = Field(default_factory=list)
    charges: list[str] = Field(default_factory=list)  # given, or the top prediction
    circumstances: list[str] = Field(default_factory=list)
    statutes: list[str] = Field(default_factory=list)
    amount_yuan: float | None = None  # 涉案数额: only for charges whose tiers turn on one
    defendants: list[PendingDefendant] = Field(default_factory=list)
    focus: list[str] = Field(default_factory=list)


class TierGroup(BaseModel):
    tier: str
    role: Literal["参照", "参考"]
    ranks: list[int]  # result ranks in this tier, recent cases first
    recent_ranks: list[int]
    text: str


class Analysis(BaseModel):
    """参照/参考 analysis: the tiers in art. 4 order; the 指导性案例 group is always present."""

    recent_since: str  # ISO date: cases judged on or after it are "近三年"
    tiers: list[TierGroup]
    notes: list[str]


class Signature(BaseModel):
    """The issuing installation's Ed25519 signature over the report's SHA-256 (its hex text)."""

    algorithm: Literal["Ed25519"] = "Ed25519"
    key: str  # the installation key's fingerprint (16 hex digits)
    value: str  # base64


class Report(BaseModel):
    schema_: str = Field(default=SCHEMA, alias="schema")
    id: str
    created_at: str  # ISO 8601, UTC, seconds
    sha256: str = ""
    generator: str = f"leian {__version__}"
    # issued by a service: the audit log's chain head when the report was made (ties the report to
    # the log) and the installation's signature; a report made on the command line has neither
    audit_head: str | None = None
    signature: Signature | None = None
    title: str = "类案检索报告"
    requester: Requester
    platform: Platform
    method: Method
    pending: PendingCase
    results: list[ResultCase]
    key_points: list[KeyPoint]
    analysis: Analysis
    # one picture per applicable charge; ``sentencing`` and ``proposed`` repeat the first picture's
    # figures for readers of leian.report/1
    pictures: list[ChargePicture] = Field(default_factory=list)
    sentencing: SentencingStats | None = None
    sentencing_note: str = ""
    proposed: ProposedCheck | None = None
    notes: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}

    def data(self) -> dict[str, Any]:
        """The report as plain JSON data (what the hash covers, plus the hash)."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def created(self) -> datetime:
        """``created_at`` as an aware datetime (UTC)."""
        return parse_time(self.created_at)


def load_report(data: dict[str, Any] | str | bytes) -> Report:
    """A report from its JSON data; a malformed one is an InvalidInput."""
    try:
        if not isinstance(data, dict):
            data = json.loads(data)
        return Report.model_validate(data)
    except (ValueError, ValidationError) as e:
        raise InvalidInput(f"not a leian report: {str(e).splitlines()[0]}") from None


__all__ = [
    "BEIJING",
    "SCHEMA",
    "TIER_NAMES",
    "Analysis",
    "KeyPoint",
    "KeySentence",
    "Method",
    "PendingCase",
    "Platform",
    "Report",
    "Requester",
    "ResultCase",
    "Signature",
    "TierGroup",
    "beijing_time",
    "date_text",
    "load_report",
    "parse_time",
    "time_text",
]
