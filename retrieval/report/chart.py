"""The sentencing chart: the principal penalties of the comparable cases, the reference range and the
proposed sentence, drawn with matplotlib (PNG for DOCX, inline SVG for HTML)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import cache

import numpy as np

from leian.retrieval.report.model import Report
from leian.retrieval.sentencing import TERM_KINDS, months_text

CHART_KINDS_ASCII = {"有期徒刑": "fixed-term", "拘役": "detention", "管制": "surveillance"}
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


def _figure(report: Report):
    # A bare Figure renders with Agg/SVG on savefig: no pyplot, no global backend switch.
    # Lazy: importing matplotlib takes ~0.5 s, and only reports with a chart need it.
    import matplotlib
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
    import matplotlib  # already imported by _figure; lazy for the same reason

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


__all__ = ["chart_png", "chart_svg", "cjk_font"]
