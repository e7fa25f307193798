"""Charts as inline SVG strings, drawn on ``svg_canvas.Canvas`` (plain SVG text, no plotting library).

Output is deterministic (the same numbers give byte-identical SVG), its text stays text and every
label is XML-escaped. Each chart's clip-path id starts with its chart id, so many charts can share
a page.

Colours avoid the red/green pairing that reads as good/bad and fails for colour-blind readers
(FunnelPlotR's rule, provider-comparison.md §1). Points are coloured by what they mean, as Making
Data Count does (``stats.direction``: blue better than expected, orange worse, purple a change in
a measure with no better direction, grey common cause); each verdict also has its own marker
shape, a hover title and, for outliers, a label.

Every function takes plain numbers already prepared (and, for outside audiences, already
disclosure-controlled) by ``audiences``; none of them reads an audit result.
"""

from __future__ import annotations

import math

from html import escape

from iapt_audit.report.svg_canvas import Axis, Canvas, LegendEntry, number, padded
from iapt_audit.stats.direction import BETTER, COLOURS, COMMON, HIGHER, LOWER, ORDER, WORSE, point_verdict

BLUE = "#005EB8"        # NHS blue: the data
PALE_BLUE = "#9DC3E6"
ORANGE = "#E69F00"      # 95 % limits, highlighted bins
PURPLE = "#6A3D9A"      # 99.8 % limits, outlier markers
GREY = "#425563"        # targets, centre lines, text
PALE_GREY = "#C8CFD3"   # England's providers behind a single service
HIGHLIGHT = "#212B32"   # --highlight: a dark ring and label
#: marker shape per verdict: a shape for each, so colour is never the only carrier
_SHAPE = {WORSE: "square", BETTER: "circle", HIGHER: "up", LOWER: "down", COMMON: "circle"}
WIDTH, HEIGHT = 720, 340


def _heights(counts: list) -> list[float]:
    """Bar heights: a suppressed count ("*") is drawn as an empty bar."""
    return [c if isinstance(c, (int, float)) else 0 for c in counts]


