"""The flagging decision in the two regimes real data shows, on hand-made provider counts."""

from __future__ import annotations

import pandas as pd

from iapt_audit.outliers import compare_providers
from iapt_audit.rules_engine.flagging import MIN_PROVIDERS, decide


def rates(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame(counts, index=["numerator", "denominator"]).T


# honest providers at 1 %, two gaming ones at 25 % and 15 %
RARE = rates({**{f"H{i:02d}": (5, 500) for i in range(10)}, "GAME": (125, 500), "GAME2": (75, 500)})
# GM03's regime: honest providers spread around 20 % (14-31 %), threshold 30 %, one gaming at 45 %
COMMON = rates({"H00": (56, 400), "H01": (64, 400), "H02": (72, 400), "H03": (76, 400), "H04": (80, 400),
                "H05": (80, 400), "H06": (84, 400), "H07": (88, 400), "H08": (96, 400), "H09": (104, 400),
                "H10": (108, 400), "H11": (124, 400), "GAME": (180, 400)})


def test_rare_pattern_an_all_provider_funnel_misses_is_flagged():
    everyone = compare_providers("rare", RARE.rename_axis("provider").reset_index())
    assert everyone["phi"] > 20  # the regime: two gaming providers inflate phi ...
    assert everyone["flag_counts"]["high"] == 0  # ... and the widened funnel flags nobody
    table, funnel = decide(RARE, {"min_percent": 10, "min_denominator": 20}, "rare", "cases")
    assert sorted(table.index[table["flagged"]]) == ["GAME", "GAME2"]
    assert table.at["GAME", "tests"] == ["absolute", "funnel_high"]
    assert funnel["target"] == 0.01  # the reference providers' median rate, 5/500
    assert funnel["n_reference"] == 10 and not funnel["adjusted"]
    assert "above its peers' 99.8% funnel limit" in table.at["GAME", "reason"]


def test_rare_pattern_with_exact_zeros():
    counts = rates({**{f"H{i:02d}": (0, 300) for i in range(10)}, "H10": (3, 300), "GAME": (60, 300)})
    table, funnel = decide(counts, {"min_percent": 10, "min_denominator": 20}, "rare", "cases")
    assert table.index[table["flagged"]].tolist() == ["GAME"]
    assert funnel["target"] == 0.0


def test_common_pattern_flags_only_the_provider_beyond_honest_spread():
    limits = {"min_percent": 30, "min_denominator": 20}
    table, funnel = decide(COMMON, limits, "common", "cases")
    assert funnel["adjusted"] and funnel["phi"] > 1  # honest variation is over-dispersed and allowed for
    assert funnel["n_reference"] == 11  # H00-H10, the providers under 30 %
    assert funnel["target"] == 0.2     # their median, 80/400
    assert table.index[table["flagged"]].tolist() == ["GAME"]
    assert table.at["H11", "value"] == 31.0 and table.at["H11", "absolute"]  # over the threshold ...
    assert not table.at["H11", "flagged"]                                    # ... but within its peers
    assert "within its peers' 99.8% funnel" in table.at["H11", "reason"]


def test_with_few_providers_the_absolute_test_decides_and_says_so():
    counts = COMMON.iloc[len(COMMON) - MIN_PROVIDERS + 1:]  # the last 7 providers
    assert len(counts) == MIN_PROVIDERS - 1
    table, funnel = decide(counts, {"min_percent": 30, "min_denominator": 20}, "few", "cases")
    assert funnel is None
    assert table.index[table["flagged"]].tolist() == ["H11", "GAME"]
    assert "peer test not run (7 providers with cases, needs 8)" in table.at["GAME", "reason"]


def test_small_denominators_are_not_judged():
    counts = rates({"A": (10, 19), "B": (10, 20)})
    table, _ = decide(counts, {"min_percent": 25, "min_denominator": 20}, "small", "cases")
    assert table["flagged"].tolist() == [False, True]
    assert "too few cases to judge" in table.at["A", "reason"]
