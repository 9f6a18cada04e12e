"""Render a ``Report``: JSON, Markdown, HTML (self-contained, print-friendly) and DOCX.

All three document formats are written from one list of blocks (``blocks(report)``), so they say
the same thing in the same words. Each embeds the report's JSON data, so that ``verify`` can check a
saved copy: the data against its SHA-256, the visible text against a fresh rendering of that data.
The chart image is left out of that comparison (its pixels depend on the installed fonts and
matplotlib); the data it is drawn from is covered by the hash.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from functools import cache

from leian.errors import InvalidInput
from leian.retrieval.report import TIER_NAMES, Report
from leian.retrieval.sentencing import (
    SMALL_SAMPLE,
    SMALL_WORDING,
    TERM_KINDS,
    Distribution,
    months_text,
    sentence_text,
    yuan_text,
)

FORMATS: tuple[str, ...] = ("json", "md", "html", "docx")
MD_DATA_OPEN = "<!-- leian-report-data (base64 of the report JSON; used by `leian verify-report`)"
MD_DATA_CLOSE = "-->"
HTML_DATA_ID = "leian-report-data"
# The data travels as a Custom XML Data part (what Word keeps when it re-saves a document), holding the
# base64 of the report JSON in one element of our namespace.
DOCX_DATA_RELTYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
DOCX_DATA_NS = "urn:leian:report"
CHART_KINDS_ASCII = {"有期徒刑": "fixed-term", "拘役": "detention", "管制": "surveillance"}
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


# ---------------------------------------------------------------- blocks


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


# ---------------------------------------------------------------- chart

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)


@cache
def cjk_font() -> str | None:
    """A font family with CJK glyphs known to matplotlib, or None (then the chart uses ASCII labels)."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    # Installed after matplotlib cached its font list: ask fontconfig and register the files.
    import shutil
    import subprocess

    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            path = line.split(":")[0].strip()
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
        names = {f.name for f in fm.fontManager.ttflist}
        return next((fam for fam in CJK_FAMILIES if fam in names), None)
    return None


def _figure(report: Report):
    # A bare Figure renders with Agg/SVG on savefig: no pyplot, no global backend switch.
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure

    s = report.sentencing
    if s is None or s.months is None:
        return None
    font = cjk_font()
    zh = font is not None
    kinds = [k for k in reversed(TERM_KINDS) if k in s.by_kind]  # 有期徒刑 drawn on top
    data = [[o.months for o in s.observations if o.kind == k] for k in kinds]
    fig = Figure(figsize=(7.2, 1.6 + 0.55 * len(kinds)), dpi=150)
    ax = fig.add_subplot()
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": [font] if zh else ["DejaVu Sans"],
        "svg.hashsalt": "leian",
    }
    with matplotlib.rc_context(rc):
        ref = s.reference
        if ref.low_months is not None:
            label = (
                f"参考区间 {months_text(ref.low_months)}–{months_text(ref.high_months)}"
                if zh
                else "reference range"
            )
            ax.axvspan(ref.low_months, ref.high_months, color="#dbe8f5", zorder=0, label=label)
        ax.boxplot(
            data, orientation="horizontal", widths=0.5, showfliers=False, medianprops={"color": "#1f4e79"}
        )
        rng = np.random.default_rng(0)  # fixed jitter: the same report draws the same chart
        for i, vals in enumerate(data, 1):
            ax.scatter(
                vals, i + rng.uniform(-0.15, 0.15, len(vals)), s=10, color="#555555", alpha=0.7, zorder=3
            )
        ax.set_yticks(
            range(1, len(kinds) + 1),
            [
                f"{k}（{len(v)}件）" if zh else f"{CHART_KINDS_ASCII[k]} (n={len(v)})"
                for k, v in zip(kinds, data, strict=True)
            ],
        )
        prop = report.proposed
        if prop is not None and prop.proposed.months is not None and prop.proposed.kind in TERM_KINDS:
            lab = (
                f"拟判 {months_text(prop.proposed.months)}"
                if zh
                else f"proposed {prop.proposed.months} months"
            )
            ax.axvline(
                prop.proposed.months, color="#c00000", linestyle="--", linewidth=1.5, label=lab, zorder=4
            )
        ax.set_xlabel("刑期（月）" if zh else "term (months)")
        n = s.n_cases
        ax.set_title(
            f"同罪名类案主刑刑期（共{n}件）" if zh else f"Principal penalty of comparable cases (n={n})",
            fontsize=10,
        )
        ax.set_xlim(left=0)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        if ax.get_legend_handles_labels()[0]:  # below the axes: never over the points
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, fontsize=8, frameon=False)
        fig.tight_layout()
    return fig, rc


