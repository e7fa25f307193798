"""A small SVG drawing surface for the report's charts: linear axes with round-number ticks, a
clipped plot area, bars, lines, markers, text and a legend, written as plain SVG text.

Why not a plotting library: the report draws a few simple chart types (bars, lines, points), but
many of them (one attrition funnel per provider: 121 at national scale), and a general plotting
library spent most of the report's time laying out text it already knew. Hand-written SVG costs
microseconds per chart, is byte-identical for the same input, keeps its text as ``<text>``
(searchable, sharp in print) and escapes every label as XML. The layout measures text with an
average glyph width, so margins fit the labels without a font engine.

Coordinates are data units; ``Canvas.x`` and ``Canvas.y`` turn them into SVG pixels (y grows up).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

FONT = "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif"
FONT_SIZE = 12
GLYPH_WIDTH = 0.56           # average advance of a sans-serif glyph, in ems
GREY = "#425563"
GRID = "#E8EDEE"
DASHES = {"solid": None, "dashed": "6 4", "dotted": "1.5 3"}


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated width of ``text`` in pixels (no font engine: an average glyph width)."""
    return len(text) * size * GLYPH_WIDTH


def number(value: float) -> str:
    """A coordinate as short, stable SVG text."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def nice_ticks(low: float, high: float, most: int = 9, *, integer: bool = False) -> list[float]:
    """Round-number ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) inside [low, high], at most ``most``;
    ``integer`` keeps to whole-number steps."""
    if high <= low:
        return [low]
    raw = (high - low) / max(most - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
    if integer:
        steps = [max(step, 1) for step in steps if step >= 1 and float(step).is_integer()] or [1]
    step = next((s for s in steps if s >= raw), steps[-1])
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def tick_label(value: float) -> str:
    """A tick as people write it: thousands separated, no trailing zeros."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def padded(low: float, high: float, share: float = 0.05) -> tuple[float, float]:
    """[low, high] widened by ``share`` of its span each side (a flat range gets ±1)."""
    if high <= low:
        return low - 1, high + 1
    pad = share * (high - low)
    return low - pad, high + pad


@dataclass
class Axis:
    """One axis: its data range, tick positions and tick labels."""

    low: float
    high: float
    ticks: list[float]
    labels: list[str]

    @classmethod
    def linear(cls, low: float, high: float, *, integer: bool = False, most: int = 9) -> "Axis":
        ticks = nice_ticks(low, high, most, integer=integer)
        return cls(low, high, ticks, [tick_label(t) for t in ticks])


@dataclass
class LegendEntry:
    label: str
    colour: str
    line: str | None = None      # a DASHES key, for a line
    marker: str | None = None    # circle, square, up or down (triangles), for points
    hollow: bool = False         # an outline-only marker


