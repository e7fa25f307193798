"""compare_providers: the findings.json outlier entry, on the golden twelve and hand-built cases."""

import json
import math

import pandas as pd
import pytest

from iapt_audit.outliers import compare_providers

O = [120, 210, 95, 300, 60, 180, 250, 40, 330, 150, 75, 205]
N = [250, 400, 230, 560, 100, 390, 470, 120, 600, 260, 160, 380]
Z998 = 3.090232306167813


def frame(numerators, denominators, prefix="P"):
    return pd.DataFrame({"provider": [f"{prefix}{i:02d}" for i in range(1, len(numerators) + 1)],
                         "numerator": numerators, "denominator": denominators})


def test_entry_on_the_golden_twelve():
    entry = compare_providers("Percentage_Recovery", frame(O, N))
    assert entry["measure"] == "Percentage_Recovery" and entry["method"] == "additive"
    assert entry["target"] == pytest.approx(0.5140306122, abs=1e-10)
    assert entry["phi"] == pytest.approx(3.0460148952, abs=1e-9)
    assert entry["tau2"] == pytest.approx(0.0018168922, abs=1e-10)
    p05, p09 = entry["providers"]["P05"], entry["providers"]["P09"]
    assert (p05["numerator"], p05["denominator"], p05["value"]) == (60, 100, 0.6)
    assert (p05["lower"], p05["upper"]) == pytest.approx((0.3154639237, 0.7103153097), abs=1e-6)
    assert (p09["lower"], p09["upper"]) == pytest.approx((0.3695148619, 0.6573577885), abs=1e-6)
    assert all(p["flag"] is None for p in entry["providers"].values())
    # unadjusted, 40/120 = 0.333 is below its 99.8 % limit: the adjustment removes that flag
    assert entry["flag_counts"] == {"high": 0, "low": 0, "unadjusted": 1}
    assert entry["fallback"] is None


def test_chart_curves_are_the_limit_table():
    entry = compare_providers("m", frame(O, N))
    chart = {point["N"]: point for point in entry["chart"]}
    assert min(chart) == 50 and max(chart) == 660          # half the smallest, 1.1 × the largest N
    assert set(chart[50]) == {"N", "lower95", "upper95", "lower998", "upper998"}
    ordered = [chart[n] for n in sorted(chart)]
    assert all(a["upper998"] >= b["upper998"] for a, b in zip(ordered, ordered[1:]))   # funnel narrows


def test_json_serialisable_and_plain_types():
    entry = compare_providers("m", frame(O, N).assign(name="A PROVIDER"))
    text = json.dumps(entry, allow_nan=False)
    assert isinstance(entry["providers"]["P01"]["numerator"], int)
    assert entry["providers"]["P01"]["name"] == "A PROVIDER"
    assert '"flag": null' in text


def test_too_few_providers_gives_none():
    assert compare_providers("m", frame(O[:7], N[:7])) is None
    assert compare_providers("m", frame(O[:7], N[:7]), min_providers=5) is not None
    # zero and missing denominators do not count as providers
    padded = frame(O[:7] + [0, None], N[:7] + [0, 100])
    assert compare_providers("m", padded) is None


def test_numerator_above_denominator_is_excluded_and_listed():
    data = frame(O + [12], N + [10])
    entry = compare_providers("m", data)
    assert entry["excluded"] == ["P13"] and "P13" not in entry["providers"]
    assert entry["n_providers"] == 12


def test_given_target_centres_the_funnel():
    entry = compare_providers("m", frame(O, N), target=0.5, method="unadjusted")
    assert entry["target"] == 0.5
    half = Z998 / (2 * math.sqrt(100))
    assert entry["providers"]["P05"]["upper"] == pytest.approx(math.sin(math.pi / 4 + half) ** 2, abs=1e-12)


def rare():
    """Nine providers never do it; three do it 10 % of the time (rate pooled 150/6000 = 2.5 %)."""
    return frame([0] * 9 + [50] * 3, [500] * 12)


def test_rare_pattern_widened_funnel_flags_nothing_without_the_fallback():
    entry = compare_providers("GM00", rare(), rare_zero_share=1.01)
    assert entry["fallback"] is None and entry["phi"] > 40
    assert entry["flag_counts"]["high"] == 0


def test_rare_pattern_falls_back_to_unadjusted_limits():
    entry = compare_providers("GM00", rare())
    assert entry["method"] == "unadjusted" and not entry["adjusted"]
    fallback = entry["fallback"]
    assert fallback["test"] == "rare_pattern" and fallback["zero_share"] == 0.75
    assert fallback["requested_method"] == "additive" and fallback["phi_set_aside"] == entry["phi"]
    # unadjusted 99.8 % upper limit at N = 500 around 2.5 %: sin²(asin(√0.025) + z/(2√500)) = 5.10 %
    upper = math.sin(math.asin(math.sqrt(0.025)) + Z998 / (2 * math.sqrt(500))) ** 2
    assert entry["providers"]["P10"]["upper"] == pytest.approx(upper, abs=1e-12)
    assert upper == pytest.approx(0.0510, abs=1e-4)
    assert [c for c, p in entry["providers"].items() if p["flag"] == "high"] == ["P10", "P11", "P12"]


def test_all_zero_rates_stay_json_safe():
    for method in ("additive", "multiplicative", "unadjusted"):
        entry = compare_providers("m", frame([0] * 10, [50] * 10), method=method)
        assert entry["target"] == 0 and entry["flag_counts"] == {"high": 0, "low": 0, "unadjusted": 0}
        json.dumps(entry, allow_nan=False)