def _save_chart(report: Report, fmt: str, metadata: dict) -> bytes | None:
    made = _figure(report)
    if made is None:
        return None
    fig, rc = made
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight", pad_inches=0.1)
    return buf.getvalue()


def chart_png(report: Report) -> bytes | None:
    return _save_chart(report, "png", {"Software": None})


def chart_svg(report: Report) -> str | None:
    data = _save_chart(report, "svg", {"Date": None, "Creator": None})
    if data is None:
        return None
    svg = data.decode("utf-8")
    svg = svg[svg.index("<svg") :].strip()  # drop the XML prolog and DOCTYPE: inline in HTML5
    return re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # RDF boilerplate


# ---------------------------------------------------------------- JSON


def render_json(report: Report) -> bytes:
    return (json.dumps(report.data(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _md_cell(text: str) -> str:
    return _md_escape(text).replace("\n", " ")


def markdown_text(report: Report) -> str:
    lines: list[str] = []
    for b in blocks(report):
        if lines and lines[-1].endswith("  ") and not (isinstance(b, Para) and b.style == "meta"):
            lines.append("")  # end the run of hard-broken meta lines
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + _md_escape(b.text), ""]
        elif isinstance(b, Para):
            text = _md_escape(b.text)
            if b.style == "meta":
                lines.append(text + "  ")  # a hard line break keeps the header lines together
                continue
            wrap = {"warn": "**", "note": "*", "ok": "**"}.get(b.style, "")
            lines += [f"{wrap}{text}{wrap}", ""]
        elif isinstance(b, Items):
            lines += [f"- {_md_escape(i)}" for i in b.items] + [""]
        elif isinstance(b, Quote):
            lines += [f"> {_md_escape(ln)}" if ln.strip() else ">" for ln in b.text.strip().splitlines()] + [
                ""
            ]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(_md_cell(c) for c in b.header) + " |")
            lines.append("|" + "|".join("---" for _ in b.header) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif isinstance(b, Chart):
            top = max((c for _, c in b.histogram), default=0)
            lines += [f"*图：{_md_escape(b.alt)}*", "", "| 刑期 | 案件数 | |", "|---|---:|---|"]
            lines += [
                f"| {lab} | {c} | {'█' * round(20 * c / top) if top else ''} |" for lab, c in b.histogram
            ]
            lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> bytes:
    payload = base64.b64encode(render_json(report)).decode("ascii")
    wrapped = "\n".join(payload[i : i + 100] for i in range(0, len(payload), 100))
    return (
        markdown_text(report) + "\n" + MD_DATA_OPEN + "\n" + wrapped + "\n" + MD_DATA_CLOSE + "\n"
    ).encode("utf-8")


# ---------------------------------------------------------------- HTML

CSS = """
body{font-family:"Noto Serif CJK SC","Source Han Serif SC","SimSun","Songti SC",serif;max-width:58em;margin:2em auto;
padding:0 1.2em;color:#111;line-height:1.65;font-size:15px}
h1{text-align:center;font-size:1.7em;letter-spacing:.2em;margin-bottom:.3em}
h2{font-size:1.2em;border-bottom:1px solid #999;padding-bottom:.15em;margin-top:1.6em}
h3{font-size:1.05em;margin:1em 0 .3em}
.meta{margin:0;color:#444;font-size:.9em;font-family:monospace,"Noto Sans CJK SC",sans-serif;word-break:break-all}
.warn{color:#9c0006;font-weight:bold}.ok{color:#0b6b2b;font-weight:bold}.note{color:#555;font-size:.9em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #aaa;padding:.25em .45em;vertical-align:top;text-align:left}th{background:#eee}
blockquote{margin:.5em 0;padding:.4em .9em;border-left:4px solid #bbb;background:#f7f7f7;white-space:pre-wrap}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#444}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}tr,figure,blockquote{break-inside:avoid}
a{color:inherit;text-decoration:none}}
""".strip()


def html_text(report: Report, svg: str | None) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="leian-report-id" content="{e(report.id)}">',
        f'<meta name="leian-report-sha256" content="{e(report.sha256)}">',
        f"<title>{e(report.title)} {e(report.id)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    for b in blocks(report):
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = f' class="{b.style}"' if b.style != "normal" else ""
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif isinstance(b, Items):
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Quote):
            parts.append(f"<blockquote>{e(b.text.strip())}</blockquote>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(c)}</th>" for c in b.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Chart):
            fig = svg if svg else '<p class="note">（图表未能生成）</p>'
            parts.append(
                f'<figure role="img" aria-label="{e(b.alt)}">\n{fig}\n<figcaption>图：{e(b.alt)}</figcaption></figure>'
            )
    data = json.dumps(report.data(), ensure_ascii=False, sort_keys=False).replace("<", "\\u003c")
    parts += [f'<script type="application/json" id="{HTML_DATA_ID}">{data}</script>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_html(report: Report) -> bytes:
    return html_text(report, chart_svg(report)).encode("utf-8")


# ---------------------------------------------------------------- DOCX


def render_docx(report: Report) -> bytes:
    from docx import Document
    from docx.opc.part import Part
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        st = doc.styles[name]
        st.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "黑体")
    props = doc.core_properties
    props.title = f"{report.title} {report.id}"
    props.subject = f"SHA-256 {report.sha256}"
    props.author = report.generator
    props.identifier = report.id

    png = chart_png(report)
    for b in blocks(report):
        if isinstance(b, Heading):
            doc.add_heading(b.text, level=0 if b.level == 1 else b.level - 1)
        elif isinstance(b, Para):
            para = doc.add_paragraph()
            run = para.add_run(b.text)
            if b.style == "warn":
                run.bold = True
                run.font.color.rgb = RGBColor(0x9C, 0x00, 0x06)
            elif b.style == "ok":
                run.bold = True
            elif b.style in ("note", "meta"):
                run.font.size = Pt(9)
        elif isinstance(b, Items):
            for i in b.items:
                doc.add_paragraph(i, style="List Bullet")
        elif isinstance(b, Quote):
            doc.add_paragraph(b.text.strip(), style="Quote")
        elif isinstance(b, Table):
            t = doc.add_table(rows=1, cols=len(b.header))
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, b.header, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
        elif isinstance(b, Chart):
            if png:
                doc.add_picture(io.BytesIO(png), width=Inches(6.2))
            doc.add_paragraph(f"图：{b.alt}")

    payload = base64.b64encode(render_json(report)).decode("ascii")
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="{DOCX_DATA_NS}">{payload}</report>'
    package = doc.part.package
    name = package.next_partname("/customXml/item%d.xml")  # the default template already has item1
    part = Part(name, "application/xml", xml.encode("utf-8"), package)
    doc.part.relate_to(part, DOCX_DATA_RELTYPE)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def docx_text(doc) -> list[str]:
    """The visible text of a document, block by block (paragraphs and table cells in body order)."""
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    out = []
    for item in doc.iter_inner_content():
        if isinstance(item, Paragraph):
            out.append(item.text)
        elif isinstance(item, DocxTable):
            out.extend(" | ".join(c.text for c in row.cells) for row in item.rows)
    return out


def docx_picture_count(doc) -> int:
    return len(doc.inline_shapes)


# ---------------------------------------------------------------- dispatch and verification support


def render(report: Report, fmt: str) -> bytes:
    fn = {"json": render_json, "md": render_markdown, "html": render_html, "docx": render_docx}.get(fmt)
    if fn is None:
        raise InvalidInput(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
    return fn(report)


def _open_docx(raw: bytes):
    from docx import Document

    try:
        return Document(io.BytesIO(raw))
    except Exception as e:  # python-docx raises zipfile/KeyError/ValueError variants for a damaged file
        raise InvalidInput(f"not a readable DOCX file: {e}") from None


def embedded_data(raw: bytes, fmt: str) -> dict:
    """The report data a rendered copy carries."""
    try:
        if fmt == "docx":
            doc = _open_docx(raw)
            for rel in doc.part.rels.values():
                blob = (
                    rel.target_part.blob if rel.reltype == DOCX_DATA_RELTYPE and not rel.is_external else b""
                )
                m = re.search(
                    rf'<report xmlns="{DOCX_DATA_NS}">([A-Za-z0-9+/=\s]*)</report>', blob.decode("utf-8")
                )
                if m:
                    return json.loads(
                        base64.b64decode("".join(m.group(1).split()), validate=True).decode("utf-8")
                    )
            raise InvalidInput("this DOCX carries no leian report data (was it saved by another program?)")
        text = raw.decode("utf-8")
        if fmt == "html":
            m = re.search(rf'<script type="application/json" id="{HTML_DATA_ID}">(.*?)</script>', text, re.S)
            if not m:
                raise InvalidInput("this HTML carries no leian report data")
            return json.loads(m.group(1))
        i = text.rfind(MD_DATA_OPEN)
        j = text.find(MD_DATA_CLOSE, i + len(MD_DATA_OPEN)) if i >= 0 else -1
        if i < 0 or j < 0:
            raise InvalidInput("this Markdown carries no leian report data")
        payload = "".join(text[i + len(MD_DATA_OPEN) : j].split())
        return json.loads(base64.b64decode(payload, validate=True).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInput(f"the embedded report data is damaged: {e}") from None


_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def _first_difference(a: list[str], b: list[str]) -> str:
    for n, (x, y) in enumerate(zip(a, b, strict=False), 1):
        if x != y:
            return f"line {n}: {x[:60]!r}"
    return f"length {len(a)} vs {len(b)} lines"


def same_rendering(raw: bytes, fmt: str, report: Report) -> tuple[bool, str]:
    """Whether ``raw`` is exactly what this version renders from ``report`` (chart pixels excepted)."""
    if fmt == "md":
        fresh = render_markdown(report).decode("utf-8").splitlines()
        mine = raw.decode("utf-8").splitlines()
        return (mine == fresh, "" if mine == fresh else _first_difference(mine, fresh))
    if fmt == "html":
        fresh = _SVG.sub("<svg/>", html_text(report, "<svg></svg>")).splitlines()
        mine = _SVG.sub("<svg/>", raw.decode("utf-8")).splitlines()
        return (mine == fresh, "" if mine == fresh else _first_difference(mine, fresh))
    if fmt == "docx":
        doc = _open_docx(raw)
        fresh_doc = _open_docx(render_docx(report))
        mine, fresh = docx_text(doc), docx_text(fresh_doc)
        if mine != fresh:
            return False, "text " + _first_difference(mine, fresh)
        if docx_picture_count(doc) != docx_picture_count(fresh_doc):
            return False, "the chart picture was removed or added"
        return True, ""
    return True, ""


__all__ = [
    "FORMATS",
    "blocks",
    "chart_png",
    "chart_svg",
    "cjk_font",
    "embedded_data",
    "histogram",
    "markdown_text",
    "render",
    "render_docx",
    "render_html",
    "render_json",
    "render_markdown",
    "same_rendering",
]
