"""Reading extracts: layouts, formats, version aliases, provider from the header, and input errors."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from builders import as_workbook, course, merge, write_extract
from iapt_audit.cli import main
from iapt_audit.errors import InputError
from iapt_audit.io.extract import read_extract


@pytest.fixture
def folder(tmp_path):
    tables = merge(course("R1", ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2], discharged="2024-05-09"),
                   course("R2", ["2024-06-01"], app_types=["01"]))
    return write_extract(tmp_path / "extract", tables)


def test_codes_stay_strings_and_dates_are_parsed(folder):
    extract = read_extract(folder)
    contacts = extract["IDS201CareContact"]
    assert set(contacts["AppType"]) == {"02", "01"}
    assert str(contacts["CareContDate"].dtype).startswith("datetime64")
    assert extract["IDS607CodedScoreAssessmentAct"]["PersScore"].dtype == "float64"


def test_v20_names_are_mapped_to_v21(folder):
    path = folder / "IDS201CareContact.csv"
    frame = pd.read_csv(path, dtype=str).rename(columns={"ConsMechanism": "ConsMediumUsed"})
    frame.to_csv(path, index=False)
    referrals = pd.read_csv(folder / "IDS101Referral.csv", dtype=str).rename(
        columns={"SourceOfReferralIAPT": "SourceOfReferralMH"})
    referrals.to_csv(folder / "IDS101Referral.csv", index=False)
    extract = read_extract(folder)
    assert "ConsMechanism" in extract["IDS201CareContact"]
    assert extract["IDS101Referral"]["SourceOfReferralIAPT"].tolist() == ["B1", "B1"]


def test_unparseable_values_are_kept_for_data_quality(folder):
    path = folder / "IDS201CareContact.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[frame["CareContactId"] == "R1-C1", "CareContDate"] = "31/13/2024"
    frame.to_csv(path, index=False)
    extract = read_extract(folder)
    bad = extract.unparsed
    assert bad[["table", "column", "value"]].values.tolist() == [["IDS201CareContact", "CareContDate", "31/13/2024"]]
    row = int(bad["row"].iloc[0])
    assert pd.read_csv(path, dtype=str).iloc[row - 2]["CareContactId"] == "R1-C1"  # file row incl. header


def test_day_first_dates_are_read(folder):
    path = folder / "IDS101Referral.csv"
    frame = pd.read_csv(path, dtype=str)
    frame["ReferralRequestReceivedDate"] = "01/04/2024"
    frame.to_csv(path, index=False)
    assert read_extract(folder)["IDS101Referral"]["ReferralRequestReceivedDate"].iloc[0] == pd.Timestamp("2024-04-01")


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_gzip_and_parquet_give_the_same_tables(folder, tmp_path, fmt):
    other = tmp_path / fmt
    other.mkdir()
    for path in folder.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
        if fmt == "parquet":
            frame.to_parquet(other / f"{path.stem}.parquet", index=False)
        else:
            frame.to_csv(other / f"{path.stem}.csv.gz", index=False)
    a, b = read_extract(folder), read_extract(other)
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True), b[name].reset_index(drop=True),
                                      check_dtype=False)


def test_one_workbook_with_a_sheet_per_table(folder, tmp_path):
    workbook = as_workbook(folder, tmp_path / "extract.xlsx")
    a, b = read_extract(folder), read_extract(workbook)
    assert b["IDS201CareContact"]["AppType"].tolist() == a["IDS201CareContact"]["AppType"].tolist()
    assert b["IDS101Referral"]["ReferralRequestReceivedDate"].tolist() == \
        a["IDS101Referral"]["ReferralRequestReceivedDate"].tolist()


def test_provider_comes_from_the_header_when_tables_lack_it(folder):
    for path in folder.glob("*.csv"):
        pd.read_csv(path, dtype=str).drop(columns="OrgIDProv").to_csv(path, index=False)
    pd.DataFrame([{"OrgIDProv": "RQ9", "ReportingPeriodStartDate": "2024-04-01",
                   "ReportingPeriodEndDate": "2025-03-31"}]).to_csv(folder / "IDS000Header.csv", index=False)
    extract = read_extract(folder)
    assert extract.providers == ["RQ9"]
    assert set(extract["IDS607CodedScoreAssessmentAct"]["OrgIDProv"]) == {"RQ9"}
    assert extract.header_period() == (pd.Timestamp("2024-04-01"), pd.Timestamp("2025-03-31"))


def test_no_provider_anywhere_is_an_input_error(folder):
    for path in folder.glob("*.csv"):
        pd.read_csv(path, dtype=str).drop(columns="OrgIDProv").to_csv(path, index=False)
    with pytest.raises(InputError, match="no OrgIDProv column"):
        read_extract(folder)


def test_identifiers_are_dropped_unless_asked_for(folder):
    pd.DataFrame([{"OrgIDProv": "RX1", "LocalPatientId": "P1", "NHSNumber": "9990000018",
                   "PersonBirthDate": "1980-01-01", "Postcode": "ZZ99 9ZZ"}]).to_csv(folder / "IDS001MPI.csv", index=False)
    assert "NHSNumber" not in read_extract(folder)["IDS001MPI"]
    assert read_extract(folder, identifiers=True)["IDS001MPI"]["NHSNumber"].tolist() == ["9990000018"]


@pytest.mark.parametrize("damage, expected", [
    (lambda f: (f / "IDS201CareContact.csv").unlink(), "IDS201CareContact is missing"),
    (lambda f: pd.read_csv(f / "IDS201CareContact.csv", dtype=str).drop(columns="AppType").to_csv(
        f / "IDS201CareContact.csv", index=False), "column AppType: required data item AppType is missing"),
    (lambda f: (f / "IDS101Referral.csv").write_text(""), "IDS101Referral.csv, row 1: the file is empty"),
])
def test_input_errors_are_one_line_with_exit_code_2(folder, tmp_path, damage, expected):
    damage(folder)
    result = CliRunner().invoke(main, ["audit", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "out" / "findings.json").exists()


def test_missing_input_folder_is_an_input_error(tmp_path):
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_reading_never_modifies_the_input(folder):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    read_extract(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    shutil.rmtree(folder)
