"""The workbooks, opened back with openpyxl: sheets, headers, formats and hand-worked values."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from iapt_audit.report.document import Column, Report, Section, Table
from iapt_audit.report.excel import HEADER_ROW, write_workbook

KPI_HEADERS = ["Provider", "Measure ID", "Measure", "Count", "Numerator", "Denominator", "Rate (%)", "Mean",
               "Standard (%)", "Against standard"]


def rows_by_key(sheet, *key_columns):
    """Data rows of a sheet's table as dicts keyed by the values of ``key_columns``."""
    headers = [c.value for c in sheet[HEADER_ROW]]
    found = {}
    for cells in sheet.iter_rows(min_row=HEADER_ROW + 1):
        row = dict(zip(headers, cells))
        found[tuple(row[k].value for k in key_columns)] = row
    return headers, found


@pytest.fixture(scope="module")
def books(cohort_reports):
    out, _ = cohort_reports
    return {name: load_workbook(out / f"{name}.xlsx") for name in ("self-check", "commissioner", "regulator")}


def test_every_workbook_starts_with_a_summary_linking_every_sheet(books):
    for book in books.values():
        assert book.sheetnames[0] == "Summary"
        links = {c.hyperlink.location for row in book["Summary"].iter_rows() for c in row if c.hyperlink}
        assert links == {f"'{name}'!A1" for name in book.sheetnames[1:]}


def test_self_check_kpis_match_the_hand_worked_cohort(books):
    headers, rows = rows_by_key(books["self-check"]["KPIs"], "Provider", "Measure ID")
    assert headers == KPI_HEADERS
    recovery = rows[("RX1", "M192")]
    assert (recovery["Numerator"].value, recovery["Denominator"].value) == (1, 2)
    assert recovery["Rate (%)"].value == pytest.approx(0.5)
    assert recovery["Rate (%)"].number_format == "0.0%"
    assert recovery["Against standard"].value == "Meets"
    six_weeks = rows[("RX1", "M053")]
    assert six_weeks["Rate (%)"].value == pytest.approx(2 / 3, abs=1e-3)
    assert six_weeks["Against standard"].value == "Below"
    assert rows[("RX1", "M001")]["Count"].value == 6
    assert rows[("RX1", "M001")]["Count"].number_format == "#,##0"
    # P03: 6 recovered of 11 at caseness; all providers: 1 + (4 + ... + 12) of 2 + (9 + ... + 17)
    assert rows[("P03", "M192")]["Rate (%)"].value == pytest.approx(6 / 11, abs=1e-3)
    assert rows[("All providers", "M192")]["Numerator"].value == 73
    assert rows[("All providers", "M192")]["Denominator"].value == 119


def test_commissioner_counts_are_disclosure_controlled(books):
    _, rows = rows_by_key(books["commissioner"]["KPIs"], "Provider", "Measure ID")
    assert rows[("P01", "M191")]["Count"].value == "*"             # 4 recovered
    assert rows[("P01", "M076")]["Count"].value == 10              # 9 finished
    assert rows[("P01", "M192")]["Rate (%)"].value == "*"          # numerator 4 suppressed
    assert rows[("P03", "M192")]["Numerator"].value == 5           # 6 -> 5
    assert rows[("P03", "M192")]["Denominator"].value == 10        # 11 -> 10
    assert rows[("P03", "M192")]["Rate (%)"].value == pytest.approx(0.55)  # 54.5 % from unrounded counts
    assert rows[("P03", "M192")]["Rate (%)"].number_format == "0%"
    assert rows[("All providers", "M192")]["Numerator"].value == 75  # 73 -> 75


def test_sheets_have_tables_with_filters_frozen_headers_and_widths(books):
    sheet = books["self-check"]["KPIs"]
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    (table,) = sheet.tables.values()
    assert table.ref.startswith(f"A{HEADER_ROW}:")
    assert sheet.column_dimensions["C"].width >= len("Entered treatment (accessing services)")


def test_attrition_has_a_native_chart_and_hand_worked_steps(books):
    sheet = books["self-check"]["Attrition"]
    assert len(sheet._charts) == 1
    _, rows = rows_by_key(sheet, "Provider", "Step")
    steps = [rows[("RX1", s)]["Referrals"].value for s in
             ("Referrals received", "Entered treatment", "Finished a course", "At caseness at start", "Recovered")]
    assert steps == [6, 4, 3, 2, 1]
    assert rows[("RX1", "Recovered")]["Lost from previous step (%)"].value == pytest.approx(0.5)


