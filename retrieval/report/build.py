"""Building a report: one search, then the sealed report assembled from its outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from leian import PRODUCT, __version__
from leian.corpora.record import TIERS, CaseRecord
from leian.errors import InvalidInput
from leian.indexer.sentencing_model import SentencingModel
from leian.retrieval.models import Hit, Query, SearchResult
from leian.retrieval.report.key_points import key_point
from leian.retrieval.report.model import (
    BEIJING,
    TIER_NAMES,
    Analysis,
    Method,
    PendingCase,
    PendingDefendant,
    Platform,
    Report,
    Requester,
    ResultCase,
    TierGroup,
    date_text,
)
from leian.retrieval.report.sealing import new_report_id, seal
from leian.retrieval.search import Searcher, statistics_charges
from leian.retrieval.search.display_terms import SHOWN_TERMS, by_general_rarity, display_terms
from leian.retrieval.sentencing import (
    ChargePicture,
    ProposedSentence,
    charge_pictures,
    elements_text,
    sentence_text,
    yuan_text,
)

RECENT_YEARS = 3  # art. 4: except guiding cases, prefer cases of the last three years
CONFIDENT_CHARGE = 0.5  # below this a predicted charge is flagged as uncertain in the sentencing section
KEY_POINT_CASES = 5  # 类案裁判要点 are drawn from the top cases


def build_report(
    searcher: Searcher,
    query: Query,
    requester: Requester | None = None,
    proposed: ProposedSentence | None = None,
    top_k: int = 10,
    stats_k: int = 50,
    *,
    now: datetime | None = None,
    report_id: str | None = None,
) -> Report:
    """Run one search and assemble the sealed report from it: the similar cases (``top_k``), the
    pending case's analysis, and up to ``stats_k`` of the scored cases sharing its charges, best
    first, for the sentencing statistics (so that a mixed result list does not starve them)."""
    if stats_k < 0 or top_k < 1:
        raise InvalidInput(f"top_k must be >= 1 and stats_k >= 0 (got top_k={top_k}, stats_k={stats_k})")
    query = query.model_copy(update={"top_k": top_k})
    run = searcher.run(query, stats_k=stats_k)
    records = {h.id: h.record for h in run.result.hits if h.record is not None}
    missing = [
        i for i in dict.fromkeys([*(h.id for h in run.result.hits), *run.stats_ids]) if i not in records
    ]
    if missing:
        records.update(searcher.get(missing))
    return assemble_report(
        description=searcher.describe(),
        query=query,
        result=run.result,
        records=records,
        stats_ids=run.stats_ids,
        pending=run.pending,
        sentencing_model=searcher.sentencing_model,
        requester=requester,
        proposed=proposed,
        stats_k=stats_k,
        now=now,
        report_id=report_id,
    )


def pending_charges(result: SearchResult) -> list[str]:
    """The pending case's charges for the sentencing figures, as the search chose them."""
    return statistics_charges(result.charges_given, result.charges_predicted)


