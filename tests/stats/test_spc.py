"""XmR arithmetic and the four special-cause rules on series worked out by hand.

Each fixture is built so that exactly one rule fires; the expected centre, average moving range
and limits are written as the hand arithmetic (sums of the values and of the moving ranges),
following ../shared/domain/provider-comparison.md §2.
"""

import pandas as pd
import pytest

from iapt_audit.stats.spc import xmr

MONTHS = pd.period_range("2024-01", periods=13, freq="M").astype(str).tolist()


def rules(result):
    """{month: rule} for the points where a special cause fired."""
    return {d: r for d, r in result.points["rule"].items() if isinstance(r, str)}


def test_outside_limits_with_screening():
    # 10,14 alternating with a spike of 40 at month 6 (index 5)
    y = [10, 14, 10, 14, 10, 40, 10, 14, 10, 14, 10, 14, 10]
    result = xmr(y, dates=MONTHS)
    centre = 180 / 13                       # 7×10 + 5×14 + 40
    # moving ranges: ten of 4 and two of 30; mean 100/12 = 8.33; 30 >= 3.267×8.33 = 27.2 is
    # screened out, leaving ten 4s: AMR = 4
    assert result.centre == pytest.approx(centre)
    assert result.amr == pytest.approx(4.0)
    assert result.upper == pytest.approx(centre + 2.66 * 4)
    assert result.lower == pytest.approx(centre - 2.66 * 4)
    assert result.upper_near == pytest.approx(centre + 2 * 2.66 / 3 * 4)
    assert rules(result) == {"2024-06": "outside_limits"}
    assert result.points.loc["2024-06", "point_type"] == "neutral_high"
    assert result.warning is None


def test_screening_can_be_switched_off():
    y = [10, 14, 10, 14, 10, 40, 10, 14, 10, 14, 10, 14, 10]
    result = xmr(y, screen_outliers=False)
    assert result.amr == pytest.approx(100 / 12)
    # unscreened upper limit 13.85 + 22.17 = 36.0: the spike of 40 is still outside
    assert result.upper == pytest.approx(180 / 13 + 2.66 * 100 / 12)
    assert rules(result) == {5: "outside_limits"}


def test_screening_narrows_limits_around_a_single_shock():
    # 10,12 ×6 then 37: ranges eleven 2s and one 25 -> screened AMR 22/11 = 2
    y = [10, 12] * 6 + [37]
    # With the package's mean of 13 the first twelve points all sit below it (a run of 12) and the
    # 37 is outside: every point would be special cause. The one-month shock is then left out of
    # the mean (ghosted): centre 132/12 = 11, AMR 2, limits 11 ± 5.32; only the 37 is special.
    screened = xmr(y)
    assert screened.centre == pytest.approx(11.0)
    assert screened.amr == pytest.approx(2.0)
    assert (screened.lower, screened.upper) == pytest.approx((11 - 5.32, 11 + 5.32))
    assert rules(screened) == {12: "outside_limits"}
    assert "ghosted" in screened.warning


def test_seven_point_trend():
    # rising 10..16 at indices 3-9 (six steps of +1); everything else alternates
    y = [14, 10, 14, 10, 11, 12, 13, 14, 15, 16, 10, 14, 10]
    result = xmr(y, improvement="increase")
    # centre 163/13 = 12.54; ranges 4,4,4,1,1,1,1,1,1,6,4,4 -> AMR 32/12; near limits 12.54 ± 4.73
    # so no point is near a limit; sides: the longest run on one side is 4 (indices 6-9)
    assert result.amr == pytest.approx(32 / 12)
    assert rules(result) == {i: "trend" for i in range(3, 10)}
    assert set(result.points.loc[3:9, "point_type"]) == {"improvement"}
    assert result.points.loc[0, "point_type"] == "common_cause"


def test_falling_trend_is_a_concern_when_higher_is_better():
    y = [10, 14, 10, 14, 16, 15, 14, 13, 12, 11, 10, 14, 10]
    result = xmr(y, improvement="increase")
    assert rules(result) == {i: "trend" for i in range(4, 11)}
    assert set(result.points.loc[4:10, "point_type"]) == {"concern"}


