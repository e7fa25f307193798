"""analyse_published and the hidden-waits signature."""

import json

import pandas as pd
import pytest

from iapt_audit.errors import InputError
from iapt_audit.outliers import analyse_published, compare_providers, hidden_waits

CODES = [f"P{i:02d}" for i in range(1, 11)]


def entry(measure, numerators):
    data = pd.DataFrame({"provider": CODES, "numerator": numerators, "denominator": [100] * 10})
    return compare_providers(measure, data, method="unadjusted")


def test_hidden_waits_signature():
    # 6 weeks: nine providers at 90 %, P10 at 50 % (pooled 86 %: unadjusted 99.8 % limits at
    # N = 100 are about 73.7 %–94.9 %, so P10 is a low outlier and the others are inside).
    access = entry("wait_6_weeks", [90] * 9 + [50])
    # > 90 days to a second treatment: eight at 20 %, P09 and P10 at 60 % (pooled 28 %: upper limit
    # sin²(asin(√.28) + 3.09/20) = 44.9 %), so both are high outliers
    second = entry("first_to_second_over_90_days", [20] * 8 + [60, 60])
    assert access["providers"]["P10"]["flag"] == "low" and access["providers"]["P09"]["flag"] is None
    assert [c for c, p in second["providers"].items() if p["flag"] == "high"] == ["P09", "P10"]
    found = hidden_waits(access, second, period="2024-05")
    # P09 looks fine on access (inside the funnel, 90 % >= 75 %); P10 is already visibly slow
    assert [f["provider"] for f in found] == ["P09"]
    assert found[0]["period"] == "2024-05"
    assert found[0]["why"] == "6-week access meets the 75% standard"
    assert found[0]["first_to_second_over_90_days"]["value"] == 0.6


@pytest.fixture(scope="module")
def year_2019_20(published):
    return published / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"


def test_recovery_2019_20(year_2019_20):
    result = analyse_published([year_2019_20], measures=["recovery"])
    assert result["measures"] == ["recovery"] and result["periods"] == ["2019-20"]
    (funnel,) = result["funnels"]
    assert funnel["n_providers"] == 171 and funnel["adjusted"]
    assert funnel["standard"] == 0.5 and funnel["official_name"] == "Percentage_Recovery"
    assert funnel["england"]["published"] == 51.1
    counts = funnel["flag_counts"]
    assert counts["high"] + counts["low"] < counts["unadjusted"]
    assert result["spc"] == {} and "rounded to the nearest 5" in result["notes"][0]
    json.dumps(result, allow_nan=False)


def test_other_organisation_types(published):
    result = analyse_published([published / "annual" / "psych-ther-ann-rep-csv-2023-24-main.csv.gz"],
                               measures=["M192"], org_type="icb")
    assert result["org_type"] == "ICB"
    # the 42 integrated care boards; the file's UNKNOWN commissioner row is left out
    assert result["funnels"][0]["n_providers"] == 42
    assert "UNKNOWN" not in result["funnels"][0]["providers"]


def test_user_errors(year_2019_20):
    with pytest.raises(InputError, match="organisation type 'ICB'"):
        analyse_published([year_2019_20], measures=["recovery"], org_type="ICB")
    with pytest.raises(InputError, match="period 2020-21 is not in the files"):
        analyse_published([year_2019_20], measures=["recovery"], period="2020-21")


def test_month_funnels_and_full_spc_series(published):
    months = sorted((published / "monthly").glob("*2025-0[1-6].csv.gz"))
    result = analyse_published(months, measures=["wait_6_weeks", "M126"], period="2025-06")
    assert {(f["measure"], f["period"]) for f in result["funnels"]} == {
        ("wait_6_weeks", "2025-06"), ("first_to_second_over_90_days", "2025-06")}
    # SPC charts every month given (six), not only the funnel's period; short series warn
    chart = result["spc"]["wait_6_weeks"]["RAT"]
    assert chart["points"]["date"] == [f"2025-0{m}" for m in range(1, 7)]
    assert "6 points" in chart["warning"]
    assert all(h["period"] == "2025-06" for h in result["hidden_waits"])


def test_a_hidden_wait_needs_the_six_week_standard_met_not_only_a_place_inside_the_funnel():
    # 6 weeks: all ten at 70-72 % (pooled 71 %): everyone inside the funnel, nobody at the 75 % standard
    access = entry("wait_6_weeks", [70, 71, 72, 70, 71, 72, 70, 71, 72, 71])
    second = entry("first_to_second_over_90_days", [20] * 8 + [60, 60])
    assert all(p["flag"] is None for p in access["providers"].values())
    assert [c for c, p in second["providers"].items() if p["flag"] == "high"] == ["P09", "P10"]
    # a plain long wait, not a hidden one: the first appointment does not meet the standard either
    assert hidden_waits(access, second) == []
