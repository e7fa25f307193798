"""Data-quality tables from ``AuditResult.data_quality`` (a ``dq.findings.DataQualityResult``).

The summary has one row per check, most severe first, with the failing records over the records
checked and what that denominator is (pointblank's report, architecture.md); the item table is
NHS Digital's valid / other / default / invalid / missing table ([DQM]); worklists list the failing
records by the provider's own record ID, for the service itself only.
"""

from __future__ import annotations

import pandas as pd

from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import PATIENT_IDENTIFIERS, Column, Table

SEVERITY_ORDER = ("critical", "error", "warning", "info")
WITHHELD = "(withheld: patient identifier)"
NOT_RUN = "The data-quality stage did not run for this audit, so no data-quality results are shown."


def ran(data_quality) -> bool:
    """The stage ran when it handed over its result object (an empty list means it did not run)."""
    return hasattr(data_quality, "checks")


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _sorted_checks(data_quality) -> list:
    return sorted(data_quality.checks, key=lambda f: (severity_rank(f.check.severity), f.passed, f.check.code))


def checks_table(data_quality, figures: Figures, *, failing_only: bool = False) -> Table:
    """One row per check: severity, code, what it checks, failing / checked records, percent.

    All checks go on the "Data quality" sheet (Excel's filter hides the passing ones); the web page
    leads with the checks that have failing records (``failing_only``) and folds the full list.
    """
    rows = []
    for finding in _sorted_checks(data_quality):
        if failing_only and not finding.numerator:
            continue
        c = finding.check
        rows.append([c.severity, c.code, c.title, c.table, c.column, "Pass" if finding.passed else "Fail",
                     figures.count(finding.numerator), figures.count(finding.denominator),
                     figures.percent(finding.numerator, finding.denominator), c.denominator, c.fix])
    columns = [Column("Severity"), Column("Code"), Column("Check"), Column("Table"), Column("Column"),
               Column("Result"), Column("Failing records", "count"), Column("Records checked", "count"),
               Column("Failing (%)", "percent"), Column("Records checked are"), Column("How to fix")]
    if failing_only:
        return Table("dq-failing", "Checks with failing records", columns, rows,
                     note="Most severe first; a check fails when its failing records exceed its tolerance.")
    return Table("dq-checks", "All data-quality checks", columns, rows, sheet="Data quality", folded=True,
                 note="Every check run, passing ones included, most severe first.")


def item_table(data_quality, figures: Figures) -> Table:
    """NHS Digital's per-item valid / other / default / invalid / missing counts."""
    frame = data_quality.item_table
    counts = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])]
    shown = frame.copy().astype({c: object for c in counts})
    for column in counts:
        shown[column] = figures.counts(frame[column].to_numpy())
    kinds = {c: "count" for c in counts}
    return Table.from_frame(shown, id="dq-items", title="Data items: valid, other, default, invalid, missing",
                            kinds=kinds, sheet="Data items",
                            note="Valid = records − (default + invalid + missing), as NHS Digital's VODIM report [DQM].")


def provider_standing(data_quality, orgs: list[str]) -> dict[str, dict]:
    """Per provider: failing checks by severity, from each finding's exact per-provider counts."""
    standing = {org: {s: 0 for s in SEVERITY_ORDER} for org in orgs}
    for finding in data_quality.checks:
        for org, counts in finding.by_provider.items():
            if org in standing and counts["failing"] > 0:
                standing[org][finding.check.severity] += 1
    return standing


def provider_findings_table(data_quality, figures: Figures) -> Table:
    """One row per failing check × provider: the provider's own failing and checked records."""
    rows = []
    for finding in _sorted_checks(data_quality):
        for org, counts in sorted(finding.by_provider.items()):
            if counts["failing"]:
                rows.append([org, finding.check.severity, finding.check.code, finding.check.title,
                             figures.count(counts["failing"]), figures.count(counts["total"]),
                             figures.percent(counts["failing"], counts["total"])])
    columns = [Column("Provider"), Column("Severity"), Column("Code"), Column("Check"),
               Column("Failing records", "count"), Column("Records checked", "count"), Column("Failing (%)", "percent")]
    return Table("dq-providers", "Data-quality findings by provider", columns, rows, sheet="DQ by provider")


def worklists(data_quality) -> list[Table]:
    """One worklist per failing check: provider, table, column, record ID, the value and the fix."""
    frame = data_quality.worklist
    withheld = frame["column"].isin(PATIENT_IDENTIFIERS)
    frame = frame.assign(value=frame["value"].astype("string").where(~withheld, WITHHELD))
    ranks = {f.check.code: (severity_rank(f.check.severity), f.check.code) for f in data_quality.checks}
    tables = []
    for code, rows in sorted(frame.groupby("code", sort=False), key=lambda item: ranks.get(item[0], (9, item[0]))):
        finding = next((f for f in data_quality.checks if f.check.code == code), None)
        title = f"{code}: {finding.check.title}" if finding else code
        listed = rows[["OrgIDProv", "table", "column", "record_id", "value", "fix"]].rename(columns={
            "OrgIDProv": "Provider", "table": "Table", "column": "Column", "record_id": "Record ID",
            "value": "Value", "fix": "What to fix"})
        note = ""
        if finding is not None and finding.numerator > len(rows):
            note = f"First {len(rows):,} of {finding.numerator:,} failing records."
        tables.append(Table.from_frame(listed, id=f"worklist-{code}", title=title, note=note,
                                       sheet=f"WL {code}"[:31]))
    return tables
