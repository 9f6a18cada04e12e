"""The report's content as a list of blocks, in display order: every document format is written from
this one list, so they all say the same thing in the same words."""

from __future__ import annotations

from dataclasses import dataclass, field

from leian.retrieval.report.model import TIER_NAMES, Report
from leian.retrieval.sentencing import (
    SMALL_SAMPLE,
    SMALL_WORDING,
    TERM_KINDS,
    Distribution,
    months_text,
    sentence_text,
    yuan_text,
)

NUMERALS = "一二三四五六七八九十"
WEIGHT_NAMES = {
    "w_bm25": "关键词",
    "w_dense": "语义",
    "w_charge": "罪名",
    "w_statute": "法条",
    "w_circ": "情节",
    "w_amount": "数额",
    "w_court": "审级",
    "w_recent": "近年裁判",
    "knn_weight": "罪名预测近邻投票",
}


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str
    style: str = "normal"  # normal | note | warn | ok | meta


@dataclass
class Items:
    items: list[str]


@dataclass
class Quote:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Chart:
    alt: str
    histogram: list[tuple[str, int]] = field(default_factory=list)  # the text form (Markdown)


Block = Heading | Para | Items | Quote | Table | Chart


def _pct(r) -> str:
    return "—" if r.rate is None else f"{r.count}/{r.n}（{r.rate:.0%}）"


def _dist_row(label: str, d: Distribution | None, fmt=months_text) -> list[str]:
    if d is None:
        return [label, "0", "—", "—", "—", "—", "—"]
    n = f"{d.n}" + ("（样本较少）" if d.small else "")
    return [
        label,
        n,
        fmt(d.median),
        f"{fmt(d.q1)}–{fmt(d.q3)}",
        f"{fmt(d.p10)}–{fmt(d.p90)}",
        f"{fmt(d.min)}–{fmt(d.max)}",
        fmt(round(d.mean, 1)),
    ]


DIST_HEADER = ["", "案件数", "中位数", "四分位距 Q1–Q3", "P10–P90", "最低–最高", "平均"]

HIST_EDGES = (0, 3, 6, 12, 24, 36, 60, 120, 180, 10_000)


def histogram(months: list[int]) -> list[tuple[str, int]]:
    """Counts of terms in legally meaningful bands (拘役 ≤ 6 months; 3-year line for 缓刑; 10 years)."""
    counts = []
    for lo, hi in zip(HIST_EDGES, HIST_EDGES[1:], strict=False):
        label = f"{months_text(lo + 1)}–{months_text(hi)}" if hi < 10_000 else f"{months_text(lo)}以上"
        counts.append((label, sum(1 for m in months if lo < m <= hi)))
    nz = [i for i, (_, c) in enumerate(counts) if c]
    return counts[nz[0] : nz[-1] + 1] if nz else []


