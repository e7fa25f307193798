"""Charts as inline SVG strings, drawn with matplotlib's object API (no pyplot state, Agg-free SVG canvas).

Why matplotlib: it renders SVG offline with no browser or JavaScript, its text stays text (so the
page is searchable and prints sharply), and it escapes every label itself. Output is deterministic
(fixed ``svg.hashsalt``, no date metadata), so the same audit gives byte-identical reports.

Colours avoid the red/green pairing that reads as good/bad and fails for colour-blind readers
(FunnelPlotR's rule, provider-comparison.md §1): NHS blue for data, orange and purple for limits,
and every flag also has its own marker shape and a text label.

Every function takes plain numbers already prepared (and, for outside audiences, already
disclosure-controlled) by ``audiences``; none of them reads an audit result.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

BLUE = "#005EB8"        # NHS blue: the data
PALE_BLUE = "#9DC3E6"
ORANGE = "#E69F00"      # 95 % limits, highlighted bins
PURPLE = "#6A3D9A"      # 99.8 % limits, outlier markers
GREY = "#425563"        # targets, centre lines, text
STYLE = {
    "svg.hashsalt": "iapt-audit",
    "svg.fonttype": "none",          # keep text as <text>: searchable, sharp in print, no embedded font
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "DejaVu Sans", "Liberation Sans"],
    "font.size": 9,
    "axes.edgecolor": GREY,
    "axes.labelcolor": GREY,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": GREY,
    "ytick.color": GREY,
    "axes.grid": True,
    "grid.color": "#E8EDEE",
    "grid.linewidth": 0.6,
    "text.usetex": False,
}
WIDTH, HEIGHT = 7.2, 3.4


def _figure(width=WIDTH, height=HEIGHT) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Figure, chart_id: str) -> str:
    """The figure as an SVG element with ids made unique to this chart (many charts share a page)."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE: the SVG sits inside HTML
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    return text.replace("<svg ", '<svg role="img" ', 1)


