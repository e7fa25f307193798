"""Funnel-plot outlier tables and charts, and SPC tables and charts, from ``compare_providers``
entries and ``XmrResult.to_dict()`` charts.

The same code serves the audit's own entries (``AuditResult.outliers``: one per KPI rate and one
per gaming indicator, the latter the very funnel its rule decided with), the national funnels a
service audited alone is placed on, and the funnels of ``iapt-audit outliers`` on NHS Digital's
published files, so every reader sees one verdict per indicator in the same words:
"better than expected", "worse than expected" or "common cause" (``stats.direction``), concerns
first, each with its rate, counts and the 99.8 % limits at its own denominator
(provider-comparison.md §1).

Tables are tidy long tables (one row per measure × period × provider) so a workbook reader can
filter them; rates and limits are unrounded percentages (the workbook formats them), except that
rates an outside audience sees from the audit's own records follow disclosure control.
"""

from __future__ import annotations

from collections import Counter

from iapt_audit.io.published import MEASURES as PUBLISHED
from iapt_audit.kpis import MEASURE_BY_NAME, STANDARDS
from iapt_audit.report import charts
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Chart, Column, SheetChart, Table
from iapt_audit.stats.direction import COMMON, ORDER, WORSE, point_verdict

SPC_CHARTS_PER_MEASURE = 2
DIRECTION_WORDS = {"increase": "higher is better", "decrease": "lower is better", "neutral": "neither"}
NOT_DRAWN = ("Not drawn: fewer than two providers have cases, and a funnel of one point shows nothing; "
             "the table gives the verdict.")


def measure_title(entry: dict, titles: dict[str, str]) -> str:
    name = titles.get(entry["measure"], entry.get("official_name") or entry["measure"])
    return f"{name} ({entry['period']})" if entry.get("period") else name


def m_code(entry: dict) -> str | None:
    """NHS Digital's measure ID of an entry's rate (None for a gaming indicator)."""
    if entry["measure"] in MEASURE_BY_NAME:
        return MEASURE_BY_NAME[entry["measure"]].code
    if entry["measure"] in PUBLISHED:
        return PUBLISHED[entry["measure"]].codes[-1]
    return None


def _exact(entry: dict, figures: Figures) -> bool:
    """Rates shown unrounded: inside the service, or counts NHS Digital already published."""
    return not figures.disclosed or bool(entry.get("period_type"))


def _rate(entry: dict, p: dict, figures: Figures):
    if p["numerator"] is None:
        return None
    if _exact(entry, figures):
        return 100 * p["value"]
    return figures.percent(p["numerator"], p["denominator"])


def outlier_table(entries: list[dict], figures: Figures, titles: dict[str, str], *, flagged_only: bool = False) -> Table:
    """One row per measure × period × provider: concerns first (worse than expected, then other
    special causes), then by measure and provider.

    The full table is the "Outliers" sheet (folded in the web page, which leads with the flagged
    rows: ``flagged_only``).
    """
    rows = []
    for entry in entries:
        name = titles.get(entry["measure"], entry.get("official_name") or entry["measure"])
        exact = _exact(entry, figures)
        for org, p in entry["providers"].items():
            if flagged_only and p["flag"] is None:
                continue
            verdict = p.get("verdict", COMMON)
            rows.append((ORDER.index(verdict), name, entry.get("period") or "", org, [
                name, m_code(entry), entry.get("period"), org, p.get("name"), verdict,
                _rate(entry, p, figures), p.get("published"),
                p["numerator"] if exact else figures.count(p["numerator"]),
                p["denominator"] if exact else figures.count(p["denominator"]),
                100 * p["lower"], 100 * p["upper"], DIRECTION_WORDS[entry.get("direction", "neutral")],
                p["z"]]))
    rows.sort(key=lambda r: r[:4])
    columns = [Column("Measure"), Column("M-code"), Column("Period"), Column("Provider"), Column("Name"),
               Column("Verdict"), Column("Rate (%)", "percent"), Column("Published rate (%)", "percent"),
               Column("Numerator", "count"), Column("Denominator", "count"),
               Column("Lower 99.8% limit (%)", "percent"), Column("Upper 99.8% limit (%)", "percent"),
               Column("Better when"), Column("z", "number")]
    columns, values = _without_empty(columns, [r[4] for r in rows], ("M-code", "Period", "Name", "Published rate (%)"))
    note = ("Limits are at each provider's own denominator on the funnel drawn for the indicator (its construction "
            "is in the funnel table); a gaming indicator's funnel is the one its rule decided with.")
    if any(e.get("period_type") for e in entries):
        note += (" Rates are recomputed from NHS Digital's published counts (rounded to 5); the published rate, "
                 "from unrounded counts, is shown beside it where NHS Digital publishes one.")
    if flagged_only:
        return Table("outliers-flagged", "Outliers: providers outside the 99.8% funnel limits", columns, values,
                     note=note)
    return Table("outliers", "All providers on every funnel", columns, values,
                 note="Concerns first. " + note, sheet="Outliers", folded=True)