def assemble_report(
    *,
    description: dict[str, Any],
    query: Query,
    result: SearchResult,
    records: dict[str, CaseRecord],
    stats_ids: Sequence[str],
    pending: CaseRecord,
    sentencing_model: SentencingModel | None = None,
    requester: Requester | None = None,
    proposed: ProposedSentence | None = None,
    stats_k: int = 50,
    now: datetime | None = None,
    report_id: str | None = None,
) -> Report:
    """The report from the search's outputs (pure: the clock and the id can be injected)."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    recent_since = _years_before(now.astimezone(BEIJING).date(), RECENT_YEARS)  # the reader's calendar day
    results = [_result_case(h, records.get(h.id), recent_since) for h in result.hits]
    pictures: list[ChargePicture] = []
    charges = pending_charges(result)
    if charges:
        stats_records = [records[i] for i in dict.fromkeys(stats_ids) if i in records]
        province = (
            query.filters.province[0] if query.filters.province and len(query.filters.province) == 1 else None
        )
        pictures = charge_pictures(
            stats_records, charges, pending, proposed, province, sentencing_model, estimate=True
        )
        sentencing_note = (
            f"统计范围：罪名为{'、'.join(charges)}、按相似度排序的前{len(stats_records)}件检索结果"
            f"（最多取{stats_k}件）；每个罪名单独统计，数罪并罚的案件另计而不计入"
            + "".join(
                f"；{p.charge}：可比类案{p.stats.n_cases}件（另有{p.stats.n_excluded_multi}件数罪并罚、"
                f"{p.stats.n_unknown}件刑罚未能识别）"
                for p in pictures
            )
            + "。"
        )
        top = max(result.charges_predicted, key=lambda p: p.probability, default=None)
        if not result.charges_given and top is not None and top.probability < CONFIDENT_CHARGE:
            sentencing_note += (
                f"罪名系据案情预测（{top.charge}，概率{top.probability:.0%}，把握不大），"
                "如罪名不同，请指定罪名后重新检索。"
            )
    else:
        sentencing_note = "未能确定待决案件的罪名，未作量刑统计。"
        if proposed is not None:
            raise InvalidInput(
                "a proposed sentence can only be checked when the charges are known: pass --charges"
            )
    pending_case = _pending_case(query, result, pending, pictures)

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
        pictures=pictures,
        sentencing=pictures[0].stats if pictures else None,
        sentencing_note=sentencing_note,
        proposed=pictures[0].proposed if pictures else None,
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
    keywords = "关键词检索：法律词典分词后按关键词相关度（概率检索模型）排序"
    if not (desc.get("config") or {}).get("query_places", True):
        keywords += "（省、市、县、区、镇、乡、村等地名不作检索词）"
    methods = [keywords]
    if dense:
        methods.append(f"语义检索：向量模型（{desc.get('model') or '—'}）的语义相似度")
        methods.append("融合排序：关键词与语义得分各自标准化后加权相加")
    methods.append("法条关联检索：按罪名、法条、量刑情节、涉案数额的重合程度加分重排")
    # the 检索词 a report names: the legal and factual words of the case, rarest first — no person,
    # place, date, number or fragment (display_terms); the ranking used every term all the same
    shown = display_terms(result.query_terms, query.facts, order=by_general_rarity, limit=SHOWN_TERMS)
    return Method(
        methods=methods,
        query_terms=shown,
        query_terms_total=len(result.query_terms),
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


# ---------------------------------------------------------------- 待决案件 and analysis


def _pending_case(
    query: Query, result: SearchResult, pending: CaseRecord, pictures: Sequence[ChargePicture]
) -> PendingCase:
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
        focus.append(
            f"涉案数额：{yuan_text(pending.amount_yuan)}（各笔合计），其认定决定数额档次与量刑起点。"
        )
    for p in pictures:
        if p.statutory is not None:
            sure = "" if p.statutory.certain or p.statutory.level is None else "（档次认定不确定，需核实）"
            focus.append(f"法定刑档次（{p.charge}）：{p.statutory.rule}{sure}。")
    for c in pending.circumstances:
        focus.append(f"量刑情节：是否认定“{c}”。")
    defendants = [
        PendingDefendant(
            name=d.name,
            elements=d.elements,
            elements_text=elements_text(d.elements),
            spans=[s for s in pending.spans if s.field.startswith(f"defendants.{i}.elements")],
        )
        for i, d in enumerate(pending.defendants)
        if elements_text(d.elements)
    ]
    return PendingCase(
        facts=query.facts,
        charges_given=result.charges_given,
        charges_predicted=preds,
        charges=pending_charges(result),
        circumstances=list(pending.circumstances),
        statutes=list(pending.statutes),
        amount_yuan=pending.amount_yuan,
        defendants=defendants,
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
                f"检索到{TIER_NAMES.get(tier, tier)}{len(cases)}件（结果第{_ranks(ordered)}项），其中近三年（{date_text(recent_since)}以后）"
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
        notes.append(f"检索结果中没有近三年（{date_text(recent_since)}以后）作出的裁判。")
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


__all__ = ["assemble_report", "build_report", "pending_charges"]
