"""Reconciliation with NHS Digital's derived fields (issue 14 item 6): a generated extract whose
IDS101 carries NHS Digital-style derived fields, hand-worked from each referral's construction,
with some values planted to disagree: exactly the planted ones are found. UsePathway_Flag false
referrals are left out of the measures and of the comparison, and counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from extracts import audit, pathway, write
from iapt_audit.reconcile import FIELDS, HONOURED
from iapt_audit.model.tables import NHS_DIGITAL_DERIVED
from iapt_audit.report.audiences import build_report

DAY = {1: "2024-04-20", 2: "2024-05-10", 3: "2024-05-30"}
# first (PHQ-9, GAD-7), last (PHQ-9, GAD-7), and the flags that follow from them by hand
# (caseness PHQ-9 >= 10 or GAD-7 >= 8; recovery both last below; reliable change 6 / 4)
PROFILES = {
    "recovers": ((15, 12), (5, 4), {"Caseness_Flag": True, "NotCaseness_Flag": False, "Recovery_Flag": True,
                                    "ReliableImprovement_Flag": True, "ReliableDeterioration_Flag": False}),
    "stays": ((15, 12), (14, 11), {"Caseness_Flag": True, "NotCaseness_Flag": False, "Recovery_Flag": False,
                                   "ReliableImprovement_Flag": False, "ReliableDeterioration_Flag": False}),
    "below": ((5, 3), (4, 2), {"Caseness_Flag": False, "NotCaseness_Flag": True, "Recovery_Flag": False,
                               "ReliableImprovement_Flag": False, "ReliableDeterioration_Flag": False}),
    "worse": ((12, 9), (19, 14), {"Caseness_Flag": True, "NotCaseness_Flag": False, "Recovery_Flag": False,
                                  "ReliableImprovement_Flag": False, "ReliableDeterioration_Flag": True}),
}
N = 48
UNUSED = {"R007", "R019", "R030"}  # UsePathway_Flag 'False'


def build(seed: int):
    """Tables for N referrals at two providers and the planted (ServiceRequestId, field) pairs."""
    rng = np.random.default_rng(seed)
    tables: dict[str, list[dict]] = {}
    nhs_rows = {}
    for i in range(N):
        ref, treatments = f"R{i:03d}", i % 4  # 0 to 3 treatment contacts after the assessment
        (p1, g1), (p2, g2), flags = list(PROFILES.values())[(i // 4) % len(PROFILES)]
        contacts = [{"date": "2024-04-10", "app": "01", "therapy": None, "phq": p1, "gad": g1}]
        contacts += [{"date": DAY[t], **({"phq": p2, "gad": g2} if t == treatments else {})}
                     for t in range(1, treatments + 1)]
        part = pathway(ref, contacts, discharged="2024-07-01")
        for name, rows in part.items():
            org = "RX5" if i % 2 else "RTY"
            tables.setdefault(name, []).extend({**row, "OrgIDProv": org} for row in rows)
        paired = treatments >= 1
        nhs = {"Assessment_FirstDate": "2024-04-10",
               "TherapySession_FirstDate": DAY[1] if treatments >= 1 else "",
               "TherapySession_SecondDate": DAY[2] if treatments >= 2 else "",
               "TreatmentCareContact_Count": str(treatments), "InternetEnabledTherapy_Count": "0",
               "CompletedTreatment_Flag": str(treatments >= 2),
               "PHQ9_FirstScore": str(p1), "PHQ9_LastScore": str(p2) if paired else "",
               "GAD_FirstScore": str(g1), "GAD_LastScore": str(g2) if paired else "",
               "Caseness_Flag": str(flags["Caseness_Flag"]), "NotCaseness_Flag": str(flags["NotCaseness_Flag"]),
               **{k: str(paired and v) for k, v in flags.items() if k not in ("Caseness_Flag", "NotCaseness_Flag")},
               "UsePathway_Flag": "False" if ref in UNUSED else "True"}
        nhs_rows[ref] = nhs
    planted = set()
    for ref in rng.choice(sorted(set(nhs_rows) - UNUSED), size=12, replace=False):
        name = str(rng.choice(sorted(FIELDS)))
        nhs_rows[ref][name] = _wrong(nhs_rows[ref][name], name)
        planted.add((str(ref), name))
    for ref in UNUSED:  # nonsense in referrals NHS Digital does not use: never compared
        nhs_rows[ref]["Recovery_Flag"] = "maybe"
        nhs_rows[ref]["TreatmentCareContact_Count"] = "99"
    for row in tables["IDS101Referral"]:
        row.update(nhs_rows[row["ServiceRequestId"]])
    return tables, planted


def _wrong(value: str, name: str) -> str:
    """A value that differs from ``value`` in the way a real disagreement would."""
    kind = FIELDS[name][1]
    if kind == "flag":
        return "False" if value == "True" else "True"
    if kind == "date":
        return "2024-04-21" if value == "" else str((pd.Timestamp(value) + pd.Timedelta(days=1)).date())
    return "1" if value == "" else str(int(value) + 1)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    tables, planted = build(seed=14)
    header = {"OrgIDProv": "RX5", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}
    folder = write(tmp_path_factory.mktemp("reconcile") / "x", tables, header)
    return audit(folder), planted


def test_the_fields_reconcile_compares_are_the_ones_the_reader_keeps():
    assert set(FIELDS) | {HONOURED} == set(NHS_DIGITAL_DERIVED)


def test_exactly_the_planted_disagreements_are_found(audited):
    result, planted = audited
    found = result.reconciliation.worklist
    assert set(zip(found["ServiceRequestId"], found["field"])) == planted
    assert len(found) == len(planted) == 12


def test_worklist_shows_both_values(audited):
    result, planted = audited
    row = result.reconciliation.worklist.iloc[0]
    assert row["nhs_digital"] != row["iapt_audit"]
    findings = result.findings()["reconciliation"]
    assert findings["worklist_total"] == 12 and len(findings["worklist"]) == 12
    assert set(findings["worklist"][0]) == {"OrgIDProv", "ServiceRequestId", "field", "nhs_digital", "iapt_audit"}


def test_agreement_per_field_and_provider(audited):
    result, planted = audited
    findings = result.findings()["reconciliation"]
    compared = N - len(UNUSED)
    assert findings["referrals_compared"] == compared and findings["use_pathway_false"] == len(UNUSED)
    assert sorted(findings["fields"]) == sorted(FIELDS)
    for name, counts in findings["agreement"].items():
        wrong = sum(1 for _, f in planted if f == name)
        assert (counts["compared"], counts["disagree"]) == (compared, wrong), name
    providers = findings["by_provider"]
    assert sorted(providers) == ["RTY", "RX5"]
    for name in FIELDS:
        assert sum(providers[org][name]["disagree"] for org in providers) == findings["agreement"][name]["disagree"]


def test_use_pathway_false_referrals_are_left_out_of_the_measures(audited):
    result, _ = audited
    findings = result.findings()
    assert findings["total"]["kpis"]["Count_EndedReferrals"] == N - len(UNUSED)
    assert findings["derivation"]["use_pathway_false"] == len(UNUSED)
    # R007 and R019 are RX5's (odd numbers), R030 is RTY's
    assert findings["derivation"]["use_pathway_false_by_provider"] == {"RTY": 1, "RX5": 2}
    # their contacts are not appointments either: each referral has 1 + (i % 4) contacts in the year
    contacts = sum(1 + i % 4 for i in range(N) if f"R{i:03d}" not in UNUSED)
    assert findings["total"]["kpis"]["Count_Appointments"] == contacts


def test_regulator_report_shows_counts_only_with_suppression(audited):
    result, planted = audited
    report = build_report(result, "regulator")
    section = next(s for s in report.sections if s.id == "reconciliation")
    ids = {f"R{i:03d}" for i in range(N)}
    for table in section.blocks:
        assert "ServiceRequestId" not in table.headers
        assert not ids & {cell for row in table.rows for cell in row if isinstance(cell, str)}
    fields = next(t for t in section.blocks if t.id == "reconciliation-fields")
    disagree = dict(zip(fields.column("NHS Digital field"), fields.column("Disagree")))
    assert set(disagree.values()) <= {"*", 0} and "*" in disagree.values()  # 0 to 4 disagreements each


def test_self_check_report_lists_the_disagreeing_referrals(audited):
    result, planted = audited
    section = next(s for s in build_report(result, "self-check").sections if s.id == "reconciliation")
    worklist = next(t for t in section.blocks if t.id == "reconciliation-worklist")
    assert set(zip(worklist.column("ServiceRequestId"), worklist.column("NHS Digital field"))) == planted


def test_workbooks_carry_the_section_and_only_the_self_check_lists_records(audited, tmp_path):
    import openpyxl

    from iapt_audit.report.writer import write_reports

    result, planted = audited
    paths = write_reports(result, tmp_path, audiences=("self-check", "regulator"), formats=("xlsx", "html"))
    books = {p.stem: openpyxl.load_workbook(p, read_only=True) for p in paths if p.suffix == ".xlsx"}
    own = books["self-check"]
    assert "WL Reconciliation" in own.sheetnames and "Reconciliation" in own.sheetnames
    rows = [row for row in own["WL Reconciliation"].iter_rows(values_only=True) if row]
    header = next(i for i, row in enumerate(rows) if "ServiceRequestId" in row)
    sid, field = rows[header].index("ServiceRequestId"), rows[header].index("NHS Digital field")
    assert {(row[sid], row[field]) for row in rows[header + 1:] if len(row) > field and row[sid]} == planted
    regulator = books["regulator"]
    assert "Reconciliation" in regulator.sheetnames and "WL Reconciliation" not in regulator.sheetnames
    ids = {f"R{i:03d}" for i in range(N)}
    for name in regulator.sheetnames:
        cells = {c for row in regulator[name].iter_rows(values_only=True) for c in row if isinstance(c, str)}
        assert not ids & cells, name
    page = next(p for p in paths if p.name == "regulator.html").read_text()
    assert "Agreement with NHS Digital" in page and "R007" not in page