def label(text) -> str:
    """A label safe for matplotlib: "$" would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


def _styled(draw):
    """Run a drawing function under the house style (rcParams apply when artists are created)."""
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    wrapper.__doc__ = draw.__doc__
    wrapper.__name__ = draw.__name__
    return wrapper


@_styled
def funnel_plot(chart_id: str, points: list[dict], curves: list[dict], target: float, *, y_label: str,
                standard: float | None = None) -> str:
    """A funnel plot: each provider's rate (%) against its denominator, with 95 % and 99.8 % limits.

    ``points``: dicts with ``label``, ``denominator``, ``value`` (proportion 0–1) and ``flag``
    ("high", "low" or None). ``curves``: the outliers entry's ``chart`` rows (N, lower95, upper95,
    lower998, upper998). ``target`` and ``standard`` are proportions.
    """
    fig = _figure()
    ax = fig.add_subplot()
    n = np.array([c["N"] for c in curves], dtype=float)
    for level, colour, style in (("998", PURPLE, "-"), ("95", ORANGE, "--")):
        lower = 100 * np.array([c[f"lower{level}"] for c in curves], dtype=float)
        upper = 100 * np.array([c[f"upper{level}"] for c in curves], dtype=float)
        name = "99.8% limits" if level == "998" else "95% limits"
        ax.plot(n, lower, style, color=colour, linewidth=1.2, label=name)
        ax.plot(n, upper, style, color=colour, linewidth=1.2)
    ax.axhline(100 * target, color=GREY, linewidth=1, label=f"target {100 * target:.1f}%")
    if standard is not None:
        ax.axhline(100 * standard, color=GREY, linewidth=1, linestyle=":", label=f"standard {100 * standard:.0f}%")
    shown = [p for p in points if p["value"] is not None and p["denominator"] is not None]
    for flag, marker, name in ((None, "o", "provider"), ("high", "^", "high outlier"), ("low", "v", "low outlier")):
        mine = [p for p in shown if p["flag"] == flag]
        if not mine:
            continue
        face = BLUE if flag is None else PURPLE
        ax.scatter([p["denominator"] for p in mine], [100 * p["value"] for p in mine], marker=marker,
                   s=28 if flag is None else 52, color=face, edgecolor="white", linewidth=0.6, zorder=3,
                   label=name)
        if flag is not None:
            for p in mine:
                ax.annotate(label(p["label"]), (p["denominator"], 100 * p["value"]), xytext=(5, 3),
                            textcoords="offset points", fontsize=8, color=PURPLE)
    ax.set_xlabel("Denominator (referrals in the measure)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(label(y_label))
    ax.set_ylim(bottom=max(0.0, ax.get_ylim()[0]), top=min(100.0, ax.get_ylim()[1]) if shown else 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return _svg(fig, chart_id)


@_styled
def attrition_funnel(chart_id: str, steps: list[str], counts: list, lost: list) -> str:
    """Horizontal bars from referral to recovery; ``counts`` may hold "*" (suppressed, drawn empty).

    ``lost``: per step after the first, the share lost from the step before (percent or "*"/None).
    """
    fig = _figure(width=6.4, height=0.36 * len(steps) + 0.8)
    ax = fig.add_subplot()
    heights = [c if isinstance(c, (int, float)) else 0 for c in counts]
    y = np.arange(len(steps))[::-1]
    bars = ax.barh(y, heights, color=[BLUE] + [PALE_BLUE] * (len(steps) - 1), edgecolor=BLUE, height=0.62)
    top = max(heights) if any(heights) else 1
    for bar, count, share, i in zip(bars, counts, [None, *lost], range(len(steps))):
        text = f"{count:,}" if isinstance(count, (int, float)) else str(count)
        if i and share is not None:
            text += f"   (lost: {share if isinstance(share, str) else f'{share:.0f}%'})"
        ax.text(bar.get_width() + 0.01 * top, bar.get_y() + bar.get_height() / 2, text, va="center",
                fontsize=8.5, color=GREY)
    ax.set_yticks(y, [label(s) for s in steps])
    ax.set_xlim(0, top * 1.45)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Referrals")
    return _svg(fig, chart_id)


@_styled
def score_histogram(chart_id: str, scores: list[int], counts: list, *, cutoff: float, tool: str) -> str:
    """Final scores with the caseness cut-off marked; the bar just under it is highlighted, since a
    heap of final scores there is the pattern that recovery gaming leaves."""
    fig = _figure()
    ax = fig.add_subplot()
    heights = [c if isinstance(c, (int, float)) else 0 for c in counts]
    colours = [ORANGE if s == cutoff - 1 else BLUE for s in scores]
    ax.bar(scores, heights, width=0.85, color=colours, edgecolor="white", linewidth=0.4)
    ax.axvline(cutoff - 0.5, color=PURPLE, linestyle="--", linewidth=1.2)
    ax.text(cutoff - 0.35, ax.get_ylim()[1] * 0.95, f"caseness ≥ {cutoff:g}", color=PURPLE, fontsize=8, va="top")
    ax.set_xlabel(f"Last {label(tool)} score (finished courses)")
    ax.set_ylabel("Referrals")
    ax.set_xlim(min(scores) - 0.8, max(scores) + 0.8)
    return _svg(fig, chart_id)


@_styled
def wait_histogram(chart_id: str, edges: list[int], counts: list, *, marks: dict[str, int], x_label: str) -> str:
    """Waits in days, binned by ``edges`` (the last bin is open-ended), with the standards marked."""
    fig = _figure()
    ax = fig.add_subplot()
    heights = [c if isinstance(c, (int, float)) else 0 for c in counts]
    widths = np.diff(edges).tolist() + [edges[-1] - edges[-2]]
    ax.bar(edges, heights, width=widths, align="edge", color=BLUE, edgecolor="white", linewidth=0.4)
    for (text, day), colour, style in zip(marks.items(), (ORANGE, PURPLE), ("--", "-")):
        ax.axvline(day, color=colour, linestyle=style, linewidth=1.2)
        ax.text(day + 2, ax.get_ylim()[1] * 0.95, text, color=colour, fontsize=8, va="top")
    ax.set_xlabel(label(x_label) + f" (last bar: {edges[-1]} days or more)")
    ax.set_ylabel("Referrals")
    ax.set_xlim(0, edges[-1] + widths[-1])
    return _svg(fig, chart_id)


@_styled
def spc_chart(chart_id: str, chart: dict, *, y_label: str) -> str:
    """An XmR chart (Making Data Count): values, mean, process limits and special-cause points."""
    fig = _figure(height=2.8)
    ax = fig.add_subplot()
    points = chart["points"]
    x = np.arange(len(points["value"]))
    ax.plot(x, points["value"], color=GREY, linewidth=1, marker="o", markersize=3, zorder=2)
    ax.axhline(chart["centre"], color=GREY, linewidth=1, label="mean")
    ax.axhline(chart["upper"], color=PURPLE, linestyle="--", linewidth=1, label="process limits")
    ax.axhline(chart["lower"], color=PURPLE, linestyle="--", linewidth=1)
    for kind, colour, marker in (("concern", ORANGE, "s"), ("improvement", BLUE, "o"),
                                 ("neutral_high", PURPLE, "^"), ("neutral_low", PURPLE, "v")):
        mine = [i for i, t in enumerate(points["point_type"]) if t == kind]
        if mine:
            ax.scatter(mine, [points["value"][i] for i in mine], color=colour, marker=marker, s=30, zorder=3,
                       label=kind.replace("_", " "))
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [points["date"][i][:7] for i in x[::step]], rotation=45, ha="right")
    ax.set_ylabel(label(y_label))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return _svg(fig, chart_id)
