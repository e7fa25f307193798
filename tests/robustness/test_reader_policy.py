"""One reader policy (issue 15 kind 8), applied by the extract reader and the published-file reader
alike and reported as notices; the right values are ../shared/cases/readers and
../shared/cases/comparison/published_monthly_uk_dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iapt_audit.dq import run_data_quality
from iapt_audit.io import values
from iapt_audit.io.extract import read_extract
from iapt_audit.io.published import read_monthly, read_published
from iapt_audit.period import Period

CASES = Path(__file__).resolve().parents[2] / ".." / "shared" / "cases"
READERS, COMPARISON = CASES / "readers", CASES / "comparison"
YEAR = Period.parse("2024-04-01:2025-03-31")
MONTHLY_HEAD = ("REPORTING_PERIOD_START,REPORTING_PERIOD_END,GROUP_TYPE,ORG_CODE1,ORG_NAME1,ORG_CODE2,ORG_NAME2,"
                "MEASURE_ID,MEASURE_NAME,MEASURE_VALUE_SUPPRESSED\n")


def _case(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared case not found at {path.resolve()}")
    return path


def _failing(extract) -> dict[str, int]:
    result = run_data_quality(extract, YEAR)
    return {f.check.code: f.numerator for f in result.checks if f.numerator}


def test_iso_date_times_with_offsets_read_as_the_uk_local_date_and_the_extract_is_clean():
    extract = read_extract(_case(READERS / "iso_datetime_with_offset"), identifiers=True)
    referrals = extract["IDS101Referral"].set_index("ServiceRequestId")
    # "2024-03-30T00:00:00+01:00" is the 30th where it was written; "2025-02-04T00:00:00Z" is UK winter time
    assert referrals.loc["SR00000001", "ReferralRequestReceivedDate"] == pd.Timestamp("2024-03-30")
    assert referrals.loc["SR00000001", "ServDischDate"] == pd.Timestamp("2025-02-04")
    assert extract.header_period() == (pd.Timestamp("2024-04-01"), pd.Timestamp("2025-03-31"))
    assert len(extract.unparsed) == 0
    failing = _failing(extract)
    assert not {"DQ002", "DQ022", "DQ112"} & set(failing), failing
    assert (extract.notices["message"] == values.NOTICE_UTC).any()


def test_a_workbook_column_of_whole_numbers_with_blanks_reads_46_not_46_point_0():
    extract = read_extract(_case(READERS / "xlsx_whole_numbers_with_blanks" / "extract.xlsx"), identifiers=True)
    end_codes = set(extract["IDS101Referral"]["EndCode"].dropna())
    assert "46" in end_codes and not any(code.endswith(".0") for code in end_codes)
    assert "DQ006" not in _failing(extract)
    noted = extract.notices[extract.notices["column"] == "EndCode"]
    assert noted["message"].tolist() == [values.NOTICE_WHOLE]


def test_published_monthly_files_resaved_by_excel_read_day_first_in_time_order():
    data = read_published([_case(COMPARISON / "published_monthly_uk_dates")], ["recovery"])
    assert sorted(data["period"].unique()) == [f"{y}-{m:02d}" for y, m in
                                               [(2023, m) for m in range(4, 13)] + [(2024, m) for m in (1, 2, 3)]]
    px1 = data[data["org_code"] == "PX1"].sort_values("period")
    rates = (px1["numerator"] / px1["denominator"]).to_numpy()
    assert len(rates) == 12 and round(rates[0], 2) == 0.33 and round(rates[-1], 2) == 0.64
    assert (np.diff(rates) > 0).all()  # rises steadily: no invented fall


# ---------------------------------------------------------------------------- the same value, both readers

def _extract_value(tmp_path: Path, raw: str, column: str = "EndCode") -> object:
    from bad_input_cases import REF, _frame, _path, base_extract

    folder = base_extract(tmp_path / "extract")
    frame = _frame(folder, REF)
    frame.loc[frame["ServiceRequestId"] == "R1", column] = raw
    frame.to_csv(_path(folder, REF), index=False)
    return read_extract(folder)["IDS101Referral"].set_index("ServiceRequestId").loc["R1", column]


def _published_row(tmp_path: Path, start: str, org: str, value: str = "5") -> pd.Series:
    path = tmp_path / "nhs-talking-therapies-monthly-2024-06.csv"
    path.write_text(MONTHLY_HEAD + f"{start},30/06/2024,Provider,all,all,{org},ONE,M191,x,{value}\n")
    return read_monthly([path]).iloc[0]


DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31))
LAYOUTS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S+01:00",
           "%Y-%m-%dT%H:%M:%S.000+00:00", "%d %b %Y"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=DATES, layout=st.sampled_from(LAYOUTS))
def test_every_date_layout_reads_the_same_day_in_the_extract_and_the_published_reader(tmp_path, day, layout):
    written = dt.datetime(day.year, day.month, day.day).strftime(layout)
    assert values.as_dates(pd.Series([written])).values.iloc[0].normalize() == pd.Timestamp(day)
    assert _published_row(tmp_path, written, "P01")["period"] == f"{day:%Y-%m}"


@pytest.mark.parametrize("raw, code", [("46 ", "46"), (" 46", "46"), ("46.0", "46"), ("NULL", None), ("null", None),
                                       ("NA", None), ("", None)])
def test_codes_read_alike_by_both_readers(tmp_path, raw, code):
    extracted = _extract_value(tmp_path, raw)
    published = _published_row(tmp_path, "2024-06-01", raw or "NULL")["org_code"]
    assert (None if pd.isna(extracted) else extracted) == code
    assert (None if pd.isna(published) else published) == code


@settings(max_examples=40, deadline=None)
@given(word=st.sampled_from(["TRUE", "True", "true", "FALSE", "False", "false"]),
       blanks=st.sampled_from(["", " ", "\t"]))
def test_spreadsheet_booleans_in_a_yes_no_item_are_y_and_n(word, blanks):
    typed = values.as_text(pd.Series([f"{blanks}{word}{blanks}", "Y", None], dtype=object), "PlannedCareContIndicator")
    assert typed.values.tolist()[:2] == ["Y" if word.lower() == "true" else "N", "Y"]
    assert typed.tolerated == {values.NOTICE_BOOLEAN: 1}
    other = values.as_text(pd.Series([word]), "EndCode")  # only yes/no items: anywhere else it is kept
    assert other.values.tolist() == [word] and not other.tolerated


@settings(max_examples=40, deadline=None)
@given(number=st.integers(0, 10 ** 9), gaps=st.integers(0, 3))
def test_whole_floats_from_a_spreadsheet_read_as_whole_numbers(number, gaps):
    column = pd.Series([float(number)] + [np.nan] * gaps)  # a workbook column of numbers with blanks
    typed = values.as_text(column, "CodedAssToolType")
    assert typed.values.tolist()[0] == str(number) and typed.values.isna().sum() == gaps
    assert typed.tolerated == {values.NOTICE_WHOLE: 1}


@pytest.mark.parametrize("moment, day", [
    ("2024-06-30T23:30:00Z", "2024-07-01"),      # BST: UTC+1
    ("2024-12-31T23:30:00Z", "2024-12-31"),      # GMT
    ("2024-03-31T00:30:00Z", "2024-03-31"),      # the night the clocks go forward
    ("2024-06-30T23:30:00+01:00", "2024-06-30"),  # the writer's own local date
    ("2024-06-30T23:30:00-05:00", "2024-06-30"),
])
def test_zoned_date_times(moment, day):
    assert values.as_dates(pd.Series([moment])).values.iloc[0].normalize() == pd.Timestamp(day)


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_published_files_in_any_accepted_encoding(tmp_path, encoding, bom):
    path = tmp_path / "nhs-talking-therapies-monthly-2024-06.csv"
    path.write_bytes(bom + (MONTHLY_HEAD + "01/06/2024,30/06/2024,Provider,all,all,P01,O’NEIL TRUST,M191,x,5\n")
                     .encode(encoding))
    data = read_published([path], ["recovery"])
    assert set(data["org_name"].dropna()) == {"O’NEIL TRUST"}
    said = " ".join(data.attrs["notices"])
    assert ("read as cp1252" in said) == (encoding == "cp1252")


def test_the_extract_reader_reports_what_the_policy_tolerated_as_notices(tmp_path):
    from bad_input_cases import CONTACT, _frame, _path, base_extract

    folder = base_extract(tmp_path / "extract")
    contacts = _frame(folder, CONTACT)
    contacts.loc[0, "ConsMechanism"] = "NULL"
    contacts.loc[1, "AttendOrDNACode"] = "5.0"
    contacts.loc[2, "PlannedCareContIndicator"] = "TRUE"
    contacts.loc[3, "CareContDate"] = "2024-06-02T23:30:00Z"
    contacts.to_csv(_path(folder, CONTACT), index=False)
    notices = read_extract(folder).notices
    noted = set(map(tuple, notices[notices["table"] == CONTACT][["column", "message", "rows"]].values.tolist()))
    assert {("ConsMechanism", values.NOTICE_MISSING, 1), ("AttendOrDNACode", values.NOTICE_WHOLE, 1),
            ("PlannedCareContIndicator", values.NOTICE_BOOLEAN, 1), ("CareContDate", values.NOTICE_UTC, 1)} <= noted