def _without_empty(columns: list[Column], rows: list[list], optional) -> tuple[list[Column], list[list]]:
    """Drop the optional columns that are blank in every row (an audit's providers have no names)."""
    keep = [j for j, c in enumerate(columns) if c.name not in optional or any(r[j] is not None for r in rows)]
    return [columns[j] for j in keep], [[r[j] for j in keep] for r in rows]


def funnel_summary_table(entries: list[dict], titles: dict[str, str]) -> Table:
    """One row per funnel: how it was built, its target and dispersion, and how many it flagged."""
    rows = []
    for entry in entries:
        counts = entry["flag_counts"]
        verdicts = Counter(p.get("verdict", COMMON) for p in entry["providers"].values())
        rows.append([measure_title(entry, titles), m_code(entry), DIRECTION_WORDS[entry.get("direction", "neutral")],
                     entry["n_providers"], 100 * entry["target"], entry["phi"], entry["tau2"],
                     entry.get("construction") or entry["method"], verdicts[WORSE],
                     counts["high"] + counts["low"] - verdicts[WORSE], counts["unadjusted"]])
    columns = [Column("Measure"), Column("M-code"), Column("Better when"), Column("Providers", "count"),
               Column("Target (%)", "percent"), Column("Dispersion φ", "number"), Column("τ²", "number"),
               Column("Funnel"), Column("Worse than expected", "count"), Column("Other outliers", "count"),
               Column("Flagged without adjustment", "count")]
    return Table("funnels", "Funnel plots: how each was built", columns, rows, sheet="Funnels", folded=True)


def funnel_chart(entry: dict, titles: dict[str, str], figures: Figures, chart_id: str, highlight=()) -> Chart:
    """The funnel plot of one entry. Providers whose rate outside audiences may not see stay on
    the chart as hollow markers in a band under it (at their disclosed denominator); with fewer
    than two rates to show (and no national providers behind them) the chart is replaced by a
    sentence saying why."""
    title = measure_title(entry, titles)
    exact = _exact(entry, figures)
    points, suppressed = [], []
    for org, p in entry["providers"].items():
        shown = _rate(entry, p, figures)
        denominator = p["denominator"] if exact else figures.count(p["denominator"])
        verdict = p.get("verdict", COMMON)
        if isinstance(shown, str) or shown is None:
            suppressed.append({"label": org, "denominator": denominator,
                               "title": f"{org}: counts under 5, rate not shown; {verdict}"})
            continue
        words = [org + (f" {p['name']}" if p.get("name") else ""), f"{shown:.1f}%" if exact else f"{shown:.0f}%",
                 f"{_count_text(p['numerator'] if exact else figures.count(p['numerator']))}/{_count_text(denominator)}",
                 f"limits {100 * p['lower']:.1f}–{100 * p['upper']:.1f}%", verdict]
        if p.get("published") is not None:
            words.insert(2, f"published {p['published']:g}%")
        points.append({"label": org, "denominator": denominator, "value": p["value"], "flag": p["flag"],
                       "verdict": verdict, "title": ", ".join(words)})
    national = [{"denominator": q["denominator"], "value": q["value"],
                 "title": f"{q['code']} {q['name']}: {100 * q['value']:.1f}% of {q['denominator']:,.0f} "
                          f"(England {entry.get('reference_year')})"} for q in entry.get("national_points", [])]
    flagged = [org for org, p in entry["providers"].items() if p["flag"]]
    alt = (f"Funnel plot of {title} for {entry['n_providers']} providers; target {100 * entry['target']:.1f}%; "
           f"outliers: {', '.join(flagged) if flagged else 'none'}.")
    note = f"{entry.get('construction') or entry['method']}; φ = {entry['phi']:.2f}, τ² = {entry['tau2']:.5f}."
    if entry["fallback"]:
        note += f" {entry['fallback']['reason'].capitalize()}."
    if suppressed:
        note += f" {len(suppressed)} provider(s) with counts under 5 are shown as hollow markers under the plot."
    if len(points) + len(suppressed) < 2 and not national:
        return Chart(chart_id, title, "", alt=alt, note=NOT_DRAWN)
    standard = entry.get("standard")
    if standard is None and entry["measure"] in STANDARDS:
        standard = STANDARDS[entry["measure"]] / 100
    svg = charts.funnel_plot(chart_id, points, entry["chart"], entry["target"], y_label="Rate (%)",
                             standard=standard, suppressed=suppressed, national=national, highlight=highlight)
    return Chart(chart_id, title, svg, alt=alt, note=note)


