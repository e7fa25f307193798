"""Selection of the latest submissions and records, and the submission-history checks, on
hand-built monthly submissions whose right answers are worked out below.

The story (provider RX1): referral A is assessed in April (PHQ-9 15, GAD-7 12), treated in April,
May and June (last PHQ-9 5, GAD-7 4) and discharged on 5 June: one finished, recovered course.
April is submitted as a Primary (S1) and again as a Refresh (S2) that adds A's April treatment and
drops B's contact B-C9. B is open throughout but missing from May's submission (DQ202), comes
back in June with another received date (DQ203), and July is never submitted (DQ201).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from builders import GAD7, PHQ9
from iapt_audit.audit import run_audit
from iapt_audit.cli import main
from iapt_audit.selection import ordered_submissions
from monthly_builders import submission, write_submission_folder, write_warehouse

PERIOD = "2024-04-01:2025-03-31"


def _referral(ref, received, discharged=None):
    return {"ServiceRequestId": ref, "ReferralRequestReceivedDate": received, "ServDischDate": discharged,
            "EndCode": "46" if discharged else None, "LocalPatientId": f"P{ref}"}


def _contact(ref, number, date, app="02", phq=None, gad=None):
    contact, act = f"{ref}-C{number}", f"{ref}-A{number}"
    scores = [{"CareActId": act, "CodedAssToolType": tool, "PersScore": value}
              for tool, value in ((PHQ9, phq), (GAD7, gad)) if value is not None]
    return {"IDS201CareContact": [{"CareContactId": contact, "ServiceRequestId": ref, "CareContDate": date,
                                   "AppType": app}],
            "IDS202CareActivity": [{"CareActId": act, "CareContactId": contact}],
            "IDS607CodedScoreAssessmentAct": scores}


def _month(referrals, *contacts):
    tables = {"IDS101Referral": referrals,
              "IDS603PresentingComplaints": [{"ServiceRequestId": r["ServiceRequestId"], "PresComp": "F41.1"}
                                             for r in referrals]}
    for part in contacts:
        for name, rows in part.items():
            tables.setdefault(name, []).extend(rows)
    return tables


def story() -> list[tuple[dict, dict]]:
    a_open, b = _referral("A", "2024-04-01"), _referral("B", "2024-04-02")
    assessment = _contact("A", 0, "2024-04-10", app="01", phq=15, gad=12)
    return [
        (submission("2024-04", "1001", created="2024-05-20T09:00:00"),
         _month([a_open, b], assessment, _contact("B", 9, "2024-04-11", app="01"))),
        (submission("2024-04", "1002", file_type="Refresh", created="2024-06-20T09:00:00"),
         _month([a_open, b], assessment, _contact("A", 1, "2024-04-20", phq=12, gad=10))),
        (submission("2024-05", "1003"), _month([a_open], _contact("A", 2, "2024-05-15", phq=9, gad=7))),
        (submission("2024-06", "1004"),
         _month([_referral("A", "2024-04-01", "2024-06-05"), _referral("B", "2024-04-03")],
                _contact("A", 3, "2024-06-01", phq=5, gad=4))),
        (submission("2024-08", "1005"), _month([_referral("B", "2024-04-03")])),
    ]


def findings(path) -> dict:
    return run_audit(path, period=PERIOD).findings()


def dq(found: dict, code: str) -> dict:
    return next(f for f in found["data_quality"] if f["code"] == code)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = write_warehouse(tmp_path_factory.mktemp("warehouse"), story())
    return folder, findings(folder)


def test_refresh_supersedes_primary_and_latest_month_wins(warehouse):
    _, found = warehouse
    kpis = found["total"]["kpis"]
    assert kpis["Count_FinishedCourseTreatment"] == 1
    assert kpis["Count_Recovery"] == 1 and found["total"]["kpi_basis"]["Percentage_Recovery"]["denominator"] == 1
    assert kpis["Count_Appointments"] == 4  # A-C0..A-C3; B-C9 was only in the superseded Primary
    subs = {s["UniqueSubmissionID"]: s for s in found["submissions"]["submissions"]}
    assert subs["1001"]["selected"] is False and subs["1001"]["superseded_by"] == "1002"
    assert [s for s in subs if subs[s]["selected"]] == ["1002", "1003", "1004", "1005"]


def test_every_record_read_is_accounted_for(warehouse):
    _, found = warehouse
    records = {r["table"]: r for r in found["submissions"]["records"]}
    for row in records.values():
        assert row["read"] == (row["superseded"] + row["replaced_by_later_month"] + row["duplicates_collapsed"]
                               + row["selected"])
    # referrals: S1 has A and B (superseded); A in S2, S3, S4 and B in S2, S4, S5: 8 read, one each selected
    assert records["IDS101Referral"] == {"table": "IDS101Referral", "read": 8, "superseded": 2,
                                         "replaced_by_later_month": 4, "duplicates_collapsed": 0, "selected": 2}
    assert records["IDS201CareContact"]["superseded"] == 2 and records["IDS201CareContact"]["selected"] == 4


def test_history_checks_find_exactly_the_planted_faults(warehouse):
    _, found = warehouse
    assert dq(found, "DQ201")["records"] == ["2024-07"]
    assert dq(found, "DQ202")["records"] == ["B"]
    assert dq(found, "DQ203")["records"] == ["B"]
    assert dq(found, "DQ204")["records"] == ["B-A9", "B-C9"]  # the contact and its care activity
    assert dq(found, "DQ205")["numerator"] == 0
    # open referral-months whose next month was submitted: A April, A May, B April (B has no May record;
    # June is followed by the unsubmitted July, August by nothing; A is discharged in June)
    assert dq(found, "DQ202")["denominator"] == 3


def test_row_order_and_layout_do_not_change_the_findings(warehouse, tmp_path):
    _, found = warehouse
    expected = json.dumps({k: v for k, v in found.items() if k != "tool"}, sort_keys=True)
    shuffled = write_warehouse(tmp_path / "shuffled", story(), shuffle_seed=7)
    folder = write_submission_folder(tmp_path / "folder", story(), zipped={"1002", "1004"})
    for path in (shuffled, folder):
        got = findings(path)
        assert json.dumps({k: v for k, v in got.items() if k != "tool"}, sort_keys=True) == expected


def test_latest_submission_order():
    frame = pd.DataFrame([
        # a Refresh created before its Primary still supersedes it
        submission("2024-04", "7", file_type="Refresh", created="2024-05-01T00:00:00"),
        submission("2024-04", "8", file_type="Primary", created="2024-06-01T00:00:00"),
        # two Primaries: the later creation wins
        submission("2024-05", "20", created="2024-06-02T00:00:00"),
        submission("2024-05", "21", created="2024-06-01T00:00:00"),
        # two Primaries created at once: the higher identifier, as a number ("10" > "9")
        submission("2024-06", "9", created="2024-07-01T00:00:00"),
        submission("2024-06", "10", created="2024-07-01T00:00:00"),
    ]).assign(source="test")
    for column in ("ReportingPeriodStartDate", "ReportingPeriodEndDate", "DateTimeDatSetCreate"):
        frame[column] = pd.to_datetime(frame[column])
    ordered = ordered_submissions(frame)
    assert ordered.loc[ordered["selected"], "UniqueSubmissionID"].tolist() == ["7", "20", "10"]
    assert ordered.set_index("UniqueSubmissionID")["superseded_by"].dropna().to_dict() == {"8": "7", "21": "20",
                                                                                          "9": "10"}


def test_two_primaries_for_a_month_are_a_finding(tmp_path):
    subs = story()
    header, tables = subs[2]
    subs.insert(3, (submission("2024-05", "0999", created="2024-06-01T00:00:00"), tables))
    found = findings(write_warehouse(tmp_path / "w", subs))
    assert dq(found, "DQ205")["records"] == ["0999", "1003"]


def _run(path, tmp_path):
    return CliRunner().invoke(main, ["audit", str(path), "--out", str(tmp_path / "out"), "--period", PERIOD])


def _one_line_error(result, *parts):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = [line for line in result.output.strip().splitlines() if line.strip()][-1]
    for part in parts:
        assert part in line, line


DAMAGE = [
    # (table, 0-based record, column, new value, message); the error names the file row (record + 2)
    ("IDS201CareContact", 3, "UniqueSubmissionID", "4040", "names a submission that IDS000Header does not have"),
    ("IDS607CodedScoreAssessmentAct", 0, "UniqueSubmissionID", "1000", "names a submission that IDS000Header does not have"),
    ("IDS000Header", 4, "UniqueSubmissionID", "1003", "on two different header rows"),  # August claims May's
    ("IDS000Header", 1, "UniqueSubmissionID", "1001", "on two different header rows"),
    ("IDS101Referral", 2, "OrgIDProv", "RYY", "not the provider its submission's IDS000Header names"),
    ("IDS202CareActivity", 5, "OrgIDProv", "RX2", "not the provider its submission's IDS000Header names"),
    # a blank where the table names submissions: its month cannot be told (RX1 made five)
    ("IDS101Referral", 3, "UniqueSubmissionID", "", "blank UniqueSubmissionID while its provider has several"),
    # headers whose order would be a guess: April has a Primary (row 2) and a Refresh (row 3)
    ("IDS000Header", 1, "File_Type", "Final", "neither Primary nor Refresh"),
    ("IDS000Header", 0, "File_Type", "", "neither Primary nor Refresh"),
    ("IDS000Header", 3, "ReportingPeriodStartDate", "", "no reporting period while its provider has other"),
]


@pytest.mark.parametrize("table, record, column, value, message", DAMAGE, ids=lambda v: str(v)[:20])
def test_records_that_cannot_be_attributed_are_refused(tmp_path, table, record, column, value, message):
    folder = write_warehouse(tmp_path / "w", story())
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str)
    frame.loc[record, column] = value
    frame.to_csv(folder / f"{table}.csv", index=False)
    _one_line_error(_run(folder, tmp_path), f"{table}.csv", f"column {column}", f"row {record + 2}", message)


def test_a_provider_with_one_submission_needs_no_file_type():
    """A snapshot's only submission is its month whatever its File_Type says: nothing to order."""
    from iapt_audit.io.submissions import check_submissions

    one = pd.DataFrame([{**submission("2024-04", "1"), "File_Type": None, "source": "h.csv row 2"},
                        {**submission("2024-04", "2", provider="RX2"), "File_Type": "Final", "source": "h.csv row 3"}])
    check_submissions(one)  # no error: each provider's only submission


