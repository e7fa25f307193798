"""Codes as exports write them are read as the Data Dictionary code for deriving (issue 14 item 1);
a lost leading zero never turns a KPI to 0. Sources: [TT] "2.10 CareContactMethod.sql" (AppType
IN ('02','2','2 ',' 2')), "2.17 ConsMech_Ethnicity.sql" (AttendOrDNACode IN ('5','05'))."""

from __future__ import annotations

import pandas as pd
import pytest

from extracts import audit, pathway, write
from iapt_audit.io.extract import read_extract
from iapt_audit.model import codes
from iapt_audit.pathway import derive_pathways

APP = frozenset(codes.APP_TYPES)
ATTEND = frozenset(codes.ATTEND_OR_DNA)


@pytest.mark.parametrize("raw, standard, code", [
    ("2", APP, "02"), (" 2", APP, "02"), ("2 ", APP, "02"), ("02", APP, "02"), ("2.0", APP, "02"),
    ("002", APP, "02"), ("+2", APP, "02"), ("10", APP, "10"), ("05", ATTEND, "5"), ("5.00", ATTEND, "5"),
    ("n", frozenset(codes.PLANNED_INDICATOR), "N"), ("46.0", codes.DERIVATION_CODES[("IDS101Referral", "EndCode")], "46"),
    ("720433000.0", frozenset(codes.TOOLS), "720433000"),
])
def test_forms_of_a_code(raw, standard, code):
    assert codes.canonical_code(raw, standard) == code


@pytest.mark.parametrize("raw, standard", [("2.5", APP), ("8", APP), ("two", APP), ("", APP), ("-2", APP),
                                           ("０２", APP), ("55", ATTEND), ("1", ATTEND)])
def test_other_values_are_no_form_of_a_code(raw, standard):
    assert codes.canonical_code(raw, standard) is None


def course(ref, app, attend="5"):
    return pathway(ref, [{"date": "2024-04-10", "app": app[0], "attend": attend, "phq": 15, "gad": 12},
                         {"date": "2024-04-20", "app": app[1], "attend": attend},
                         {"date": "2024-05-20", "app": app[1], "attend": attend, "phq": 5, "gad": 4}])


def test_integer_typed_parquet_columns_give_the_same_pathway(tmp_path):
    # a Parquet export whose AppType and AttendOrDNACode columns are integers (2, not "02")
    folder = write(tmp_path / "csv", course("SR1", ["01", "02"]))
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for file in folder.glob("*.csv"):
        frame = pd.read_csv(file, dtype=str)
        if file.stem == "IDS201CareContact":
            frame["AppType"] = frame["AppType"].astype("int64")
            frame["AttendOrDNACode"] = frame["AttendOrDNACode"].astype("float64")  # 5.0
        frame.to_parquet(parquet / f"{file.stem}.parquet", index=False)
    row = derive_pathways(read_extract(parquet)).referrals.iloc[0]
    assert row["TreatmentCareContact_Count"] == 2
    assert row["TherapySession_FirstDate"] == pd.Timestamp("2024-04-20")
    assert row["Assessment_FirstDate"] == pd.Timestamp("2024-04-10")
    assert row["CompletedTreatment_Flag"] and row["Recovery_Flag"]


def test_padded_attendance_codes_and_blanks_keep_access_and_finished_courses(tmp_path):
    tables = course("SR1", [" 1", "2 "], attend="05")
    result = audit(write(tmp_path / "x", tables))
    findings = result.findings()
    k = findings["total"]["kpis"]
    assert k["Count_AccessingServices"] == 1 and k["Count_FinishedCourseTreatment"] == 1
    assert k["Count_Recovery"] == 1
    forms = {(f["column"], f["code"]): f["rows"] for f in findings["derivation"]["code_forms"]}
    assert forms[("AttendOrDNACode", "5")] == 3
    # the data-quality stage still sees the raw "05": its check on AttendOrDNACode fails
    attendance = [f for f in findings["data_quality"] if f["column"] == "AttendOrDNACode" and f["numerator"]]
    assert attendance and attendance[0]["numerator"] == 3


def test_a_clean_extract_reads_no_other_forms(tmp_path):
    result = audit(write(tmp_path / "x", course("SR1", ["01", "02"])))
    assert result.findings()["derivation"]["code_forms"] == []