def funnel_plot(chart_id: str, points: list[dict], curves: list[dict], target: float, *, y_label: str,
                standard: float | None = None, suppressed: list[dict] = (), national: list[dict] = (),
                highlight=()) -> str:
    """A funnel plot: each provider's rate (%) against its denominator, with 95 % and 99.8 % limits.

    ``points``: dicts with ``label``, ``denominator``, ``value`` (proportion 0–1), ``flag``
    ("high", "low" or None), ``verdict`` (``stats.direction`` words, which set the colour) and
    ``title`` (the hover text). ``suppressed``: providers whose rate is not disclosed, drawn as
    hollow markers in a band under the plot at their disclosed denominator (nothing about their
    rate is shown). ``national``: England's providers (``denominator``, ``value``, ``title``),
    drawn small and grey behind. ``highlight``: provider codes ringed and labelled.
    ``curves``: the outliers entry's ``chart`` rows (N, lower95, upper95, lower998, upper998).
    ``target`` and ``standard`` are proportions. Labels (flagged and highlighted providers) never
    overprint: one that finds no free place is left off (its point keeps its hover title).
    """
    n = [float(c["N"]) for c in curves]
    limits = {level: ([100 * float(c[f"lower{level}"]) for c in curves],
                      [100 * float(c[f"upper{level}"]) for c in curves]) for level in ("998", "95")}
    shown = [p for p in points if p["value"] is not None and p["denominator"] is not None]
    hidden = [p for p in suppressed if isinstance(p.get("denominator"), (int, float))]
    xs = n + [float(p["denominator"]) for p in shown + hidden + list(national)]
    ys = [v for lower, upper in limits.values() for v in lower + upper] + \
        [100 * p["value"] for p in shown + list(national)]
    ys += [100 * target] + ([100 * standard] if standard is not None else [])
    ys = [v for v in ys if math.isfinite(v)]
    low, high = padded(min(ys), max(ys))
    low, high = max(0.0, low), min(100.0, high)
    band = (high - low) * 0.06 if hidden else 0.0
    y_axis = Axis.linear(low - band, high)
    x_axis = Axis.linear(*padded(min(xs), max(xs)), integer=True)
    legend = [LegendEntry("99.8% limits", PURPLE, line="solid"), LegendEntry("95% limits", ORANGE, line="dashed"),
              LegendEntry(f"target {100 * target:.1f}%", GREY, line="solid")]
    if standard is not None:
        legend.append(LegendEntry(f"standard {100 * standard:.0f}%", GREY, line="dotted"))
    verdicts = [v for v in ORDER if any(p.get("verdict", COMMON) == v for p in shown)]
    legend += [LegendEntry(v, COLOURS[v], marker=_SHAPE[v]) for v in verdicts]
    if national:
        legend.append(LegendEntry("England's providers", PALE_GREY, marker="circle"))
    if hidden:
        legend.append(LegendEntry("rate suppressed (< 5)", GREY, marker="circle", hollow=True))
    canvas = Canvas(chart_id, WIDTH, HEIGHT, x_axis, y_axis, x_title="Denominator (referrals in the measure)",
                    y_title=y_label, legend=legend)
    if hidden:
        canvas.band(low - band, low, "#F0F4F5")
    for level, colour, style in (("998", PURPLE, "solid"), ("95", ORANGE, "dashed")):
        lower, upper = limits[level]
        canvas.line(n, lower, colour, style=style)
        canvas.line(n, upper, colour, style=style)
    canvas.hline(100 * target, GREY)
    if standard is not None:
        canvas.hline(100 * standard, GREY, style="dotted")
    if national:
        canvas.markers([p["denominator"] for p in national], [100 * p["value"] for p in national], "circle",
                       PALE_GREY, size=2.2, edge=PALE_GREY, titles=[p["title"] for p in national])
    if hidden:
        canvas.markers([p["denominator"] for p in hidden], [low - band / 2] * len(hidden), "circle", GREY,
                       size=3.5, hollow=True, titles=[p["title"] for p in hidden])
    for v in reversed(ORDER):  # common cause first, concerns drawn last (on top)
        mine = [p for p in shown if p.get("verdict", COMMON) == v]
        canvas.markers([p["denominator"] for p in mine], [100 * p["value"] for p in mine], _SHAPE[v], COLOURS[v],
                       size=3.5 if v == COMMON else 5.5, titles=[p.get("title", p["label"]) for p in mine])
    marked = [p for p in shown if p["label"] in highlight]
    canvas.markers([p["denominator"] for p in marked], [100 * p["value"] for p in marked], "circle", HIGHLIGHT,
                   size=9, hollow=True, titles=[p.get("title", p["label"]) for p in marked])
    taken: list = []
    labelled = sorted((p for p in shown if p["flag"] or p["label"] in highlight),
                      key=lambda p: (p["label"] not in highlight, -abs(p["value"] - target)))
    for p in labelled:
        canvas.free_label(p["denominator"], 100 * p["value"], p["label"], taken, gap=12 if p["label"] in highlight else 7,
                          colour=HIGHLIGHT if p["label"] in highlight else COLOURS.get(p.get("verdict"), PURPLE))
    return canvas.svg()


def attrition_funnel(chart_id: str, steps: list[str], counts: list, lost: list) -> str:
    """Horizontal bars from referral to recovery; ``counts`` may hold "*" (suppressed, drawn empty).

    ``lost``: per step after the first, the share lost from the step before (percent or "*"/None).
    """
    heights = _heights(counts)
    top = max(heights) if any(heights) else 1
    rows = len(steps)
    y_axis = Axis(-0.5, rows - 0.5, [], [])
    canvas = Canvas(chart_id, 640, 36 * rows + 80, Axis.linear(0, top * 1.45, integer=True), y_axis,
                    x_title="Referrals", left_labels=steps)
    for i, (step, height, count, share) in enumerate(zip(steps, heights, counts, [None, *lost])):
        y = rows - 1 - i  # the first step at the top
        canvas.rect(0, y - 0.31, height, y + 0.31, BLUE if i == 0 else PALE_BLUE, edge=BLUE)
        text = f"{count:,}" if isinstance(count, (int, float)) else str(count)
        if i and share is not None:
            text += f"\u00a0\u00a0 (lost: {share if isinstance(share, str) else f'{share:.0f}%'})"  # SVG collapses spaces
        canvas.text(height + 0.01 * top, y, text, size=11.5)
    return canvas.svg(y_ticks_at=[(rows - 1 - i, step) for i, step in enumerate(steps)])