def test_a_submission_as_a_workbook_is_read_and_an_unreadable_archive_refused(tmp_path):
    """A submission may be an .xlsx workbook (an extract); a .tar.gz beside them is refused, not
    passed over; other files are named in the reports as not read."""
    from openpyxl import Workbook

    folder = write_submission_folder(tmp_path / "f", story())
    victim = next(p for p in folder.iterdir() if p.name.endswith("1004"))
    book = Workbook()
    book.remove(book.active)
    for file in sorted(victim.iterdir()):
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        sheet = book.create_sheet(file.stem)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
        file.unlink()
    victim.rmdir()
    book.save(folder / f"{victim.name}.xlsx")
    (folder / "notes.txt").write_text("not a submission")
    # what a Mac or an open Excel leaves beside the files is neither a submission nor worth a notice
    (folder / f"._{victim.name}.xlsx").write_bytes(b"junk")
    (folder / f"~${victim.name}.xlsx").write_bytes(b"junk")
    expected = findings(write_warehouse(tmp_path / "w", story()))
    found = findings(folder)
    assert found["submissions"]["submissions_read"] == 5
    assert found["providers"] == expected["providers"]
    assert [(n["table"], n["rows"]) for n in found["submissions"]["reader_notices"]] == [("(folder)", 1)]
    assert found["submissions"]["reader_notices"][0]["message"].endswith(": notes.txt")
    (folder / "more.tar.gz").write_bytes(b"\x1f\x8b")
    _one_line_error(_run(folder, tmp_path), "more.tar.gz", "cannot read, so its submission would be left out")


