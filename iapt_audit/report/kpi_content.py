"""KPI tables, the provider comparison table and the attrition funnel, from ``AuditResult.kpis``.

Every rate keeps its numerator and denominator beside it (a percentage that cannot be checked is
not evidence). Figures go through ``disclosure.Figures`` so the outside audiences get NHS
Digital's rounding and suppression.
"""

from __future__ import annotations

import pandas as pd

from iapt_audit.kpis import ALL_PROVIDERS, MEASURES, STANDARDS
from iapt_audit.report import charts
from iapt_audit.report.disclosure import SMALLEST_SHOWN, SUPPRESSED, Figures
from iapt_audit.report.document import Chart, Column, Table

# Plain-English names for NHS Digital's measure names (iapt-dataset.md §3)
LABELS = {
    "Count_ReferralsReceived": "Referrals received",
    "Count_AccessingServices": "Entered treatment (accessing services)",
    "Count_EndedReferrals": "Referrals ended",
    "Count_EndedBeforeTreatment": "Ended before treatment",
    "Count_EndedTreatedOnce": "Ended after one treatment",
    "Count_FinishedCourseTreatment": "Finished a course of treatment",
    "Count_NotAtCaseness": "Finished, not at caseness at start",
    "Count_Recovery": "Recovered",
    "Percentage_Recovery": "Recovery rate",
    "Count_ReliableImprovement": "Reliably improved",
    "Percentage_ReliableImprovement": "Reliable improvement rate",
    "Count_ReliableDeterioration": "Reliably deteriorated",
    "Percentage_ReliableDeterioration": "Reliable deterioration rate",
    "Count_ReliableRecovery": "Reliably recovered",
    "Percentage_ReliableRecovery": "Reliable recovery rate",
    "Count_FirstToSecondTreatmentOver28days": "First to second treatment over 28 days",
    "Count_FirstToSecondTreatmentOver90days": "First to second treatment over 90 days",
    "Percentage_FirstToSecondTreatmentOver90days": "First to second treatment over 90 days (%)",
    "Percentage_AccessingServices6WeeksFinishedCourseTreatment": "Entered treatment within 6 weeks",
    "Percentage_AccessingServices18WeeksFinishedCourseTreatment": "Entered treatment within 18 weeks",
    "Mean_ApptsFinishedCourseTreatment": "Mean treatment sessions (finished courses)",
    "Count_Appointments": "Appointments",
    "Count_ApptsDNA": "Appointments not attended (DNA)",
    "Count_PairedPHQ": "Finished with paired PHQ-9",
    "Count_PairedADSMOrGAD": "Finished with paired ADSM or GAD-7",
    "Percentage_AccessAttrition": "Access attrition (ended after one treatment)",
    "Percentage_FirstToSecondTreatmentOver28days": "First to second treatment over 28 days (%)",
}
KPI_COLUMNS = [Column("Provider"), Column("Measure ID"), Column("Measure"), Column("Count", "count"),
               Column("Numerator", "count"), Column("Denominator", "count"), Column("Rate (%)", "percent"),
               Column("Mean", "number"), Column("Standard (%)", "percent"), Column("Against standard")]
ATTRITION = (  # step label, measure whose count it is (None: finished minus not at caseness)
    ("Referrals received", "Count_ReferralsReceived"),
    ("Entered treatment", "Count_AccessingServices"),
    ("Finished a course", "Count_FinishedCourseTreatment"),
    ("At caseness at start", None),
    ("Recovered", "Count_Recovery"),
)
ATTRITION_NOTE = ("Counts of referrals in the reporting period at each step, not one cohort followed "
                  "through: a step can exceed the one before when courses started before the period. "
                  "'Lost' is the share of the step before that did not reach this step.")


def provider_label(org: str) -> str:
    return "All providers" if org == ALL_PROVIDERS else org


def against_standard(rate, standard) -> str | None:
    """Words, not colour: "Meets" or "Below", or why it cannot be said."""
    if standard is None:
        return None
    if rate is None:
        return "No cases"
    if isinstance(rate, str):
        return "Not shown (small numbers)"
    return "Meets" if rate >= standard else "Below"


def kpi_table(kpis: pd.DataFrame, orgs: list[str], figures: Figures) -> Table:
    """One row per provider × measure with count, numerator, denominator, rate and the standard."""
    rows = []
    for org in orgs:
        row = kpis.loc[org]
        for m in MEASURES:
            num = int(row[f"{m.name}__num"])
            den = int(row[f"{m.name}__den"]) if m.denominator else None
            count = figures.count(num) if m.kind == "count" else None
            rate = figures.percent(num, den) if m.kind == "percentage" else None
            mean = figures.mean(num, den) if m.kind == "mean" else None
            standard = STANDARDS.get(m.name)
            rows.append([provider_label(org), m.code, LABELS[m.name], count,
                         figures.count(num) if m.denominator else None, figures.count(den), rate, mean,
                         standard, against_standard(rate, standard)])
    note = ("Rates are numerator ÷ denominator; recovery is over finished courses at caseness at start, "
            "reliable improvement and deterioration over all finished courses, waits over finished courses "
            "(the cohort of the 75% / 95% standards).")
    return Table("kpis", "Key performance indicators", KPI_COLUMNS, rows, note=note, sheet="KPIs")


