"""The report's content as a list of blocks, in display order: every document format is written from
this one list, so they all say the same thing in the same words."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

import cn2an

from leian.corpora.text import normalise_text
from leian.retrieval.report.model import TIER_NAMES, Report, date_text, time_text
from leian.retrieval.sentencing import (
    POOLED_KINDS,
    SMALL_SAMPLE,
    SMALL_WORDING,
    STATUTORY_DEFINITION,
    TERM_KINDS,
    ChargePicture,
    Distribution,
    ProposedCheck,
    SentencingStats,
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
    "w_elements": "量刑要素",
    "w_court": "审级",
    "w_recent": "近年裁判",
    "knn_weight": "罪名预测近邻投票",
}
# A hit's score components, named as the web page names them (api/static/app.js COMPONENT_NAMES).
COMPONENT_NAMES = {
    "bm25": "关键词",
    "dense": "语义",
    "fused": "融合",
    "structure": "要素",
    "charge": "罪名",
    "statute": "法条",
    "circumstance": "情节",
    "amount": "数额",
    "elements": "量刑要素",
    "court": "审级",
    "recent": "近年",
    "score": "综合",
}
# The columns of the score table: the total, its two parts, then what the parts are made of. The raw
# BM25 score is left out: it grows with the number of query terms, so it compares nothing for a reader
# (it stays in the JSON data, and its normalised share is in 融合).
SCORE_COLUMNS = (
    "score",
    "fused",
    "dense",
    "structure",
    "charge",
    "statute",
    "circumstance",
    "amount",
    "court",
    "recent",
)
BACKEND_NAMES = {"embedded": "单机嵌入式索引", "elasticsearch": "Elasticsearch 集群"}
FILTER_NAMES = {
    "court_level": "法院层级",
    "province": "省份",
    "year_from": "裁判年份自",
    "year_to": "裁判年份至",
    "tier": "案例类别",
    "charge": "罪名",
}
TOKENIZER_NAMES = {"jieba-legal": "结巴分词", "rjieba+legal": "结巴分词", "jieba": "结巴分词"}
ROUNDING_NOTE = "刑期以月计；中位数、分位数、平均数四舍五入到整月。"
NO_QUANTILES = f"样本不足{SMALL_SAMPLE}件，不计算分位数"


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


class Band(NamedTuple):
    """One bar of the term histogram: the terms from ``low`` to ``high`` months (both included; no
    upper bound when ``high`` is None) and how many cases have one."""

    label: str
    count: int
    low: int
    high: int | None

    def holds(self, months: float) -> bool:
        return self.low <= months and (self.high is None or months <= self.high)


@dataclass
class Chart:
    alt: str
    histogram: list[Band] = field(default_factory=list)  # the bars the chart draws, and the text form
    n: int = 0  # the cases drawn: the sum of the histogram, the n of the table's pooled row
    picture: int = 0  # which charge's picture (Report.pictures) it draws


Block = Heading | Para | Items | Quote | Table | Chart


def _pct(r) -> str:
    return "—" if r.rate is None else f"{r.count}/{r.n}（{r.rate:.0%}）"


def _span(lo: str, hi: str) -> str:
    return lo if lo == hi else f"{lo}至{hi}"


def _dist_row(label: str, d: Distribution | None, fmt=months_text) -> list[str]:
    """A row of the distribution table: quartiles and percentiles only from SMALL_SAMPLE cases up."""
    if d is None:
        return [label, "0件", "—", "—", "—", "—", "—"]
    if d.n < SMALL_SAMPLE:
        return [
            label,
            f"{d.n}件（样本较少）",
            fmt(d.median),
            NO_QUANTILES,
            "—",
            _span(fmt(d.min), fmt(d.max)),
            fmt(d.mean),
        ]
    return [
        label,
        f"{d.n}件",
        fmt(d.median),
        _span(fmt(d.q1), fmt(d.q3)),
        _span(fmt(d.p10), fmt(d.p90)),
        _span(fmt(d.min), fmt(d.max)),
        fmt(d.mean),
    ]


DIST_HEADER = [
    "",
    "案件数",
    "中位数",
    "四分位距（第25至第75百分位）",
    "第10至第90百分位",
    "最低至最高",
    "平均数",
]

# Legally meaningful bands: 拘役 is at most 6 months; 缓刑 needs a term of at most 3 years; 3, 10 and 15
# years are the statutory steps of most charges. (lo, hi]: terms of lo + 1 to hi months.
HIST_EDGES = (0, 3, 6, 12, 24, 36, 60, 120, 180, None)


def _band_label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"超过{months_text(lo)}"
    if lo == 0:
        return f"{months_text(hi)}以下"  # 刑法第九十九条: 以下 includes the number itself
    return f"{months_text(lo + 1)}至{months_text(hi)}"


def histogram(months: list[float], include: tuple[float, ...] = ()) -> list[Band]:
    """Counts of terms (whole months) in the bands of ``HIST_EDGES``, from the first band with a case
    (or holding a term of ``include``, e.g. the proposed one) to the last."""
    bands = [
        Band(_band_label(lo, hi), 0, lo + 1, hi) for lo, hi in zip(HIST_EDGES, HIST_EDGES[1:], strict=False)
    ]
    bands = [b._replace(count=sum(1 for m in months if b.holds(round(m)))) for b in bands]
    keep = [i for i, b in enumerate(bands) if b.count or any(b.holds(round(x)) for x in include)]
    return bands[keep[0] : keep[-1] + 1] if keep else []


def picture_figures(report: Report, picture: int = 0) -> tuple[SentencingStats | None, ProposedCheck | None]:
    """The statistics and the proposal check of one charge's picture (a report made before pictures
    has the one set of figures)."""
    if report.pictures:
        p = report.pictures[picture]
        return p.stats, p.proposed
    return report.sentencing, report.proposed


def term_histogram(report: Report, picture: int = 0) -> list[Band]:
    """The histogram of the pooled terms (有期徒刑 and 拘役) of the comparable cases, with the band of the
    proposed term when it is one of them: what the chart draws and the Markdown lists."""
    s, prop = picture_figures(report, picture)
    if s is None or s.months is None:
        return []
    months = [o.months for o in s.observations if o.kind in POOLED_KINDS and o.months is not None]
    include = ()
    if prop is not None and prop.proposed.kind in POOLED_KINDS and prop.proposed.months:
        include = (prop.proposed.months,)
    return histogram(months, include)


def blocks(report: Report) -> list[Block]:
    """The report's content in display order (法发〔2020〕24号 art. 8 order, then sentencing), every
    string cleaned of control characters (a stored judgment may hold them; DOCX refuses them)."""
    return [_clean(b) for b in _blocks(report)]


def _blocks(report: Report) -> list[Block]:
    r = report
    out: list[Block] = [
        Heading(1, r.title),
        Para(f"报告编号：{r.id}", "meta"),
        Para(f"生成时间：{time_text(r.created_at)}", "meta"),
        Para(f"SHA-256：{r.sha256}", "meta"),
        Para(f"生成程序：{r.generator}", "meta"),
    ]
    if r.signature:
        out.append(Para(f"签发：本系统安装密钥 {r.signature.key} 以 Ed25519 签名", "meta"))
    if r.audit_head:
        out.append(Para(f"审计日志链头：{r.audit_head}", "meta"))
    sec = iter(range(1, 100))

    def h(text: str) -> Heading:
        return Heading(2, f"{cn2an.an2cn(next(sec))}、{text}")

    # 检索主体 / 时间 / 平台
    out.append(h("检索主体"))
    who = [x for x in (r.requester.organisation, r.requester.name) if x]
    out.append(Para("　".join(who) if who else "未填写（请承办人补填检索主体）"))
    out.append(h("检索时间"))
    out.append(Para(time_text(r.created_at)))
    out.append(h("检索平台"))
    p = r.platform
    rows = [
        ["平台", f"{p.product}（版本 {p.version}）"],
        ["检索引擎", backend_text(p.backend)],
        ["索引", f"{p.index_name or '—'}（快照 {p.snapshot or '—'}）"],
    ]
    if p.index_updated_at:
        rows.append(["索引更新时间", time_text(p.index_updated_at)])
    rows += [
        ["案例库", f"{p.corpus_name or '—'}，共{p.doc_count}件裁判文书"],
        ["裁判日期范围", f"{date_text(p.date_from)}至{date_text(p.date_to)}"],
        ["许可", licence_text(p.corpus_licence)],
        ["分词", tokenizer_text(p.tokenizer)],
        ["语义模型", p.model or "未使用"],
    ]
    out.append(Table(["项目", "内容"], rows))

    # 检索方法
    m = r.method
    out.append(h("检索方法"))
    out.append(Items(m.methods))
    preds = "、".join(f"{c.charge}（{c.probability:.0%}）" for c in m.charges_predicted) or "—"
    out.append(
        Table(
            ["项目", "内容"],
            [
                ["指定罪名", "、".join(m.charges_given) if m.charges_given else "未指定（由案情预测）"],
                ["预测罪名", preds],
                ["排序所用罪名", "、".join(m.charges_used) or "—"],
                ["量刑统计罪名", "、".join(m.stats_charges) or "—"],
                ["过滤条件", filters_text(m.filters)],
                ["权重", "、".join(f"{WEIGHT_NAMES.get(k, k)} {v:g}" for k, v in m.weights.items()) or "—"],
                ["返回结果数", f"相似案例{m.top_k}件；量刑统计最多取{m.stats_k}件"],
                ["排除的案件", "、".join(m.excluded_ids) or "无"],
                [
                    f"检索词（共{m.query_terms_total or len(m.query_terms)}个，列区分度最高的{len(m.query_terms)}个；"
                    "人名、地名、日期、数量不列）",
                    "、".join(m.query_terms) or "—",
                ],
                ["检索要素", _search_elements(r) or "—"],
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
                    date_text(c.judgment_date),
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
                    f"第{c.rank}项 {c.case_number or c.id}：" + ("；".join(c.reasons) or "文本相似")
                    for c in r.results
                ]
            )
        )
        out.extend(_score_blocks(r))

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

    # 量刑测算
    out.extend([h("量刑测算"), *_estimate_blocks(r)])

    # 拟量刑建议
    out.append(h("拟量刑建议比对"))
    out.extend(_proposed_blocks(r))

    out.append(Heading(2, "说明"))
    out.append(Items(r.notes))
    return out


# ---------------------------------------------------------------- words for the values


def backend_text(backend: str) -> str:
    """``embedded`` -> 单机嵌入式索引; ``elasticsearch`` -> Elasticsearch 集群 (a product's name)."""
    return BACKEND_NAMES.get(backend, backend or "—")


def licence_text(licence: str) -> str:
    """``LeCaRD: MIT`` -> ``LeCaRD：MIT 许可``; ``MIT`` -> ``MIT 许可`` (the licence keeps its name)."""
    if not licence.strip():
        return "—"
    source, sep, name = licence.rpartition(":")
    name = name.strip()
    text = name if ("许可" in name or "协议" in name) else f"{name} 许可"
    return f"{source.strip()}：{text}" if sep and source.strip() else text


def tokenizer_text(tokenizer: str) -> str:
    """``jieba-legal:2f98…`` -> ``结巴分词（法律词典，校验值 2f98…）``."""
    if not tokenizer:
        return "—"
    name, sep, digest = tokenizer.partition(":")
    zh = TOKENIZER_NAMES.get(name)
    if zh is None:
        return tokenizer
    if "legal" in name:
        return f"{zh}（法律词典，校验值 {digest}）" if sep else f"{zh}（法律词典）"
    return f"{zh}（校验值 {digest}）" if sep else zh


def filters_text(filters: dict) -> str:
    """The filters of a search in words: ``法院层级：基层、中级；裁判年份自：2019年``."""
    parts = []
    for k, v in filters.items():
        value = "、".join(map(str, v)) if isinstance(v, list) else str(v)
        if k in ("year_from", "year_to"):
            value += "年"
        parts.append(f"{FILTER_NAMES.get(k, k)}：{value}")
    return "；".join(parts) or "无"


def _score_blocks(r: Report) -> list[Block]:
    """The score of each result and what it is made of, one row per result."""
    shown = [k for k in SCORE_COLUMNS if any(k in c.components for c in r.results)]
    if not shown:
        return []
    screened = any(c.components.get("stage1", 1.0) < 1.0 for c in r.results)
    header = ["序号", *(COMPONENT_NAMES[k] for k in shown)] + (["初筛"] if screened else [])
    rows = []
    for c in r.results:
        row = [str(c.rank)] + [f"{c.components[k]:.3f}" if k in c.components else "—" for k in shown]
        if screened:
            row.append("未入选（降分）" if c.components.get("stage1", 1.0) < 1.0 else "入选")
        rows.append(row)
    parts = []
    if "score" in shown:
        parts.append("综合 = 融合 + 要素")
    if "fused" in shown:
        parts.append("融合为关键词与语义得分各自标准化后的加权和")
    if "dense" in shown:
        parts.append("语义为案情的语义相似度（0至1）")
    if "structure" in shown:
        parts.append("要素为罪名、法条、情节、数额、审级、近年各项重合度（0至1）的加权和")
    parts.append("关键词的原始得分随检索词多少而变，各案之间不可比，未列出")
    return [Para("得分构成："), Table(header, rows), Para("说明：" + "；".join(parts) + "。", "note")]


def _search_elements(r: Report) -> str:
    """检索要素: the pending case's sentencing elements and the tier they set, apart from the terms."""
    parts = [
        f"{d.name}：{'、'.join(d.elements_text)}"
        if len(r.pending.defendants) > 1
        else "、".join(d.elements_text)
        for d in r.pending.defendants
    ]
    if not r.pending.defendants and r.pending.amount_yuan is not None:
        parts.append(f"数额{yuan_text(r.pending.amount_yuan)}")
    for p in r.pictures:
        v = p.statutory
        if v is not None and v.level is not None:
            parts.append(
                f"{p.charge}：{v.condition_label}（第{NUMERALS[v.level - 1]}档{'' if v.certain else '，待核实'}）"
            )
    return "；".join(parts)


def _sentencing_blocks(r: Report) -> list[Block]:
    out: list[Block] = [Para(r.sentencing_note)]
    if r.pictures:
        for i, p in enumerate(r.pictures):
            if len(r.pictures) > 1:
                out.append(Heading(3, f"（{NUMERALS[i]}）{p.charge}"))
            out += _statutory_blocks(p)
            out += _stats_blocks(r, p.stats, i)
        out.append(Para(STATUTORY_DEFINITION, "note"))
    elif r.sentencing is not None:
        out += _stats_blocks(r, r.sentencing, 0)
    return out


def _statutory_blocks(p: ChargePicture) -> list[Block]:
    v = p.statutory
    if v is None:
        return [
            Para(f"法定刑：{p.charge}不在本系统的法定刑数据中，未作档次判断。", "warn"),
            Para(p.basis_text),
        ]
    tier = f"第{NUMERALS[v.level - 1]}档（共{v.tiers}档）" if v.level else f"全部{v.tiers}档"
    rows = [
        ["法定刑档次", f"{v.article}{tier}：{v.condition}"],
        ["法定刑", v.penalty_text],
        ["认定依据", v.rule + ("" if v.certain else "（档次认定不确定，请核实要素）")],
        ["规则出处", "；".join(v.sources)],
    ]
    out: list[Block] = [Table(["项目", "内容"], rows), Para(p.basis_text)]
    if not v.certain:
        out.append(Para("法定刑档次的认定不确定：请核实待决案件要素及所在省份的数额标准。", "warn"))
    if p.reference_note:
        out.append(Para(p.reference_note, "warn"))
    return out


def _stats_blocks(r: Report, s: SentencingStats, picture: int) -> list[Block]:
    out: list[Block] = []
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
    out.append(Para(f"{ROUNDING_NOTE}分位数只在案件数不少于{SMALL_SAMPLE}件时计算。", "note"))
    fine_rows = [["适用缓刑（可适用缓刑的案件中）", _pct(s.probation)], ["并处罚金", _pct(s.fine.with_fine)]]
    if s.fine.yuan:
        d = s.fine.yuan
        if d.n >= SMALL_SAMPLE:
            fine = (
                f"中位数{yuan_text(d.median)}，四分位距{_span(yuan_text(d.q1), yuan_text(d.q3))}（{d.n}件）"
            )
        else:
            fine = (
                f"中位数{yuan_text(d.median)}，最低至最高{_span(yuan_text(d.min), yuan_text(d.max))}"
                f"（{d.n}件，{SMALL_WORDING}）"
            )
        fine_rows.append(["罚金数额", fine])
    out.append(Table(["项目", "情况"], fine_rows))
    if s.months is not None:
        bands = term_histogram(r, picture)
        out.append(
            Chart(alt=_chart_alt(r, picture), histogram=bands, n=sum(b.count for b in bands), picture=picture)
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
                    f"{sub.label}的类案{d.n}件，刑期中位数{months_text(d.median)}，"
                    f"范围{_span(months_text(d.min), months_text(d.max))}{small}。"
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
        + (f"（{o.element}）" if o.element else "")
        for o in s.observations
    ]
    out.append(Para(f"统计所依据的{len(cases)}件类案："))
    out.append(Items(cases))
    return out


ESTIMATE_NOTE = (
    "量刑测算的方法：以本索引全部判决中单一罪名、判处有期徒刑或拘役的被告人为样本，按罪名拟合分位数回归"
    "（刑期取对数；案件不足的罪名合并拟合），自变量为法定刑档次、定档数额或数量、次数、伤亡及法院认定的量刑情节；"
    "80%区间在留出的判决上覆盖约80%的实际刑期。"
    "“基准”为不计情节时的中位数；各情节的影响为其系数换算的刑期百分比，与《关于常见犯罪的量刑指导意见（试行）》"
    "（法发〔2021〕21号）的幅度并列，超出幅度的注明。测算值不超过所在档次的法定最高刑；无减轻处罚情节的，"
    "不低于其法定最低刑；档次认定不确定的，以该罪的法定刑幅度为限。测算仅供参考，不代替承办人依法裁量。"
)


def _estimate_blocks(r: Report) -> list[Block]:
    pictures = [p for p in r.pictures if p.estimate is not None]
    if not pictures:
        return [Para("未能确定待决案件的罪名，未作量刑测算。")]
    out: list[Block] = []
    for i, p in enumerate(pictures):
        e = p.estimate
        if len(pictures) > 1:
            out.append(Heading(3, f"（{NUMERALS[i]}）{p.charge}"))
        if e.months is None:
            out.append(Para(f"无法测算：{e.basis}", "warn"))
            continue
        out.append(
            Para(
                f"测算刑期：{months_text(e.months)}（80%区间：{months_text(e.low_months)}至"
                f"{months_text(e.high_months)}）。",
                "ok",
            )
        )
        out.append(Para(e.basis))
        rows = []
        for line in e.lines:
            if line.factor == "基准":
                rows.append(["基准", f"{months_text(line.months)}", line.guidance, ""])
            else:
                effect = "—" if line.effect_pct is None else f"{line.effect_pct:+.0f}%"
                rows.append([line.factor, effect, line.guidance, line.note or "在指导意见幅度之内"])
        out.append(Table(["因素", "对刑期的影响（中位数）", "依据", "说明"], rows))
        if e.statutory_min is not None:
            top = months_text(e.statutory_max) if e.statutory_max is not None else "上限（可至无期徒刑等）"
            out.append(Para(f"法定刑幅度：{months_text(e.statutory_min)}至{top}（{e.tier_rule}）。", "note"))
        if p.proposed is not None and p.proposed.proposed.months and p.proposed.proposed.kind in POOLED_KINDS:
            m = p.proposed.proposed.months
            inside = e.low_months <= m <= e.high_months
            out.append(
                Para(
                    f"拟判{months_text(m)}{'在' if inside else '不在'}测算区间"
                    f"（{months_text(e.low_months)}至{months_text(e.high_months)}）之内。",
                    "normal" if inside else "warn",
                )
            )
        if p.stats.months is not None:
            out.append(
                Para(
                    f"同罪名类案刑期中位数{months_text(p.stats.months.median)}（{p.stats.months.n}件，见上节）。"
                )
            )
    out.append(Para(ESTIMATE_NOTE, "note"))
    return out


VERDICTS = {
    "一致": ("与类案量刑基本一致，且在法定刑幅度之内。", "ok"),
    "类案冲突": ("类案冲突：拟量刑建议偏离同罪名类案的通常量刑，请说明理由或复核。", "warn"),
    "无法判断": ("可比类案过少，无法判断是否偏离类案；法定刑幅度的比对见下。", "note"),
    "超出法定刑幅度": (
        "超出法定刑幅度：拟量刑建议不在待决案件所在档次的法定刑之内，属适用法律错误，须纠正。",
        "warn",
    ),
}


def _proposed_blocks(r: Report) -> list[Block]:
    checks = [(p.charge, p.proposed) for p in r.pictures if p.proposed] or (
        [("", r.proposed)] if r.proposed else []
    )
    if not checks:
        return [Para("未提供拟量刑建议。")]
    p = checks[0][1].proposed
    out: list[Block] = [
        Para(f"拟量刑建议：{sentence_text(p.kind, p.months, p.probation_months, p.fine_yuan)}")
    ]
    for i, (charge, c) in enumerate(checks):
        if len(checks) > 1:
            out.append(Heading(3, f"（{NUMERALS[i]}）按{charge}"))
        verdict = VERDICTS[c.status]
        out += [Para(f"结论：{verdict[0]}", verdict[1]), Items(c.reasons)]
    out.append(Para(checks[0][1].definition, "note"))
    return out


def _chart_alt(r: Report, picture: int = 0) -> str:
    s, prop = picture_figures(r, picture)
    d = s.months
    alt = f"同罪名类案主刑刑期分布（有期徒刑与拘役，共{d.n}件）：中位数{months_text(d.median)}"
    if d.n >= SMALL_SAMPLE:
        alt += f"，四分位距{_span(months_text(d.q1), months_text(d.q3))}"
    else:
        alt += f"，最低至最高{_span(months_text(d.min), months_text(d.max))}（{SMALL_WORDING}）"
    other = s.by_kind.get("管制")
    if other is not None:
        alt += f"；另有管制{other.n}件，未绘入"
    if prop and prop.percentile is not None and prop.proposed.months and d.n >= SMALL_SAMPLE:
        alt += f"；拟判{months_text(prop.proposed.months)}位于第{prop.percentile:.0f}百分位"
    return alt


def _clean(block: Block) -> Block:
    """The block with every string through ``normalise_text``."""
    changes = {}
    for f in fields(block):
        v = getattr(block, f.name)
        if isinstance(v, str):
            changes[f.name] = normalise_text(v)
        elif f.name == "histogram":
            continue
        elif isinstance(v, list) and v and isinstance(v[0], list):
            changes[f.name] = [[normalise_text(x) for x in row] for row in v]
        elif isinstance(v, list):
            changes[f.name] = [normalise_text(x) for x in v]
    return replace(block, **changes)


__all__ = [
    "Band",
    "Block",
    "Chart",
    "Heading",
    "Items",
    "Para",
    "Quote",
    "Table",
    "backend_text",
    "blocks",
    "filters_text",
    "histogram",
    "licence_text",
    "picture_figures",
    "term_histogram",
    "tokenizer_text",
]