def _count_text(value) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def persistence_table(funnels: list[dict], titles: dict[str, str], *, concerns_only: bool = False) -> Table:
    """Provider × measure over the periods: "worse than expected in 9 of 12 months", the
    regulator's first view when many periods are compared. Only providers flagged at least once;
    ``concerns_only``: only those worse than expected at least once (the page's view; the full
    table is the "Persistence" sheet, folded in the page)."""
    seen: dict = {}
    for entry in funnels:
        name = titles.get(entry["measure"], entry.get("official_name") or entry["measure"])
        for org, p in entry["providers"].items():
            row = seen.setdefault((name, org), {"name": p.get("name"), "periods": 0, "worse": [], "other": []})
            row["periods"] += 1
            if p["flag"]:
                (row["worse"] if p.get("verdict") == WORSE else row["other"]).append(entry.get("period") or "")
    rows = [[measure, org, r["name"], f"{len(r['worse'])} of {r['periods']}", len(r["worse"]), len(r["other"]),
             r["periods"], ", ".join(r["worse"]) or None]
            for (measure, org), r in seen.items() if r["worse"] or (r["other"] and not concerns_only)]
    rows.sort(key=lambda r: (-r[4], -r[5], r[0], r[1]))
    columns = [Column("Measure"), Column("Provider"), Column("Name"), Column("Worse than expected in"),
               Column("Periods worse", "count"), Column("Periods other outlier", "count"),
               Column("Periods compared", "count"), Column("Periods worse than expected")]
    columns, rows = _without_empty(columns, rows, ("Name",))
    if concerns_only:  # the months themselves are in the full table: one line per row here
        columns, rows = columns[:-1], [r[:-1] for r in rows]
        return Table("persistence-concerns", "Persistence of concerns: periods worse than expected", columns, rows,
                     note="One row per provider and measure worse than expected at least once; most persistent "
                          "first. Providers only better than expected are in the full table.")
    return Table("persistence", "Persistence: how often each provider is an outlier", columns, rows,
                 sheet="Persistence", folded=True,
                 note="One row per provider and measure flagged at least once; most persistent concerns first.")


def spc_table(spc: dict, titles: dict[str, str], *, special_only: bool = False) -> Table:
    """One row per measure × provider: the last month, its verdict and the chart's assurance.
    ``special_only``: only charts with a special cause at the last month (the page's list; the
    full table is the "SPC" sheet, folded in the page)."""
    rows = []
    for measure, by_org in spc.items():
        for org, chart in by_org.items():
            points = chart["points"]
            verdict = point_verdict(points["point_type"][-1])
            if special_only and verdict == COMMON:
                continue
            rows.append((ORDER.index(verdict), [
                titles.get(measure, measure), org, chart.get("name"), points["date"][-1][:7], points["value"][-1],
                chart["centre"], chart["lower"], chart["upper"],
                "too little variation" if chart.get("flat") else verdict,
                (points["rule"][-1] or "").replace("_", " ") or None, chart.get("assurance"), len(points["value"]),
                sum(g["months"] for g in chart.get("gaps", [])) or None]))
    rows.sort(key=lambda r: (r[0], r[1][0], r[1][1]))
    columns = [Column("Measure"), Column("Provider"), Column("Name"), Column("Last month"),
               Column("Last value (%)", "percent"), Column("Mean (%)", "percent"), Column("Lower limit (%)", "percent"),
               Column("Upper limit (%)", "percent"), Column("Last point"), Column("Rule"), Column("Assurance"),
               Column("Months", "count"), Column("Months missing", "count")]
    columns, values = _without_empty(columns, [r[1] for r in rows], ("Name", "Assurance", "Months missing"))
    note = ("Rules: outside the limits, a 7-point trend, 2 of 3 beyond 2σ, 7 points on one side of the mean "
            "(Making Data Count). " + spc_warnings(spc))
    if special_only:
        return Table("spc-special", "Special cause at the last month", columns, values, note=note)
    return Table("spc", "Monthly SPC (XmR), every chart", columns, values, sheet="SPC", folded=True, note=note)


