"""NHS Digital's disclosure control for outputs that leave the service ([G21] §4.3; [DQS]).

Sub-national counts under 5 are suppressed ("*") and every other count is rounded to the nearest
5; percentages are computed from the *unrounded* counts (so they match the published figures) and
shown to whole percentage points. A percentage whose numerator or denominator is suppressed is
suppressed too: 2 of 40 shown as 5 % would give the count away. The commissioner and regulator
audiences get disclosed figures; the self-check report stays inside the service and shows exact
counts.
"""

from __future__ import annotations

import numpy as np

SUPPRESSED = "*"
SMALLEST_SHOWN = 5
ROUND_TO = 5
STATEMENT = ("Disclosure control (NHS Digital rules): counts under 5 are shown as *, other counts are "
             "rounded to the nearest 5, and percentages are calculated from the unrounded counts and "
             "shown to whole percentage points (suppressed where their numerator or denominator is).")


def disclose_count(count):
    """One count as shown to commissioners and regulators: "*" under 5, else rounded to 5.

    None stays None (not applicable). Halves cannot occur for whole counts; 12 -> 10, 13 -> 15.
    """
    if count is None:
        return None
    count = int(count)
    if count < SMALLEST_SHOWN:
        return SUPPRESSED
    return int(ROUND_TO * np.floor(count / ROUND_TO + 0.5))


def disclose_counts(counts) -> list:
    """Vectorised ``disclose_count`` over an array of whole counts (no missing values)."""
    counts = np.asarray(counts, dtype="int64")
    rounded = (ROUND_TO * np.floor(counts / ROUND_TO + 0.5)).astype("int64")
    return [SUPPRESSED if small else int(value) for small, value in zip(counts < SMALLEST_SHOWN, rounded)]


def disclose_percent(numerator, denominator):
    """The percentage from unrounded counts, to whole points; "*" if either count is suppressed."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    if numerator < SMALLEST_SHOWN or denominator < SMALLEST_SHOWN:
        return SUPPRESSED
    return float(np.floor(100.0 * numerator / denominator + 0.5))


class Figures:
    """How counts and rates are shown to one audience: exact (self-check) or disclosed.

    Exact figures keep every count and give rates to one decimal place; disclosed figures follow
    the rules above. Building tables through one ``Figures`` means no table can forget the rules.
    """

    def __init__(self, disclosed: bool):
        self.disclosed = disclosed

    def count(self, value):
        if value is None:
            return None
        return disclose_count(value) if self.disclosed else int(value)

    def counts(self, values) -> list:
        return disclose_counts(values) if self.disclosed else [int(v) for v in values]

    def percent(self, numerator, denominator):
        """100 × numerator / denominator from the unrounded counts (None when no denominator)."""
        if numerator is None or denominator is None or denominator <= 0:
            return None
        if self.disclosed:
            return disclose_percent(numerator, denominator)
        return round(100.0 * numerator / denominator, 1)

    def mean(self, total, denominator):
        """A mean over ``denominator`` cases; suppressed with its denominator."""
        if denominator is None or denominator <= 0:
            return None
        if self.disclosed and denominator < SMALLEST_SHOWN:
            return SUPPRESSED
        return round(total / denominator, 1)
