"""The audit's own months (issue 16 item 7): a change in coding after a contract change, here
one-treatment endings jumping from 1 in 10 to 6 in 10 from October, shows on the provider's XmR
chart as special cause, in the commissioner and self-check reports; and the workbook holds the
series behind it as numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from builders import course, merge, write_extract
from iapt_audit.audit import run_audit
from iapt_audit.io.extract import read_extract
from iapt_audit.model.thresholds import SCALES
from iapt_audit.outliers import _month_numbers, _open_during
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import Period, resolve_period
from iapt_audit.rules_engine.catalogue import select_rules
from iapt_audit.rules_engine.settings import limits_for
from iapt_audit.synth.generate import generate
from iapt_audit.report.excel import HEADER_ROW
from iapt_audit.report.writer import write_reports

MONTHS = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]


def month_of_courses(month: str, once: int, *, referrals: int = 10, single_app: str = "02") -> dict:
    """``referrals`` treated referrals ending in ``month``: ``once`` after one treatment contact of
    AppType ``single_app``, the rest after two (AppType 02)."""
    parts = []
    for i in range(referrals):
        one = i < once
        dates = [f"{month}-03"] if one else [f"{month}-03", f"{month}-10"]
        parts.append(course(f"{month}-{i}", dates, app_types=[single_app] if one else ["02", "02"],
                            phq=[15, 8][:len(dates)], gad=[12, 6][:len(dates)],
                            received=f"{month}-01", discharged=f"{month}-20"))
    return merge(*parts)


def audit_and_report(tmp_path_factory, name: str, tables: dict):
    """The audit of one provider's year and its self-check and commissioner reports (html, xlsx)."""
    header = {"OrgIDProv": "RX1", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}
    folder = write_extract(tmp_path_factory.mktemp(name) / "extract", tables, header)
    result = run_audit(folder, period="2024-04-01:2025-03-31")
    out = tmp_path_factory.mktemp(f"{name}-out")
    return result, {p.name: p for p in write_reports(result, out, audiences=("self-check", "commissioner"),
                                                     formats=("html", "xlsx"))}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    return audit_and_report(tmp_path_factory, "months",
                            merge(*[month_of_courses(m, 1 if m < "2024-10" else 6) for m in MONTHS]))


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


# ---- a gaming indicator on the provider's own months (GM01, assess-and-treat single sessions) ----

SINGLE_03 = [2, 3, 2, 1, 2, 3] + [12, 13, 12, 11, 12, 13]   # of 20 ended treated referrals a month


@pytest.fixture(scope="module")
def recoded(tmp_path_factory):
    """Twenty treated referrals ending each month; SINGLE_03 of them after one contact coded 03."""
    return audit_and_report(tmp_path_factory, "recoded", merge(*[month_of_courses(m, n, referrals=20, single_app="03")
                                                                 for m, n in zip(MONTHS, SINGLE_03)]))


def test_assess_and_treat_recoding_mid_year_is_special_cause_on_gm01(recoded):
    result, _ = recoded
    chart = result.monthly["GM01"]["RX1"]
    assert chart["points"]["date"] == MONTHS
    assert chart["numerator"] == SINGLE_03 and chart["denominator"] == [20] * 12
    assert chart["points"]["value"] == pytest.approx([5.0 * n for n in SINGLE_03])
    # by hand: values 10,15,10,5,10,15 | 60,65,60,55,60,65, mean 430/12 = 35.833; moving ranges 5 ×5,
    # 45, 5 ×5 (AMR 95/11 = 8.64); screening drops the 45 (>= 3.267 × 8.64 = 28.2), AMR 50/10 = 5,
    # limits 35.833 ± 13.3 = 22.53 to 49.13: every month before October below the lower limit,
    # every month from October above the upper one
    assert chart["centre"] == pytest.approx(430 / 12)
    assert chart["amr"] == pytest.approx(5)
    assert (chart["lower"], chart["upper"]) == (pytest.approx(430 / 12 - 13.3), pytest.approx(430 / 12 + 13.3))
    assert chart["points"]["rule"] == ["outside_limits"] * 12
    # a gaming indicator is better lower: the recoded months are worse than expected, and the
    # limits are not recalculated at the shift (it is the finding here)
    assert chart["points"]["point_type"] == ["improvement"] * 6 + ["concern"] * 6
    assert [p["start"] for p in chart["phases"]] == ["2024-04"]
    # the rule's own measure per month: GM07 (any single treatment) sees the same change, the
    # KPI's access attrition too; both are charted beside it
    assert result.monthly["GM07"]["RX1"]["numerator"] == SINGLE_03
    assert result.monthly["Percentage_AccessAttrition"]["RX1"]["numerator"] == SINGLE_03


def test_the_reports_and_workbook_carry_the_gaming_indicators_months(recoded):
    result, paths = recoded
    title = f"GM01 {next(r.rule.title for r in result.rules if r.code == 'GM01')}"
    for audience in ("commissioner", "self-check"):
        page = paths[f"{audience}.html"].read_text(encoding="utf-8")
        assert '<figure class="chart" id="spc-GM01-RX1">' in page
        assert title in page
    sheet = load_workbook(paths["self-check.xlsx"])["SPC series"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    rows = [r for r in sheet.iter_rows(min_row=HEADER_ROW + 1) if r[headers.index("Measure")].value == title]
    assert [r[headers.index("Month")].value for r in rows] == MONTHS
    assert [r[headers.index("Numerator")].value for r in rows] == SINGLE_03
    assert rows[-1][headers.index("Value (%)")].value == pytest.approx(0.65)


def test_each_month_rules_measure_the_same_cases_on_the_cut_as_on_the_whole_extract(tmp_path):
    """monthly_spc measures each rule on the referrals open in the month (and the same patients'
    other referrals); the whole extract is the reference, on a synthetic year with planted patterns."""
    folder = tmp_path / "synthetic"
    generate(folder, providers=4, referrals=4000, seed=3)
    extract = read_extract(folder)
    pathways, period = derive_pathways(extract), resolve_period(None, extract)
    r = pathways.referrals
    patient = r.groupby(["OrgIDProv", "LocalPatientId"], observed=True, sort=False).ngroup().to_numpy()
    contact_months = _month_numbers(pathways.contacts["CareContDate"])
    compared = 0
    for month in pd.period_range(period.start, period.end, freq="M"):
        window = Period(month.start_time, month.end_time.normalize(), "month")
        cut = _open_during(pathways, window, contact_months == month.year * 12 + month.month - 1, patient)
        assert len(cut.referrals) < len(r)
        for entry in select_rules(None, None):
            limits = limits_for(entry.rule, None)
            whole = entry.rule().measure(pathways, window, limits, SCALES).cases
            part = entry.rule().measure(cut, window, limits, SCALES).cases
            key = ["OrgIDProv", "ServiceRequestId"]
            assert sorted(map(tuple, whole.loc[whole["counted"], key].to_numpy().tolist())) == \
                sorted(map(tuple, part.loc[part["counted"], key].to_numpy().tolist())), (entry.code, str(month))
            assert len(whole) == len(part), (entry.code, str(month))
            # every fact of every case, the ones a cut takes from the whole (facts.cut_facts) too
            pd.testing.assert_frame_equal(whole.sort_values(key).reset_index(drop=True),
                                          part.sort_values(key).reset_index(drop=True), check_dtype=False)
            compared += int(whole["counted"].sum())
    assert compared > 0
