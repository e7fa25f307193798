"""Funnel limits against the golden values of ../shared/domain/provider-comparison.md §1.

The twelve providers and every expected figure are copied from that file (FunnelPlotR's own
functions and an independent transcription agree to 10 dp); tolerance 1e-6 as the issue asks.
"""

import math

import numpy as np
import pytest

from iapt_audit.stats.funnel import Funnel

O = [120, 210, 95, 300, 60, 180, 250, 40, 330, 150, 75, 205]
N = [250, 400, 230, 560, 100, 390, 470, 120, 600, 260, 160, 380]
GROUPS = [f"P{i:02d}" for i in range(1, 13)]
TOL = 1e-6


@pytest.fixture(scope="module")
def additive():
    return Funnel(O, N, GROUPS)


def test_target_phi_tau2(additive):
    assert additive.target == pytest.approx(0.5140306122, abs=1e-10)
    assert additive.phi == pytest.approx(3.0460148952, abs=1e-9)
    assert additive.tau2 == pytest.approx(0.0018168922, abs=1e-10)
    assert additive.overdispersed and additive.adjusted


def test_winsorised_z_range(additive):
    low, high = additive.winsorised_range
    assert low == pytest.approx(-2.9764493787, abs=1e-9)
    assert high == pytest.approx(1.7628222987, abs=1e-9)


@pytest.mark.parametrize("method, expected", [
    ("additive", {100: (0.3862613105, 0.6408743594, 0.3154639237, 0.7103153097),
                  600: (0.4217267747, 0.6058542878, 0.3695148619, 0.6573577885)}),
    ("unadjusted", {100: (0.4164283510, 0.6110956165, 0.3613617536, 0.6653702415),
                    600: (0.4740365388, 0.5539349036, 0.4510319767, 0.5768062341)}),
])
def test_limits_table(method, expected):
    table = Funnel(O, N, GROUPS, method=method).limits_table([100, 600]).set_index("N")
    for n, (l95, u95, l998, u998) in expected.items():
        row = table.loc[float(n)]
        assert row["lower95"] == pytest.approx(l95, abs=TOL)
        assert row["upper95"] == pytest.approx(u95, abs=TOL)
        assert row["lower998"] == pytest.approx(l998, abs=TOL)
        assert row["upper998"] == pytest.approx(u998, abs=TOL)


def test_multiplicative_95_limits():
    funnel = Funnel(O, N, GROUPS, method="multiplicative")
    lower, upper = funnel.limits([100, 600], level=95)
    assert lower == pytest.approx([0.343063, 0.444234], abs=TOL)
    assert upper == pytest.approx([0.684998, 0.583828], abs=TOL)


def test_phi_and_tau2_do_not_depend_on_the_method():
    for method in ("unadjusted", "multiplicative"):
        funnel = Funnel(O, N, GROUPS, method=method)
        assert funnel.phi == pytest.approx(3.0460148952, abs=1e-9)
        assert funnel.tau2 == pytest.approx(0.0018168922, abs=1e-10)
    assert not Funnel(O, N, GROUPS, method="unadjusted").adjusted


def test_outliers_use_limits_at_each_groups_own_denominator(additive):
    table = additive.outliers()
    # P05 is 60/100 and P09 330/600: their limits are the golden 99.8 % rows for N = 100 and 600
    assert table.loc["P05", ["lower", "upper"]].tolist() == pytest.approx([0.3154639237, 0.7103153097], abs=TOL)
    assert table.loc["P09", ["lower", "upper"]].tolist() == pytest.approx([0.3695148619, 0.6573577885], abs=TOL)
    # with the adjustment nobody is outside; unadjusted, P08 (40/120 = 0.333) is below its limit
    assert table["flag"].isna().all()
    unadjusted = Funnel(O, N, GROUPS, method="unadjusted").outliers()
    assert unadjusted.loc["P08", "flag"] == "low"


def test_z_matches_the_limits(additive):
    # |z| > 3.090232 exactly when outside the 99.8 % limits: check on P08 by hand
    theta0 = math.asin(math.sqrt(0.5140306122))
    expected = (math.asin(math.sqrt(40 / 120)) - theta0) / math.sqrt(1 / (4 * 120) + 0.0018168922)
    assert additive.z["P08"] == pytest.approx(expected, abs=1e-7)


def test_no_overdispersion_keeps_unadjusted_limits():
    # every group exactly at the pooled rate: all z are 0, phi 0, so the limits are unadjusted
    funnel = Funnel([50, 100, 25], [100, 200, 50], ["A", "B", "C"])
    assert funnel.phi == 0 and funnel.tau2 == 0 and not funnel.adjusted
    lower, upper = funnel.limits([100], level=95)
    half = 1.959963984540054 / (2 * math.sqrt(100))
    assert lower[0] == pytest.approx(math.sin(math.pi / 4 - half) ** 2, abs=1e-12)
    assert upper[0] == pytest.approx(math.sin(math.pi / 4 + half) ** 2, abs=1e-12)


def test_limits_stop_at_zero_instead_of_folding_back():
    # target 2 %: at N = 5 the angle theta0 - z*s is negative, so the lower limit is 0, not sin² > 0
    funnel = Funnel([2, 2], [100, 100], ["A", "B"], method="unadjusted")
    lower, upper = funnel.limits([5, 10_000])
    assert lower[0] == 0.0
    assert 0 < lower[1] < 0.02 < upper[1]
    assert np.all(np.diff(funnel.limits_table([5, 20, 100, 1000])["lower998"]) >= 0)


@pytest.mark.parametrize("numerators, denominators", [
    ([5, 11], [10, 10]),   # numerator above denominator
    ([1, 1], [0, 10]),     # zero denominator
    ([np.nan, 1], [10, 10]),
    ([1], [10]),           # a single group
])
def test_bad_counts_are_refused(numerators, denominators):
    with pytest.raises(ValueError):
        Funnel(numerators, denominators)


def test_level_must_be_one_funnelplotr_draws(additive):
    with pytest.raises(ValueError, match="95 or 99.8"):
        additive.limits([100], level=99)
