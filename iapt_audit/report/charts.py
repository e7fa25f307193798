"""Charts as inline SVG strings, drawn on ``svg_canvas.Canvas`` (plain SVG text, no plotting library).

Output is deterministic (the same numbers give byte-identical SVG), its text stays text and every
label is XML-escaped. Each chart's clip-path id starts with its chart id, so many charts can share
a page.

Colours avoid the red/green pairing that reads as good/bad and fails for colour-blind readers
(FunnelPlotR's rule, provider-comparison.md §1): NHS blue for data, orange and purple for limits,
and every flag also has its own marker shape and a text label.

Every function takes plain numbers already prepared (and, for outside audiences, already
disclosure-controlled) by ``audiences``; none of them reads an audit result.
"""

from __future__ import annotations

import math

from iapt_audit.report.svg_canvas import Axis, Canvas, LegendEntry, padded

BLUE = "#005EB8"        # NHS blue: the data
PALE_BLUE = "#9DC3E6"
ORANGE = "#E69F00"      # 95 % limits, highlighted bins
PURPLE = "#6A3D9A"      # 99.8 % limits, outlier markers
GREY = "#425563"        # targets, centre lines, text
WIDTH, HEIGHT = 720, 340


def _heights(counts: list) -> list[float]:
    """Bar heights: a suppressed count ("*") is drawn as an empty bar."""
    return [c if isinstance(c, (int, float)) else 0 for c in counts]


def funnel_plot(chart_id: str, points: list[dict], curves: list[dict], target: float, *, y_label: str,
                standard: float | None = None) -> str:
    """A funnel plot: each provider's rate (%) against its denominator, with 95 % and 99.8 % limits.

    ``points``: dicts with ``label``, ``denominator``, ``value`` (proportion 0–1) and ``flag``
    ("high", "low" or None). ``curves``: the outliers entry's ``chart`` rows (N, lower95, upper95,
    lower998, upper998). ``target`` and ``standard`` are proportions.
    """
    n = [float(c["N"]) for c in curves]
    limits = {level: ([100 * float(c[f"lower{level}"]) for c in curves],
                      [100 * float(c[f"upper{level}"]) for c in curves]) for level in ("998", "95")}
    shown = [p for p in points if p["value"] is not None and p["denominator"] is not None]
    xs = n + [float(p["denominator"]) for p in shown]
    ys = [v for lower, upper in limits.values() for v in lower + upper] + [100 * p["value"] for p in shown]
    ys += [100 * target] + ([100 * standard] if standard is not None else [])
    ys = [v for v in ys if math.isfinite(v)]
    low, high = padded(min(ys), max(ys))
    y_axis = Axis.linear(max(0.0, low), min(100.0, high) if shown else 100.0)
    x_axis = Axis.linear(*padded(min(xs), max(xs)), integer=True)
    legend = [LegendEntry("99.8% limits", PURPLE, line="solid"), LegendEntry("95% limits", ORANGE, line="dashed"),
              LegendEntry(f"target {100 * target:.1f}%", GREY, line="solid")]
    if standard is not None:
        legend.append(LegendEntry(f"standard {100 * standard:.0f}%", GREY, line="dotted"))
    kinds = ((None, "circle", "provider"), ("high", "up", "high outlier"), ("low", "down", "low outlier"))
    legend += [LegendEntry(name, BLUE if flag is None else PURPLE, marker=shape) for flag, shape, name in kinds
               if any(p["flag"] == flag for p in shown)]
    canvas = Canvas(chart_id, WIDTH, HEIGHT, x_axis, y_axis, x_title="Denominator (referrals in the measure)",
                    y_title=y_label, legend=legend)
    for level, colour, style in (("998", PURPLE, "solid"), ("95", ORANGE, "dashed")):
        lower, upper = limits[level]
        canvas.line(n, lower, colour, style=style)
        canvas.line(n, upper, colour, style=style)
    canvas.hline(100 * target, GREY)
    if standard is not None:
        canvas.hline(100 * standard, GREY, style="dotted")
    for flag, shape, _ in kinds:
        mine = [p for p in shown if p["flag"] == flag]
        colour = BLUE if flag is None else PURPLE
        canvas.markers([p["denominator"] for p in mine], [100 * p["value"] for p in mine], shape, colour,
                       size=3.5 if flag is None else 5.5)
        if flag is not None:
            for p in mine:
                canvas.text(p["denominator"], 100 * p["value"], p["label"], colour=PURPLE, size=11, dx=7, dy=-5)
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


def spc_chart(chart_id: str, chart: dict, *, y_label: str) -> str:
    """An XmR chart (Making Data Count): values, mean, process limits and special-cause points."""
    points = chart["points"]
    values = [float(v) for v in points["value"]]
    x = list(range(len(values)))
    low, high = padded(min(values + [chart["lower"]]), max(values + [chart["upper"]]))
    step = max(1, len(x) // 12)
    x_axis = Axis(-0.5, len(x) - 0.5, x[::step], [points["date"][i][:7] for i in x[::step]])
    kinds = (("concern", ORANGE, "square"), ("improvement", BLUE, "circle"),
             ("neutral_high", PURPLE, "up"), ("neutral_low", PURPLE, "down"))
    legend = [LegendEntry("mean", GREY, line="solid"), LegendEntry("process limits", PURPLE, line="dashed")]
    legend += [LegendEntry(kind.replace("_", " "), colour, marker=shape) for kind, colour, shape in kinds
               if kind in points["point_type"]]
    canvas = Canvas(chart_id, WIDTH, 280, x_axis, Axis.linear(low, high), y_title=y_label, legend=legend,
                    x_labels_turned=True)
    canvas.hline(chart["centre"], GREY)
    canvas.hline(chart["upper"], PURPLE, style="dashed")
    canvas.hline(chart["lower"], PURPLE, style="dashed")
    canvas.line(x, values, GREY, width=1.2)
    canvas.markers(x, values, "circle", GREY, size=2.2, edge=GREY)
    for kind, colour, shape in kinds:
        mine = [i for i, t in enumerate(points["point_type"]) if t == kind]
        canvas.markers(mine, [values[i] for i in mine], shape, colour, size=4.5)
    return canvas.svg()