def spc_warnings(spc: dict) -> str:
    """Each kind of SPC warning once, with how many charts it concerns (not once per chart)."""
    kinds = Counter()
    for by_org in spc.values():
        for chart in by_org.values():
            for note in chart.get("notes", []):
                kinds[_warning_kind(note)] += 1
    return " ".join(f"{text}: {count:,} chart{'s' if count > 1 else ''}." for text, count in sorted(kinds.items()))


def _warning_kind(note: str) -> str:
    if note.startswith("only "):
        return "Trial limits (fewer than 13 months)"
    if note.startswith("no data"):
        return "Months missing (runs and moving ranges stop at the gap)"
    if note.startswith("too little variation"):
        return "Too little variation for XmR (values stuck at one level): no limits"
    if "ghosted" in note:
        return "A one-month shock left out of the mean and limits"
    if note.startswith("limits recalculated"):
        return "Limits recalculated after a sustained shift (every point was special cause)"
    if note.startswith("moving-range screening"):
        return "Screening not applied (it would have left zero-width limits)"
    return note


def spc_series_table(spc: dict, titles: dict[str, str]) -> Table:
    """The monthly series behind every SPC chart, one row per measure × provider × month."""
    rows = []
    for measure, by_org in spc.items():
        for org, chart in by_org.items():
            points, phases = chart["points"], chart.get("phases") or [chart]
            for i, date in enumerate(points["date"]):
                phase = phases[points.get("phase", [0] * len(points["date"]))[i]]
                rows.append([titles.get(measure, measure), org, chart.get("name"), date[:7], points["value"][i],
                             chart["numerator"][i] if chart.get("numerator") else None,
                             chart["denominator"][i] if chart.get("denominator") else None,
                             phase["centre"], phase["lower"], phase["upper"],
                             (points["rule"][i] or "").replace("_", " ") or None,
                             point_verdict(points["point_type"][i])])
    columns = [Column("Measure"), Column("Provider"), Column("Name"), Column("Month"), Column("Value (%)", "percent"),
               Column("Numerator", "count"), Column("Denominator", "count"), Column("Mean (%)", "percent"),
               Column("Lower limit (%)", "percent"), Column("Upper limit (%)", "percent"), Column("Rule"),
               Column("Verdict")]
    columns, rows = _without_empty(columns, rows, ("Name", "Numerator", "Denominator"))
    return Table("spc-series", "Monthly series behind the SPC charts", columns, rows, sheet="SPC series", folded=True,
                 web=False)


def spc_charts(spc: dict, titles: dict[str, str], *, per_measure: int = SPC_CHARTS_PER_MEASURE,
               highlight=()) -> list[Chart]:
    """Charts for the providers with a special cause at their last month (concerns first, at most
    ``per_measure`` per measure) and for every highlighted provider."""
    found = []
    for measure, by_org in spc.items():
        special = sorted(((org, c) for org, c in by_org.items()
                          if c["points"]["point_type"][-1] != "common_cause" or org in highlight),
                         key=lambda item: (item[0] not in highlight,
                                           ORDER.index(point_verdict(item[1]["points"]["point_type"][-1])), item[0]))
        chosen = [item for item in special if item[0] in highlight] + \
            [item for item in special if item[0] not in highlight][:per_measure]
        for org, chart in chosen:
            title = f"{titles.get(measure, measure)} — {org} {chart.get('name') or ''}".strip()
            chart_id = f"spc-{measure}-{org}"
            svg = charts.spc_chart(chart_id, chart, y_label="%", highlight=org in highlight)
            last = point_verdict(chart["points"]["point_type"][-1])
            found.append(Chart(chart_id, title, svg, alt=f"XmR chart of {title}; last month {last}.",
                               note=f"Values: {chart.get('value_source', 'monthly rates')}. "
                                    + "; ".join(chart.get("notes", [])).capitalize()))
    return found


