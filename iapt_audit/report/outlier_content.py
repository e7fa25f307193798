"""Funnel-plot outlier tables and charts, and SPC charts, from ``compare_providers`` entries.

The same code serves the audit's own entries (``AuditResult.outliers``, one per KPI rate) and the
funnels of ``iapt-audit outliers`` on NHS Digital's published files (``analyse_published``), so a
regulator reads both the same way: flagged providers first, each with its rate, counts and the
99.8 % limits at its own denominator (provider-comparison.md §1).
"""

from __future__ import annotations

from iapt_audit.kpis import STANDARDS
from iapt_audit.report import charts
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Chart, Column, Table

FLAG_WORDS = {"high": "High outlier ▲", "low": "Low outlier ▼", None: "Within limits"}
SPC_CHARTS_PER_MEASURE = 12


def measure_title(entry: dict, titles: dict[str, str]) -> str:
    name = titles.get(entry["measure"], entry.get("official_name") or entry["measure"])
    return f"{name} ({entry['period']})" if entry.get("period") else name


def outlier_table(entries: list[dict], figures: Figures, titles: dict[str, str], *, flagged_only: bool = False) -> Table:
    """One row per measure × provider, flagged rows first (high, then low), then by measure.

    The full table is the "Outliers" sheet (folded in the web page, which leads with the flagged
    rows: ``flagged_only``).
    """
    rows = []
    for entry in entries:
        for org, p in entry["providers"].items():
            if flagged_only and p["flag"] is None:
                continue
            rows.append((p["flag"] is None, p["flag"] != "high", measure_title(entry, titles), org, [
                measure_title(entry, titles), org, p.get("name"), FLAG_WORDS[p["flag"]],
                figures.percent(p["numerator"], p["denominator"]) if p["numerator"] is not None else None,
                figures.count(p["numerator"]), figures.count(p["denominator"]),
                round(100 * p["lower"], 1), round(100 * p["upper"], 1),
                None if p["z"] is None else round(p["z"], 2)]))
    rows.sort(key=lambda r: r[:4])
    columns = [Column("Measure"), Column("Provider"), Column("Name"), Column("Flag"), Column("Rate (%)", "percent"),
               Column("Numerator", "count"), Column("Denominator", "count"),
               Column("Lower 99.8% limit (%)", "percent"), Column("Upper 99.8% limit (%)", "percent"),
               Column("z", "number")]
    if not any(r[4][2] for r in rows):  # an audit's own providers have codes only: no empty Name column
        columns.pop(2)
        for r in rows:
            r[4].pop(2)
    note = ("Limits are at each provider's own denominator, adjusted for over-dispersion where the data "
            "show it (FunnelPlotR's additive method).")
    if flagged_only:
        return Table("outliers-flagged", "Flagged providers (outside the 99.8% funnel limits)", columns,
                     [r[4] for r in rows], note=note)
    return Table("outliers", "All providers on every funnel", columns, [r[4] for r in rows],
                 note="Flagged providers first. " + note, sheet="Outliers", folded=True)


def funnel_summary_table(entries: list[dict], titles: dict[str, str]) -> Table:
    """One row per funnel: target, dispersion, method and how many were flagged."""
    rows = []
    for entry in entries:
        counts = entry["flag_counts"]
        rows.append([measure_title(entry, titles), entry["n_providers"], round(100 * entry["target"], 1),
                     round(entry["phi"], 3), entry["tau2"], entry["method"] + (" (fallback)" if entry["fallback"] else ""),
                     counts["high"], counts["low"], counts["unadjusted"]])
    columns = [Column("Measure"), Column("Providers", "count"), Column("Target (%)", "percent"),
               Column("Dispersion φ", "number"), Column("τ²", "number"), Column("Limits"),
               Column("High outliers", "count"), Column("Low outliers", "count"),
               Column("Flagged without adjustment", "count")]
    return Table("funnels", "Funnel plots: targets and dispersion", columns, rows, sheet="Funnels")


def funnel_chart(entry: dict, titles: dict[str, str], figures: Figures, chart_id: str) -> Chart:
    """The funnel plot of one entry. Outside audiences see each point at its disclosed
    denominator, and providers whose rate is suppressed are left off (the table says "*")."""
    points = []
    for org, p in entry["providers"].items():
        shown = figures.percent(p["numerator"], p["denominator"]) if p["numerator"] is not None else None
        if isinstance(shown, str):
            continue
        denominator = figures.count(p["denominator"])
        points.append({"label": org, "denominator": denominator, "value": p["value"], "flag": p["flag"]})
    title = measure_title(entry, titles)
    standard = entry.get("standard")
    if standard is None and entry["measure"] in STANDARDS:
        standard = STANDARDS[entry["measure"]] / 100
    svg = charts.funnel_plot(chart_id, points, entry["chart"], entry["target"], y_label="Rate (%)",
                             standard=standard)
    flagged = [org for org, p in entry["providers"].items() if p["flag"]]
    alt = (f"Funnel plot of {title} for {entry['n_providers']} providers; target {100 * entry['target']:.1f}%; "
           f"outliers: {', '.join(flagged) if flagged else 'none'}.")
    note = f"Target {100 * entry['target']:.1f}%, φ = {entry['phi']:.2f}, τ² = {entry['tau2']:.5f}; {entry['method']} limits."
    if entry["fallback"]:
        note += f" {entry['fallback']['reason'].capitalize()}."
    hidden = len(entry["providers"]) - len(points)
    if hidden:
        note += f" {hidden} provider(s) with suppressed rates are not drawn."
    return Chart(chart_id, title, svg, alt=alt, note=note)


def spc_table(spc: dict, titles: dict[str, str]) -> Table:
    """One row per measure × provider: the last month's value and its special-cause type."""
    rows = []
    for measure, by_org in spc.items():
        for org, chart in by_org.items():
            points = chart["points"]
            rows.append([titles.get(measure, measure), org, chart.get("name"), points["date"][-1],
                         round(points["value"][-1], 1), round(chart["centre"], 1), round(chart["lower"], 1),
                         round(chart["upper"], 1), points["point_type"][-1].replace("_", " "),
                         points["rule"][-1], chart.get("warning")])
    rows.sort(key=lambda r: (r[8] == "common cause", r[0], r[1]))
    columns = [Column("Measure"), Column("Provider"), Column("Name"), Column("Last month"),
               Column("Last value (%)", "percent"), Column("Mean (%)", "percent"), Column("Lower limit (%)", "percent"),
               Column("Upper limit (%)", "percent"), Column("Last point"), Column("Rule"), Column("Warning")]
    return Table("spc", "Monthly SPC (XmR) by provider", columns, rows, sheet="SPC",
                 note="Special cause at the last point first. Rules: outside the limits, a 7-point trend, "
                      "2 of 3 beyond 2σ, 7 points on one side of the mean (Making Data Count).")


def spc_charts(spc: dict, titles: dict[str, str]) -> list[Chart]:
    """Charts for the providers whose last point is special cause (at most 12 per measure)."""
    found = []
    for measure, by_org in spc.items():
        special = [(org, c) for org, c in by_org.items() if c["points"]["point_type"][-1] != "common_cause"]
        for org, chart in special[:SPC_CHARTS_PER_MEASURE]:
            title = f"{titles.get(measure, measure)} — {org} {chart.get('name') or ''}".strip()
            svg = charts.spc_chart(f"spc-{measure}-{org}", chart, y_label="%")
            found.append(Chart(f"spc-{measure}-{org}", title, svg,
                               alt=f"XmR chart of {title}, last point {chart['points']['point_type'][-1]}.",
                               note=chart.get("warning") or ""))
    return found
