"""Charts: deterministic SVG, ids unique per chart, hostile labels drawn as text."""

from __future__ import annotations

import re

from iapt_audit.report import charts

CURVES = [{"N": n, "lower95": 0.4, "upper95": 0.6, "lower998": 0.3, "upper998": 0.7} for n in (10, 100, 1000)]


def funnel(chart_id: str, label: str = "RX1") -> str:
    points = [{"label": label, "denominator": 500, "value": 0.9, "flag": "high"},
              {"label": "RY2", "denominator": 200, "value": 0.5, "flag": None}]
    return charts.funnel_plot(chart_id, points, CURVES, 0.5, y_label="Rate (%)", standard=0.5)


def test_the_same_chart_is_byte_identical_every_time():
    assert funnel("a") == funnel("a")
    first = charts.score_histogram("s", list(range(28)), [3] * 28, cutoff=10, tool="PHQ-9")
    assert first == charts.score_histogram("s", list(range(28)), [3] * 28, cutoff=10, tool="PHQ-9")


def test_svg_ids_carry_the_chart_id_so_charts_can_share_a_page():
    ids = re.findall(r'\bid="([^"]+)"', funnel("funnel-x"))
    assert ids and all(i.startswith("funnel-x-") for i in ids)
    references = re.findall(r'url\(#([^)]+)\)', funnel("funnel-x"))
    assert all(r.startswith("funnel-x-") for r in references)


def test_a_flagged_provider_is_labelled_as_escaped_text():
    svg = funnel("f", label="<b>$x$ & co</b>")
    assert "&lt;b&gt;$x$ &amp; co&lt;/b&gt;" in svg  # "$" drawn literally, not as mathtext
    assert "<b>" not in svg


def test_suppressed_bins_are_drawn_empty():
    svg = charts.wait_histogram("w", [0, 7, 14], [12, "*", 5], marks={"6 weeks": 42}, x_label="Wait")
    assert svg.startswith("<svg") and "6 weeks" in svg
