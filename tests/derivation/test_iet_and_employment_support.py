"""Internet-enabled therapy logs (IDS205) as treatment sessions, the [pathway] setting for the
session dates, and employment support never counted as treatment (issue 14 items 2 and 4)."""

from __future__ import annotations

import pandas as pd
import pytest

from extracts import CBT, EMPLOYMENT_SUPPORT, GUIDED_SELF_HELP, merge, pathway, write
from iapt_audit.errors import InputError
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import PathwaySettings, derive_pathways


def derive(tmp_path, tables, **settings):
    extract = read_extract(write(tmp_path / "x", tables))
    return derive_pathways(extract, settings=PathwaySettings(**settings)).referrals.set_index("ServiceRequestId")


def log(ref, start, end, duration="30"):
    return {"ServiceRequestId": ref, "StartDateIntEnabledTherLog": start, "EndDateIntEnabledTherLog": end,
            "IntEnabledTherProg": "SilverCloud", "DurationIntEnabledTher": duration, "CarePersLocalId": "T1",
            "IntegratedSoftwareInd": "Y"}


def with_logs(tables, *logs):
    return {**tables, "IDS205InternetTherLog": list(logs)}


ASSESSED = [{"date": "2024-04-10", "app": "01", "therapy": None}]


def test_logs_count_as_sessions_and_by_default_set_the_session_dates(tmp_path):
    tables = with_logs(pathway("R1", ASSESSED), log("R1", "2024-04-12", "2024-04-20"),
                       log("R1", "2024-04-21", "2024-05-05"))
    row = derive(tmp_path, tables).loc["R1"]
    assert row["TreatmentCareContact_Count"] == 2 and row["InternetEnabledTherapy_Count"] == 2
    assert row["CompletedTreatment_Flag"]
    # a log is dated by its end date ([MM20] M108)
    assert row["TherapySession_FirstDate"] == pd.Timestamp("2024-04-20")
    assert row["TherapySession_SecondDate"] == pd.Timestamp("2024-05-05")
    assert row["TherapySession_LastDate"] == pd.Timestamp("2024-05-05")
    assert row["Wait_ReferralToFirstTreatment"] == 19
    # every log is high intensity in the stepped-care dates ([MM21] M348)
    assert row["HighIntensityTherapy_FirstDate"] == pd.Timestamp("2024-04-20")


def test_the_setting_keeps_logs_out_of_the_session_dates_but_in_the_count(tmp_path):
    tables = with_logs(pathway("R1", [*ASSESSED, {"date": "2024-05-01"}]), log("R1", "2024-04-12", "2024-04-20"))
    row = derive(tmp_path, tables, iet_sets_session_dates=False).loc["R1"]
    assert row["TreatmentCareContact_Count"] == 2 and row["CompletedTreatment_Flag"]
    assert row["TherapySession_FirstDate"] == pd.Timestamp("2024-05-01")
    assert pd.isna(row["TherapySession_SecondDate"])
    on = derive(tmp_path / "on", tables).loc["R1"]
    assert on["TherapySession_FirstDate"] == pd.Timestamp("2024-04-20")
    assert on["TherapySession_SecondDate"] == pd.Timestamp("2024-05-01")


def test_logs_without_therapist_time_or_outside_the_referral_do_not_count(tmp_path):
    tables = with_logs(pathway("R1", ASSESSED, received="2024-04-01", discharged="2024-06-01"),
                       log("R1", "2024-04-12", "2024-04-20", duration="0"),    # no time: [TT] Duration > 0
                       log("R1", "2024-04-12", "2024-04-22", duration=""),     # blank duration
                       log("R1", "2024-03-01", "2024-03-20"),                  # ended before the referral
                       log("R1", "2024-06-01", "2024-06-20"),                  # ended after discharge
                       log("NOSUCH", "2024-04-12", "2024-04-20"),              # no such referral
                       log("R1", "2024-05-01", "2024-05-10"))                  # the one that counts
    row = derive(tmp_path, tables).loc["R1"]
    assert row["InternetEnabledTherapy_Count"] == 1 and row["TreatmentCareContact_Count"] == 1
    assert not row["CompletedTreatment_Flag"]


def test_pathway_settings_from_the_config_file():
    assert PathwaySettings.from_config({}) == PathwaySettings(iet_sets_session_dates=True)
    assert not PathwaySettings.from_config({"pathway": {"iet_sets_session_dates": False}}).iet_sets_session_dates
    with pytest.raises(InputError, match="unknown key"):
        PathwaySettings.from_config({"pathway": {"iet_dates": True}})
    with pytest.raises(InputError, match="true or false"):
        PathwaySettings.from_config({"pathway": {"iet_sets_session_dates": "yes"}})


def test_employment_support_contacts_are_never_treatment(tmp_path):
    tables = merge(
        # treatment-typed contacts whose only activity is employment support: not a course
        pathway("ES_ONLY", [{"date": "2024-04-20", "therapy": EMPLOYMENT_SUPPORT},
                            {"date": "2024-04-27", "therapy": EMPLOYMENT_SUPPORT}]),
        # AppType 10 (employment support) with a therapy code: still not treatment
        pathway("APP_10", [{"date": "2024-04-20", "app": "10", "therapy": CBT},
                           {"date": "2024-04-27", "app": "10", "therapy": CBT}]),
        # one real treatment and one employment-support contact: treated once
        pathway("MIXED", [{"date": "2024-04-20", "therapy": GUIDED_SELF_HELP},
                          {"date": "2024-04-27", "therapy": EMPLOYMENT_SUPPORT}]),
    )
    # a contact with employment support and CBT activities is treatment
    tables["IDS201CareContact"].append({"CareContactId": "BOTH", "ServiceRequestId": "MIXED", "CareContDate": "2024-05-04",
                                        "CareContTime": "10:00", "PlannedCareContIndicator": "Y",
                                        "AttendOrDNACode": "5", "AppType": "02", "CareContPatientTherMode": "1"})
    tables["IDS202CareActivity"] += [{"CareActId": "BOTH-1", "CareContactId": "BOTH", "CodeProcAndProcStatus": CBT},
                                     {"CareActId": "BOTH-2", "CareContactId": "BOTH",
                                      "CodeProcAndProcStatus": EMPLOYMENT_SUPPORT}]
    rows = derive(tmp_path, tables)
    assert rows.loc["ES_ONLY", "TreatmentCareContact_Count"] == 0
    assert pd.isna(rows.loc["ES_ONLY", "TherapySession_FirstDate"])
    assert rows.loc["APP_10", "TreatmentCareContact_Count"] == 0
    assert rows.loc["MIXED", "TreatmentCareContact_Count"] == 2
    assert rows.loc["MIXED", "TherapySession_SecondDate"] == pd.Timestamp("2024-05-04")
    assert rows.loc["ES_ONLY", "CareContact_Count"] == 2  # still contacts: only not treatment
