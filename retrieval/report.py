"""The 类案检索报告 as data: built from one search, sealed with a content hash, verifiable later.

Sections follow 最高人民法院《关于统一法律适用加强类案检索的指导意见（试行）》(法发〔2020〕24号) art. 8:
检索主体、时间、平台、方法、结果、类案裁判要点、待决案件争议焦点, and the 参照/参考 analysis by tier
(art. 4 order, art. 9 roles, art. 11 for conflicts); plus the sentencing picture of the similar cases
with the same charge and, when given, the check of a proposed sentence (see ``sentencing``).

Content hash: SHA-256 over the canonical JSON of the report without its ``sha256`` field — keys
sorted, UTF-8 (no ASCII escaping), no insignificant whitespace (``separators=(",", ":")``), numbers
as Python's ``json`` writes them. ``verify`` recomputes it from a saved JSON, or from the copy of the
data that every rendered format embeds, and also checks that the rendered text is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from leian import PRODUCT, __version__
from leian.corpora.record import TIERS, CaseRecord, Sentence
from leian.errors import InvalidInput
from leian.retrieval.models import ChargePrediction, Hit, Query, SearchResult
from leian.retrieval.sentencing import (
    ADJUSTMENTS,
    ProposedCheck,
    ProposedSentence,
    SentencingStats,
    check_proposed,
    sentence_text,
    sentencing_stats,
    yuan_text,
)

SCHEMA = "leian.report/1"
RECENT_YEARS = 3  # art. 4: except guiding cases, prefer cases of the last three years
TIER_NAMES = {"普通": "其他裁判生效案件"}  # how the tier is named in the report's words
CONFIDENT_CHARGE = 0.5  # below this a predicted charge is flagged as uncertain in the sentencing section
KEY_POINT_CASES = 5  # 类案裁判要点 are drawn from the top cases
KEY_SENTENCES = 3  # per case
MAX_KEY_SENTENCE = 240  # characters


# ---------------------------------------------------------------- the report model


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
    query_terms: list[str]
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


class PendingCase(BaseModel):
    """待决案件要素 and 争议焦点, extracted from the facts (never from labels)."""

    facts: str
    charges_given: list[str] | None = None
    charges_predicted: list[ChargePrediction] = Field(default_factory=list)
    charges: list[str] = Field(default_factory=list)  # given, or the top prediction
    circumstances: list[str] = Field(default_factory=list)
    statutes: list[str] = Field(default_factory=list)
    amount_yuan: float | None = None
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


class Report(BaseModel):
    schema_: str = Field(default=SCHEMA, alias="schema")
    id: str
    created_at: str  # ISO 8601, UTC, seconds
    sha256: str = ""
    generator: str = f"leian {__version__}"
    title: str = "类案检索报告"
    requester: Requester
    platform: Platform
    method: Method
    pending: PendingCase
    results: list[ResultCase]
    key_points: list[KeyPoint]
    analysis: Analysis
    sentencing: SentencingStats | None = None
    sentencing_note: str = ""
    proposed: ProposedCheck | None = None
    notes: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}

    def data(self) -> dict[str, Any]:
        """The report as plain JSON data (what the hash covers, plus the hash)."""
        return self.model_dump(mode="json", by_alias=True)


class VerifyResult(BaseModel):
    ok: bool
    format: Literal["json", "md", "html", "docx"]
    id: str | None = None
    sha256: str | None = None  # the hash the report states
    computed: str | None = None  # the hash of its content
    generator: str | None = None
    rendering_checked: bool | None = None  # md/html/docx: the visible text was compared too
    message: str


# ---------------------------------------------------------------- hashing


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in data.items() if k != "sha256"})).hexdigest()


def seal(report: Report) -> Report:
    """Return the report with its ``sha256`` set."""
    return report.model_copy(update={"sha256": content_hash(report.data())})


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_report_id(now: datetime | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, so ids sort by time."""
    ms = int(now.timestamp() * 1000) if now else time.time_ns() // 1_000_000
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


