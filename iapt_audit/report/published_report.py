"""The regulator's report on NHS Digital's published files (the result of ``iapt-audit outliers``).

``analyse_published`` returns funnels per measure and period, XmR charts per provider's monthly
series and the hidden-waits list. The report is laid out to stay readable at national scale
(12 months of every measure for ~130 providers): the persistence view first ("worse than
expected in 9 of 12 months", one row per provider and measure flagged at least once), then the
latest period's funnel of each measure, the special causes of the SPC charts (common cause folded
away, each kind of warning stated once with its count) and the hidden waits. Every row is in the
workbook.

What the masthead says about rounding is what applies: the counts are NHS Digital's published
counts, already rounded to 5 with small counts suppressed ("*", read as missing); funnel rates are
recomputed from those rounded counts (the published percentage, from unrounded counts, is shown
beside them); the SPC charts use the published percentage where NHS Digital publishes one.
"""

from __future__ import annotations

from iapt_audit import __version__
from iapt_audit.io.published import MEASURES as PUBLISHED
from iapt_audit.report import outlier_content
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Column, Report, Section, Table
from iapt_audit.report.kpi_content import LABELS

ROUNDING = ("Counts are NHS Digital's published counts: sub-national counts rounded to the nearest 5 and small "
            "counts suppressed (*, read as missing, never zero). Funnel rates are recomputed from these rounded "
            "counts, so they can differ from the published rates (computed from unrounded counts) by about 0.3 "
            "points (up to 1 point for most providers); the published rate is shown beside each. SPC charts use "
            "the published percentage where NHS Digital publishes one.")


def build_published_report(analysis: dict, highlight=()) -> Report:
    """The regulator report for an ``analyse_published`` result (the outliers.json document)."""
    figures = Figures(disclosed=True)
    funnels = analysis["funnels"]
    titles = {m.name: LABELS.get(m.official, m.label) for m in PUBLISHED.values()}
    outliers = Section("outliers", "Outliers across providers",
                       intro=f"{analysis['org_type']} comparison on funnel plots, one per measure and period: outside "
                             "the 99.8% limits is better or worse than expected, inside is common cause. The charts "
                             "show each measure's latest period.")
    if funnels:
        latest = {}
        for entry in funnels:
            latest[entry["measure"]] = entry  # funnels are sorted by measure, then period
        many = len({f["period"] for f in funnels}) > 1
        if many:
            outliers.blocks.append(outlier_content.persistence_table(funnels, titles, concerns_only=True))
        else:
            outliers.blocks.append(outlier_content.outlier_table(funnels, figures, titles, flagged_only=True))
        outliers.blocks += [outlier_content.funnel_chart(e, titles, figures, f"funnel-{m}", highlight)
                            for m, e in latest.items()]
        summary = outlier_content.funnel_summary_table(funnels, titles)
        outliers.blocks += [summary, *([outlier_content.persistence_table(funnels, titles)] if many else []),
                            outlier_content.outlier_table(funnels, figures, titles),
                            outlier_content.funnel_chart_table(list(latest.values()), titles, figures)]
    else:
        outliers.status = "Too few organisations with data in every period: no funnel was drawn."
    hidden = Section("hidden-waits", "Hidden waits",
                     intro="High outliers on first-to-second treatment over 90 days that meet the 6-week standard: "
                           "the first appointment meets the standard and the wait moves to the second.",
                     blocks=[_hidden_waits_table(analysis["hidden_waits"])])
    spc = Section("spc", "Monthly SPC", intro="Each provider's monthly rate on an XmR chart (Making Data Count). "
                                               "Listed and drawn: special cause at the last month, concerns first; "
                                               "every chart is in the folded table and the workbook.")
    if analysis["spc"]:
        drawn = outlier_content.spc_charts(analysis["spc"], titles, highlight=highlight)
        spc.blocks += [outlier_content.spc_table(analysis["spc"], titles, special_only=True), *drawn,
                       outlier_content.spc_table(analysis["spc"], titles),
                       outlier_content.spc_series_table(analysis["spc"], titles),
                       outlier_content.spc_chart_table(analysis["spc"], titles, drawn)]
    else:
        spc.status = "No monthly files were given, so there is no monthly series to chart."
    notes = Section("notes", "Notes on the published data", intro=" ".join(analysis["notes"]))
    periods = analysis["periods"]
    return Report(audience="regulator", title="NHS Talking Therapies — National outlier review (published data)",
                  subtitle=f"{analysis['org_type']} comparison, {periods[0]} to {periods[-1]}" if periods else "",
                  facts=[("Organisations", analysis["org_type"]), ("Periods", f"{len(periods)}"),
                         ("Measures", ", ".join(titles.get(m, m) for m in analysis["measures"])),
                         ("Limits", f"{analysis['method']}, flags at 99.8%"),
                         ("Tool", f"iapt-audit {__version__}")],
                  sections=[outliers, spc, hidden, notes], disclosure=ROUNDING)


def _hidden_waits_table(found: list[dict]) -> Table:
    rows = []
    for item in found:
        second, access = item["first_to_second_over_90_days"], item["wait_6_weeks"]
        rows.append([item["period"], item["provider"], item.get("name"), 100 * second["value"],
                     100 * second["upper"], 100 * access["value"], item["why"]])
    columns = [Column("Period"), Column("Provider"), Column("Name"),
               Column("1st to 2nd > 90 days (%)", "percent"), Column("Upper 99.8% limit (%)", "percent"),
               Column("Within 6 weeks (%)", "percent"), Column("Why")]
    return Table("hidden-waits", "Hidden waits", columns, rows, sheet="Hidden waits")
