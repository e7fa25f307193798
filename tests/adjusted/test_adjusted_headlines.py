"""Gaming-adjusted headlines on a hand-worked fixture.

The fixture (one provider, 2024-25) holds thirteen referrals, each built for one figure (days
from 2024-04-01, the received date unless stated):

ref  facts                                                        official wait  what the pattern changes
A    first treatment day 28, second day 35; PHQ 15→8, GAD 12→6    28             recovered (PHQ 8, GAD 6)
B    first day 21, second day 141 (gap 120); PHQ 14→9, GAD 10→5   21             GM03: wait to second 141
C    first day 70, second day 77; PHQ 12→11 (not recovered)       70             -
D    one AppType 03 contact, then discharged                      -              GM01: left out of access
E    group session day 14, individual day 122 (gap 108)           14             GM03 and GM04: wait 122
F    one group session of 20, then discharged                     -              GM02: left out of access
G    LI day 14 and 21, HI day 153 (gap 132)                       14             GM05: wait 153
H    LI day 9 and 16 (patient P9), finished                       9              -
I    N1 re-referral of P9 received 2024-08-01, HI day 7 and 14    7              GM05: gap from H's LI day 16
                                                                                 to HI 2024-08-08 113; wait
                                                                                 from H's referral 129
J-L  first day 7, second 14; PHQ 15→9, GAD 10→7 (recovered)       7              GM06: last PHQ-9 and GAD-7 at the heap
M    first day 7, second 14; PHQ 14→9, GAD 10→9 (not recovered)   7              GM06: last PHQ-9 at the heap
E, G, H and I score below caseness (not at caseness), so recovery's denominator is A, B, C, J-M (7).

Every figure removes (or re-times) only the provider's excess of its pattern over what the rule
tolerates: tolerated = floor(min_percent / 100 × the rule's cohort within the figure's),
excess = max(0, pattern − tolerated). The fixture's config (``FIXTURE_CONFIG``) lowers GM01's and
GM02's min_percent to 5 and GM03's to 10 so that each figure shows an excess; GM04 and GM05 keep
their default 30.

Access 13: every referral's first treatment is in the period, and all 13 have ended.
GM01: cohort 13 ended accessing referrals, pattern D (1). At 5 %: tolerated floor(0.65) = 0,
excess 1, access 12. At the default 25 %: floor(3.25) = 3, nothing left out (13); at 8 %:
floor(1.04) = 1, still 13; at 7 %: floor(0.91) = 0, 12.
GM02: the same cohort of 13, pattern F (group of 20 > 12, 1). At 5 %: 12. At the default 10 %:
floor(1.3) = 1, nothing left out (13).

Finished courses 11 (all but D, F); official 6 weeks 10/11 (C is 70 days), 18 weeks 11/11.

GM03 (cohort: the 11 finished courses, each with a second treatment; hidden: first-to-second
gap over 90 days, B 120 and E 108). At 10 %: tolerated floor(1.1) = 1, excess 1, so only the
longest gap, B, is re-timed (141 days): 6w 9/11, 18w 10/11. At the default 30 %: tolerated
floor(3.3) = 3 ≥ 2, nothing re-timed (10/11, 11/11). At 0 %: both; E's 122 days is within 18
weeks, so 6w 8/11, 18w 10/11.

GM04 (cohort: finished courses that started in a group and had an individual contact: E only;
hidden: E, gap 108 > 90). At 30 %: tolerated floor(0.3) = 0, E re-timed to 122: 6w 9/11, 18w
11/11. At 100 %: tolerated floor(1) = 1, nothing re-timed (10/11, 11/11).

GM05 (cohort: finished courses stepped up after low intensity: G in its own referral, gap 132,
and I from H's referral, gap 113; both hidden). At 30 %: tolerated floor(0.6) = 0, both re-timed
(G 153, I 129): 6w 8/11, 18w 9/11. At 50 %: tolerated floor(1.0) = 1, only the longest gap, G, is
re-timed: 6w 9/11, 18w 10/11 (I keeps its 7 days).

GM06, among the 7 finished courses at caseness. Last PHQ-9 (heap value 9): 8 A; 9 B J K L M; 10
none (C is 11): excess 5 − (1 + 0) / 2 = 4.5; recovered at 9: B J K L (M's GAD-7 is 9); removed
floor(4.5 × 4 / 5) = floor(3.6) = 3. Last GAD-7 (heap 7): 6 A; 7 J K L; 8 none (B 5, C 9, M 9):
excess 3 − 1/2 = 2.5; recovered at 7: J K L; removed floor(2.5 × 3 / 3) = 2. Recoveries at either
heap value: B J K L = 4, so min(4, 3 + 2) = 4 are removed: recovery 5/7 (A B J K L), adjusted 1/7.
(GM06's min_percent belongs to its part (a), so the figure keeps the heap's null.)
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from builders import course, merge, write_extract
import iapt_audit.adjusted as adjusted_module
from iapt_audit.adjusted import LABEL, adjusted_headlines, rules_in_force
from iapt_audit.audit import run_audit
from iapt_audit.io.extract import read_extract
from iapt_audit.model.thresholds import SCALES
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import Period
from iapt_audit.rules_engine import run_rules

YEAR = "2024-04-01:2025-03-31"
LI, HI = "748051000000105", "304891004"
LOW = {"phq": [5, 4], "gad": [4, 3]}
HEADER = {"OrgIDProv": "RX1", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}
#: lowered shares so that GM01, GM02 and GM03 show an excess (module docstring); GM04, GM05 at their 30 %
FIXTURE_CONFIG = {"rules": {"GM01": {"min_percent": 5}, "GM02": {"min_percent": 5}, "GM03": {"min_percent": 10}}}


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
        *(course(ref, ["2024-04-08", "2024-04-15"], phq=[15, 9], gad=[10, 7], discharged="2024-04-16")
          for ref in ("J", "K", "L")),
        course("M", ["2024-04-08", "2024-04-15"], phq=[14, 9], gad=[10, 9], discharged="2024-04-16"),
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
def pathways(tmp_path_factory):
    folder = write_extract(tmp_path_factory.mktemp("adjusted") / "extract", fixture_tables(), HEADER)
    return derive_pathways(read_extract(folder))


def _headlines(pathways, config=None, select=None):
    period = Period.parse(YEAR)
    return adjusted_headlines(pathways, period, rules_in_force(run_rules(pathways, period, config=config,
                                                                         select=select)))


@pytest.fixture(scope="module")
def headlines(pathways):
    return _headlines(pathways, FIXTURE_CONFIG)


def _row(headlines, figure):
    table = headlines.table
    return table[(table["figure"] == figure) & (table["OrgIDProv"] == "RX1")].iloc[0]


@pytest.mark.parametrize("figure, official, adjusted, denominator", [
    ("GM01_AccessWithoutAssessAndTreatEndings", 13, 12, None),
    ("GM02_AccessWithoutSingleSessionLargeGroups", 13, 12, None),
    ("GM03_6WeeksToSecondTreatment", 10, 9, 11),
    ("GM03_18WeeksToSecondTreatment", 11, 10, 11),
    ("GM04_6WeeksToFirstIndividualSession", 10, 9, 11),
    ("GM04_18WeeksToFirstIndividualSession", 11, 11, 11),
    ("GM05_6WeeksToFirstHighIntensitySession", 10, 8, 11),
    ("GM05_18WeeksToFirstHighIntensitySession", 11, 9, 11),
    ("GM06_RecoveryWithoutHeapExcess", 5, 1, 7),
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
    result = run_audit(folder, period=YEAR, config=FIXTURE_CONFIG)
    findings = result.findings()
    kpis = findings["providers"]["RX1"]["kpis"]
    for entry in findings["adjusted_headlines"]:
        assert entry["status"] == LABEL
        assert entry["label"] and entry["definition"]
        assert entry["official_measure"] in kpis
        assert entry["providers"]["RX1"]["official_value"] == pytest.approx(kpis[entry["official_measure"]], abs=0.01)
    json.dumps(findings["adjusted_headlines"], allow_nan=False)


@pytest.mark.parametrize("min_percent, six_weeks, eighteen_weeks", [
    (30, 10, 11),   # GM03's default: tolerates floor(3.3) = 3 hidden waits, the fixture has 2
    (10, 9, 10),    # tolerates 1: only B (gap 120) re-timed, not E (gap 108)
    (0, 8, 10),     # tolerates none: B and E re-timed; E's 122 days is within 18 weeks
])
def test_gm03_retimes_only_the_excess_over_the_rules_tolerated_share(pathways, min_percent, six_weeks,
                                                                      eighteen_weeks):
    headlines = _headlines(pathways, {"rules": {"GM03": {"min_percent": min_percent}}}, select=["GM03"])
    assert [f.code for f in headlines.figures] == ["GM03", "GM03"]
    assert _row(headlines, "GM03_6WeeksToSecondTreatment")["adjusted_numerator"] == six_weeks
    assert _row(headlines, "GM03_18WeeksToSecondTreatment")["adjusted_numerator"] == eighteen_weeks
    assert f"up to {min_percent} %" in headlines.figures[0].definition


@pytest.mark.parametrize("code, min_percent, access", [
    ("GM01", 25, 13),  # the default: tolerates floor(3.25) = 3 of the 13 ended accessing referrals; D is 1
    ("GM01", 8, 13),   # floor(1.04) = 1: D tolerated
    ("GM01", 7, 12),   # floor(0.91) = 0: D left out
    ("GM02", 10, 13),  # the default: floor(1.3) = 1: F tolerated
    ("GM02", 7, 12),   # floor(0.91) = 0: F left out
])
def test_access_leaves_out_only_the_excess_over_the_rules_tolerated_share(pathways, code, min_percent, access):
    headlines = _headlines(pathways, {"rules": {code: {"min_percent": min_percent}}}, select=[code])
    row = _row(headlines, headlines.figures[0].name)
    assert (row["official_numerator"], row["adjusted_numerator"]) == (13, access)
    assert f"up to {min_percent} %" in headlines.figures[0].definition


@pytest.mark.parametrize("code, min_percent, six_weeks, eighteen_weeks", [
    ("GM04", 30, 9, 11),    # tolerates floor(0.3) = 0 of its 1 course: E re-timed (122 days)
    ("GM04", 100, 10, 11),  # tolerates floor(1) = 1: E keeps its 14 days
    ("GM05", 30, 8, 9),     # tolerates floor(0.6) = 0 of its 2: G (153) and I (129) re-timed
    ("GM05", 50, 9, 10),    # tolerates floor(1.0) = 1: the longest gap, G (132 > I's 113), re-timed
])
def test_group_and_step_up_waits_retime_only_the_excess_longest_gaps_first(pathways, code, min_percent, six_weeks,
                                                                            eighteen_weeks):
    headlines = _headlines(pathways, {"rules": {code: {"min_percent": min_percent}}}, select=[code])
    six, eighteen = (_row(headlines, f.name) for f in headlines.figures)
    assert (six["official_numerator"], six["adjusted_numerator"]) == (10, six_weeks)
    assert (eighteen["official_numerator"], eighteen["adjusted_numerator"]) == (11, eighteen_weeks)
    assert f"up to {min_percent} %" in headlines.figures[0].definition


def test_the_excess_is_chosen_by_gap_then_service_request_id_never_row_order():
    """Per provider, the pattern beyond its tolerated number: longest gap first, equal gaps by the
    lower ServiceRequestId (R1 in RA, S1 in RB, whichever row comes first); without gaps (GM01,
    GM02) by ServiceRequestId alone; a provider absent from ``tolerated`` tolerates none, and one
    tolerating more than its pattern loses nothing."""
    r = pd.DataFrame({"OrgIDProv": ["RA", "RA", "RA", "RB", "RB", "RB", "RC", "RD", "RD"],
                      "ServiceRequestId": ["R2", "R1", "R3", "S1", "S3", "S2", "T1", "U2", "U1"]})
    pattern = [True, True, False, True, True, True, True, True, True]
    gap = [100.0, 100.0, 7.0, 100.0, 120.0, 100.0, 95.0, 99.0, 99.0]
    tolerated = pd.Series({"RA": 1.0, "RB": 1.0, "RD": 5.0})
    chosen = adjusted_module._excess(r, pattern, tolerated, gap)
    # RA: 2 hidden, 1 tolerated -> R1; RB: 3 hidden, 1 tolerated -> S3 (120) and S1; RC: all; RD: none
    assert chosen.tolist() == [False, True, False, True, True, False, True, False, False]
    by_id = adjusted_module._excess(r, pattern, pd.Series({"RA": 1.0, "RB": 2.0, "RC": 1.0, "RD": 1.0}))
    assert by_id.tolist() == [False, True, False, True, False, False, False, False, True]


def test_gm06_removes_only_the_heap_excess_and_states_the_heap_value(pathways):
    """Recovery 5/7 → 1/7 (module docstring): the PHQ-9 heap removes 3, the GAD-7 heap 2, capped at
    the 4 recoveries at either heap value."""
    headlines = _headlines(pathways, select=["GM06"])
    assert [f.code for f in headlines.figures] == ["GM06"]
    row = _row(headlines, "GM06_RecoveryWithoutHeapExcess")
    assert (row["official_numerator"], row["adjusted_numerator"], row["adjusted_denominator"]) == (5, 1, 7)
    assert "heap value one point under the caseness cut-off (PHQ-9 9, GAD-7 7;" in headlines.figures[0].definition


def test_gm06_rounds_each_heaps_excess_share_down(pathways):
    """With GAD-7's cut-off moved to 21 (heap value 20, where no last score lies) only the PHQ-9
    heap removes: floor(4.5 × 4 / 5) = floor(3.6) = 3, under the cap of 4, so recovery 5/7 → 2/7."""
    period = Period.parse(YEAR)
    scales = {**SCALES, "GAD7": replace(SCALES["GAD7"], caseness=21)}
    rules = rules_in_force(run_rules(pathways, period, select=["GM06"]))
    row = _row(adjusted_headlines(pathways, period, rules, scales), "GM06_RecoveryWithoutHeapExcess")
    assert (row["official_numerator"], row["adjusted_numerator"]) == (5, 2)


def test_no_rule_no_figure(tmp_path):
    folder = write_extract(tmp_path / "extract", fixture_tables(), HEADER)
    pathways = derive_pathways(read_extract(folder))
    empty = adjusted_headlines(pathways, Period.parse(YEAR), {})
    assert empty.figures == [] and empty.as_json() == []