def test_only_self_check_has_worklists_one_per_failing_check_or_flagged_rule(books, cohort_result):
    failing = {f.check.code for f in cohort_result.data_quality.findings}
    flagged = {r.code for r in cohort_result.rules if r.flagged}
    assert failing  # the peers' made-up provider codes fail the ODS check, so there is something to list
    worklists = {s.removeprefix("WL ") for s in books["self-check"].sheetnames if s.startswith("WL ")}
    assert worklists == failing | flagged
    for name in ("commissioner", "regulator"):
        assert not [s for s in books[name].sheetnames if s.startswith("WL ")]


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    hostile = ["=HYPERLINK(\"http://example.invalid\",\"x\")", "+1+1", "-3", "@SUM(A1)", "plain"]
    table = Table("t", "Hostile values", [Column("Value")], [[v] for v in hostile], sheet="Values")
    report = Report("self-check", "Title", "Sub", [("Fact", "=1+2")], [Section("s", "S", blocks=[table])])
    book = load_workbook(write_workbook(report, tmp_path / "x.xlsx"))
    cells = [row[0] for row in book["Values"].iter_rows(min_row=HEADER_ROW + 1)]
    assert [c.value for c in cells] == hostile
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True, True, True, True, False]
    fact = next(c for row in book["Summary"].iter_rows() for c in row if c.value == "=1+2")
    assert fact.data_type == "s" and fact.quotePrefix


def test_distribution_sheets_hold_the_hand_worked_scores_and_waits(books):
    _, scores = rows_by_key(books["self-check"]["Score distribution"], "Questionnaire", "Last score")
    # last PHQ-9 of finished courses: REC 4, LOW 4, NOTREC 14; peers' 72 recovered 5, 45 not recovered 14
    assert {s: scores[("PHQ-9", s)]["Referrals"].value for s in (4, 5, 9, 14)} == {4: 2, 5: 72, 9: 0, 14: 46}
    _, waits = rows_by_key(books["self-check"]["Wait distribution"], "Wait", "From day")
    first = {d: waits[("Referral to first treatment", d)]["Referrals"].value for d in (7, 42, 126)}
    assert first == {7: 118, 42: 1, 126: 1}   # peers and LOW at 9-11 days, REC 42, NOTREC 130
    second = {d: waits[("First to second treatment", d)]["Referrals"].value for d in (7, 14, 91)}
    assert second == {7: 2, 14: 117, 91: 1}   # REC and LOW 7 days, peers 14, NOTREC 95
    assert len(books["self-check"]["Score distribution"]._charts) == 1


def test_values_excel_would_misread_keep_their_type_and_format(tmp_path):
    columns = [Column("Text"), Column("Count", "count"), Column("Rate (%)", "percent"), Column("Mean", "number")]
    rows = [["#N/A", 1234, 12.5, 2.25], [" padded ", "*", "*", None], ["bell\x07here", 0, 100.0, 3.0],
            ["x" * 70, 5, None, float("nan")]]
    report = Report("self-check", "Title", "Sub", [], [Section("s", "S", blocks=[
        Table("t", "Awkward values", columns, rows, sheet="Values")])])
    sheet = load_workbook(write_workbook(report, tmp_path / "x.xlsx"))["Values"]
    cells = [list(row) for row in sheet.iter_rows(min_row=HEADER_ROW + 1, max_col=4)]
    assert [c.value for c in cells[0]] == ["#N/A", 1234, 0.125, 2.25]  # an error code stays text
    assert cells[0][0].data_type == "s"
    assert [c.number_format for c in cells[0][1:]] == ["#,##0", "0.0%", "#,##0.0##"]
    assert cells[1][0].value == " padded "                              # spaces kept
    assert [c.value for c in cells[1][1:3]] == ["*", "*"] and cells[1][1].alignment.horizontal == "right"
    assert cells[1][3].value is None
    assert cells[2][0].value == "bell\ufffdhere"                        # XML cannot carry \x07
    assert cells[2][2].value == 1.0
    assert cells[3][0].alignment.wrap_text                              # over 60 characters: wrapped
    assert cells[3][3].value is None                                    # NaN is left blank
