"""Gaming-adjusted headlines on a hand-worked fixture, and on the synthetic demo.

The fixture (one provider, 2024-25) holds nine referrals, each built for one figure:

ref  facts                                                        official wait  what the pattern changes
A    first treatment day 28, second day 35; PHQ 15→8, GAD 12→6    28             recovered, clear of the cut-offs
B    first day 21, second day 141 (gap 120); PHQ 14→9, GAD 10→5   21             GM03: wait to second 141; GM06: PHQ 9 not clear
C    first day 70, second day 77; PHQ 12→11 (not recovered)       70             -
D    one AppType 03 contact, then discharged                      -              GM01: left out of access
E    group session day 14, individual day 122 (gap 108)           14             GM03 and GM04: wait 122
F    one group session of 20, then discharged                     -              GM02: left out of access
G    LI day 14 and 21, HI day 153 (gap 132)                       14             GM05: wait 153
H    LI day 9 and 16 (patient P9), finished                       9              -
I    N1 re-referral of P9 received 2024-08-01, HI day 7 and 14    7              GM05: from H's referral, wait 129
E, G, H and I score below caseness (not at caseness), so recovery's denominator is A, B, C.

Worked by hand: access 9 (GM01 and GM02: 8 each); finished courses 7; official 6 weeks 6/7
(C is 70 days), 18 weeks 7/7; GM03 6w 4/7 (A G H I) 18w 6/7 (B out); GM04 6w 5/7 (E out) 18w 7/7;
GM05 6w 4/7 (G, I out) 18w 5/7 (G 153, I 129 out); recovery 2/3, GM06 1/3 (B's last PHQ-9 is 9).
"""

from __future__ import annotations

import json

import pytest

from builders import course, merge, write_extract
from iapt_audit.adjusted import LABEL, adjusted_headlines, rules_in_force
from iapt_audit.audit import run_audit
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import Period
from iapt_audit.rules_engine import run_rules

YEAR = "2024-04-01:2025-03-31"
LI, HI = "748051000000105", "304891004"
LOW = {"phq": [5, 4], "gad": [4, 3]}
HEADER = {"OrgIDProv": "RX1", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}


def _set(tables, table, ident_column, ident, **values):
    for row in tables[table]:
        if row.get(ident_column) == ident:
            row.update(values)


def fixture_tables() -> dict:
    tables = merge(
        course("A", ["2024-04-29", "2024-05-06"], phq=[15, 8], gad=[12, 6], discharged="2024-05-07"),
        course("B", ["2024-04-22", "2024-08-20"], phq=[14, 9], gad=[10, 5], discharged="2024-08-21"),
        course("C", ["2024-06-10", "2024-06-17"], phq=[12, 11], gad=[9, 9], discharged="2024-06-18"),
        course("D", ["2024-05-15"], app_types=["03"], received="2024-05-01", discharged="2024-05-16"),
        course("E", ["2024-04-15", "2024-08-01"], **LOW, discharged="2024-08-02"),
        course("F", ["2024-06-10"], received="2024-06-01", discharged="2024-06-11"),
        course("G", ["2024-04-15", "2024-04-22", "2024-09-01"], **LOW, discharged="2024-09-02"),
        course("H", ["2024-04-10", "2024-04-17"], **LOW, discharged="2024-04-18", therapy=LI),
        course("I", ["2024-08-08", "2024-08-15"], **LOW, received="2024-08-01", discharged="2024-08-16"),
    )
    for row in tables["IDS101Referral"]:
        row["LocalPatientId"] = "P9" if row["ServiceRequestId"] in ("H", "I") else f"P{row['ServiceRequestId']}"
    _set(tables, "IDS101Referral", "ServiceRequestId", "I", SourceOfReferralIAPT="N1")
    _set(tables, "IDS201CareContact", "CareContactId", "E-C0", CareContPatientTherMode="3",
         NumGroupTherParticipants="8")
    _set(tables, "IDS201CareContact", "CareContactId", "F-C0", CareContPatientTherMode="3",
         NumGroupTherParticipants="20")
    _set(tables, "IDS202CareActivity", "CareActId", "G-A0", CodeProcAndProcStatus=LI)
    _set(tables, "IDS202CareActivity", "CareActId", "G-A1", CodeProcAndProcStatus=LI)
    return tables