def blocks(report: Report) -> list[Block]:
    """The report's content in display order (法发〔2020〕24号 art. 8 order, then sentencing)."""
    r = report
    out: list[Block] = [
        Heading(1, r.title),
        Para(f"报告编号：{r.id}", "meta"),
        Para(f"生成时间：{r.created_at}（UTC）", "meta"),
        Para(f"SHA-256：{r.sha256}", "meta"),
        Para(f"生成程序：{r.generator}", "meta"),
    ]
    sec = iter(NUMERALS)

    def h(text: str) -> Heading:
        return Heading(2, f"{next(sec)}、{text}")

    # 检索主体 / 时间 / 平台
    out.append(h("检索主体"))
    who = [x for x in (r.requester.organisation, r.requester.name) if x]
    out.append(Para("　".join(who) if who else "未填写（请承办人补填检索主体）"))
    out.append(h("检索时间"))
    out.append(Para(f"{r.created_at}（UTC）"))
    out.append(h("检索平台"))
    p = r.platform
    dates = f"{p.date_from or '—'} 至 {p.date_to or '—'}"
    out.append(
        Table(
            ["项目", "内容"],
            [
                ["平台", f"{p.product} {p.version}"],
                ["检索引擎", p.backend],
                ["索引", f"{p.index_name or '—'}（快照 {p.snapshot or '—'}）"],
                ["案例库", f"{p.corpus_name or '—'}，共{p.doc_count}件裁判文书"],
                ["裁判日期范围", dates],
                ["许可", p.corpus_licence or "—"],
                ["分词", p.tokenizer or "—"],
                ["语义模型", p.model or "未使用"],
            ],
        )
    )

    # 检索方法
    m = r.method
    out.append(h("检索方法"))
    out.append(Items(m.methods))
    preds = "、".join(f"{c.charge}（{c.probability:.0%}）" for c in m.charges_predicted) or "—"
    filters = "；".join(f"{k}={_value(v)}" for k, v in m.filters.items()) or "无"
    out.append(
        Table(
            ["项目", "内容"],
            [
                ["指定罪名", "、".join(m.charges_given) if m.charges_given else "未指定（由案情预测）"],
                ["预测罪名", preds],
                ["排序所用罪名", "、".join(m.charges_used) or "—"],
                ["量刑统计罪名", "、".join(m.stats_charges) or "—"],
                ["过滤条件", filters],
                ["权重", "、".join(f"{WEIGHT_NAMES.get(k, k)} {v:g}" for k, v in m.weights.items()) or "—"],
                ["返回结果数", f"相似案例{m.top_k}件；量刑统计最多取{m.stats_k}件"],
                ["排除的案件", "、".join(m.excluded_ids) or "无"],
                [
                    f"检索词（共{len(m.query_terms)}个）",
                    "、".join(m.query_terms[:40]) + ("等（列前40个）" if len(m.query_terms) > 40 else "")
                    or "—",
                ],
            ],
        )
    )

    # 检索结果
    out.append(h("检索结果"))
    if not r.results:
        out.append(Para("未检索到相似案例。", "warn"))
    else:
        rows = []
        for c in r.results:
            mark = "、".join(
                x for x in (c.tier, "近三年" if c.recent else "", "经审委会讨论" if c.committee else "") if x
            )
            rows.append(
                [
                    str(c.rank),
                    c.case_number or c.id,
                    (c.court or "—") + (f"（{c.court_level}）" if c.court_level else ""),
                    c.judgment_date or "—",
                    "、".join(c.charges) or "—",
                    c.sentence_text,
                    f"{c.score:.3f}",
                    mark,
                ]
            )
        out.append(
            Table(
                [
                    "序号",
                    "案号",
                    "法院（层级）",
                    "裁判日期",
                    "罪名",
                    "判决（第一被告人）",
                    "相似度得分",
                    "案例类别",
                ],
                rows,
            )
        )
        out.append(Para("相似理由：", "normal"))
        out.append(
            Items(
                [
                    f"第{c.rank}项 {c.case_number or c.id}："
                    + ("；".join(c.reasons) or "文本相似")
                    + (f"（得分构成：{_components(c.components)}）" if c.components else "")
                    for c in r.results
                ]
            )
        )

    # 类案裁判要点
    out.append(h("类案裁判要点"))
    if not r.key_points:
        out.append(Para("检索结果的裁判理由中未找到可提炼的要点。"))
    for kp in r.key_points:
        out.append(Para(f"第{kp.rank}项 {kp.case_number or kp.case_id}（{kp.court or '法院不详'}）："))
        out.append(Items([s.text for s in kp.sentences]))

    # 待决案件争议焦点
    pc = r.pending
    out.append(h("待决案件争议焦点"))
    out.append(Items(pc.focus))
    out.append(
        Table(
            ["要素", "内容"],
            [
                ["罪名", "、".join(pc.charges) or "—"],
                ["量刑情节", "、".join(pc.circumstances) or "未识别"],
                ["涉案数额", yuan_text(pc.amount_yuan) if pc.amount_yuan else "未识别"],
                ["相关法条", "、".join(pc.statutes) or "—"],
            ],
        )
    )
    out.append(Para("案件事实（检索输入）："))
    out.append(Quote(pc.facts))

    # 参照/参考
    out.append(h("参照、参考分析"))
    for g in r.analysis.tiers:
        out.append(Heading(3, f"{TIER_NAMES.get(g.tier, g.tier)}（{g.role}）"))
        out.append(Para(g.text))
    out.append(Items(r.analysis.notes))

    # 量刑
    out.extend([h("类案量刑情况"), *_sentencing_blocks(r)])

    # 拟量刑建议
    out.append(h("拟量刑建议比对"))
    out.extend(_proposed_blocks(r))

    out.append(Heading(2, "说明"))
    out.append(Items(r.notes))
    return out


def _value(v) -> str:
    return "、".join(map(str, v)) if isinstance(v, list) else str(v)


def _components(c: dict[str, float]) -> str:
    return "，".join(f"{k} {v:.3f}" for k, v in c.items())