# ---------------------------------------------------------------- building


def build_report(
    searcher,
    query: Query,
    requester: Requester | None = None,
    proposed: ProposedSentence | None = None,
    top_k: int = 10,
    stats_k: int = 50,
    *,
    now: datetime | None = None,
    report_id: str | None = None,
) -> Report:
    """Run the search and assemble the sealed report.

    Two searches: the similar cases (``top_k``), then up to ``stats_k`` similar cases restricted to
    the charges used, for the sentencing statistics (so that a mixed result list does not starve them).
    """
    if stats_k < 0 or top_k < 1:
        raise InvalidInput(f"top_k must be >= 1 and stats_k >= 0 (got top_k={top_k}, stats_k={stats_k})")
    query = query.model_copy(update={"top_k": top_k})
    result = searcher.search(query)
    pending = searcher.analyse(query.facts)
    stats_hits: list[Hit] = []
    charges = pending_charges(result)
    if charges and stats_k:
        # Same charge; the caller's other filters (court level, years, province) still apply.
        filters = query.filters.model_copy(update={"charge": charges})
        stats_query = query.model_copy(update={"charges": charges, "filters": filters, "top_k": stats_k})
        stats_hits = searcher.search(stats_query).hits
    records = _records(searcher, [*result.hits, *stats_hits])
    return assemble_report(
        description=searcher.describe(),
        query=query,
        result=result,
        records=records,
        stats_ids=[h.id for h in stats_hits],
        pending=pending,
        requester=requester,
        proposed=proposed,
        stats_k=stats_k,
        now=now,
        report_id=report_id,
    )


def pending_charges(result: SearchResult) -> list[str]:
    """The pending case's charges for the report: those given, else the most probable prediction (the
    ranking may boost several predicted charges, but the sentencing figures need one)."""
    if result.charges_given:
        return list(dict.fromkeys(result.charges_given))
    preds = sorted(result.charges_predicted, key=lambda p: (-p.probability, p.charge))
    return [preds[0].charge] if preds else []


def _records(searcher, hits: Sequence[Hit]) -> dict[str, CaseRecord]:
    out = {h.id: h.record for h in hits if h.record is not None}
    missing = [h.id for h in hits if h.id not in out]
    if missing:
        out.update(searcher.get(list(dict.fromkeys(missing))))
    return out