def funnel_chart_table(entries: list[dict], titles: dict[str, str], figures: Figures) -> Table:
    """The numbers behind each funnel chart (limit curves, then the providers whose rate may be
    shown), one block per funnel, with a native Excel scatter chart per block."""
    rows, sheet_charts = [], []
    for entry in entries:
        name = measure_title(entry, titles)
        first = len(rows)
        for c in entry["chart"]:
            rows.append([name, "limits", None, c["N"], None, 100 * c["lower998"], 100 * c["upper998"],
                         100 * c["lower95"], 100 * c["upper95"], 100 * entry["target"]])
        last_limit = len(rows) - 1
        exact = _exact(entry, figures)
        for org, p in entry["providers"].items():
            shown = _rate(entry, p, figures)
            if shown is None or isinstance(shown, str):
                continue
            rows.append([name, "provider", org, p["denominator"] if exact else figures.count(p["denominator"]),
                         100 * p["value"], None, None, None, None, None])
        if len(rows) - 1 > last_limit:
            series = [(column, first, last_limit, style) for column, style in
                      (("Upper 99.8% (%)", "line"), ("Lower 99.8% (%)", "line"), ("Upper 95% (%)", "dashed"),
                       ("Lower 95% (%)", "dashed"), ("Target (%)", "line"))]
            series.append(("Rate (%)", last_limit + 1, len(rows) - 1, "markers"))
            sheet_charts.append(SheetChart(name, "scatter", "Denominator", series))
    columns = [Column("Measure"), Column("Row"), Column("Provider"), Column("Denominator", "number"),
               Column("Rate (%)", "percent"), Column("Lower 99.8% (%)", "percent"), Column("Upper 99.8% (%)", "percent"),
               Column("Lower 95% (%)", "percent"), Column("Upper 95% (%)", "percent"), Column("Target (%)", "percent")]
    return Table("funnel-data", "Funnel charts and the numbers behind them", columns, rows, sheet="Funnel charts",
                 folded=True, charts=sheet_charts, web=False,
                 note="Each funnel's limit curves, then its providers; a native chart of each block is beside it.")


def spc_chart_table(spc: dict, titles: dict[str, str], charts_drawn: list[Chart]) -> Table:
    """The monthly series of the SPC charts drawn in the report, with a native Excel line chart
    of each (value, mean and process limits by month)."""
    rows, sheet_charts = [], []
    drawn = {c.id for c in charts_drawn}
    for measure, by_org in spc.items():
        for org, chart in by_org.items():
            if f"spc-{measure}-{org}" not in drawn:
                continue
            title = f"{titles.get(measure, measure)} — {org}"
            first = len(rows)
            points, phases = chart["points"], chart.get("phases") or [chart]
            for i, date in enumerate(points["date"]):
                phase = phases[points.get("phase", [0] * len(points["date"]))[i]]
                rows.append([title, date[:7], points["value"][i], phase["centre"], phase["lower"], phase["upper"],
                             point_verdict(points["point_type"][i])])
            sheet_charts.append(SheetChart(title, "line", "Month", [
                (column, first, len(rows) - 1, style) for column, style in
                (("Value (%)", "markers-line"), ("Mean (%)", "line"), ("Lower limit (%)", "dashed"),
                 ("Upper limit (%)", "dashed"))]))
    columns = [Column("Chart"), Column("Month"), Column("Value (%)", "number"), Column("Mean (%)", "number"),
               Column("Lower limit (%)", "number"), Column("Upper limit (%)", "number"), Column("Verdict")]
    return Table("spc-chart-data", "SPC charts and the series behind them", columns, rows, sheet="SPC charts",
                 folded=True, charts=sheet_charts, web=False)


GAMING_TESTS = (
    ("absolute", "The provider's share of cases showing the pattern is at or above the rule's threshold, with "
                 "enough cases to judge (the rule's min_percent and min_denominator)."),
    ("funnel_high", "The share is also above the 99.8% upper limit of the indicator's funnel at the provider's own "
                    "number of cases: its peers' funnel (the providers below the threshold) when the extract has 8 or "
                    "more providers, else England's providers in the national reference."),
    ("flagged", "Both tests fired. With fewer than 8 providers and no published counterpart, the threshold "
                "decides alone and the reason says so."),
)


def gaming_test_key() -> Table:
    """What each gaming test means, in plain English (the tests column of the rule tables)."""
    return Table("gaming-test-key", "Key to the gaming tests", [Column("Test"), Column("What it means")],
                 [list(row) for row in GAMING_TESTS])
