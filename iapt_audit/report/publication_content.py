"""The "Reconciliation with the publication" section (``publication``): per provider, the tool's
figures beside NHS Digital's published ones for the same periods, providers that do not add up first.

Not the "Derivation and NHS Digital's derived fields" section (``reconciliation_content``), which
compares record-level derived fields. The self-check report shows the tool's exact figures and
their difference from the published ones; commissioner and regulator outputs show only the tool's
figure put through the publication's own disclosure control beside the published one (an exact
difference beside a rounded published count would give the exact count away).
"""

from __future__ import annotations

from iapt_audit.report.disclosure import SUPPRESSED, Figures
from iapt_audit.report.document import Column, Section, Table

TITLE = "Reconciliation with the publication"
INTRO = ("Whether each provider's records add up to what NHS Digital published for it: for every measure the "
         "published files carry, the tool's figure for the same provider and period beside the published one. A "
         "figure agrees within the publication's rounding when the tool's exact figure, rounded and suppressed as "
         "NHS Digital does (counts under 5 hidden, others to the nearest 5; percentages to whole points), equals "
         "the published value. Providers whose records do not add up are listed first.")


def section(result, figures: Figures) -> Section:
    """The section for one audience (exact figures only when ``figures`` is not disclosed)."""
    reconciled = result.publication
    if not reconciled.ran:  # no files given, or none for this period: said plainly
        return Section("publication", TITLE, intro=INTRO, status=reconciled.note)
    blocks = [_providers(reconciled)]
    if len(reconciled.figures):
        disagreeing = reconciled.figures[~reconciled.figures["within_rounding"].astype(bool)]
        blocks += [_figures(disagreeing, figures, "publication-disagreeing",
                            "Figures that do not add up to the publication", folded=False),
                   _figures(reconciled.figures, figures, "publication-figures", "Every figure compared", folded=True)]
    return Section("publication", TITLE, intro=INTRO, blocks=blocks)


def _providers(publication) -> Table:
    rows = [[org, int(row["compared"]), int(row["disagree"]), "no" if row["disagree"] else "yes",
             ", ".join(row["measures_disagreeing"])] for org, row in publication.providers.iterrows()]
    columns = [Column("Provider"), Column("Figures compared", "number"), Column("Disagreeing", "number"),
               Column("Adds up to the publication"), Column("Measures that disagree")]
    return Table("publication-providers", "Providers against their publication", columns, rows,
                 note=f"{publication.note} Published files: {', '.join(publication.files)}.",
                 sheet="Publication")


def _figures(frame, figures: Figures, id: str, title: str, *, folded: bool) -> Table:
    exact = not figures.disclosed
    columns = [Column("Provider"), Column("Period"), Column("Measure"), Column("Measure ID")]
    columns += [Column("Tool (exact)", "number")] if exact else []
    columns += [Column("Tool, rounded as published"), Column("Published")]
    columns += [Column("Difference (exact − published)", "number")] if exact else []
    columns += [Column("Within rounding")]
    rows = []
    for record in frame.itertuples(index=False):
        published = SUPPRESSED if record.published != record.published else _number(record.published)
        shown = record.tool_as_published
        row = [record.OrgIDProv, record.period, record.measure, record.measure_id]
        row += [_number(record.tool_value)] if exact else []
        row += ["" if shown is None else str(shown), str(published)]
        row += [_number(record.difference)] if exact else []
        row.append("yes" if record.within_rounding else "no")
        rows.append(row)
    note = ("Percentages in percentage points; '*' is suppressed (under 5)." +
            ("" if exact else " The tool's exact figures are not shown outside the service."))
    return Table(id, title, columns, rows, note=note, sheet="Publication figures" if folded else "Publication off",
                 folded=folded)


def _number(value):
    if value is None or value != value:
        return None
    value = float(value)
    return int(value) if value.is_integer() else round(value, 1)