def assemble_report(
    *,
    description: dict[str, Any],
    query: Query,
    result: SearchResult,
    records: dict[str, CaseRecord],
    stats_ids: Sequence[str],
    pending: CaseRecord,
    requester: Requester | None = None,
    proposed: ProposedSentence | None = None,
    stats_k: int = 50,
    now: datetime | None = None,
    report_id: str | None = None,
) -> Report:
    """The report from the search's outputs (pure: the clock and the id can be injected)."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    recent_since = _years_before(now.date(), RECENT_YEARS)
    results = [_result_case(h, records.get(h.id), recent_since) for h in result.hits]
    pending_case = _pending_case(query, result, pending)

    stats: SentencingStats | None = None
    check: ProposedCheck | None = None
    charges = pending_charges(result)
    if charges:
        stats_records = [records[i] for i in dict.fromkeys(stats_ids) if i in records]
        stats = sentencing_stats(stats_records, charges, pending=pending)
        sentencing_note = (
            f"统计范围：罪名为{'、'.join(stats.charges)}、按相似度排序的前{len(stats_records)}件检索结果"
            f"（最多取{stats_k}件）中，"
            f"可比类案{stats.n_cases}件（另有{stats.n_excluded_multi}件因数罪并罚、{stats.n_unknown}件因刑罚未能识别而未计入）。"
        )
        top = max(result.charges_predicted, key=lambda p: p.probability, default=None)
        if not result.charges_given and top is not None and top.probability < CONFIDENT_CHARGE:
            sentencing_note += (
                f"罪名系据案情预测（{top.charge}，概率{top.probability:.0%}，把握不大），"
                "如罪名不同，请指定罪名后重新检索。"
            )
        if proposed is not None:
            check = check_proposed(stats, proposed)
    else:
        sentencing_note = "未能确定待决案件的罪名，未作量刑统计。"
        if proposed is not None:
            raise InvalidInput(
                "a proposed sentence can only be checked when the charges are known: pass --charges"
            )

    report = Report(
        id=report_id or new_report_id(now),
        created_at=now.isoformat().replace("+00:00", "Z"),
        requester=requester or Requester(),
        platform=_platform(description, result),
        method=_method(description, query, result, stats_k),
        pending=pending_case,
        results=results,
        key_points=[kp for h in result.hits[:KEY_POINT_CASES] if (kp := key_point(h, records.get(h.id)))],
        analysis=_analysis(results, recent_since),
        sentencing=stats,
        sentencing_note=sentencing_note,
        proposed=check,
        notes=[
            "本报告由系统依检索结果自动生成，类案是否相似、应否参照或参考，由承办人依《指导意见》第六条逐案比对后判断。",
            "统计数字均注明所依据的案件数；样本较少的，仅供参考，不足以说明一般做法。",
        ],
    )
    return seal(report)


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _platform(desc: dict[str, Any], result: SearchResult) -> Platform:
    index = desc.get("index") or {}
    corpus = index.get("corpus") or {}
    model = desc.get("model")
    if isinstance(model, dict):
        model = model.get("name")
    tokenizer = desc.get("tokenizer")
    if isinstance(tokenizer, dict):
        tokenizer = (
            tokenizer.get("name") or tokenizer.get("engine") or json.dumps(tokenizer, ensure_ascii=False)
        )
    return Platform(
        product=str(desc.get("product") or PRODUCT),
        version=str(desc.get("version") or __version__),
        backend=str(desc.get("backend") or result.backend),
        index_name=str(index.get("name") or ""),
        snapshot=str(index.get("snapshot") or ""),
        index_updated_at=index.get("updated_at"),
        doc_count=int(index.get("doc_count") or 0),
        corpus_name=str(corpus.get("name") or ""),
        corpus_licence=str(corpus.get("licence") or corpus.get("license") or ""),
        date_from=corpus.get("date_from") or corpus.get("min_date"),
        date_to=corpus.get("date_to") or corpus.get("max_date"),
        tokenizer=str(tokenizer or index.get("tokenizer") or ""),
        model=model or index.get("model"),
    )


def _method(desc: dict[str, Any], query: Query, result: SearchResult, stats_k: int) -> Method:
    weights = dict(result.weights or desc.get("weights") or {})
    t = result.timings_ms
    dense = ("dense" in t or "embed" in t) if t else bool(desc.get("model") and weights.get("w_dense", 0) > 0)
    keywords = "关键词检索：法律词典分词后按 BM25 排序"
    if not (desc.get("config") or {}).get("query_places", True):
        keywords += "（省、市、县、区、镇、乡、村等地名不作检索词）"
    methods = [keywords]
    if dense:
        methods.append(f"语义检索：向量模型（{desc.get('model') or '—'}）的语义相似度")
        methods.append("融合排序：关键词与语义得分各自标准化后加权相加")
    methods.append("法条关联检索：按罪名、法条、量刑情节、涉案数额的重合程度加分重排")
    return Method(
        methods=methods,
        query_terms=list(result.query_terms),
        filters={k: v for k, v in result.filters.model_dump(mode="json").items() if v not in (None, [])},
        charges_given=result.charges_given,
        charges_predicted=list(result.charges_predicted),
        charges_used=list(result.charges_used),
        stats_charges=pending_charges(result),
        backend=result.backend,
        weights=weights,
        top_k=query.top_k,
        stats_k=stats_k,
        excluded_ids=list(query.exclude_ids),
    )


def _result_case(hit: Hit, rec: CaseRecord | None, recent_since: date) -> ResultCase:
    s = hit.sentence
    jd = hit.judgment_date or (rec.judgment_date if rec else None)
    return ResultCase(
        rank=hit.rank,
        id=hit.id,
        case_number=hit.case_number or (rec.case_number if rec else None),
        title=hit.title or (rec.title if rec else None),
        court=hit.court or (rec.court if rec else None),
        court_level=hit.court_level or (rec.court_level if rec else None),
        judgment_date=jd,
        tier=hit.tier,
        role="参照" if hit.tier == "指导性案例" else "参考",
        recent=bool(jd and jd[:10] >= recent_since.isoformat()),
        committee=bool(rec and "审判委员会" in (rec.text or "")),
        charges=list(hit.charges),
        sentence=s,
        sentence_text=sentence_text(s.kind, s.months, s.probation_months, s.fine_yuan) if s else "—",
        score=float(hit.score),
        components={k: float(v) for k, v in hit.components.items()},
        reasons=list(hit.reasons),
        shared_charges=list(hit.shared_charges),
        shared_statutes=list(hit.shared_statutes),
        shared_circumstances=list(hit.shared_circumstances),
        matched_terms=list(hit.matched_terms),
    )


# ---------------------------------------------------------------- 类案裁判要点

_SENT_END = re.compile(r"[^。；！？\n]+[。；！？]?")
_GROUNDS = re.compile(
    r"从轻|减轻|从重|酌情|量刑|缓刑|罚金|免予|依照|根据|依法|第[一二三四五六七八九十百零〇\d]+条"
)
_CIRCUMSTANCE_WORDS = tuple(
    dict.fromkeys(
        [n for n, aliases, _, _ in ADJUSTMENTS for n in (n, *aliases)] + ["认罪", "悔罪", "初犯", "偶犯"]
    )
)


def _reasoning(rec: CaseRecord) -> tuple[str, bool]:
    """The reasoning text and whether it is the record's reasoning section (offsets refer to it)."""
    if rec.sections.reasoning.strip():
        return rec.sections.reasoning, True
    i = rec.text.find("本院认为")
    if i < 0:
        return "", False
    j = rec.text.find("判决如下", i)
    return rec.text[i : j if j > 0 else len(rec.text)], False


