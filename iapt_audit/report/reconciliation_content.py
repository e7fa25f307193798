"""The "Derivation and NHS Digital's derived fields" section: how the pathways were derived and,
where the extract carries NHS Digital's own derived fields, how far they agree (``reconcile``).

The self-check report lists the disagreeing referrals by ServiceRequestId with both values; the
regulator gets agreement counts per field and per provider under disclosure control, never a
record ID.
"""

from __future__ import annotations

from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Column, Section, Table

NO_FIELDS = ("The extract carries none of NHS Digital's derived fields (TherapySession_FirstDate, "
             "CompletedTreatment_Flag, Recovery_Flag, …), so there was nothing to reconcile.")


def section(result, figures: Figures, *, worklist: bool) -> Section:
    """The section for one audience; ``worklist`` adds the disagreeing referrals (self-check only)."""
    reconciliation = result.reconciliation
    intro = ("How the tool read the extract where exports differ from the Data Dictionary, and each of NHS "
             "Digital's derived fields set against the tool's own derivation for every referral NHS Digital uses.")
    blocks = [_notes(result.pathways, figures), *_code_forms(result.pathways, figures)]
    if reconciliation.ran:
        blocks += [_fields(reconciliation, figures), _providers(reconciliation, figures)]
        if worklist:
            blocks.append(_worklist(reconciliation))
    else:
        intro += " " + NO_FIELDS
    return Section("reconciliation", "Derivation and NHS Digital's derived fields", intro=intro, blocks=blocks)


def _notes(pathways, figures: Figures) -> Table:
    notes = pathways.derivation_json()
    rows = [["Code values read as a Data Dictionary code from another form", figures.count(notes["code_form_values"])],
            ["Internet-enabled therapy logs counted as treatment sessions", figures.count(notes["iet_logs_counted"])],
            ["Referrals left out of the measures (UsePathway_Flag false)", figures.count(notes["use_pathway_false"])]]
    setting = "yes" if notes["iet_sets_session_dates"] else "no"
    return Table("derivation-notes", "How the extract was read", [Column("What"), Column("Count", "count")], rows,
                 note=f"IET logs may set the first and second treatment dates: {setting} "
                      "([pathway] iet_sets_session_dates). The data-quality checks still report every "
                      "non-standard code form.", sheet="Derivation")


def _code_forms(pathways, figures: Figures) -> list[Table]:
    forms = pathways.code_forms
    if forms.empty:
        return []
    rows = [[row.table, row.column, row.form, row.code, figures.count(row.rows)]
            for row in forms.itertuples(index=False)]
    columns = [Column("Table"), Column("Item"), Column("Written as"), Column("Read as"), Column("Values", "count")]
    return [Table("derivation-code-forms", "Codes read from another form", columns, rows, sheet="Code forms")]


def _fields(reconciliation, figures: Figures) -> Table:
    rows = [[name, figures.count(row["compared"]), figures.count(row["agree"]), figures.count(row["disagree"]),
             figures.percent(row["agree"], row["compared"])]
            for name, row in reconciliation.agreement.iterrows()]
    columns = [Column("NHS Digital field"), Column("Referrals compared", "count"), Column("Agree", "count"),
               Column("Disagree", "count"), Column("Agreement (%)", "percent")]
    return Table("reconciliation-fields", "Agreement with NHS Digital's derived fields", columns, rows,
                 note=f"{reconciliation.left_out:,} referrals marked UsePathway_Flag false are left out."
                 if not figures.disclosed else "Referrals marked UsePathway_Flag false are left out.",
                 sheet="Reconciliation")


def _providers(reconciliation, figures: Figures) -> Table:
    rows = [[org, name, figures.count(row["compared"]), figures.count(row["disagree"]),
             figures.percent(row["agree"], row["compared"])]
            for (org, name), row in reconciliation.by_provider.iterrows()]
    columns = [Column("Provider"), Column("NHS Digital field"), Column("Referrals compared", "count"),
               Column("Disagree", "count"), Column("Agreement (%)", "percent")]
    return Table("reconciliation-providers", "Agreement by provider", columns, rows, sheet="Reconciliation by provider",
                 folded=True)


def _worklist(reconciliation) -> Table:
    frame = reconciliation.worklist.rename(columns={"OrgIDProv": "Provider", "field": "NHS Digital field",
                                                    "nhs_digital": "NHS Digital's value",
                                                    "iapt_audit": "iapt-audit's value"})
    return Table.from_frame(frame, id="reconciliation-worklist", title="Referrals where the fields disagree",
                            note="One row per referral and field; values as each side has them.",
                            sheet="WL Reconciliation", folded=True)
