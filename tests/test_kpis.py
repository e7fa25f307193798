"""Official KPIs: hand-worked fixtures, the published Q1 2012/13 figures and England's annual rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from builders import GAD7, PHQ9, course, hand_worked_cohort, merge, write_extract
from iapt_audit.audit import run_audit
from iapt_audit.io.published import MEASURES as PUBLISHED_MEASURES
from iapt_audit.kpis import percentage

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
YEAR = "2024-04-01:2025-03-31"


def kpis(tmp_path, tables, period=YEAR):
    result = run_audit(write_extract(tmp_path / "x", tables), period=period)
    return result.findings()["total"]


def test_counts_and_rates_on_a_hand_worked_cohort(tmp_path):
    tables = hand_worked_cohort()
    tables["IDS201CareContact"].append({"CareContactId": "DNA-1", "ServiceRequestId": "OPEN",
                                        "CareContDate": "2024-09-10", "AttendOrDNACode": "3", "AppType": "01"})
    total = kpis(tmp_path, tables)
    k, basis = total["kpis"], total["kpi_basis"]
    assert k["Count_ReferralsReceived"] == 6
    assert k["Count_AccessingServices"] == 4
    assert k["Count_EndedReferrals"] == 5
    assert k["Count_EndedBeforeTreatment"] == 1
    assert k["Count_EndedTreatedOnce"] == 1
    assert k["Count_FinishedCourseTreatment"] == 3
    assert k["Count_NotAtCaseness"] == 1
    assert k["Count_Recovery"] == 1
    assert k["Percentage_Recovery"] == 50.0 and basis["Percentage_Recovery"]["denominator"] == 2
    assert k["Percentage_ReliableImprovement"] == pytest.approx(100 / 3, abs=0.01)
    assert basis["Percentage_ReliableImprovement"]["denominator"] == 3
    assert k["Percentage_AccessingServices6WeeksFinishedCourseTreatment"] == pytest.approx(200 / 3, abs=0.01)
    assert k["Percentage_AccessingServices18WeeksFinishedCourseTreatment"] == pytest.approx(200 / 3, abs=0.01)
    assert k["Count_FirstToSecondTreatmentOver28days"] == 1
    assert k["Count_FirstToSecondTreatmentOver90days"] == 1
    assert k["Mean_ApptsFinishedCourseTreatment"] == pytest.approx(7 / 3, abs=0.01)
    assert k["Count_Appointments"] == 10 and k["Count_ApptsDNA"] == 1
    assert k["Count_PairedPHQ"] == 3 and k["Count_PairedADSMOrGAD"] == 3
    assert k["Percentage_AccessAttrition"] == 25.0  # 1 treated once of 4 treated endings


def test_the_period_selects_by_the_relevant_date(tmp_path):
    tables = course("R1", ["2024-03-10", "2024-04-10"], phq=[15, 3], gad=[12, 2], received="2024-03-01",
                    discharged="2024-04-20")
    k = kpis(tmp_path, tables, period="2024-04-01:2024-04-30")["kpis"]
    assert k["Count_ReferralsReceived"] == 0  # received in March
    assert k["Count_AccessingServices"] == 0  # first treatment in March
    assert k["Count_FinishedCourseTreatment"] == 1  # ended in April


def test_providers_are_reported_separately_and_together(tmp_path):
    a = course("A1", ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2], discharged="2024-05-09")
    b = course("B1", ["2024-05-01", "2024-05-08"], phq=[15, 14], gad=[12, 11], discharged="2024-05-09")
    for row in [r for rows in b.values() for r in rows]:
        row["OrgIDProv"] = "RY2"
    findings = run_audit(write_extract(tmp_path / "x", merge(a, b)), period=YEAR).findings()
    assert findings["providers"]["RX1"]["kpis"]["Percentage_Recovery"] == 100.0
    assert findings["providers"]["RY2"]["kpis"]["Percentage_Recovery"] == 0.0
    assert findings["total"]["kpis"]["Percentage_Recovery"] == 50.0


def write_q1_2012_extract(folder: Path) -> Path:
    """87,929 finished courses (two treatment contacts each): 10,572 not at caseness, 35,663 recovered,
    the rest at caseness and not recovered — the published Q1 2012/13 England figures."""
    finished, not_caseness, recovered = 87_929, 10_572, 35_663
    ids = np.char.add("Q", np.arange(finished).astype(str))
    first_phq = np.full(finished, 15)
    first_gad = np.full(finished, 12)
    last_phq = np.full(finished, 14)
    last_gad = np.full(finished, 11)
    first_phq[:not_caseness], first_gad[:not_caseness] = 5, 4
    last_phq[:not_caseness], last_gad[:not_caseness] = 4, 3
    last_phq[not_caseness:not_caseness + recovered] = 4
    last_gad[not_caseness:not_caseness + recovered] = 3
    folder.mkdir(parents=True)
    pd.DataFrame({"OrgIDProv": "RX1", "ServiceRequestId": ids, "ReferralRequestReceivedDate": "2012-04-02",
                  "ServDischDate": "2012-06-20", "EndCode": "46"}).to_csv(folder / "IDS101Referral.csv", index=False)
    contacts = pd.DataFrame({
        "OrgIDProv": "RX1", "CareContactId": np.concatenate([np.char.add(ids, "-1"), np.char.add(ids, "-2")]),
        "ServiceRequestId": np.concatenate([ids, ids]),
        "CareContDate": np.repeat(["2012-05-01", "2012-06-01"], finished), "AttendOrDNACode": "5", "AppType": "02"})
    contacts.to_csv(folder / "IDS201CareContact.csv", index=False)
    pd.DataFrame({"OrgIDProv": "RX1", "CareActId": contacts["CareContactId"],
                  "CareContactId": contacts["CareContactId"]}).to_csv(folder / "IDS202CareActivity.csv", index=False)
    acts = contacts["CareContactId"].to_numpy()
    pd.DataFrame({"OrgIDProv": "RX1", "CareActId": np.concatenate([acts, acts]),
                  "CodedAssToolType": np.repeat([PHQ9, GAD7], 2 * finished),
                  "PersScore": np.concatenate([first_phq, last_phq, first_gad, last_gad])}).to_csv(
        folder / "IDS607CodedScoreAssessmentAct.csv", index=False)
    pd.DataFrame({"OrgIDProv": "RX1", "ServiceRequestId": ids, "PresComp": "F41.1"}).to_csv(
        folder / "IDS603PresentingComplaints.csv", index=False)
    pd.DataFrame(columns=["OrgIDProv", "ServiceRequestId", "CodedAssToolType", "PersScore", "AssToolCompDate"]).to_csv(
        folder / "IDS606CodedScoreAssessmentRefer.csv", index=False)
    return folder


def test_published_q1_2012_13_recovery_rate_is_reproduced(tmp_path):
    total = run_audit(write_q1_2012_extract(tmp_path / "q1"), period="2012-04-01:2012-06-30").findings()["total"]
    k = total["kpis"]
    assert k["Count_FinishedCourseTreatment"] == 87_929
    assert k["Count_NotAtCaseness"] == 10_572
    assert k["Count_Recovery"] == 35_663
    assert round(k["Percentage_Recovery"], 1) == 46.1


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="shared/ reference data is not beside the repo")
def test_england_annual_recovery_from_counts_matches_published_for_every_year():
    table = pd.read_csv(SHARED / "data/published/tidy/annual_total_by_org.csv")
    england = table[table["org_type"] == "England"]
    assert len(england) == 8
    # the tidy file's column for each count the recovery recipe names
    tidy = {"Count_Recovery": "recovery__count", "Count_NotAtCaseness": "not_at_caseness__count",
            "Count_FinishedCourseTreatment": "finished_course_treatment__count"}
    numerator, (base, less), _ = PUBLISHED_MEASURES["recovery"].annual
    count = {name: pd.to_numeric(england[column]).to_numpy() for name, column in tidy.items()}
    recomputed = percentage(count[numerator], count[base] - count[less])
    published = pd.to_numeric(england["recovery__percentage"]).to_numpy()
    assert np.all(np.abs(recomputed - published) < 0.05)