def key_point(hit: Hit, rec: CaseRecord | None) -> KeyPoint | None:
    """The sentences of a case's 本院认为 that carry its holding: they name the charge, circumstances or
    sentencing grounds. At most ``KEY_SENTENCES``, in their order in the text."""
    if rec is None:
        return None
    text, is_section = _reasoning(rec)
    if not text:
        return None
    base = 0 if is_section else rec.text.find(text)
    charges = [c for c in dict.fromkeys([*rec.charges, *hit.charges]) if c]
    charge_words = [*charges, *(c[:-1] for c in charges if c.endswith("罪") and len(c) > 2)]
    circ = tuple(dict.fromkeys([*rec.circumstances, *_CIRCUMSTANCE_WORDS]))
    scored = []
    for m in _SENT_END.finditer(text):
        sent = m.group().strip()
        if len(sent) < 6:
            continue
        score = 2 * any(c in sent for c in charge_words)
        score += sum(1 for c in circ if c in sent)
        score += 1 if _GROUNDS.search(sent) else 0
        if score:
            start = m.start() + (len(m.group()) - len(m.group().lstrip()))
            scored.append((score, start, sent))
    best = sorted(sorted(scored, key=lambda t: (-t[0], t[1]))[:KEY_SENTENCES], key=lambda t: t[1])
    if not best:
        return None
    sentences = []
    for _, start, sent in best:
        cut = sent if len(sent) <= MAX_KEY_SENTENCE else sent[: MAX_KEY_SENTENCE - 1] + "…"
        sentences.append(
            KeySentence(
                text=cut,
                section="reasoning" if is_section else "text",
                start=base + start,
                end=base + start + len(sent),
            )
        )
    return KeyPoint(
        rank=hit.rank,
        case_id=hit.id,
        case_number=hit.case_number or rec.case_number,
        court=hit.court or rec.court,
        sentences=sentences,
    )


