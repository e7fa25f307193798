"""Charts: deterministic SVG, ids unique per chart, hostile labels drawn as text, bars to scale."""

from __future__ import annotations

import re

import pytest

from iapt_audit.report import charts
from iapt_audit.report.svg_canvas import nice_ticks, tick_label

CURVES = [{"N": n, "lower95": 0.4, "upper95": 0.6, "lower998": 0.3, "upper998": 0.7} for n in (10, 100, 1000)]


def funnel(chart_id: str, label: str = "RX1") -> str:
    points = [{"label": label, "denominator": 500, "value": 0.9, "flag": "high"},
              {"label": "RY2", "denominator": 200, "value": 0.5, "flag": None}]
    return charts.funnel_plot(chart_id, points, CURVES, 0.5, y_label="Rate (%)", standard=0.5)


def bar_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)" height="[^"]+" fill=', svg)]


def test_the_same_chart_is_byte_identical_every_time():
    assert funnel("a") == funnel("a")
    first = charts.score_histogram("s", list(range(28)), [3] * 28, cutoff=10, tool="PHQ-9")
    assert first == charts.score_histogram("s", list(range(28)), [3] * 28, cutoff=10, tool="PHQ-9")


def test_svg_ids_carry_the_chart_id_so_charts_can_share_a_page():
    ids = re.findall(r'\bid="([^"]+)"', funnel("funnel-x"))
    assert ids and all(i.startswith("funnel-x-") for i in ids)
    references = re.findall(r'url\(#([^)]+)\)', funnel("funnel-x"))
    assert references and all(r.startswith("funnel-x-") for r in references)


def test_a_flagged_provider_is_labelled_as_escaped_text():
    svg = funnel("f", label="<b>$x$ & co</b>")
    assert "&lt;b&gt;$x$ &amp; co&lt;/b&gt;" in svg  # "$" drawn literally
    assert "<b>" not in svg


def test_suppressed_bins_are_drawn_empty():
    svg = charts.wait_histogram("w", [0, 7, 14], [12, "*", 6], marks={"6 weeks": 42}, x_label="Wait")
    assert svg.startswith("<svg") and "6 weeks" in svg
    heights = [float(h) for h in re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill=', svg)]
    assert heights[1] == 0 and heights[0] == pytest.approx(2 * heights[2], abs=0.02)  # pixels to 2 places


def test_attrition_bars_are_to_scale_and_labelled_with_the_share_lost():
    svg = charts.attrition_funnel("a", ["Received", "Treated", "Recovered"], [200, 100, "*"], [50.0, "*"])
    received, treated, recovered = bar_widths(svg)
    assert received == pytest.approx(2 * treated, abs=0.02) and recovered == 0
    assert "100\u00a0\u00a0 (lost: 50%)" in svg and "*\u00a0\u00a0 (lost: *)" in svg
    assert svg.index(">Received<") < svg.index(">Treated<")  # the first step at the top


def test_ticks_are_round_numbers_inside_the_range():
    assert nice_ticks(0, 190, integer=True) == [0, 25, 50, 75, 100, 125, 150, 175]
    assert nice_ticks(37.2, 70.4) == [40, 45, 50, 55, 60, 65, 70]
    assert nice_ticks(-0.8, 27.8, integer=True) == [0, 5, 10, 15, 20, 25]
    # span / 8 = 217,831: the first of 1, 2, 2.5, 5 x 100,000 at least that is 250,000
    assert [tick_label(t) for t in nice_ticks(0, 1_742_645, integer=True)] == [
        "0", "250,000", "500,000", "750,000", "1,000,000", "1,250,000", "1,500,000"]
