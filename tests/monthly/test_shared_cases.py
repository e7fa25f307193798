"""The shared monthly cases (shared/cases/README.md), each right value a test (the naming cases
underscored_table_names and orgid_provider_column are in tests/derivation/test_cases.py).

Sources as the README gives them: [BG] Count_EndedReferrals.sql (latest submission, IsLatest);
[DQM] open referrals are resubmitted every month until they close; [MM21] M082 counts distinct
Unique_CareContactId; [TT] every count is COUNT(DISTINCT ...).
"""

from pathlib import Path

import pandas as pd
import pytest

from iapt_audit.audit import run_audit

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "cases"
PERIOD = "2024-04-01:2025-03-31"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/ cases are not beside the repo")


def audit(case: str):
    return run_audit(SHARED / case, period=PERIOD).findings()


def basis(findings: dict, measure: str, provider: str | None = None) -> tuple[int, int]:
    part = findings["providers"][provider] if provider else findings["total"]
    entry = part["kpi_basis"][measure]
    return entry["numerator"], entry["denominator"]


def dq(findings: dict, code: str) -> dict:
    return next(f for f in findings["data_quality"] if f["code"] == code)


def test_multi_month_referral_counts_its_latest_month():
    found = audit("monthly/multi_month_referral")
    kpis = found["total"]["kpis"]
    assert kpis["Count_EndedReferrals"] == 1
    assert kpis["Count_FinishedCourseTreatment"] == 1
    assert basis(found, "Percentage_Recovery") == (1, 1)
    assert kpis["Percentage_Recovery"] == 100.0
    # the April record is the referral's older copy: replaced, and accounted for
    referrals = next(r for r in found["submissions"]["records"] if r["table"] == "IDS101Referral")
    assert (referrals["read"], referrals["replaced_by_later_month"], referrals["selected"]) == (2, 1, 1)
    # May was not submitted: the gap is a finding naming the month
    assert dq(found, "DQ201")["records"] == ["2024-05"]


def test_duplicate_contact_counts_once():
    found = audit("monthly/duplicate_contact")
    kpis = found["total"]["kpis"]
    assert kpis["Count_EndedTreatedOnce"] == 1
    assert kpis["Count_FinishedCourseTreatment"] == 0
    assert kpis["Count_Appointments"] == 2
    assert kpis["Count_Recovery"] == 0 and kpis["Count_PairedPHQ"] == 0
    assert basis(found, "Percentage_FirstToSecondTreatmentOver90days") == (0, 0)  # no second treatment
    # the repeat within one submission is still reported by the uniqueness check
    unique = next(f for f in found["data_quality"]
                  if f["table"] == "IDS201CareContact" and "not unique" in f["title"])
    assert unique["records"] == ["BC2"] and unique["numerator"] == 2


def test_resubmission_appended_twice_equals_the_extract_without_the_copy():
    found = audit("monthly/resubmission_appended_twice")
    assert basis(found, "Percentage_Recovery", "RTY") == (5, 15)
    assert basis(found, "Percentage_AccessAttrition", "RTY") == (11, 26)
    assert basis(found, "Percentage_FirstToSecondTreatmentOver90days", "RTY") == (2, 16)
    assert found["providers"]["RTY"]["kpis"]["Count_FinishedCourseTreatment"] == 15
    # no DQ107 on a contact that has a therapy type in the input (checked here with plain pandas)
    folder = SHARED / "monthly" / "resubmission_appended_twice"
    activities = pd.read_csv(folder / "IDS202CareActivity.csv", dtype=str)
    with_therapy = set(activities.loc[activities["CodeProcAndProcStatus"].notna(), "CareContactId"])
    assert not set(dq(found, "DQ107")["records"]) & with_therapy