def score_histogram(chart_id: str, scores: list[int], counts: list, *, cutoff: float, tool: str) -> str:
    """Final scores with the caseness cut-off marked; the bar just under it is highlighted, since a
    heap of final scores there is the pattern that recovery gaming leaves."""
    heights = _heights(counts)
    y_axis = Axis.linear(0, max(max(heights), 1) * 1.05, integer=True)
    x_axis = Axis.linear(min(scores) - 0.8, max(scores) + 0.8, integer=True)
    canvas = Canvas(chart_id, WIDTH, HEIGHT, x_axis, y_axis, x_title=f"Last {tool} score (finished courses)",
                    y_title="Referrals")
    for score, height in zip(scores, heights):
        canvas.rect(score - 0.425, 0, score + 0.425, height, ORANGE if score == cutoff - 1 else BLUE, edge="white")
    canvas.vline(cutoff - 0.5, PURPLE, style="dashed")
    canvas.text(cutoff - 0.35, y_axis.high * 0.95, f"caseness ≥ {cutoff:g}", colour=PURPLE, size=11,
                baseline="hanging")
    return canvas.svg()


def wait_histogram(chart_id: str, edges: list[int], counts: list, *, marks: dict[str, int], x_label: str) -> str:
    """Waits in days, binned by ``edges`` (the last bin is open-ended), with the standards marked."""
    heights = _heights(counts)
    widths = [b - a for a, b in zip(edges, edges[1:])] + [edges[-1] - edges[-2]]
    y_axis = Axis.linear(0, max(max(heights), 1) * 1.05, integer=True)
    x_axis = Axis.linear(0, edges[-1] + widths[-1], integer=True)
    canvas = Canvas(chart_id, WIDTH, HEIGHT, x_axis, y_axis, y_title="Referrals",
                    x_title=f"{x_label} (last bar: {edges[-1]} days or more)")
    for edge, width, height in zip(edges, widths, heights):
        canvas.rect(edge, 0, edge + width, height, BLUE, edge="white")
    for (text, day), colour, style in zip(marks.items(), (ORANGE, PURPLE), ("dashed", "solid")):
        canvas.vline(day, colour, style=style)
        canvas.text(day + 2, y_axis.high * 0.95, text, colour=colour, size=11, baseline="hanging")
    return canvas.svg()


