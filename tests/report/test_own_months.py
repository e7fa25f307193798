"""The audit's own months (issue 16 item 7): a change in coding after a contract change, here
one-treatment endings jumping from 1 in 10 to 6 in 10 from October, shows on the provider's XmR
chart as special cause, in the commissioner and self-check reports; and the workbook holds the
series behind it as numbers."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from builders import course, merge, write_extract
from iapt_audit.audit import run_audit
from iapt_audit.report.excel import HEADER_ROW
from iapt_audit.report.writer import write_reports

MONTHS = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]


def month_of_courses(month: str, once: int) -> dict:
    """Ten treated referrals ending in ``month``: ``once`` after one treatment, the rest after two."""
    parts = []
    for i in range(10):
        dates = [f"{month}-03"] if i < once else [f"{month}-03", f"{month}-10"]
        parts.append(course(f"{month}-{i}", dates, phq=[15, 8][:len(dates)], gad=[12, 6][:len(dates)],
                            received=f"{month}-01", discharged=f"{month}-20"))
    return merge(*parts)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    tables = merge(*[month_of_courses(m, 1 if m < "2024-10" else 6) for m in MONTHS])
    folder = write_extract(tmp_path_factory.mktemp("months") / "extract", tables)
    result = run_audit(folder, period="2024-04-01:2025-03-31")
    out = tmp_path_factory.mktemp("months-out")
    return result, {p.name: p for p in write_reports(result, out, audiences=("self-check", "commissioner"),
                                                     formats=("html", "xlsx"))}


def test_a_coding_change_is_special_cause_on_the_providers_own_months(audited):
    result, _ = audited
    chart = result.monthly["Percentage_AccessAttrition"]["RX1"]
    assert chart["points"]["date"] == MONTHS
    assert chart["points"]["value"] == pytest.approx([10.0] * 6 + [60.0] * 6)
    assert chart["numerator"] == [1] * 6 + [6] * 6 and chart["denominator"] == [10] * 12
    # lower is better: the later months are worse than expected (a shift of six and the jump),
    # the earlier better than expected; nothing is common cause in a series that jumped
    later = chart["points"]["point_type"][6:]
    assert set(later) == {"concern"}
    assert set(chart["points"]["point_type"][:6]) == {"improvement"}
    assert result.findings()["monthly_spc"]["Percentage_AccessAttrition"]["RX1"]["variation"] == "concern_high"


def test_the_commissioner_and_self_check_reports_draw_it(audited):
    _, paths = audited
    for audience in ("commissioner", "self-check"):
        page = paths[f"{audience}.html"].read_text(encoding="utf-8")
        assert '<figure class="chart" id="spc-Percentage_AccessAttrition-RX1">' in page
        assert "Monthly SPC of this extract" in page


def test_the_workbook_holds_the_monthly_series_as_numbers(audited):
    _, paths = audited
    sheet = load_workbook(paths["self-check.xlsx"])["SPC series"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    rows = [r for r in sheet.iter_rows(min_row=HEADER_ROW + 1)
            if r[headers.index("Measure")].value == "Access attrition (ended after one treatment)"]
    assert [r[headers.index("Month")].value for r in rows] == MONTHS
    value = rows[-1][headers.index("Value (%)")]
    assert value.value == pytest.approx(0.6) and "%" in value.number_format
    assert rows[0][headers.index("Numerator")].value == 1
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
