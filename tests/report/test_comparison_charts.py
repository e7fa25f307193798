"""Funnel and SPC charts as issue 16 asks: verdict colours (never red/green), a hover title on
every point, --highlight, suppressed providers kept as hollow markers, labels that never
overprint, a calendar axis with gaps, limits periods, targets and MDC's icons."""

from __future__ import annotations

import re

from iapt_audit.report import charts
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.outlier_content import funnel_chart
from iapt_audit.stats.direction import COLOURS, verdict
from iapt_audit.stats.spc import xmr

CURVES = [{"N": n, "lower95": 0.4, "upper95": 0.6, "lower998": 0.3, "upper998": 0.7} for n in (10, 100, 1000)]
RED_GREEN = ("#ff0000", "#00ff00", "#008000", "red", "green")


def entry(providers: dict, direction: str = "increase") -> dict:
    full = {org: {"numerator": n, "denominator": d, "value": n / d, "lower": 0.3, "upper": 0.7, "z": 0.0,
                  "flag": flag, "verdict": verdict(flag, direction)} for org, (n, d, flag) in providers.items()}
    return {"measure": "Percentage_Recovery", "providers": full, "chart": CURVES, "target": 0.5, "phi": 1.2,
            "tau2": 0.001, "method": "additive", "fallback": None, "n_providers": len(full), "direction": direction,
            "construction": "99.8% additive limits fitted to all providers, target 50.0%"}


def test_every_point_has_a_hover_title_with_its_numbers():
    chart = funnel_chart(entry({"RA1": (450, 500, "high"), "RB2": (100, 200, None)}), {}, Figures(False), "f")
    titles = re.findall(r"<title>([^<]+)</title>", chart.svg)
    assert any(t.startswith("RA1") and "90.0%" in t and "450/500" in t and "limits 30.0–70.0%" in t
               and "better than expected" in t for t in titles)
    assert any(t.startswith("RB2") and "common cause" in t for t in titles)


def test_direction_sets_the_colour_and_red_green_are_never_used():
    good = funnel_chart(entry({"RA1": (450, 500, "high"), "RB2": (100, 200, None)}), {}, Figures(False), "g").svg
    bad = funnel_chart(entry({"RA1": (450, 500, "high"), "RB2": (100, 200, None)}, "decrease"), {},
                       Figures(False), "b").svg
    assert COLOURS["better than expected"] in good and COLOURS["worse than expected"] not in good
    assert COLOURS["worse than expected"] in bad and "worse than expected" in bad
    assert not any(c in (good + bad).lower() for c in RED_GREEN)


def test_suppressed_providers_stay_as_hollow_markers_and_a_lone_point_is_not_a_funnel():
    # for an outside audience, a numerator under 5 hides the rate; eleven of twelve are suppressed
    providers = {f"R{i:02d}": (2, 40, None) for i in range(11)}
    providers["RBIG"] = (30, 40, "high")
    chart = funnel_chart(entry(providers), {}, Figures(True), "s")
    assert chart.svg.count('fill="none"') >= 11 + 1          # eleven hollow markers (+ the legend's)
    assert "R03: counts under 5, rate not shown" in chart.svg
    assert "2/40" not in chart.svg and "5.0%" not in chart.svg  # nothing about a hidden rate is drawn
    lonely = funnel_chart(entry({"RONE": (30, 40, None)}), {}, Figures(True), "l")
    assert lonely.svg == "" and lonely.note.startswith("Not drawn")


def test_highlight_rings_and_labels_a_provider_and_labels_never_overprint():
    providers = {f"R{i:02d}": (300 + i, 400, "high") for i in range(12)}  # twelve flags in one spot
    providers["RME"] = (200, 400, None)
    svg = funnel_chart(entry(providers), {}, Figures(False), "h", highlight=("RME",)).svg
    assert re.search(r'>RME</text>', svg)
    boxes = []
    for x, y, anchor, text in re.findall(r'<text x="([\d.-]+)" y="([\d.-]+)" fill="[^"]+" font-size="11" '
                                         r'text-anchor="(start|end)" dominant-baseline="middle">(R[^<]+)</text>', svg):
        width = len(text) * 11 * 0.56
        left = float(x) if anchor == "start" else float(x) - width
        boxes.append((left, float(y) - 6.5, left + width, float(y) + 6.5))
    assert len(boxes) >= 2
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_spc_chart_shows_the_gap_limits_periods_target_and_icons():
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-09", "2024-10", "2024-11", "2024-12",
              "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    values = [60, 62, 61, 63, 60, 62, 61, 63, 70, 72, 71, 73, 72, 74]
    chart = xmr(values, dates=months, improvement="increase", bounds=(0, 100), target=50,
                rebase="2025-01").to_dict()
    svg = charts.spc_chart("c", chart, y_label="%")
    assert "no data (4 mo)" in svg                      # 2024-05 to 2024-08 shaded and named
    assert svg.count("<polyline") >= 2 + 2 * 3 + 1      # the line broken at the gap; mean and limits per period
    assert "target 50%" in svg
    assert 'class="mdc-icon"' in svg and "Assurance: will consistently meet the target" in svg
    assert len(re.findall(r"<title>20\d\d-\d\d: ", svg)) == len(values)
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")   # no image fetched