def test_submissions_one_level_down_and_a_zip_of_submissions_say_what_to_do(tmp_path):
    import shutil

    outer = tmp_path / "batches"
    write_submission_folder(outer / "batch1", story())
    _one_line_error(_run(outer, tmp_path), "its folder batch1 holds submissions one level down")
    # beside submissions of its own, a folder of more submissions is refused too, not passed over
    mixed = write_submission_folder(tmp_path / "mixed", story())
    write_submission_folder(mixed / "extra", story()[:1])
    _one_line_error(_run(mixed, tmp_path), "its folder extra holds submissions one level down")
    shutil.make_archive(str(tmp_path / "all"), "zip", outer / "batch1")
    _one_line_error(_run(tmp_path / "all.zip", tmp_path), "is in the archive twice", "unzip it and give the folder")


def test_a_file_named_like_a_table_but_not_one_is_refused(tmp_path):
    folder = write_warehouse(tmp_path / "w", story())
    (folder / "IDS201CareContact (1).csv").write_text((folder / "IDS201CareContact.csv").read_text())
    _one_line_error(_run(folder, tmp_path), "IDS201CareContact (1).csv", "looks like a table of the data set")


def test_a_submission_without_a_header_is_refused(tmp_path):
    folder = write_submission_folder(tmp_path / "f", story())
    victim = sorted(p for p in folder.iterdir() if p.name.endswith("1003"))[0]
    (victim / "IDS000Header.csv").unlink()
    _one_line_error(_run(folder, tmp_path), victim.name, "the submission has no IDS000Header")


def test_two_submissions_with_one_identifier_are_refused(tmp_path):
    subs = story()
    header, tables = subs[4]
    subs[4] = ({**header, "UniqueSubmissionID": "1003"}, tables)
    _one_line_error(_run(write_submission_folder(tmp_path / "f", subs), tmp_path), "column UniqueSubmissionID",
                    "UniqueSubmissionID 1003 is also the identifier of")


def test_reports_show_the_accounting(tmp_path):
    from iapt_audit.report.audiences import build_report

    result = run_audit(write_warehouse(tmp_path / "w", story()), period=PERIOD)
    tables = {table.id: table for table in build_report(result, "self-check").tables()}
    records = tables["submissions-records"]
    assert records.rows[records.column("Table").index("IDS101Referral")] == ["IDS101Referral", 8, 2, 4, 0, 2]
    assert tables["submissions-superseded"].rows == [["RX1", "2024-04", "Primary", "1001", "1002"]]
    assert tables["submissions-by-provider"].rows == [["RX1", 5, 4, 4, "2024-04", "2024-08"]]
