"""The regulator's report on NHS Digital's published files (the result of ``iapt-audit outliers``).

``analyse_published`` returns funnels per measure and period, XmR charts per provider's monthly
series and the hidden-waits list. The report shows every funnel in the outlier tables (flagged
first) and draws the latest period's funnel of each measure, then SPC and hidden waits. Counts in
these files are already NHS Digital's disclosed counts (rounded to 5, "*" read as missing), so the
disclosure rules change nothing that is shown; they are applied anyway, so no path skips them.
"""

from __future__ import annotations

from iapt_audit import __version__
from iapt_audit.report import outlier_content
from iapt_audit.report.kpi_content import LABELS
from iapt_audit.report.disclosure import STATEMENT, Figures
from iapt_audit.report.document import Column, Report, Section, Table


def build_published_report(analysis: dict) -> Report:
    """The regulator report for an ``analyse_published`` result (the outliers.json document)."""
    figures = Figures(disclosed=True)
    funnels = analysis["funnels"]
    titles = {f["measure"]: LABELS.get(f["official_name"], f["official_name"]) for f in funnels}
    outliers = Section("outliers", "Outliers across providers",
                       intro=f"{analysis['org_type']} comparison on funnel plots, one per measure and period; "
                             "the charts show each measure's latest period.")
    if funnels:
        latest = {}
        for entry in funnels:
            latest[entry["measure"]] = entry  # funnels are sorted by measure, then period
        summary = outlier_content.funnel_summary_table(funnels, titles)
        summary.folded = True  # one row per measure and period: long with monthly files
        outliers.blocks.append(summary)
        outliers.blocks.append(outlier_content.outlier_table(funnels, figures, titles, flagged_only=True))
        outliers.blocks += [outlier_content.funnel_chart(e, titles, figures, f"funnel-{m}")
                            for m, e in latest.items()]
        outliers.blocks.append(outlier_content.outlier_table(funnels, figures, titles))
    else:
        outliers.status = "Too few organisations with data in every period: no funnel was drawn."
    hidden = Section("hidden-waits", "Hidden waits",
                     intro="High outliers on first-to-second treatment over 90 days whose 6-week access looks "
                           "fine: the first appointment meets the standard and the wait moves to the second.",
                     blocks=[_hidden_waits_table(analysis["hidden_waits"], figures)])
    spc = Section("spc", "Monthly SPC", intro="Each provider's monthly rate on an XmR chart; charts are drawn "
                                               "for providers with special cause at their last month.")
    if analysis["spc"]:
        spc.blocks.append(outlier_content.spc_table(analysis["spc"], titles))
        spc.blocks += outlier_content.spc_charts(analysis["spc"], titles)
    else:
        spc.status = "No monthly files were given, so there is no monthly series to chart."
    notes = Section("notes", "Notes on the published data", intro=" ".join(analysis["notes"]))
    periods = analysis["periods"]
    return Report(audience="regulator", title="NHS Talking Therapies — National outlier review (published data)",
                  subtitle=f"{analysis['org_type']} comparison, {periods[0]} to {periods[-1]}" if periods else "",
                  facts=[("Organisations", analysis["org_type"]), ("Periods", f"{len(periods)}"),
                         ("Measures", ", ".join(titles.get(m, m) for m in analysis["measures"])),
                         ("Limits", f"{analysis['method']}, flags at 99.8%"), ("Tool", f"iapt-audit {__version__}")],
                  sections=[outliers, hidden, spc, notes], disclosure=STATEMENT)


def _hidden_waits_table(found: list[dict], figures: Figures) -> Table:
    rows = []
    for item in found:
        second, access = item["first_to_second_over_90_days"], item["wait_6_weeks"]
        rows.append([item["period"], item["provider"], item.get("name"),
                     figures.percent(second["numerator"], second["denominator"]),
                     round(100 * second["upper"], 1), figures.percent(access["numerator"], access["denominator"]),
                     item["why"]])
    columns = [Column("Period"), Column("Provider"), Column("Name"),
               Column("1st to 2nd > 90 days (%)", "percent"), Column("Upper 99.8% limit (%)", "percent"),
               Column("Within 6 weeks (%)", "percent"), Column("Why")]
    return Table("hidden-waits", "Hidden waits", columns, rows, sheet="Hidden waits")