def test_two_of_three_beyond_two_sigma():
    y = [12, 13, 12, 13, 12, 13, 16, 14, 16, 12, 13, 12, 13]
    result = xmr(y)
    centre = 171 / 13                        # 13.154
    amr = 19 / 12                            # ranges 1,1,1,1,1,3,2,2,4,1,1,1
    assert result.centre == pytest.approx(centre)
    assert result.amr == pytest.approx(amr)
    # near upper 13.154 + 1.7733×1.583 = 15.96 < 16 < upper 17.37: indices 6 and 8 are beyond 2σ,
    # and 16,14,16 are all above the centre; index 7 (14) is not beyond 2σ so it is not marked
    assert result.upper_near < 16 < result.upper
    assert rules(result) == {6: "two_of_three", 8: "two_of_three"}


def test_two_of_three_needs_all_three_on_one_side():
    # same high points, but the middle point drops below the centre
    y = [12, 13, 12, 13, 12, 13, 16, 12, 16, 12, 13, 12, 13]
    assert "two_of_three" not in rules(xmr(y)).values()


def test_shift_of_seven_on_one_side():
    # 14 ×7 at indices 5-11 above the centre 174/13 = 13.38; repeats break any trend
    y = [12, 14, 12, 14, 12, 14, 14, 14, 14, 14, 14, 14, 12]
    result = xmr(y, improvement="decrease")
    assert result.amr == pytest.approx(1.0)     # ranges: 2,2,2,2,2,0,0,0,0,0,0,2
    assert rules(result) == {i: "shift" for i in range(5, 12)}
    assert set(result.points.loc[5:11, "point_type"]) == {"concern"}


def test_run_length_six_option():
    # a run of exactly 6 above the centre (indices 5-10): special only with run_length=6
    y = [12, 14, 12, 14, 12, 14, 14, 14, 14, 14, 14, 12, 12]
    assert rules(xmr(y)) == {}
    assert rules(xmr(y, run_length=6)) == {i: "shift" for i in range(5, 11)}


def test_a_point_on_the_centre_breaks_a_run():
    # centre is exactly 13 (115 + 54 = 169): the 13 at index 4 splits eight points above the
    # centre into runs of 4 and 3; ranges sum to 21, AMR 1.75, so every point is inside 2σ
    y = [15, 14, 15, 14, 13, 15, 14, 15, 10, 12, 10, 12, 10]
    result = xmr(y)
    assert result.centre == pytest.approx(13.0)
    assert result.amr == pytest.approx(21 / 12)
    assert rules(result) == {}
    # with 13.5 instead of 13 (centre 169.5/13 = 13.04) the first eight points form one run
    nudged = rules(xmr([15, 14, 15, 14, 13.5, 15, 14, 15, 10, 12, 10, 12, 10]))
    assert [nudged.get(i) for i in range(8)] == ["shift"] * 8
    assert "shift" not in rules(result).values()


def test_short_series_warns():
    assert "12 points" in xmr([10, 14] * 6).warning
    assert xmr([10, 14] * 6 + [10]).warning is None


def test_missing_months_are_skipped_and_dates_order_the_series():
    dates = ["2024-03", "2024-01", "2024-02", "2024-04"]
    result = xmr([30, 10, None, 20], dates=dates)
    assert result.points.index.tolist() == ["2024-01", "2024-03", "2024-04"]
    # 2024-02 is missing: no moving range crosses the gap, and the gap is named
    assert result.points["moving_range"].tolist()[1:] == pytest.approx([float("nan"), 10], nan_ok=True)
    assert result.gaps == [{"from": "2024-02", "to": "2024-02", "months": 1}]
    assert result.centre == pytest.approx(20)


def test_to_dict_is_plain_json():
    import json

    out = xmr([10, 14, 10, 14, 10, 40, 10, 14, 10, 14, 10, 14, 10], dates=MONTHS).to_dict()
    text = json.dumps(out, allow_nan=False)
    assert out["points"]["rule"][5] == "outside_limits" and out["points"]["rule"][0] is None
    assert '"date": ["2024-01"' in text


def test_bad_arguments():
    with pytest.raises(ValueError):
        xmr([5])
    with pytest.raises(ValueError):
        xmr([1, 2, 3], improvement="up")