def spc_chart(chart_id: str, chart: dict, *, y_label: str, highlight: bool = False) -> str:
    """An XmR chart (Making Data Count) on a calendar axis: the monthly values, each limits
    period's mean and process limits, the target, shaded gaps where months are missing (the line
    is broken there), points coloured by verdict (blue improvement, orange concern, purple
    neutral; grey common cause) with a hover title each, and MDC's variation and assurance icons
    drawn inline. ``chart``: an ``XmrResult.to_dict()``."""
    points = chart["points"]
    values = [float(v) for v in points["value"]]
    months = [_month_number(d) for d in points["date"]]
    x = [m - months[0] for m in months]
    phase = points.get("phase") or [0] * len(x)
    limits = [(p["lower"], p["upper"]) for p in chart["phases"]] if chart.get("phases") else \
        [(chart["lower"], chart["upper"])]
    extent = values + [v for pair in limits for v in pair if v is not None]
    if chart.get("target") is not None:
        extent.append(chart["target"])
    low, high = padded(min(extent), max(extent))
    step = max(1, (x[-1] + 1) // 12)
    ticks = list(range(0, x[-1] + 1, step))
    x_axis = Axis(-0.5, x[-1] + 0.5, ticks, [_month_text(months[0] + t) for t in ticks])
    kinds = [k for k in ("concern", "improvement", "neutral_high", "neutral_low", "common_cause")
             if k in points["point_type"]]
    legend = [LegendEntry("mean", GREY, line="solid")]
    if not chart.get("flat"):
        legend.append(LegendEntry("process limits", PURPLE, line="dashed"))
    if chart.get("target") is not None:
        legend.append(LegendEntry(f"target {chart['target']:g}%", GREY, line="dotted"))
    legend += [LegendEntry(point_verdict(k), COLOURS[point_verdict(k)], marker=_SHAPE[point_verdict(k)])
               for k in kinds]
    if chart.get("gaps"):
        legend.append(LegendEntry("no data", "#D8DDE0", marker="square"))
    canvas = Canvas(chart_id, WIDTH, 300, x_axis, Axis.linear(low, high), y_title=y_label, legend=legend,
                    x_labels_turned=True)
    for gap in chart.get("gaps", []):
        start = _month_number(gap["from"]) - months[0]
        canvas.band(low, high, "#EEF1F2", x0=start - 0.5, x1=start + gap["months"] - 0.5)
        canvas.text(start + gap["months"] / 2 - 0.5, high, f"no data ({gap['months']} mo)", size=10,
                    anchor="middle", baseline="hanging", dy=2)
    for p, phase_row in enumerate(chart.get("phases") or [{"centre": chart["centre"], "lower": chart["lower"],
                                                            "upper": chart["upper"]}]):
        span = [x[i] for i in range(len(x)) if phase[i] == p]
        left, right = span[0] - 0.5, span[-1] + 0.5
        canvas.line([left, right], [phase_row["centre"]] * 2, GREY, width=1.4)
        for key in ("upper", "lower"):
            if phase_row[key] is not None:
                canvas.line([left, right], [phase_row[key]] * 2, PURPLE, style="dashed", width=1.4)
    if chart.get("target") is not None:
        canvas.hline(chart["target"], GREY, style="dotted")
    start = 0
    for i in range(1, len(x) + 1):  # the line is broken at every gap
        if i == len(x) or x[i] - x[i - 1] > 1:
            canvas.line(x[start:i], values[start:i], "#768692", width=1.4 if not highlight else 2.2)
            start = i
    titles = [f"{points['date'][i][:7]}: {values[i]:.1f}%"
              + (f" ({chart['numerator'][i]}/{chart['denominator'][i]})" if chart.get("numerator") else "")
              + f" — {point_verdict(points['point_type'][i])}"
              + (f" ({points['rule'][i].replace('_', ' ')})" if points["rule"][i] else "")
              for i in range(len(x))]
    for kind in ("common_cause", "neutral_low", "neutral_high", "improvement", "concern"):
        mine = [i for i, t in enumerate(points["point_type"]) if t == kind]
        verdict_words = point_verdict(kind)
        canvas.markers([x[i] for i in mine], [values[i] for i in mine], _SHAPE[verdict_words], COLOURS[verdict_words],
                       size=3 if kind == "common_cause" else 4.5, titles=[titles[i] for i in mine])
    canvas.raw(icons(canvas.right + 14, canvas.bottom - 36, chart))
    return canvas.svg()


#: Making Data Count's variation icons: (colour, letter, words)
VARIATION_ICONS = {
    "common_cause": (COLOURS[COMMON], "~", "Common cause variation"),
    "improvement_high": (COLOURS[BETTER], "H", "Special cause improvement (higher)"),
    "improvement_low": (COLOURS[BETTER], "L", "Special cause improvement (lower)"),
    "concern_high": (COLOURS[WORSE], "H", "Special cause concern (higher)"),
    "concern_low": (COLOURS[WORSE], "L", "Special cause concern (lower)"),
    "neutral_high": (COLOURS[HIGHER], "H", "Special cause, neither better nor worse (higher)"),
    "neutral_low": (COLOURS[LOWER], "L", "Special cause, neither better nor worse (lower)"),
}
ASSURANCE_ICONS = {
    "pass": (COLOURS[BETTER], "P", "Assurance: will consistently meet the target"),
    "fail": (COLOURS[WORSE], "F", "Assurance: will consistently miss the target"),
    "inconsistent": (COLOURS[COMMON], "?", "Assurance: will hit and miss the target at random"),
}


def icons(x: float, y: float, chart: dict) -> str:
    """MDC's variation icon (and assurance icon when a target is set) at pixel (x, y): circles
    with a letter, coloured as MDC colours them, each with a hover title; no image is fetched."""
    out = []
    shown = [VARIATION_ICONS.get(chart.get("variation") or "common_cause", VARIATION_ICONS["common_cause"])]
    if chart.get("flat"):
        shown = [(COLOURS[COMMON], "–", "Too little variation for XmR: no limits")]
    if chart.get("assurance"):
        shown.append(ASSURANCE_ICONS[chart["assurance"]])
    for i, (colour, letter, words) in enumerate(shown):
        cx = x + 15 + 36 * i
        out.append(f'<g class="mdc-icon"><title>{escape(words)}</title>'
                   f'<circle cx="{number(cx)}" cy="{number(y)}" r="14" fill="white" stroke="{colour}" '
                   f'stroke-width="3"/><text x="{number(cx)}" y="{number(y)}" fill="{colour}" font-size="13" '
                   f'font-weight="bold" text-anchor="middle" dominant-baseline="central">{escape(letter)}</text></g>')
    return "".join(out)


def _month_number(date: str) -> int:
    return int(date[:4]) * 12 + int(date[5:7]) - 1


def _month_text(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"