# ---------------------------------------------------------------- 待决案件 and analysis


def _pending_case(query: Query, result: SearchResult, pending: CaseRecord) -> PendingCase:
    focus: list[str] = []
    preds = sorted(result.charges_predicted, key=lambda p: -p.probability)
    if result.charges_given:
        focus.append(f"罪名：由检索人指定为{'、'.join(result.charges_given)}。")
    elif preds:
        top = preds[0]
        focus.append(f"罪名认定：据案情预测为{top.charge}（概率{top.probability:.0%}），需结合证据确认。")
        close = [p for p in preds[1:3] if p.probability >= 0.2]
        if close:
            focus.append(
                "罪名存在争议的可能："
                + "、".join(f"{p.charge}（{p.probability:.0%}）" for p in close)
                + "亦有较高可能。"
            )
    else:
        focus.append("罪名：未能从案情预测，需人工确定。")
    if pending.amount_yuan:
        focus.append(f"涉案数额：约{yuan_text(pending.amount_yuan)}，其认定影响数额档次与量刑起点。")
    for c in pending.circumstances:
        focus.append(f"量刑情节：是否认定“{c}”。")
    return PendingCase(
        facts=query.facts,
        charges_given=result.charges_given,
        charges_predicted=preds,
        charges=pending_charges(result),
        circumstances=list(pending.circumstances),
        statutes=list(pending.statutes),
        amount_yuan=pending.amount_yuan,
        focus=focus,
    )


def _analysis(results: list[ResultCase], recent_since: date) -> Analysis:
    groups = []
    for tier in TIERS:
        cases = [r for r in results if r.tier == tier]
        ordered = sorted(cases, key=lambda r: (not r.recent, r.rank))
        recent = [r.rank for r in ordered if r.recent]
        role = "参照" if tier == "指导性案例" else "参考"
        if not cases:
            text = f"本次检索未发现{TIER_NAMES.get(tier, tier)}。"
        elif tier == "指导性案例":
            text = (
                f"检索到指导性案例{len(cases)}件（结果第{_ranks(ordered)}项）。依《指导意见》第九条，"
                "与待决案件相类似的，应当参照其裁判要点作出裁判，但已被新的法律、司法解释或者新的指导性案例取代的除外。"
            )
        else:
            text = (
                f"检索到{TIER_NAMES.get(tier, tier)}{len(cases)}件（结果第{_ranks(ordered)}项），其中近三年（{recent_since.isoformat()}以后）"
                f"的{len(recent)}件；依《指导意见》第九条，可以作为作出裁判的参考。"
            )
        groups.append(
            TierGroup(tier=tier, role=role, ranks=[r.rank for r in ordered], recent_ranks=recent, text=text)
        )
    notes = [
        "检索范围依《指导意见》第四条的顺序：指导性案例；最高人民法院发布的典型案例及裁判生效的案件；"
        "本省高级人民法院发布的参考性案例及裁判生效的案件；上一级法院及本院裁判生效的案件。除指导性案例外，优先检索近三年的案例。",
    ]
    if not any(r.recent for r in results):
        notes.append(f"检索结果中没有近三年（{recent_since.isoformat()}以后）作出的裁判。")
    levels = {r.court_level for r in results if r.court_level}
    if len(levels) > 1 or any(r.committee for r in results):
        committee = [r.rank for r in results if r.committee]
        notes.append(
            "类案裁判结果存在冲突时，依《指导意见》第十一条，按法院层级、裁判时间、是否经审判委员会讨论等因素确定；"
            + (f"结果第{_ranks_of(committee)}项写明经审判委员会讨论。" if committee else "")
        )
    return Analysis(recent_since=recent_since.isoformat(), tiers=groups, notes=notes)