class Canvas:
    """A chart of ``width`` × ``height`` pixels whose plot area leaves room for ticks and labels.

    The margins come from the labels themselves: the left margin from the widest y tick label (or
    ``left_labels``, for category names), the right from the legend, the bottom from the x labels.
    """

    def __init__(self, chart_id: str, width: int, height: int, x: Axis, y: Axis, *, x_title: str = "",
                 y_title: str = "", legend: list[LegendEntry] | None = None, left_labels: list[str] | None = None,
                 x_labels_turned: bool = False):
        self.id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
        self.width, self.height = width, height
        self.x_axis, self.y_axis = x, y
        self.legend = legend or []
        tick_labels = left_labels if left_labels is not None else y.labels
        left = 10 + max((text_width(t) for t in tick_labels), default=0) + 8 + (22 if y_title else 0)
        right = 16 + (max(text_width(e.label, FONT_SIZE - 1) for e in self.legend) + 36 if self.legend else 0)
        x_label_height = (max((text_width(t) for t in x.labels), default=0) * 0.72 + 8) if x_labels_turned else 16
        bottom = 10 + x_label_height + (20 if x_title else 0)
        self.left, self.top, self.right, self.bottom = left, 12, width - right, height - bottom
        self.x_title, self.y_title, self.x_labels_turned = x_title, y_title, x_labels_turned
        self.shapes: list[str] = []  # bars and lines, clipped to the plot area (limit curves run past it)
        self.marks: list[str] = []   # markers and labels, drawn over them and never cut off at its edge

    # ---- coordinates ----------------------------------------------------------------------------

    def x(self, value: float) -> float:
        span = self.x_axis.high - self.x_axis.low
        return self.left + (value - self.x_axis.low) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = self.y_axis.high - self.y_axis.low
        return self.bottom - (value - self.y_axis.low) / span * (self.bottom - self.top)

    # ---- drawing (data units) -------------------------------------------------------------------

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str, *, edge: str | None = None,
             edge_width: float = 0.6) -> None:
        left, right = sorted((self.x(x0), self.x(x1)))
        top, bottom = sorted((self.y(y0), self.y(y1)))
        stroke = f' stroke="{edge}" stroke-width="{number(edge_width)}"' if edge else ""
        self.shapes.append(f'<rect x="{number(left)}" y="{number(top)}" width="{number(right - left)}" '
                          f'height="{number(bottom - top)}" fill="{fill}"{stroke}/>')

    def line(self, xs, ys, colour: str, *, style: str = "solid", width: float = 1.6) -> None:
        """A polyline through the points (xs, ys), leaving out points with a missing or infinite
        coordinate (a limit that cannot be computed at some N)."""
        points = " ".join(f"{number(self.x(a))},{number(self.y(b))}" for a, b in zip(xs, ys)
                          if a is not None and b is not None and math.isfinite(a) and math.isfinite(b))
        self.shapes.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                          f'stroke-width="{number(width)}"{_dash(style)} stroke-linejoin="round"/>')

    def hline(self, value: float, colour: str, *, style: str = "solid", width: float = 1.4) -> None:
        self.line([self.x_axis.low, self.x_axis.high], [value, value], colour, style=style, width=width)

    def vline(self, value: float, colour: str, *, style: str = "solid", width: float = 1.6) -> None:
        self.line([value, value], [self.y_axis.low, self.y_axis.high], colour, style=style, width=width)

    def markers(self, xs, ys, shape: str, colour: str, *, size: float = 4.5, edge: str = "white",
                titles=None, hollow: bool = False) -> None:
        """Markers at (xs, ys); ``titles`` gives each its hover text (an SVG ``<title>``, read by
        browsers as a tooltip and by screen readers); ``hollow`` draws the outline only."""
        for i, (a, b) in enumerate(zip(xs, ys)):
            mark = _marker(shape, self.x(a), self.y(b), size, "none" if hollow else colour,
                           colour if hollow else edge, 1.4 if hollow else 0.8)
            if titles is not None:
                mark = f"<g><title>{escape(str(titles[i]))}</title>{mark}</g>"
            self.marks.append(mark)

    def band(self, y0: float, y1: float, fill: str, *, x0: float | None = None, x1: float | None = None) -> None:
        """A shaded band across the plot (or between x0 and x1), behind the data."""
        x0 = self.x_axis.low if x0 is None else x0
        x1 = self.x_axis.high if x1 is None else x1
        self.rect(x0, y0, x1, y1, fill)

    def free_label(self, x: float, y: float, text: str, taken: list, *, colour: str = GREY, size: float = 11,
                   gap: float = 7) -> bool:
        """Place ``text`` beside the point (x, y) where it overlaps no box in ``taken`` (tried to
        the right, above, below and to the left) and inside the chart; False when no place is free."""
        px, py = self.x(x), self.y(y)
        width, height = text_width(text, size), size + 2
        for dx, dy, anchor in ((gap, -6, "start"), (gap, 8, "start"), (-gap, -6, "end"), (-gap, 8, "end"),
                               (gap, -18, "start"), (gap, 20, "start")):
            left = px + dx if anchor == "start" else px + dx - width
            box = (left, py + dy - height / 2, left + width, py + dy + height / 2)
            inside = box[0] >= 0 and box[2] <= self.width and box[1] >= 0 and box[3] <= self.height
            if inside and not any(_overlap(box, other) for other in taken):
                taken.append(box)
                self.marks.append(_text(px + dx, py + dy, text, colour=colour, size=size, anchor=anchor))
                return True
        return False

    def text(self, x: float, y: float, text: str, *, colour: str = GREY, size: float = FONT_SIZE,
             anchor: str = "start", dx: float = 0, dy: float = 0, baseline: str = "middle") -> None:
        """``text`` at the data point (x, y), shifted by (dx, dy) pixels (dy down)."""
        self.marks.append(_text(self.x(x) + dx, self.y(y) + dy, text, colour=colour, size=size,
                                anchor=anchor, baseline=baseline))

    # ---- the whole chart ------------------------------------------------------------------------

    def raw(self, svg: str) -> None:
        """SVG written by the chart itself (pixel coordinates), drawn over the plot: icons."""
        self.marks.append(svg)

    def svg(self, *, y_ticks_at: list[tuple[float, str]] | None = None) -> str:
        """The finished SVG element. ``y_ticks_at``: category labels at given y values instead of
        the y axis's numeric ticks and grid (horizontal bar charts)."""
        left, top, right, bottom = self.left, self.top, self.right, self.bottom
        clip = f"{self.id}-plot"
        out = [f'<svg role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
               f'width="{self.width}" height="{self.height}" font-family="{FONT}" font-size="{FONT_SIZE}">',
               f'<defs><clipPath id="{clip}"><rect x="{number(left)}" y="{number(top)}" '
               f'width="{number(right - left)}" height="{number(bottom - top)}"/></clipPath></defs>']
        grid = [f'<line x1="{number(self.x(t))}" y1="{number(top)}" x2="{number(self.x(t))}" '
                f'y2="{number(bottom)}"/>' for t in self.x_axis.ticks]
        if y_ticks_at is None:
            grid += [f'<line x1="{number(left)}" y1="{number(self.y(t))}" x2="{number(right)}" '
                     f'y2="{number(self.y(t))}"/>' for t in self.y_axis.ticks]
        out.append(f'<g stroke="{GRID}" stroke-width="0.8">{"".join(grid)}</g>')
        out.append(f'<g clip-path="url(#{clip})">{"".join(self.shapes)}</g>{"".join(self.marks)}')
        out.append(f'<path d="M{number(left)},{number(top)} V{number(bottom)} H{number(right)}" fill="none" '
                   f'stroke="{GREY}" stroke-width="1"/>')
        out += self._x_ticks() + self._y_ticks(y_ticks_at) + self._titles() + self._legend()
        out.append("</svg>")
        return "".join(out)

    def _x_ticks(self) -> list[str]:
        out = []
        for tick, label in zip(self.x_axis.ticks, self.x_axis.labels):
            x = self.x(tick)
            out.append(f'<line x1="{number(x)}" y1="{number(self.bottom)}" x2="{number(x)}" '
                       f'y2="{number(self.bottom + 4)}" stroke="{GREY}"/>')
            if self.x_labels_turned:
                y = self.bottom + 10
                out.append(f'<text x="{number(x)}" y="{number(y)}" fill="{GREY}" text-anchor="end" '
                           f'dominant-baseline="middle" transform="rotate(-45 {number(x)} {number(y)})">'
                           f'{escape(label)}</text>')
            else:
                out.append(_text(x, self.bottom + 8, label, anchor="middle", baseline="hanging"))
        return out

    def _y_ticks(self, at: list[tuple[float, str]] | None) -> list[str]:
        pairs = at if at is not None else list(zip(self.y_axis.ticks, self.y_axis.labels))
        out = []
        for tick, label in pairs:
            y = self.y(tick)
            out.append(f'<line x1="{number(self.left - 4)}" y1="{number(y)}" x2="{number(self.left)}" '
                       f'y2="{number(y)}" stroke="{GREY}"/>')
            out.append(_text(self.left - 7, y, label, anchor="end"))
        return out

    def _titles(self) -> list[str]:
        out = []
        if self.x_title:
            out.append(_text((self.left + self.right) / 2, self.height - 6, self.x_title, anchor="middle",
                             baseline="auto"))
        if self.y_title:
            x, y = 14, (self.top + self.bottom) / 2
            out.append(f'<text x="{x}" y="{number(y)}" fill="{GREY}" text-anchor="middle" '
                       f'dominant-baseline="middle" transform="rotate(-90 {x} {number(y)})">'
                       f'{escape(self.y_title)}</text>')
        return out

    def _legend(self) -> list[str]:
        out = []
        x = self.right + 14
        for i, entry in enumerate(self.legend):
            y = self.top + 8 + 18 * i
            if entry.line:
                out.append(f'<line x1="{number(x)}" y1="{number(y)}" x2="{number(x + 22)}" y2="{number(y)}" '
                           f'stroke="{entry.colour}" stroke-width="1.6"{_dash(entry.line)}/>')
            if entry.marker:
                out.append(_marker(entry.marker, x + 11, y, 4.5, "none" if entry.hollow else entry.colour,
                                   entry.colour if entry.hollow else "white", 1.4 if entry.hollow else 0.8))
            out.append(_text(x + 28, y, entry.label, size=FONT_SIZE - 1))
        return out


