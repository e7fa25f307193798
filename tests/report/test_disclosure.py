"""NHS Digital's disclosure rules on hand-worked counts: <5 -> "*", others to the nearest 5,
percentages from the unrounded counts."""

from __future__ import annotations

import pytest

from iapt_audit.report.disclosure import Figures, disclose_count, disclose_counts, disclose_percent


@pytest.mark.parametrize("count, shown", [(0, "*"), (3, "*"), (4, "*"), (5, 5), (7, 5), (8, 10), (12, 10),
                                          (13, 15), (1234, 1235), (1232, 1230)])
def test_counts_are_suppressed_under_five_and_rounded_to_five(count, shown):
    assert disclose_count(count) == shown


def test_the_vectorised_form_agrees():
    assert disclose_counts([3, 12, 13, 5, 0]) == ["*", 10, 15, 5, "*"]


def test_percentages_come_from_unrounded_counts():
    # 13 of 40 is 32.5 % -> 33 %; from the rounded counts (15 of 40) it would be 38 %
    assert disclose_percent(13, 40) == 33.0
    # 12 of 37 is 32.4 % -> 32 %; from rounded counts (10 of 35) it would be 29 %
    assert disclose_percent(12, 37) == 32.0


def test_a_percentage_that_would_give_a_small_count_away_is_suppressed():
    assert disclose_percent(3, 40) == "*"
    assert disclose_percent(3, 4) == "*"
    assert disclose_percent(0, 0) is None


def test_self_check_figures_are_exact():
    exact = Figures(disclosed=False)
    assert exact.count(3) == 3 and exact.count(12) == 12
    assert exact.percent(13, 40) == 32.5
    assert exact.mean(23, 7) == 3.3


def test_disclosed_means_are_suppressed_with_their_denominator():
    shown = Figures(disclosed=True)
    assert shown.mean(10, 4) == "*"
    assert shown.mean(23, 7) == 3.3
