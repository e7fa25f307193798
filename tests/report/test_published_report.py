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
    assert book.sheetnames == ["Summary", "Funnels", "Outliers", "Hidden waits", "SPC"]
    funnels = book["Funnels"]
    rows = {r[0].value: r for r in funnels.iter_rows(min_row=HEADER_ROW + 1)}
    # shared/data/README.md: 2019-20 has 171 providers with usable recovery data around 51 %
    recovery = rows["Recovery rate (2019-20)"]
    assert recovery[1].value == 171
    assert recovery[2].value == pytest.approx(0.51, abs=0.01)


def test_flagged_providers_come_first(written):
    _, paths = written
    sheet = load_workbook(paths[".xlsx"])["Outliers"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    flags = [r[headers.index("Flag")].value for r in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    first_within = flags.index("Within limits")
    assert first_within > 0
    assert set(flags[first_within:]) == {"Within limits"}


def test_the_page_draws_a_funnel_per_measure_and_spc_for_special_causes(written):
    analysis, paths = written
    page = paths[".html"].read_text(encoding="utf-8")
    for measure in MEASURES:
        assert f'<figure class="chart" id="funnel-{measure}">' in page
    expected = sum(min(sum(c["points"]["point_type"][-1] != "common_cause" for c in charts.values()), 12)
                   for charts in analysis["spc"].values())
    assert expected > 0
    assert page.count('<figure class="chart" id="spc-') == expected


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
