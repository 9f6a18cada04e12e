"""The sentencing chart: how many comparable cases received a term in each band (the bands and counts
the report's table lists), the reference range and the proposed sentence, drawn with matplotlib (PNG
for DOCX, inline SVG for HTML). Every word on it is Chinese; without a CJK font it keeps to digits."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import cache

import numpy as np

from leian.retrieval.report.blocks import Band, picture_figures, term_histogram
from leian.retrieval.report.model import Report
from leian.retrieval.sentencing import POOLED_KINDS, months_text

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
    """A font family with CJK glyphs known to matplotlib, or None (then the chart's labels are digits)."""
    from matplotlib import font_manager as fm  # lazy: importing matplotlib takes ~0.5 s, charts are rare

    names = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    # Installed after matplotlib cached its font list: ask fontconfig and register the files.
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


def _ascii_label(band: Band) -> str:
    """A band in months, digits only (no CJK font: the caption under the chart says what they are)."""
    if band.high is None:
        return f">{band.low - 1}"
    return f"{band.low}-{band.high}" if band.low != band.high else str(band.low)


def figure(report: Report, picture: int = 0):
    """The chart as a matplotlib ``Figure`` (with the rc settings to draw it under), or None when the
    report has no custodial terms to draw.

    One horizontal bar per band of ``term_histogram`` (the bands the Markdown lists, with the same
    counts), split by kind (有期徒刑, 拘役); the bands inside the reference range are shaded and the band
    of the proposed term is outlined in red. Bands are rows, so their labels never run into each other."""
    # A bare Figure renders with Agg/SVG on savefig: no pyplot, no global backend switch.
    # Lazy: importing matplotlib takes ~0.5 s, and only reports with a chart need it.
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    s, prop = picture_figures(report, picture)
    bands = term_histogram(report, picture)
    if s is None or s.months is None or not bands:
        return None
    font = cjk_font()
    zh = font is not None
    kinds = [k for k in POOLED_KINDS if k in s.by_kind]
    by_kind = {
        k: [
            sum(1 for o in s.observations if o.kind == k and o.months and b.holds(round(o.months)))
            for b in bands
        ]
        for k in kinds
    }
    n = sum(b.count for b in bands)
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": [font] if zh else ["DejaVu Sans"],
        "font.size": 9,
        "svg.hashsalt": "leian",
    }
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(7.2, 1.5 + 0.42 * len(bands)), dpi=150)
        ax = fig.add_subplot()
        y = np.arange(len(bands))
        ref = s.reference
        if ref.low_months is not None:
            inside = [
                i
                for i, b in enumerate(bands)
                if b.low <= ref.high_months and (b.high is None or b.high >= ref.low_months)
            ]
            for k, i in enumerate(inside):
                label = (
                    f"参考区间（{months_text(ref.low_months)}至{months_text(ref.high_months)}）所在刑期段"
                    if zh and k == 0
                    else None
                )
                ax.axhspan(i - 0.5, i + 0.5, color="#dbe8f5", zorder=0, label=label)
        left = np.zeros(len(bands))
        for k, color in zip(kinds, ("#1f4e79", "#8faadc"), strict=False):
            counts = np.array(by_kind[k], dtype=float)
            ax.barh(y, counts, left=left, height=0.6, color=color, zorder=2, label=k if zh else None)
            left += counts
        top = max(left.max(), 1.0)
        for i, b in enumerate(bands):
            ax.text(left[i] + top * 0.01, i, str(b.count), va="center", fontsize=8, zorder=3)
        if prop is not None and prop.proposed.kind in POOLED_KINDS and prop.proposed.months:
            for i, b in enumerate(bands):
                if b.holds(prop.proposed.months):
                    ax.barh(
                        [i], [max(left[i], top * 0.02)], height=0.78, fill=False, edgecolor="#c00000",
                        linewidth=1.6, linestyle="--", zorder=4,
                        label=f"拟判{months_text(prop.proposed.months)}所在刑期段" if zh else None,
                    )  # fmt: skip
        ax.set_yticks(y, [b.label if zh else _ascii_label(b) for b in bands])
        ax.invert_yaxis()  # the shortest terms on top, as the table lists them
        ax.set_xlim(0, top * 1.12)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=1)
        ax.set_axisbelow(True)
        if zh:
            ax.set_xlabel("案件数（件）")
            ax.set_title(f"同罪名类案主刑刑期分布（有期徒刑与拘役，共{n}件）", fontsize=10)
            if ax.get_legend_handles_labels()[0]:  # below the axes: never over the bars
                ax.legend(
                    loc="upper center", bbox_to_anchor=(0.5, -0.5 / (1 + 0.3 * len(bands))), ncol=2,
                    fontsize=8, frameon=False,
                )  # fmt: skip
        fig.tight_layout()
    return fig, rc


def _save_chart(report: Report, picture: int, fmt: str, metadata: dict) -> bytes | None:
    made = figure(report, picture)
    if made is None:
        return None
    fig, rc = made
    import matplotlib  # already imported by _figure; lazy for the same reason

    buf = io.BytesIO()
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight", pad_inches=0.1)
    return buf.getvalue()


def chart_png(report: Report, picture: int = 0) -> bytes | None:
    return _save_chart(report, picture, "png", {"Software": None})


def chart_svg(report: Report, picture: int = 0) -> str | None:
    data = _save_chart(report, picture, "svg", {"Date": None, "Creator": None})
    if data is None:
        return None
    svg = data.decode("utf-8")
    svg = svg[svg.index("<svg") :].strip()  # drop the XML prolog and DOCTYPE: inline in HTML5
    return re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # RDF boilerplate


__all__ = ["chart_png", "chart_svg", "cjk_font", "figure"]
