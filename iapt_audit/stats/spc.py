"""XmR statistical process control for one monthly series, as NHS "Making Data Count" does it.

Why XmR: a funnel compares many providers in one period; a provider's own months need a
different question — did something change (a new target, a payment rule, a recoding)? The NHS
answers it with the XmR chart of NHSRplotthedots v0.2.2, whose arithmetic
``../shared/domain/provider-comparison.md`` §2 sets out:

- centre = mean of the values; MR_t = |y_t − y_(t−1)|; AMR = mean MR;
- screening: moving ranges ≥ 3.267·AMR are dropped and AMR recomputed, so one shock does not
  widen the limits for every month;
- process limits centre ± 2.66·AMR, "near" (2σ) limits centre ± 1.7733·AMR.

Special-cause rules, recorded per point in this priority order:

1. ``outside_limits`` — above the upper or below the lower process limit (strictly);
2. ``trend`` — part of ``run_length`` consecutive points each strictly above (or below) the
   one before; a repeated value breaks the trend;
3. ``two_of_three`` — a point beyond a 2σ line (and inside the process limits, as the package
   counts it) within 3 consecutive points of which at least 2 are beyond that line and all 3
   are on the same side of the centre;
4. ``shift`` — part of ``run_length`` consecutive points on one side of the centre; a point
   exactly on the centre breaks the run.

``run_length`` is 7 by default (the package); 6 is MDC's alternative (NHSRplotthedots issue
#202) and applies to both the trend and the shift rule. Fewer than 13 points gives a warning:
the limits are trial limits. Caution from the same reference: XmR limits on proportions whose
monthly denominators differ a lot mislead; compare providers with a funnel instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LIMIT = 2.66
NEAR = 2 * LIMIT / 3
SCREEN = 3.267
SHORT_SERIES = 13
RULES = ("outside_limits", "trend", "two_of_three", "shift")
DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}


@dataclass
class XmrResult:
    """Centre, limits and per-point special causes of one XmR chart."""

    centre: float
    amr: float
    lower: float
    upper: float
    lower_near: float
    upper_near: float
    run_length: int
    improvement: str
    #: one row per point: value, moving_range, one bool column per rule, rule, point_type
    points: pd.DataFrame
    warning: str | None

    @property
    def special_cause(self) -> pd.Series:
        return self.points["rule"].notna()

    def to_dict(self) -> dict:
        """JSON-ready form, points as parallel lists (compact for many series)."""
        pts = self.points
        return {
            "centre": float(self.centre), "amr": float(self.amr),
            "lower": float(self.lower), "upper": float(self.upper),
            "lower_near": float(self.lower_near), "upper_near": float(self.upper_near),
            "run_length": self.run_length, "improvement": self.improvement, "warning": self.warning,
            "points": {
                "date": [str(d.date()) if isinstance(d, pd.Timestamp) else d for d in pts.index.tolist()],
                "value": [float(v) for v in pts["value"]],
                "rule": [r if isinstance(r, str) else None for r in pts["rule"]],
                "point_type": pts["point_type"].tolist(),
            },
        }


def xmr(values, dates=None, run_length: int = 7, screen_outliers: bool = True,
        improvement: str = "neutral") -> XmrResult:
    """XmR chart of ``values`` (in time order, or ordered by ``dates``); missing values skipped.

    ``improvement`` is "increase", "decrease" or "neutral" and only types the points
    (improvement / concern, or neutral high / low).
    """
    if improvement not in DIRECTIONS:
        raise ValueError(f"improvement must be one of {', '.join(DIRECTIONS)}, not {improvement!r}")
    if run_length < 2:
        raise ValueError("run_length must be at least 2")
    series = pd.Series(np.asarray(values, dtype="float64"),
                       index=pd.Index(dates) if dates is not None else None)
    series = series[np.isfinite(series.to_numpy())]
    if dates is not None:
        series = series.sort_index()
    if len(series) < 2:
        raise ValueError("an XmR chart needs at least 2 non-missing values")
    y = series.to_numpy()

    centre = float(y.mean())
    moving_range = np.abs(np.diff(y))
    amr = float(moving_range.mean())
    if screen_outliers:
        kept = moving_range[moving_range < SCREEN * amr]
        amr = float(kept.mean()) if kept.size else amr  # empty only when every range is 0
    upper, lower = centre + LIMIT * amr, centre - LIMIT * amr
    upper_near, lower_near = centre + NEAR * amr, centre - NEAR * amr

    side = np.sign(y - centre)
    outside = (y > upper) | (y < lower)
    near = ~outside & ((y > upper_near) | (y < lower_near))
    trend, trend_direction = _trend(y, run_length)
    flags = {
        "outside_limits": outside,
        "trend": trend,
        "two_of_three": _two_of_three(near, side),
        "shift": _runs(side, run_length) & (side != 0),
    }
    rule = np.select([flags[r] for r in RULES], list(RULES), default="")
    direction = np.where(rule == "trend", trend_direction, side) * (rule != "")
    points = pd.DataFrame({"value": y, "moving_range": np.r_[np.nan, moving_range], **flags},
                          index=series.index)
    points["rule"] = pd.Series(rule, index=series.index).replace("", None)
    points["point_type"] = _point_type(direction, DIRECTIONS[improvement])
    warning = None
    if len(y) < SHORT_SERIES:
        warning = (f"only {len(y)} points (fewer than {SHORT_SERIES}): these are trial limits, "
                   "recalculate them when more months are available")
    return XmrResult(centre, amr, lower, upper, lower_near, upper_near, run_length, improvement,
                     points, warning)


def _runs(codes: np.ndarray, length: int) -> np.ndarray:
    """True where a point sits in a run of >= length equal consecutive codes."""
    starts = np.r_[True, codes[1:] != codes[:-1]]
    run_id = np.cumsum(starts) - 1
    run_size = np.bincount(run_id)
    return run_size[run_id] >= length


def _trend(y: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``length`` consecutive strictly rising (or falling) values, and the direction.

    A trend of ``length`` points is ``length − 1`` equal-signed steps. A point between a rising
    and a falling trend takes the direction of the step to its right, as the package does.
    """
    step = np.sign(np.diff(y))
    in_trend_step = _runs(step, length - 1) & (step != 0) if step.size else np.zeros(0, bool)
    left = np.r_[False, in_trend_step]     # the step arriving at the point
    right = np.r_[in_trend_step, False]    # the step leaving the point
    direction = np.where(right, np.r_[step, 0], np.where(left, np.r_[0, step], 0))
    return left | right, direction


def _two_of_three(near: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Near-limit points inside a 3-point window with >= 2 near-limit points, all one side."""
    n = near.size
    if n < 3:
        return np.zeros(n, bool)
    windows_near = np.lib.stride_tricks.sliding_window_view(near.astype(int), 3).sum(axis=1)
    windows_side = np.lib.stride_tricks.sliding_window_view(side, 3).sum(axis=1)
    qualifies = (windows_near >= 2) & (np.abs(windows_side) == 3)
    covered = np.zeros(n, bool)
    for offset in range(3):  # each point can sit first, second or third in a window
        covered[offset:offset + qualifies.size] |= qualifies
    return covered & near


def _point_type(direction: np.ndarray, improvement: int) -> list[str]:
    if improvement == 0:
        types = np.select([direction > 0, direction < 0], ["neutral_high", "neutral_low"], "common_cause")
    else:
        oriented = direction * improvement
        types = np.select([oriented > 0, oriented < 0], ["improvement", "concern"], "common_cause")
    return types.tolist()
