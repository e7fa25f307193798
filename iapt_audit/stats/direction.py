"""Which way is better for every measure and indicator, and the words and colours of a verdict.

Making Data Count (NHS England's SPC guidance, as NHSRplotthedots draws it) colours special
cause by what it means, not by which way it points: blue for improvement, orange for concern,
grey for common cause, purple for a change in a measure with no better direction. Red and
green are never used alone (they read as good and bad and fail for colour-blind readers;
FunnelPlotR avoids them for the same reason, provider-comparison.md §1). Every verdict is also
written in words, so colour is never the only carrier.

Directions: recovery, reliable recovery, reliable improvement and the 6- and 18-week standards
are better higher; reliable deterioration, long first-to-second waits, access attrition and every
gaming indicator (GMxx: a share of cases showing the pattern) are better lower [G21 §2.6, MM20].
Counts and means have no better direction here ("neutral").
"""

from __future__ import annotations

INCREASE, DECREASE, NEUTRAL = "increase", "decrease", "neutral"

#: NHS Digital measure name -> which way is better
DIRECTION = {
    "Percentage_Recovery": INCREASE,
    "Percentage_ReliableRecovery": INCREASE,
    "Percentage_ReliableImprovement": INCREASE,
    "Percentage_ReliableDeterioration": DECREASE,
    "Percentage_AccessingServices6WeeksFinishedCourseTreatment": INCREASE,
    "Percentage_AccessingServices18WeeksFinishedCourseTreatment": INCREASE,
    "Percentage_FirstToSecondTreatmentOver90days": DECREASE,
    "Percentage_FirstToSecondTreatmentOver28days": DECREASE,
    "Percentage_AccessAttrition": DECREASE,
}

BETTER, WORSE, COMMON = "better than expected", "worse than expected", "common cause"
HIGHER, LOWER = "higher than expected", "lower than expected"

#: Making Data Count's palette (the MDC PowerBI icons NHSRplotthedots follows)
COLOURS = {BETTER: "#289DE0", WORSE: "#E88A00", COMMON: "#7F7F7F", HIGHER: "#6A3D9A", LOWER: "#6A3D9A"}
#: the verdicts in reading order: concerns first
ORDER = (WORSE, HIGHER, LOWER, BETTER, COMMON)


def direction_of(measure: str) -> str:
    """``increase``, ``decrease`` or ``neutral`` for an NHS Digital measure name or a rule code."""
    if measure[:2] == "GM" and measure[2:4].isdigit():
        return DECREASE
    return DIRECTION.get(measure, NEUTRAL)


def verdict(flag: str | None, direction: str) -> str:
    """A funnel or SPC flag ("high", "low" or None) in words, given which way is better."""
    if flag is None:
        return COMMON
    if direction == NEUTRAL:
        return HIGHER if flag == "high" else LOWER
    better = (flag == "high") == (direction == INCREASE)
    return BETTER if better else WORSE


def point_verdict(point_type: str) -> str:
    """An SPC point type (NHSRplotthedots' improvement / concern / neutral_high / neutral_low /
    common_cause) in the same words."""
    return {"improvement": BETTER, "concern": WORSE, "neutral_high": HIGHER,
            "neutral_low": LOWER}.get(point_type, COMMON)