def _ranks(cases: list[ResultCase]) -> str:
    return _ranks_of([r.rank for r in cases])


def _ranks_of(ranks: list[int]) -> str:
    return "、".join(str(r) for r in ranks)


# ---------------------------------------------------------------- loading and verifying


def load_report(data: dict[str, Any] | str | bytes) -> Report:
    """A report from its JSON data; a malformed one is an InvalidInput."""
    try:
        if not isinstance(data, dict):
            data = json.loads(data)
        return Report.model_validate(data)
    except (ValueError, ValidationError) as e:
        raise InvalidInput(f"not a leian report: {str(e).splitlines()[0]}") from None


def detect_format(raw: bytes) -> Literal["json", "md", "html", "docx"]:
    if raw[:4] == b"PK\x03\x04":
        return "docx"
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return "html"
    return "md"


def verify(source: str | bytes | Path | dict[str, Any]) -> VerifyResult:
    """Check a saved report: the JSON data against its hash and, for a rendered copy (md, html, docx),
    the rendered content against a fresh rendering of the data it embeds."""
    if isinstance(source, dict):
        return _verify_data(source, "json")
    if isinstance(source, Path) or (
        isinstance(source, str) and len(source) < 4096 and "\n" not in source and os.path.exists(source)
    ):
        try:
            raw = Path(source).read_bytes()
        except OSError as e:
            raise InvalidInput(f"cannot read {source}: {e.strerror}") from None
    else:
        raw = source.encode("utf-8") if isinstance(source, str) else source
    fmt = detect_format(raw)
    if fmt == "json":
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return VerifyResult(ok=False, format="json", message=f"not valid JSON: {e}")
        if not isinstance(data, dict):
            return VerifyResult(ok=False, format="json", message="not a report: the JSON is not an object")
        return _verify_data(data, "json")
    from leian.retrieval import render

    try:
        data = render.embedded_data(raw, fmt)
    except InvalidInput as e:
        return VerifyResult(ok=False, format=fmt, message=e.message)
    res = _verify_data(data, fmt)
    if not res.ok:
        return res
    if data.get("generator") != f"leian {__version__}":
        note = (
            f"; rendered by {data.get('generator')}, so only the embedded data was checked, not the rendering"
        )
        return res.model_copy(update={"rendering_checked": False, "message": res.message + note})
    same, where = render.same_rendering(raw, fmt, load_report(data))
    if not same:
        return res.model_copy(
            update={
                "ok": False,
                "rendering_checked": True,
                "message": f"the rendered content was changed ({where})",
            }
        )
    return res.model_copy(update={"rendering_checked": True})


def _verify_data(data: dict[str, Any], fmt) -> VerifyResult:
    stated = data.get("sha256")
    if not isinstance(stated, str) or data.get("schema") != SCHEMA:
        return VerifyResult(
            ok=False, format=fmt, message=f"not a leian report (schema {SCHEMA!r} with sha256 expected)"
        )
    computed = content_hash(data)
    ok = computed == stated
    return VerifyResult(
        ok=ok,
        format=fmt,
        id=data.get("id"),
        sha256=stated,
        computed=computed,
        generator=data.get("generator"),
        message="content matches its SHA-256"
        if ok
        else "content does not match its SHA-256: the report was changed",
    )


__all__ = [
    "SCHEMA",
    "Analysis",
    "KeyPoint",
    "Method",
    "PendingCase",
    "Platform",
    "ProposedSentence",
    "Report",
    "Requester",
    "ResultCase",
    "VerifyResult",
    "assemble_report",
    "build_report",
    "canonical_json",
    "content_hash",
    "detect_format",
    "key_point",
    "load_report",
    "new_report_id",
    "seal",
    "verify",
]
