"""Which clinician a session, a case and a caseload belong to, worked by hand (with IET logs).

X: contact 1 May by T1 and T0 together (the lowest ID, T0, takes it), contact 8 May by T1, an IET
   log ending 20 May by T9 (the last session: T9 ends the course), a zero-minute log by T8 (not a
   session); PHQ-9 15→5, GAD-7 12→4: a recovered finished course of three sessions.
Y: one assessment-and-treatment contact by T1, then discharged (GM01's and GM07's case, T1's).
Z: contacts by T1 then T2: finished, T2 ended it.
Caseload: T0 {X}, T1 {X, Y, Z}, T2 {Z}, T9 {X}; finished courses: T9 (X), T2 (Z); GM01's ended
treated referrals by first contact: T0 (X), T1 (Y counted, Z).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from builders import course, merge, write_extract
from iapt_audit.adjusted import rules_in_force
from iapt_audit.clinician import clinician_sessions, clinician_view, leave_one_out_limits
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import Period
from iapt_audit.rules_engine import run_rules
from iapt_audit.stats.funnel import Funnel

YEAR = "2024-04-01:2025-03-31"
HEADER = {"OrgIDProv": "RX1", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}


def _log(ref, end, clinician, duration):
    return {"OrgIDProv": "RX1", "ServiceRequestId": ref, "StartDateIntEnabledTherLog": "2024-05-09",
            "EndDateIntEnabledTherLog": end, "IntEnabledTherProg": "SilverCloud", "DurationIntEnabledTher": duration,
            "CarePersLocalId": clinician, "IntegratedSoftwareInd": "Y", "UniqueID_IDS205": f"{ref}-{clinician}"}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    tables = merge(course("X", ["2024-05-01", "2024-05-08"], phq=[15, 5], gad=[12, 4], discharged="2024-05-21"),
                   course("Y", ["2024-06-01"], app_types=["03"], discharged="2024-06-02"),
                   course("Z", ["2024-06-10", "2024-06-17"], discharged="2024-06-18"))
    who = {"X-A0": "T1", "X-A1": "T1", "Y-A0": "T1", "Z-A0": "T1", "Z-A1": "T2"}
    for row in tables["IDS202CareActivity"]:
        row["CarePersLocalId"] = who[row["CareActId"]]
    tables["IDS202CareActivity"].append({"CareActId": "X-A0b", "CareContactId": "X-C0",
                                         "CodeProcAndProcStatus": "304891004", "CarePersLocalId": "T0"})
    folder = write_extract(tmp_path_factory.mktemp("attribution") / "extract", tables, HEADER)
    pd.DataFrame([_log("X", "2024-05-20", "T9", "30"), _log("X", "2024-05-19", "T8", "0")]).to_csv(
        folder / "IDS205InternetTherLog.csv", index=False)
    extract = read_extract(folder)
    pathways = derive_pathways(extract)
    period = Period.parse(YEAR)
    return clinician_view(pathways, period, clinician_sessions(extract, pathways),
                          rules_in_force(run_rules(pathways, period)))


def test_caseload_and_outcomes_follow_the_sessions(view):
    table = view.clinicians.set_index("clinician")
    assert table["caseload"].to_dict() == {"T0": 1, "T1": 3, "T2": 1, "T9": 1}
    assert table["finished"].to_dict() == {"T0": 0, "T1": 0, "T2": 1, "T9": 1}
    assert table.at["T9", "recovery"] == 1 and table.at["T9", "caseness_finished"] == 1
    assert table.at["T9", "sessions"] == 3  # two contacts and one IET log
    assert "T8" not in table.index


def test_single_session_endings_belong_to_the_first_contacts_clinician(view):
    gm01 = view.indicators[view.indicators["measure"] == "GM01"].set_index("clinician")
    assert gm01[["numerator", "denominator"]].to_dict("index") == {"T0": {"numerator": 0, "denominator": 1},
                                                                   "T1": {"numerator": 1, "denominator": 2}}
    assert gm01["verdict"].isna().all()  # fewer than five clinicians: no funnel, no verdict


def test_an_unjudged_clinician_has_no_verdict_in_findings(view):
    document = view.as_json()
    json.dumps(document, allow_nan=False)  # findings.json refuses NaN
    assert document["providers"]["RX1"]["T1"]["indicators"]["GM01"] == {
        "numerator": 1, "denominator": 2, "value": 50.0, "flag": None, "verdict": None}


@pytest.mark.parametrize("seed", range(8))
def test_leave_one_out_limits_are_the_funnel_of_the_others(seed):
    """The batched limits equal ``stats.funnel.Funnel`` fitted to the other clinicians, one by one
    (teams of 5 to 20, one clinician sometimes far out, so both φ ≤ 1 and φ > 1 occur)."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(5, 21))
    denominator = rng.integers(3, 200, k).astype(float)
    numerator = rng.binomial(denominator.astype(int), 0.4).astype(float)
    if seed % 2:
        numerator[0] = denominator[0]
    lower, upper = leave_one_out_limits(numerator, denominator)
    for i in range(k):
        others = np.arange(k) != i
        expected = Funnel(numerator[others], denominator[others], method="additive").limits([denominator[i]], 99.8)
        assert (lower[i], upper[i]) == pytest.approx((expected[0][0], expected[1][0]), abs=1e-12)
