"""The regulator report on NHS Digital's published files (what ``iapt-audit outliers`` analyses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from iapt_audit.outliers import analyse_published
from iapt_audit.report.excel import HEADER_ROW
from iapt_audit.report.writer import write_published_reports

PUBLISHED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "published"
MEASURES = ["recovery", "wait_6_weeks", "first_to_second_over_90_days"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    if not (PUBLISHED / "annual").is_dir():
        pytest.skip(f"published NHS data not found at {PUBLISHED.resolve()}")
    months = sorted((PUBLISHED / "monthly").glob("nhs-talking-therapies-monthly-2024-*.csv.gz"))
    annual = PUBLISHED / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"
    analysis = analyse_published([annual, *months], measures=MEASURES)
    out = tmp_path_factory.mktemp("published")
    return analysis, {p.suffix: p for p in write_published_reports(analysis, out)}


def test_the_workbook_holds_funnels_outliers_spc_and_hidden_waits(written):
    _, paths = written
    book = load_workbook(paths[".xlsx"])
    assert book.sheetnames == ["Summary", "Funnels", "Persistence", "Outliers", "Funnel charts", "SPC", "SPC series",
                               "SPC charts", "Hidden waits"]
    # a native chart per funnel drawn (one per measure) and per SPC chart drawn in the page
    assert len(book["Funnel charts"]._charts) == len(MEASURES)
    assert len(book["SPC charts"]._charts) >= 1
    funnels = book["Funnels"]
    headers = [c.value for c in funnels[HEADER_ROW]]
    rows = {r[0].value: r for r in funnels.iter_rows(min_row=HEADER_ROW + 1)}
    # shared/data/README.md: 2019-20 has 171 providers with usable recovery data around 51 %
    recovery = rows["Recovery rate (2019-20)"]
    assert recovery[headers.index("Providers")].value == 171
    assert recovery[headers.index("Target (%)")].value == pytest.approx(0.51, abs=0.01)
    assert recovery[headers.index("M-code")].value == "M192"
    assert recovery[headers.index("Better when")].value == "higher is better"


def test_concerns_come_first_and_rates_are_numbers_beside_the_published_rate(written):
    _, paths = written
    sheet = load_workbook(paths[".xlsx"])["Outliers"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1))
    verdicts = [r[headers.index("Verdict")].value for r in rows]
    first_common = verdicts.index("common cause")
    assert verdicts[0] == "worse than expected"
    assert set(verdicts[first_common:]) == {"common cause"}
    assert sheet.auto_filter.ref or sheet.tables  # filters on the header row
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    rate = rows[0][headers.index("Rate (%)")]
    assert isinstance(rate.value, float) and 0 <= rate.value <= 1 and "%" in rate.number_format
    published = [r for r in rows if r[headers.index("Period")].value == "2019-20"
                 and r[headers.index("Measure")].value == "Recovery rate"]
    # NHS Digital's published 2019-20 recovery percentage stands beside the recomputed rate
    assert all(r[headers.index("Published rate (%)")].value is not None for r in published[:20])


def test_persistence_view_counts_the_months_each_provider_is_worse_than_expected(written):
    analysis, paths = written
    sheet = load_workbook(paths[".xlsx"])["Persistence"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    top = rows[0]
    measure, org = top[headers.index("Measure")], top[headers.index("Provider")]
    key = {"Recovery rate": "recovery", "Entered treatment within 6 weeks": "wait_6_weeks",
           "First to second treatment over 90 days (%)": "first_to_second_over_90_days"}[measure]
    worse = [f["period"] for f in analysis["funnels"] if f["measure"] == key
             and f["providers"].get(org, {}).get("verdict") == "worse than expected"]
    compared = [f["period"] for f in analysis["funnels"] if f["measure"] == key and org in f["providers"]]
    assert top[headers.index("Worse than expected in")] == f"{len(worse)} of {len(compared)}"
    assert top[headers.index("Periods worse", )] == max(r[headers.index("Periods worse")] for r in rows)


def test_the_page_draws_a_funnel_per_measure_and_spc_for_special_causes(written):
    analysis, paths = written
    page = paths[".html"].read_text(encoding="utf-8")
    for measure in MEASURES:
        assert f'<figure class="chart" id="funnel-{measure}">' in page
    expected = sum(min(sum(c["points"]["point_type"][-1] != "common_cause" for c in charts.values()), 2)
                   for charts in analysis["spc"].values())
    assert expected > 0
    assert page.count('<figure class="chart" id="spc-') == expected
    # the masthead says which rounding applies: published counts rounded to 5, rates recomputed
    assert "rounded to the nearest 5" in page and "calculated from the unrounded counts" not in page
    # each kind of SPC warning is stated once with its count, not once per chart
    assert page.count("Trial limits (fewer than 13 months)") <= 3


def test_the_page_fits_a_reader(written):
    """12 months of three measures for every provider: the page stays short (a few screens)."""
    _, paths = written
    page = paths[".html"].read_text(encoding="utf-8")
    assert page.count("<svg") <= 3 + 3 * 2
    assert len(page) < 3_000_000


def test_the_outliers_command_writes_the_regulator_report(tmp_path):
    from click.testing import CliRunner

    from iapt_audit.cli import main

    if not (PUBLISHED / "annual").is_dir():
        pytest.skip(f"published NHS data not found at {PUBLISHED.resolve()}")
    annual = PUBLISHED / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"
    run = CliRunner().invoke(main, ["outliers", str(annual), "--out", str(tmp_path), "--measure", "recovery",
                                    "--report", "html", "--report", "xlsx"])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outliers.json", "regulator.html", "regulator.xlsx"]
    assert '<figure class="chart" id="funnel-recovery">' in (tmp_path / "regulator.html").read_text(encoding="utf-8")
