"""Rates recomputed from published counts reproduce NHS Digital's own percentages.

England's counts are not rounded, so the recomputed England rates must match the published
ones to the published precision (0.05 points) in every year and month. The annual files call
reliable improvement ``Percentage_Improvement`` (``Percentage_ReliableImprovement`` in the
monthly metadata, M186).
"""

import numpy as np
import pytest

from iapt_audit.io.published import read_published
from iapt_audit.stats.spc import xmr

ANNUAL = {  # year -> file, the 8 annual main CSVs
    "2017-18": "psych-ther-ann-rep-csv-2017-18-main-csv.csv.gz",
    "2018-19": "psych-ther-ann-rep-csv-2018-19-main-csv.csv.gz",
    "2019-20": "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz",
    "2020-21": "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv.gz",
    "2021-22": "psych-ther-ann-rep-csv-2021-22-main-csv.csv.gz",
    "2022-23": "psych-ther-ann-rep-csv-2022-23-main-v2.csv.gz",
    "2023-24": "psych-ther-ann-rep-csv-2023-24-main.csv.gz",
    "2024-25": "psych-ther-ann-rep-csv-2024-25-main2.csv.gz",
}
# iapt-dataset.md §5 (computed there from the same files' waiting-time bands): ≤6 weeks % and
# first-to-second > 90 days % of finished courses, England
SIX_WEEKS = {"2017-18": 89.1, "2018-19": 89.4, "2019-20": 87.4, "2020-21": 90.0, "2021-22": 91.1,
             "2022-23": 89.3, "2023-24": 90.5, "2024-25": 91.6}
OVER_90_DAYS = {"2017-18": 13.5, "2018-19": 16.2, "2019-20": 19.3, "2020-21": 17.7, "2021-22": 15.3,
                "2022-23": 22.3, "2023-24": 21.7, "2024-25": 23.7}


@pytest.fixture(scope="module")
def annual(published):
    return read_published([published / "annual" / name for name in ANNUAL.values()])


@pytest.fixture(scope="module")
def monthly(published):
    return read_published([published / "monthly"])


def england(frame, measure):
    rows = frame[(frame["org_type"] == "England") & (frame["measure"] == measure)].set_index("period")
    return rows.assign(rate=100 * rows["numerator"] / rows["denominator"])


@pytest.mark.parametrize("measure", ["recovery", "reliable_improvement"])
def test_england_annual_rates_match_published(annual, measure):
    rows = england(annual, measure)
    assert sorted(rows.index) == sorted(ANNUAL)
    assert (rows["rate"] - rows["published"]).abs().max() <= 0.05


def test_england_annual_waits_match_the_reference(annual):
    six, over90 = england(annual, "wait_6_weeks"), england(annual, "first_to_second_over_90_days")
    for year in ANNUAL:
        assert six.at[year, "rate"] == pytest.approx(SIX_WEEKS[year], abs=0.05)
        assert over90.at[year, "rate"] == pytest.approx(OVER_90_DAYS[year], abs=0.05)


def test_england_2019_20_recovery_counts(annual):
    row = england(annual, "recovery").loc["2019-20"]
    # iapt-dataset.md §5: recovery 291,371; finished 606,192; not at caseness 36,054
    assert (row["numerator"], row["denominator"]) == (291371, 606192 - 36054)


@pytest.mark.parametrize("measure", ["recovery", "wait_6_weeks", "reliable_improvement"])
def test_england_monthly_rates_match_published(monthly, measure):
    rows = england(monthly, measure)   # M192, M053, M186
    assert len(rows) == 63 and rows["published"].notna().all()
    assert (rows["rate"] - rows["published"]).abs().max() <= 0.05


def test_england_monthly_first_to_second_matches_m126_where_published(monthly):
    rows = england(monthly, "first_to_second_over_90_days").dropna(subset=["published"])
    assert rows.index.min() == "2024-04" and len(rows) == 24   # M126 is published from April 2024
    assert (rows["rate"] - rows["published"]).abs().max() <= 0.05


def test_provider_rates_carry_the_rounding_error(annual):
    # README: recomputing provider rates from counts rounded to 5 differs by a median of 0.26 points
    rows = annual[(annual["org_type"] == "Provider") & (annual["measure"] == "recovery")
                  & (annual["period"] == "2019-20")].dropna(subset=["numerator", "denominator", "published"])
    difference = (100 * rows["numerator"] / rows["denominator"] - rows["published"]).abs()
    assert 0.1 < difference.median() < 0.5
    assert len(rows) == 171     # README: 171 providers with usable recovery data in 2019-20


def test_spc_on_one_providers_monthly_recovery(monthly):
    # North East London (RAT): recovery (M192) in every one of the 63 months
    rows = monthly[(monthly["org_code"] == "RAT") & (monthly["measure"] == "recovery")].sort_values("period")
    rates = 100 * rows["numerator"] / rows["denominator"]
    assert len(rows) == 63 and (rates - rows["published"]).abs().max() <= 1.0   # published: whole %
    result = xmr(rates.to_numpy(), dates=rows["period"].to_numpy(), improvement="increase")
    assert result.warning is None and result.centre == pytest.approx(rates.mean())
    ranges = np.abs(np.diff(rates.to_numpy()))
    kept = ranges[ranges < 3.267 * ranges.mean()]
    assert result.upper == pytest.approx(rates.mean() + 2.66 * kept.mean())
    points = result.points
    outside = points["rule"] == "outside_limits"
    assert ((points.loc[outside, "value"] > result.upper) | (points.loc[outside, "value"] < result.lower)).all()
    # the service's recovery fell from about 53 % in 2021 to about 46 % in 2024: the chart calls
    # 2021's special causes improvement and 2024's concern
    year = points.index.str.slice(0, 4)
    assert rates[rows["period"].str.startswith("2021").to_numpy()].mean() > 52
    assert rates[rows["period"].str.startswith("2024").to_numpy()].mean() < 47
    assert set(points.loc[(year == "2021") & points["rule"].notna(), "point_type"]) == {"improvement"}
    assert set(points.loc[(year == "2024") & points["rule"].notna(), "point_type"]) == {"concern"}