@pytest.fixture(scope="module")
def headlines(tmp_path_factory):
    folder = write_extract(tmp_path_factory.mktemp("adjusted") / "extract", fixture_tables(), HEADER)
    pathways = derive_pathways(read_extract(folder))
    period = Period.parse(YEAR)
    return adjusted_headlines(pathways, period, rules_in_force(run_rules(pathways, period)))


def _row(headlines, figure):
    table = headlines.table
    return table[(table["figure"] == figure) & (table["OrgIDProv"] == "RX1")].iloc[0]


@pytest.mark.parametrize("figure, official, adjusted, denominator", [
    ("GM01_AccessWithoutAssessAndTreatEndings", 9, 8, None),
    ("GM02_AccessWithoutSingleSessionLargeGroups", 9, 8, None),
    ("GM03_6WeeksToSecondTreatment", 6, 4, 7),
    ("GM03_18WeeksToSecondTreatment", 7, 6, 7),
    ("GM04_6WeeksToFirstIndividualSession", 6, 5, 7),
    ("GM04_18WeeksToFirstIndividualSession", 7, 7, 7),
    ("GM05_6WeeksToFirstHighIntensitySession", 6, 4, 7),
    ("GM05_18WeeksToFirstHighIntensitySession", 7, 5, 7),
    ("GM06_RecoveryClearOfCutoffs", 2, 1, 3),
])
def test_each_figure_matches_the_hand_worked_counts(headlines, figure, official, adjusted, denominator):
    row = _row(headlines, figure)
    assert (row["official_numerator"], row["adjusted_numerator"]) == (official, adjusted)
    if denominator is None:
        assert (row["official_value"], row["adjusted_value"], row["difference"]) == (official, adjusted,
                                                                                       adjusted - official)
    else:
        assert row["official_denominator"] == row["adjusted_denominator"] == denominator
        assert row["official_value"] == pytest.approx(100 * official / denominator)
        assert row["difference"] == pytest.approx(100 * (adjusted - official) / denominator)


def test_official_side_is_the_audits_own_kpi(tmp_path):
    """The official figure beside each sensitivity figure is exactly the KPI the audit reports."""
    folder = write_extract(tmp_path / "extract", fixture_tables(), HEADER)
    result = run_audit(folder, period=YEAR)
    findings = result.findings()
    kpis = findings["providers"]["RX1"]["kpis"]
    for entry in findings["adjusted_headlines"]:
        assert entry["status"] == LABEL
        assert entry["label"] and entry["definition"]
        assert entry["official_measure"] in kpis
        assert entry["providers"]["RX1"]["official_value"] == pytest.approx(kpis[entry["official_measure"]], abs=0.01)
    json.dumps(findings["adjusted_headlines"], allow_nan=False)


def test_the_recovery_margin_is_stated_and_changes_the_figure(tmp_path):
    folder = write_extract(tmp_path / "extract", fixture_tables(), HEADER)
    pathways = derive_pathways(read_extract(folder))
    period = Period.parse(YEAR)
    rules = rules_in_force(run_rules(pathways, period, select=["GM06"]))
    loose = adjusted_headlines(pathways, period, rules, margin=0)  # 9 is 1 below 10: clear by more than 0
    assert [f.code for f in loose.figures] == ["GM06"]
    assert _row(loose, "GM06_RecoveryClearOfCutoffs")["adjusted_numerator"] == 2
    assert "more than 0 point(s)" in loose.figures[0].definition


def test_no_rule_no_figure(tmp_path):
    folder = write_extract(tmp_path / "extract", fixture_tables(), HEADER)
    pathways = derive_pathways(read_extract(folder))
    empty = adjusted_headlines(pathways, Period.parse(YEAR), {})
    assert empty.figures == [] and empty.as_json() == []