def _sentencing_blocks(r: Report) -> list[Block]:
    s = r.sentencing
    out: list[Block] = [Para(r.sentencing_note)]
    if s is None:
        return out
    if s.n_cases == 0:
        out.append(Para("检索结果中没有可比的同罪名类案，无法统计量刑。", "warn"))
        return out
    if s.small_sample:
        out.append(Para(f"可比类案仅{s.n_cases}件，{SMALL_WORDING}，不足以说明一般做法。", "warn"))
    kinds = "、".join(f"{k}{v}件" for k, v in sorted(s.kind_counts.items(), key=lambda kv: -kv[1]))
    out.append(Para(f"刑种分布（共{s.n_cases}件）：{kinds}。"))
    rows = [_dist_row("有期徒刑与拘役（合并）", s.months)]
    rows += [_dist_row(k, s.by_kind[k]) for k in TERM_KINDS if k in s.by_kind]
    out.append(Table(DIST_HEADER, rows))
    fine_rows = [["适用缓刑（可适用缓刑的案件中）", _pct(s.probation)], ["并处罚金", _pct(s.fine.with_fine)]]
    if s.fine.yuan:
        d = s.fine.yuan
        fine_rows.append(
            [
                "罚金数额",
                f"中位数{yuan_text(d.median)}，四分位距{yuan_text(d.q1)}–{yuan_text(d.q3)}（{d.n}件）",
            ]
        )
    out.append(Table(["项目", "情况"], fine_rows))
    if s.months is not None:
        out.append(
            Chart(
                alt=_chart_alt(r),
                histogram=histogram([o.months for o in s.observations if o.kind in ("有期徒刑", "拘役")]),
            )
        )
    out.append(Para(s.reference.text, "warn" if s.reference.small else "normal"))
    for sub in s.subsets:
        if sub.months is None:
            out.append(Para(f"{sub.label}：无可比案件。"))
        else:
            d = sub.months
            small = f"，{SMALL_WORDING}" if d.n < SMALL_SAMPLE else ""
            out.append(
                Para(
                    f"{sub.label}的类案{d.n}件，刑期中位数{months_text(d.median)}，范围{months_text(d.min)}–{months_text(d.max)}{small}。"
                )
            )
    if s.circumstance_notes:
        out.append(
            Para(
                "待决案件情节与《关于常见犯罪的量刑指导意见（试行）》（法发〔2021〕21号）的调节幅度，及类案中有无该情节的刑期中位数："
            )
        )
        out.append(
            Table(
                ["情节", "方向", "调节幅度（占基准刑）", "有该情节的类案", "无该情节的类案"],
                [
                    [
                        c.circumstance,
                        c.direction,
                        c.guidance,
                        f"{c.with_n}件，中位数{months_text(c.with_median)}",
                        f"{c.without_n}件，中位数{months_text(c.without_median)}",
                    ]
                    for c in s.circumstance_notes
                ],
            )
        )
    out.append(Para(s.reference_definition, "note"))
    cases = [
        f"{o.case_number or o.case_id}：{o.defendant}，{sentence_text(o.kind, o.months, o.probation_months, o.fine_yuan)}"
        for o in s.observations
    ]
    out.append(Para(f"统计所依据的{len(cases)}件类案："))
    out.append(Items(cases))
    return out


def _proposed_blocks(r: Report) -> list[Block]:
    c = r.proposed
    if c is None:
        return [Para("未提供拟量刑建议。")]
    p = c.proposed
    verdict = {
        "一致": ("与类案量刑基本一致。", "ok"),
        "类案冲突": ("类案冲突：拟量刑建议偏离同罪名类案的通常量刑，请说明理由或复核。", "warn"),
        "无法判断": ("可比类案过少，无法判断。", "note"),
    }[c.status]
    out: list[Block] = [
        Para(f"拟量刑建议：{sentence_text(p.kind, p.months, p.probation_months, p.fine_yuan)}"),
        Para(f"结论：{verdict[0]}", verdict[1]),
        Items(c.reasons),
        Para(c.definition, "note"),
    ]
    return out


def _chart_alt(r: Report) -> str:
    s = r.sentencing
    d = s.months
    alt = f"同罪名类案主刑刑期分布（有期徒刑与拘役，n={d.n}）：中位数{months_text(d.median)}，四分位距{months_text(d.q1)}–{months_text(d.q3)}"
    if r.proposed and r.proposed.percentile is not None:
        alt += f"；拟判{months_text(r.proposed.proposed.months)}位于第{r.proposed.percentile:.0f}百分位"
    return alt


__all__ = ["Block", "Chart", "Heading", "Items", "Para", "Quote", "Table", "blocks", "histogram"]