def rates_table(kpis: pd.DataFrame, org: str, figures: Figures, *, id: str) -> Table:
    """One provider's rates against the national standards (its counts are in the attrition table)."""
    rows = []
    for m in MEASURES:
        if m.kind != "percentage":
            continue
        num, den = int(kpis.loc[org, f"{m.name}__num"]), int(kpis.loc[org, f"{m.name}__den"])
        rate, standard = figures.percent(num, den), STANDARDS.get(m.name)
        rows.append([m.code, LABELS[m.name], figures.count(num), figures.count(den), rate, standard,
                     against_standard(rate, standard)])
    rows.sort(key=lambda row: row[5] is None)  # the measures with a national standard first
    columns = [Column("Measure ID"), Column("Measure"), Column("Numerator", "count"), Column("Denominator", "count"),
               Column("Rate (%)", "percent"), Column("Standard (%)", "percent"), Column("Against standard")]
    return Table(id, "Rates against the national standards", columns, rows)


SIDE_BY_SIDE = (  # column header, measure
    ("Referrals received", "Count_ReferralsReceived"),
    ("Entered treatment", "Count_AccessingServices"),
    ("Finished courses", "Count_FinishedCourseTreatment"),
    ("Recovery (%)", "Percentage_Recovery"),
    ("Within 6 weeks (%)", "Percentage_AccessingServices6WeeksFinishedCourseTreatment"),
    ("Within 18 weeks (%)", "Percentage_AccessingServices18WeeksFinishedCourseTreatment"),
    ("Reliable improvement (%)", "Percentage_ReliableImprovement"),
    ("1st to 2nd treatment > 90 days (%)", "Percentage_FirstToSecondTreatmentOver90days"),
    ("Mean sessions", "Mean_ApptsFinishedCourseTreatment"),
)


def measure_figure(kind: str, numerator: int, denominator: int | None, figures: Figures):
    """The shown value of one measure: a count, a rate or a mean."""
    if kind == "count":
        return figures.count(numerator)
    if kind == "percentage":
        return figures.percent(numerator, denominator)
    return figures.mean(numerator, denominator)


def standards_verdict(row: pd.Series, shown: list) -> str:
    """"Meets all", or "Below: ..." naming the standards missed.

    Judged on the unrounded rate (49.6 % misses a 50 % standard even if shown as 50 %), and only
    for rates the audience may see (``shown``: the row's shown values in SIDE_BY_SIDE order).
    """
    below, hidden = [], False
    for (header, name), value in zip(SIDE_BY_SIDE, shown):
        if name not in STANDARDS:
            continue
        if not isinstance(value, float):
            hidden = True
        elif row[f"{name}__num"] < STANDARDS[name] / 100 * row[f"{name}__den"]:
            below.append(header.replace(" (%)", ""))
    if below:
        return "Below: " + ", ".join(below)
    return "Not all shown" if hidden else "Meets all"


def side_by_side_table(kpis: pd.DataFrame, orgs: list[str], figures: Figures,
                       extra: dict[str, dict] | None = None) -> Table:
    """Providers as rows, headline measures as columns; ``extra`` adds columns {header: {org: value}}."""
    by_name = {m.name: m for m in MEASURES}
    columns = [Column("Provider")]
    for header, name in SIDE_BY_SIDE:
        kind = {"count": "count", "percentage": "percent", "mean": "number"}[by_name[name].kind]
        columns.append(Column(header, kind))
    extra = extra or {}
    columns.append(Column("National standards"))
    columns += [Column(header, "count") for header in extra]
    rows = []
    for org in orgs:
        row = kpis.loc[org]
        values = [provider_label(org)]
        for _, name in SIDE_BY_SIDE:
            m = by_name[name]
            num = int(row[f"{name}__num"])
            den = int(row[f"{name}__den"]) if m.denominator else None
            values.append(measure_figure(m.kind, num, den, figures))
        values.append(standards_verdict(row, values[1:]))
        values += [column.get(org) for column in extra.values()]
        rows.append(values)
    standards = ", ".join(f"{h.replace(' (%)', '')} {STANDARDS[n]:.0f}%" for h, n in SIDE_BY_SIDE if n in STANDARDS)
    return Table("providers", "Providers side by side", columns, rows,
                 note=f"National standards: {standards}. Judged on the unrounded rate, so a rate shown as "
                      f"50% can still be just below a 50% standard.", sheet="Providers")


def attrition_table(kpis: pd.DataFrame, orgs: list[str], figures: Figures) -> Table:
    """Referral → entered treatment → finished → at caseness → recovered, with the share lost per step."""
    rows = []
    for org in orgs:
        row = kpis.loc[org]
        counts = [int(row[f"{name}__num"]) if name else
                  int(row["Count_FinishedCourseTreatment__num"] - row["Count_NotAtCaseness__num"])
                  for _, name in ATTRITION]
        previous = [None, *counts[:-1]]
        for (step, _), count, before in zip(ATTRITION, counts, previous):
            lost = figures.percent(before - count, before) if before is not None else None
            if figures.disclosed and before is not None and count < SMALLEST_SHOWN:
                lost = SUPPRESSED  # the share lost would give a suppressed count away
            rows.append([provider_label(org), step, figures.count(count), lost])
    columns = [Column("Provider"), Column("Step"), Column("Referrals", "count"),
               Column("Lost from previous step (%)", "percent")]
    return Table("attrition", "Attrition funnel", columns, rows, note=ATTRITION_NOTE, sheet="Attrition")


def attrition_chart(table: Table, org_label: str, chart_id: str) -> Chart:
    """The attrition funnel of one provider (a slice of ``attrition_table``) as a chart."""
    mine = [row for row in table.rows if row[0] == org_label]
    steps, counts, lost = [r[1] for r in mine], [r[2] for r in mine], [r[3] for r in mine[1:]]
    svg = charts.attrition_funnel(chart_id, steps, counts, lost)
    alt = "; ".join(f"{s}: {c}" for s, c in zip(steps, counts))
    return Chart(chart_id, f"Attrition funnel — {org_label}", svg, alt=alt, note=ATTRITION_NOTE)
