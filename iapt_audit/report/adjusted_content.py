"""The "Gaming-adjusted headlines" section: sensitivity figures beside the official ones (``adjusted``).

Every table says in its title and note that the adjusted figures are sensitivity figures, not
official measures, and the definitions table gives each one's construction. Commissioner and
regulator figures are disclosure-controlled (``disclosure.Figures``): counts suppressed under 5 and
rounded to 5, percentages from unrounded counts; a difference is shown only where both figures are.
"""

from __future__ import annotations

from iapt_audit.adjusted import LABEL
from iapt_audit.kpis import ALL_PROVIDERS
from iapt_audit.report.disclosure import SUPPRESSED, Figures
from iapt_audit.report.document import Column, Section, Table

NOT_RUN = "No gaming rule with a headline it would move ran, so there are no adjusted headlines."
INTRO = ("What the headline measures would be without the pattern each gaming rule looks for. These are "
         f"sensitivity figures, not official measures ({LABEL.lower()}): each is NHS Digital's measure with one "
         "stated change, given beside the official figure so the gap shows how much of the headline the pattern "
         "could account for.")


def section(result, figures: Figures) -> Section:
    """The section for one audience (exact figures for the self-check, disclosed otherwise)."""
    adjusted = result.adjusted
    section = Section("adjusted-headlines", "Gaming-adjusted headlines (sensitivity figures)", intro=INTRO)
    if not adjusted.figures:
        section.status = NOT_RUN
        return section
    providers = sorted(set(adjusted.table["OrgIDProv"]) - {ALL_PROVIDERS})
    section.blocks += [_definitions(adjusted),
                       _values(adjusted, figures, [ALL_PROVIDERS], Table(
                           "adjusted-total", "Adjusted headlines, all providers (sensitivity figures)", [], [],
                           sheet="Adjusted headlines")),
                       _values(adjusted, figures, providers, Table(
                           "adjusted-providers", "Adjusted headlines by provider (sensitivity figures)", [], [],
                           sheet="Adjusted by provider", folded=True))]
    return section


def _definitions(adjusted) -> Table:
    rows = [[f.code, f.label, f"{f.official} ({f.measure_id})", f.definition] for f in adjusted.figures]
    return Table("adjusted-definitions", "How each sensitivity figure is defined",
                 [Column("Rule"), Column("Sensitivity figure"), Column("Beside the official measure"),
                  Column("Definition")], rows, note=LABEL + ".", sheet="Adjusted definitions")


def _values(adjusted, figures: Figures, orgs: list[str], table_: Table) -> Table:
    """``table_`` (id, title, sheet, folding) filled with each figure of each of ``orgs``."""
    by_name = {f.name: f for f in adjusted.figures}
    table = adjusted.table.set_index(["figure", "OrgIDProv"])
    rows = []
    for org in orgs:
        for name, figure in by_name.items():
            if (name, org) not in table.index:
                continue
            row = table.loc[(name, org)]
            official, changed, difference = _shown(figure.kind, row, figures)
            rows.append(["All providers" if org == ALL_PROVIDERS else org, figure.code, figure.label,
                         figure.official, official, changed, difference])
    columns = [Column("Provider"), Column("Rule"), Column("Sensitivity figure"), Column("Official measure"),
               Column("Official"), Column("Adjusted (sensitivity)"), Column("Difference")]
    note = (f"{LABEL}. Access figures are counts of referrals (the difference is the referrals left out); wait and "
            "recovery figures are percentages (the difference in percentage points).")
    table_.columns, table_.rows, table_.note = columns, rows, note
    return table_


def _shown(kind: str, row, figures: Figures):
    """(official, adjusted, difference) as the audience sees them: text, so a count and a
    percentage can share a column and a suppressed value reads as "*"."""
    if kind == "count":
        official, changed = int(row["official_numerator"]), int(row["adjusted_numerator"])
        left_out = figures.count(official - changed)
        return (_text(figures.count(official)), _text(figures.count(changed)),
                "0" if left_out == 0 else f"-{_text(left_out)}" if left_out != SUPPRESSED else SUPPRESSED)
    official = figures.percent(int(row["official_numerator"]), int(row["official_denominator"]))
    changed = figures.percent(int(row["adjusted_numerator"]), int(row["adjusted_denominator"]))
    shown = _text(official, "{:g}%"), _text(changed, "{:g}%")
    if official is None or changed is None:
        return *shown, ""
    if SUPPRESSED in (official, changed):
        return *shown, SUPPRESSED
    points = float(row["difference"])
    points = round(points) if figures.disclosed else round(points, 1)
    return *shown, f"{points:+g} point{'' if abs(points) == 1 else 's'}"


def _text(value, form: str = "{:,}") -> str:
    """A shown figure: "" when there is none, "*" when suppressed, else ``form`` of the number."""
    if value is None:
        return ""
    return value if isinstance(value, str) else form.format(value)
