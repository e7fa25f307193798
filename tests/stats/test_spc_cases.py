"""SPC on the shared comparison cases (``../shared/cases/comparison/``) and on England's real
monthly files for 2024-25, against the right results in ``../shared/cases/README.md``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iapt_audit.outliers import analyse_published
from iapt_audit.stats.spc import xmr

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CASES = SHARED / "cases" / "comparison"
MONTHLY = SHARED / "data" / "published" / "monthly"
YEAR_2024_25 = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]


def case(name: str) -> Path:
    folder = CASES / name
    if not folder.is_dir():
        pytest.skip(f"shared comparison case not found at {folder.resolve()} (CI puts shared/ beside the clone)")
    return folder


def test_uk_dates_give_months_in_time_order_and_a_rising_trend():
    result = analyse_published([case("published_monthly_uk_dates")], measures=["recovery"])
    months = [f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 4)]
    assert result["periods"] == months
    chart = result["spc"]["recovery"]["PX1"]
    assert chart["points"]["date"] == months
    values = chart["points"]["value"]
    assert values[0] == 33 and values[-1] == 64          # the published M192 of the first and last file
    assert all(b > a for a, b in zip(values, values[1:]))  # rises every month: no invented fall
    assert all(chart["points"]["rule"]) and "trend" in chart["points"]["rule"]  # outside limits outranks it
    # recovery: higher is better, so the trend is an improvement (the first months, below the
    # lower limit, are typed by their side as the package types them)
    assert {t for r, t in zip(chart["points"]["rule"], chart["points"]["point_type"]) if r == "trend"} == {"improvement"}


def test_missing_months_are_a_named_gap_that_no_run_crosses():
    result = analyse_published([case("spc_missing_months")], measures=["recovery"])
    chart = result["spc"]["recovery"]["PX1"]
    assert chart["gaps"] == [{"from": "2022-05", "to": "2022-12", "months": 8}]
    assert "2022-05 to 2022-12" in chart["warning"]
    # 52,53,52,53 | gap | 53,52,53 are seven points above the mean, but not seven consecutive months
    assert "shift" not in chart["points"]["rule"]
    assert chart["points"]["date"][3:5] == ["2022-04", "2023-01"]


def test_moving_ranges_trends_and_runs_stop_at_a_gap():
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-09", "2024-10", "2024-11", "2024-12"]
    rising = [1, 2, 3, 4, 5, 6, 7, 8]          # one 8-point rise, broken by the gap into 4 + 4
    result = xmr(rising, dates=months)
    assert np.isnan(result.points["moving_range"].iloc[4])
    assert "trend" not in set(result.points["rule"].dropna())
    assert "trend" in xmr(rising).points["rule"].tolist()   # without dates: consecutive


def test_near_100_percent_series_never_get_zero_width_limits_or_all_special_cause():
    result = analyse_published([case("spc_near_100_percent")], measures=["wait_18_weeks"])
    charts = result["spc"]["wait_18_weeks"]
    assert len(charts) == 78
    for code, chart in charts.items():
        rules = chart["points"]["rule"]
        assert not all(rules), code
        if chart["flat"]:
            assert chart["lower"] is None and "too little variation" in chart["warning"]
            continue
        assert chart["upper"] > chart["lower"], code
        assert 0 <= chart["lower"] and chart["upper"] <= 100, code
    # AM601: 100% in 14 months and 97.9% in one: stuck at the bound, not 15 special causes
    assert charts["AM601"]["flat"] and not any(charts["AM601"]["points"]["rule"])


def test_screening_that_would_leave_zero_width_limits_is_not_applied():
    # ranges 0,0,4,4,0,0,0,0,0,4,4 and more: median 0 would be flat, so use a series with half
    # the changes non-zero: 50,51 alternating with one dip to 40. Ranges: ten 1s, two 11s.
    y = [50, 51, 50, 51, 50, 51, 40, 51, 50, 51, 50, 51, 50]
    screened = xmr(y)
    assert screened.upper > screened.lower
    # a series whose only non-zero ranges are the screened ones: 60 ×6, 80, 60 ×6, 61 ... is flat
    flat = xmr([60] * 6 + [80] + [60] * 6)
    assert flat.flat and np.isnan(flat.upper) and not flat.special_cause.any()
    assert "too little variation" in flat.warning


def test_percentage_limits_are_clipped_to_0_and_100():
    result = xmr([99, 97, 100, 96, 99, 100, 95, 98, 100, 97, 99, 96, 100], bounds=(0, 100))
    assert result.upper == 100
    assert (result.points["upper"] <= 100).all()
    unclipped = xmr([99, 97, 100, 96, 99, 100, 95, 98, 100, 97, 99, 96, 100])
    assert unclipped.upper > 100                  # mean 98.15 + 2.66 × AMR 2.75 = 105.5


def test_rebase_gives_each_period_its_own_limits_and_runs_stop_there():
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    y = [20, 22] * 6 + [40, 42] * 6
    result = xmr(y, dates=months, rebase="2025-01")
    assert result.points["phase"].tolist() == [0] * 12 + [1] * 12
    assert result.points["centre"].iloc[0] == pytest.approx(21)
    assert result.centre == pytest.approx(41)
    assert result.amr == pytest.approx(2)
    assert not result.special_cause.any()
    assert [p["start"] for p in result.to_dict()["phases"]] == ["2024-01", "2025-01"]


def test_assurance_against_a_target():
    y = [60, 62] * 7                                   # centre 61, AMR 2: limits 55.68 to 66.32
    assert xmr(y, improvement="increase", target=50).assurance == "pass"
    assert xmr(y, improvement="increase", target=75).assurance == "fail"
    assert xmr(y, improvement="increase", target=61).assurance == "inconsistent"
    assert xmr(y, improvement="decrease", target=50).assurance == "fail"
    assert xmr(y, improvement="neutral", target=50).assurance is None


def test_variation_icon_of_the_last_point():
    y = [14, 10, 14, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert xmr(y, improvement="increase").variation == "improvement_high"
    assert xmr(y, improvement="decrease").variation == "concern_high"
    assert xmr([10, 14] * 7).variation == "common_cause"


def test_englands_real_monthly_files_2024_25():
    files = [MONTHLY / f"nhs-talking-therapies-monthly-{m}.csv.gz" for m in YEAR_2024_25]
    if not all(f.is_file() for f in files):
        pytest.skip(f"published NHS monthly files not found at {MONTHLY.resolve()} (CI puts shared/ beside the clone)")
    result = analyse_published(files)
    charts = [(m, code, c) for m, by_org in result["spc"].items() for code, c in by_org.items()]
    assert len(charts) > 1000
    for measure, code, chart in charts:
        if chart["flat"]:
            assert chart["lower"] is None and not any(chart["points"]["rule"])
            continue
        assert chart["upper"] - chart["lower"] > 0, (measure, code)
        for phase in chart["phases"]:
            assert 0 <= phase["lower"] <= phase["upper"] <= 100, (measure, code)
    every = {(m, code) for m, code, c in charts if all(c["points"]["rule"])}
    # every point special cause only where the level really moved: a sustained rise or fall or a
    # step of many points (named here from the published series), never from a one-month shock
    # or values stuck at a bound
    assert every <= {("first_to_second_over_90_days", "TAH"), ("first_to_second_over_90_days", "W5N3Z"),
                     ("first_to_second_over_90_days", "NWC05"),
                     ("wait_18_weeks", "RXT"), ("wait_6_weeks", "NWC11")}
