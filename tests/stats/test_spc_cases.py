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
    # three levels, four months each: ranges 0,0,0,10,0,0,0,10,0,0,0, AMR 20/11 = 1.82; screening
    # drops both 10s (>= 3.267 × 1.82 = 5.94) and would leave AMR 0: it is not applied
    result = xmr([10] * 4 + [20] * 4 + [30] * 4)
    assert not result.flat and not result.screened
    assert result.amr == pytest.approx(20 / 11)
    assert result.upper - result.lower == pytest.approx(2 * 2.66 * 20 / 11)
    assert "screening was not applied" in result.warning


def test_a_series_stuck_at_one_value_has_too_little_variation_but_a_step_does_not():
    stuck = xmr([100] * 6 + [97.9] + [100] * 8, bounds=(0, 100))  # AM601's pattern: 14 of 15 at 100%
    assert stuck.flat and np.isnan(stuck.upper) and not stuck.special_cause.any()
    assert "14 of 15 months at 100" in stuck.warning
    step = xmr([10] * 6 + [60] * 6, improvement="decrease")  # a recoding: half the months at each level
    assert not step.flat and step.special_cause.all()
    assert set(step.points["point_type"][6:]) == {"concern"}


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
    every = [(m, code) for m, code, c in charts if all(c["points"]["rule"])]
    assert every == []
    for measure, code, chart in charts:  # every limits period, the recalculated ones too
        for phase in chart["phases"]:
            if phase["lower"] is not None:
                assert phase["upper"] > phase["lower"], (measure, code, phase["start"])
    # W5N3Z's published M126 is 12-25% for five months and 60-72% from September 2024: a sustained
    # step, so its limits are recalculated there rather than every month flagged
    w5n3z = result["spc"]["first_to_second_over_90_days"]["W5N3Z"]
    assert [p["start"] for p in w5n3z["phases"]] == ["2024-04", "2024-09"]
    assert "limits recalculated at 2024-09 after a sustained shift" in w5n3z["notes"]


def test_a_sustained_step_recalculates_the_limits_at_the_change_point():
    months = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
    before, after = [30, 33, 31, 34, 30, 32, 31], [50, 53, 51, 49, 52]
    # without a rebase: mean 476/12 = 39.667; moving ranges 3,2,3,4,2,1,19,3,2,2,3 (AMR 4), screening
    # drops the 19 (>= 3.267 × 4), AMR 25/10 = 2.5, limits 39.667 ± 6.65 = 33.02 to 46.32: the first
    # seven are a shift below the mean, the last five above the upper limit -- every point special
    # cause. Squared deviations: a split at 7 leaves 13.714 + 10 = 23.7; at 5 (30..30 | 32..52) and
    # at 6 (..32 | 31..52) far more; splits leaving fewer than 5 points on a side are not tried.
    result = xmr(before + after, dates=months, improvement="decrease", bounds=(0, 100))
    assert result.points["phase"].tolist() == [0] * 7 + [1] * 5
    assert [p["start"] for p in result.to_dict()["phases"]] == ["2024-04", "2024-11"]
    assert "limits recalculated at 2024-11 after a sustained shift" in result.notes
    first = result.points.iloc[0]
    # part 1: mean 221/7, moving ranges 3,2,3,4,2,1 (AMR 15/6 = 2.5): 31.571 ± 6.65
    assert first["centre"] == pytest.approx(221 / 7)
    assert first["lower"] == pytest.approx(221 / 7 - 2.66 * 2.5)
    assert first["upper"] == pytest.approx(221 / 7 + 2.66 * 2.5)
    # part 2: mean 255/5 = 51, moving ranges 3,2,2,3 (AMR 2.5): 44.35 to 57.65
    assert result.centre == pytest.approx(51)
    assert result.amr == pytest.approx(2.5)
    assert (result.lower, result.upper) == (pytest.approx(44.35), pytest.approx(57.65))
    assert not result.special_cause.any()


def test_no_recalculation_without_five_points_each_side_or_with_a_given_rebase():
    # 9 points, 4 before the step and 5 after: no split leaves 5 on each side, so every point stays special
    short = xmr([30, 33, 31, 34] + [60, 63, 61, 59, 62])
    assert short.special_cause.all() and set(short.points["phase"]) == {0}
    # a clean step between two constant levels: each part would have no variation, so the step
    # is shown as it is (a change), not hidden as two flat periods
    step = xmr([10] * 6 + [60] * 6)
    assert step.special_cause.all() and not any("recalculated" in n for n in step.notes)
    # a steady rise is one change, not two processes: recalculating cannot make it common cause
    rise = xmr(list(range(10, 130, 10)))
    assert rise.special_cause.all() and set(rise.points["phase"]) == {0}
    # the user's own rebase wins
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    given = xmr([30, 33, 31, 34, 30, 32, 31, 50, 53, 51, 49, 52], dates=months, rebase="2024-06")
    assert [p["start"] for p in given.to_dict()["phases"]] == ["2024-01", "2024-06"]
    assert not any("recalculated" in n for n in given.notes)