def _dash(style: str) -> str:
    dash = DASHES[style]
    return f' stroke-dasharray="{dash}"' if dash else ""


def _text(x: float, y: float, text: str, *, colour: str = GREY, size: float = FONT_SIZE, anchor: str = "start",
          baseline: str = "middle") -> str:
    size_attribute = "" if size == FONT_SIZE else f' font-size="{number(size)}"'
    return (f'<text x="{number(x)}" y="{number(y)}" fill="{colour}"{size_attribute} text-anchor="{anchor}" '
            f'dominant-baseline="{baseline}">{escape(str(text))}</text>')


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _marker(shape: str, x: float, y: float, size: float, colour: str, edge: str, edge_width: float = 0.8) -> str:
    paint = f'fill="{colour}" stroke="{edge}" stroke-width="{number(edge_width)}"'
    if shape == "circle":
        return f'<circle cx="{number(x)}" cy="{number(y)}" r="{number(size)}" {paint}/>'
    if shape == "square":
        return (f'<rect x="{number(x - size)}" y="{number(y - size)}" width="{number(2 * size)}" '
                f'height="{number(2 * size)}" {paint}/>')
    tip = -1 if shape == "up" else 1
    s = size * 1.25
    points = f"{number(x)},{number(y + tip * s)} {number(x - s)},{number(y - tip * s * 0.8)} " \
             f"{number(x + s)},{number(y - tip * s * 0.8)}"
    return f'<polygon points="{points}" {paint}/>'
