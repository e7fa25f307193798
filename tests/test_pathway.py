"""Pathway derivation on hand-built referrals: each case is one definition's edge (iapt-dataset.md §1.4, §1.5, §2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from builders import GAD7, PHQ9, course, merge, write_extract
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways

SPIN = "445552006"
LOW_INTENSITY_CBT_BOOK = "748051000000105"
HIGH_INTENSITY_CBT = "304891004"


def derive(tmp_path, tables):
    extract = read_extract(write_extract(tmp_path / "extract", tables))
    return derive_pathways(extract).referrals.set_index("ServiceRequestId")


def day(text):
    return pd.Timestamp(text)


def test_attendance_codes_and_unplanned_contacts(tmp_path):
    tables = course("R1", ["2024-05-01"] * 6, app_types=["02"] * 6)
    for contact, code in zip(tables["IDS201CareContact"], ["5", "6", "3", "2", "4", "7"]):
        contact["AttendOrDNACode"] = code
    unplanned = {**tables["IDS201CareContact"][2], "CareContactId": "R1-U", "PlannedCareContIndicator": "N"}
    tables["IDS201CareContact"].append(unplanned)
    row = derive(tmp_path, tables).loc["R1"]
    assert row["TreatmentCareContact_Count"] == 3  # codes 5 and 6, and the unplanned contact


def test_treatment_app_types_and_combined_assessment(tmp_path):
    tables = course("R1", ["2024-05-01", "2024-05-08", "2024-05-15", "2024-05-22", "2024-05-29", "2024-06-05"],
                    app_types=["01", "04", "03", "05", "10", "02"])
    row = derive(tmp_path, tables).loc["R1"]
    assert row["Assessment_FirstDate"] == day("2024-05-01")
    assert row["TreatmentCareContact_Count"] == 3  # 03, 05, 02
    assert row["TherapySession_FirstDate"] == day("2024-05-15")
    assert row["TherapySession_SecondDate"] == day("2024-05-22")
    assert row["TherapySession_LastDate"] == day("2024-06-05")
    assert row["CareContact_Count"] == 6


def test_assess_and_treat_contact_is_both_first_assessment_and_first_treatment(tmp_path):
    row = derive(tmp_path, course("R1", ["2024-05-03"], app_types=["03"])).loc["R1"]
    assert row["Assessment_FirstDate"] == row["TherapySession_FirstDate"] == day("2024-05-03")
    assert not row["CompletedTreatment_Flag"]


def test_contacts_outside_the_referral_window_and_follow_ups_do_not_count(tmp_path):
    tables = course("R1", ["2024-03-20", "2024-04-10", "2024-05-01", "2024-06-20", "2024-07-01"],
                    app_types=["02", "02", "02", "06", "02"], received="2024-04-01", discharged="2024-06-01")
    row = derive(tmp_path, tables).loc["R1"]
    assert row["TreatmentCareContact_Count"] == 2
    assert row["TherapySession_FirstDate"] == day("2024-04-10")
    assert row["TherapySession_LastDate"] == day("2024-05-01")
    assert row["CareContact_Count"] == 2  # the follow-up and the out-of-window contacts are not "seen"


def test_completed_treatment_needs_two_treatment_contacts(tmp_path):
    tables = merge(course("ONE", ["2024-05-01"]), course("TWO", ["2024-05-01", "2024-05-02"]))
    rows = derive(tmp_path, tables)
    assert not rows.loc["ONE", "CompletedTreatment_Flag"]
    assert rows.loc["TWO", "CompletedTreatment_Flag"]


def test_two_treatment_contacts_on_one_day_give_a_same_day_second_treatment(tmp_path):
    row = derive(tmp_path, course("R1", ["2024-05-01", "2024-05-01"])).loc["R1"]
    assert row["TherapySession_SecondDate"] == day("2024-05-01")
    assert row["Wait_FirstToSecondTreatment"] == 0


def test_waits_in_days(tmp_path):
    row = derive(tmp_path, course("R1", ["2024-05-13", "2024-08-20"], received="2024-04-01")).loc["R1"]
    assert row["Wait_ReferralToFirstTreatment"] == 42
    assert row["Wait_FirstToSecondTreatment"] == 99


def test_low_and_high_intensity_dates_come_from_the_therapy_codes(tmp_path):
    tables = course("R1", ["2024-05-01", "2024-05-15", "2024-07-01", "2024-07-08"])
    for act, code in zip(tables["IDS202CareActivity"],
                         [LOW_INTENSITY_CBT_BOOK, LOW_INTENSITY_CBT_BOOK, HIGH_INTENSITY_CBT, HIGH_INTENSITY_CBT]):
        act["CodeProcAndProcStatus"] = code
    row = derive(tmp_path, tables).loc["R1"]
    assert row["LowIntensityTherapy_FirstDate"] == day("2024-05-01")
    assert row["LowIntensityTherapy_LastDate"] == day("2024-05-15")
    assert row["HighIntensityTherapy_FirstDate"] == day("2024-07-01")


def test_a_single_score_is_not_paired_but_sets_caseness(tmp_path):
    # caseness comes from the first scores whether or not the course is paired (issue 14 item 3;
    # the published 2024-25 counts in tests/derivation/test_caseness_counts.py show NHS Digital does so)
    row = derive(tmp_path, course("R1", ["2024-05-01", "2024-05-08"], phq=[15], gad=[12, 6])).loc["R1"]
    assert row["PHQ9_FirstScore"] == 15 and np.isnan(row["PHQ9_LastScore"])
    assert not row["Paired_Flag"]
    assert row["Caseness_Flag"] and not row["NotCaseness_Flag"]
    assert not row["Recovery_Flag"] and not row["ReliableImprovement_Flag"]  # these still need pairs


def test_caseness_boundaries_use_greater_or_equal(tmp_path):
    tables = merge(
        course("PHQ10", ["2024-05-01", "2024-05-08"], phq=[10, 3], gad=[2, 2]),
        course("GAD8", ["2024-05-01", "2024-05-08"], phq=[9, 3], gad=[8, 2]),
        course("BELOW", ["2024-05-01", "2024-05-08"], phq=[9, 3], gad=[7, 2]),
    )
    rows = derive(tmp_path, tables)
    assert rows.loc["PHQ10", "Caseness_Flag"] and rows.loc["GAD8", "Caseness_Flag"]
    assert rows.loc["BELOW", "NotCaseness_Flag"] and not rows.loc["BELOW", "Caseness_Flag"]


def test_recovery_needs_both_last_scores_below_caseness(tmp_path):
    tables = merge(
        course("RECOVERED", ["2024-05-01", "2024-05-08"], phq=[15, 9], gad=[12, 7]),
        course("PHQ_STILL_10", ["2024-05-01", "2024-05-08"], phq=[15, 10], gad=[12, 7]),
        course("GAD_STILL_8", ["2024-05-01", "2024-05-08"], phq=[15, 9], gad=[12, 8]),
    )
    rows = derive(tmp_path, tables)
    assert rows.loc["RECOVERED", "Recovery_Flag"]
    assert not rows.loc["PHQ_STILL_10", "Recovery_Flag"]
    assert not rows.loc["GAD_STILL_8", "Recovery_Flag"]


def test_reliable_change_rules(tmp_path):
    tables = merge(
        course("PHQ_DOWN_6", ["2024-05-01", "2024-05-08"], phq=[20, 14], gad=[15, 15]),
        course("PHQ_DOWN_5", ["2024-05-01", "2024-05-08"], phq=[20, 15], gad=[15, 12]),
        course("MIXED", ["2024-05-01", "2024-05-08"], phq=[20, 14], gad=[10, 14]),
        course("GAD_UP_4", ["2024-05-01", "2024-05-08"], phq=[12, 12], gad=[9, 13]),
    )
    rows = derive(tmp_path, tables)
    assert rows.loc["PHQ_DOWN_6", "ReliableImprovement_Flag"]
    assert rows.loc["PHQ_DOWN_5", "NoChange_Flag"]  # 5 on PHQ-9 and 3 on GAD-7: neither reliable
    assert rows.loc["MIXED", "NoChange_Flag"]  # one improves and the other deteriorates
    assert not rows.loc["MIXED", "ReliableImprovement_Flag"]
    assert rows.loc["GAD_UP_4", "ReliableDeterioration_Flag"]
    assert not rows.loc["PHQ_DOWN_6", "Recovery_Flag"]


def test_reliable_recovery_is_recovery_and_reliable_improvement(tmp_path):
    tables = merge(
        course("BOTH", ["2024-05-01", "2024-05-08"], phq=[16, 4], gad=[12, 3]),
        course("SMALL_DROP", ["2024-05-01", "2024-05-08"], phq=[11, 8], gad=[9, 6]),
    )
    rows = derive(tmp_path, tables)
    assert rows.loc["BOTH", "ReliableRecovery_Flag"]
    assert rows.loc["SMALL_DROP", "Recovery_Flag"] and not rows.loc["SMALL_DROP", "ReliableRecovery_Flag"]


def test_adsm_follows_the_problem_descriptor_then_falls_back_to_gad7(tmp_path):
    social = course("SOCIAL", ["2024-05-01", "2024-05-08"], phq=[8, 4], gad=[5, 5], descriptor="F40.1")
    social["IDS607CodedScoreAssessmentAct"] += [
        {"CareActId": "SOCIAL-A0", "CodedAssToolType": SPIN, "PersScore": 30},
        {"CareActId": "SOCIAL-A1", "CodedAssToolType": SPIN, "PersScore": 15}]
    fallback = course("FALLBACK", ["2024-05-01", "2024-05-08"], phq=[8, 4], gad=[9, 4], descriptor="F40.1")
    none = course("NONE", ["2024-05-01", "2024-05-08"], phq=[14, 4], gad=[9], descriptor="F40.1")
    rows = derive(tmp_path, merge(social, fallback, none))
    assert rows.loc["SOCIAL", "ADSM"] == "SPIN"
    assert (rows.loc["SOCIAL", "ADSM_FirstScore"], rows.loc["SOCIAL", "ADSM_LastScore"]) == (30, 15)
    assert rows.loc["SOCIAL", "Caseness_Flag"] and rows.loc["SOCIAL", "Recovery_Flag"]  # SPIN 30 >= 19, 15 < 19
    assert rows.loc["FALLBACK", "ADSM"] == "GAD7" and rows.loc["FALLBACK", "Caseness_Flag"]
    assert pd.isna(rows.loc["NONE", "ADSM"]) and not rows.loc["NONE", "Paired_Flag"]


def test_scores_outside_the_referral_window_are_ignored_and_referral_level_scores_count(tmp_path):
    tables = course("R1", ["2024-05-01", "2024-05-08", "2024-07-01"], app_types=["02", "02", "06"],
                    phq=[15, 8, 20], gad=[12, 6, 18], discharged="2024-05-10")
    tables["IDS606CodedScoreAssessmentRefer"] = [
        {"ServiceRequestId": "R1", "CodedAssToolType": PHQ9, "PersScore": 18, "AssToolCompDate": "2024-04-20"},
        {"ServiceRequestId": "R1", "CodedAssToolType": GAD7, "PersScore": 14, "AssToolCompDate": "2024-04-20"}]
    row = derive(tmp_path, tables).loc["R1"]
    assert (row["PHQ9_FirstScore"], row["PHQ9_LastScore"], row["PHQ9_Count"]) == (18, 8, 3)
    assert (row["GAD7_FirstScore"], row["GAD7_LastScore"]) == (14, 6)


def test_problem_descriptor_prefers_primary_then_latest(tmp_path):
    tables = course("R1", ["2024-05-01"], descriptor="F32.1")
    tables["IDS603PresentingComplaints"] = [
        {"ServiceRequestId": "R1", "PresComp": "F43.1", "PresCompCodSig": "S", "PresCompDate": "2024-06-01"},
        {"ServiceRequestId": "R1", "PresComp": "F40.1", "PresCompCodSig": "P", "PresCompDate": "2024-04-01"},
        {"ServiceRequestId": "R1", "PresComp": "F41.0", "PresCompCodSig": "P", "PresCompDate": "2024-05-01"},
    ]
    row = derive(tmp_path, tables).loc["R1"]
    assert row["PresentingComplaint"] == "F41.0"
    assert row["DescriptorADSM"] == "PDSS"


@pytest.mark.parametrize("descriptor, tool", [("F40.0", "MI_Alone"), ("F42.2", "OCI"), ("F431", "PCL5"),
                                              ("F45.2", "HAI"), ("F41.1", "GAD7"), ("F32.0", "GAD7")])
def test_descriptor_to_adsm(tmp_path, descriptor, tool):
    row = derive(tmp_path, course("R1", ["2024-05-01"], descriptor=descriptor)).loc["R1"]
    assert row["DescriptorADSM"] == tool
