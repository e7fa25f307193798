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
#202) and applies to both the trend and the shift rule. Fewer than 13 points in a limits
period gives a warning: the limits are trial limits.

What this adds to the package's arithmetic, because real monthly data broke it (issue 16 and
``../shared/cases/comparison/``):

- **A real time axis.** Monthly dates are read as calendar months; a month with no value is a
  *gap*. Moving ranges, trends, runs and 2-of-3 windows never cross a gap (a 7-point "shift"
  spanning 12 calendar months is not seven consecutive months), and every gap is named.
- **Never zero-width limits.** When screening would drop every non-zero moving range (one
  dip in a series otherwise stuck at 100 %), the limits would collapse to the mean and flag
  every point: screening is then not applied, and the result says so.
- **Too little variation for XmR.** A constant series, or one stuck at a bound of the measure
  (more than half its months within 2 points of 0 % or 100 % and more than half its
  month-to-month changes zero), is not the continuous measurement XmR assumes: no limits are drawn, no special cause
  is called, and the warning says why (a P-chart or a funnel suits such data better). A step
  between two levels is not this: it is a change, and XmR shows it.
- **A one-month shock.** When every point would be special cause because one isolated month
  (outside the limits, with screened moving ranges on both sides) pulled the mean away from all
  the others, that month is left out of the mean and limits ("ghosted", as MDC's tools allow)
  and the notes say so. A sustained trend or shift is left as it is: that is a real change.
- **A sustained shift: limits recalculated.** When every point would still be special cause
  and one change point splits the series into two parts of at least ``MIN_PART`` (5) points
  each, both with variation for XmR, the limits are recalculated from that point, as Making Data
  Count advises when a sustained shift shows a new process, and drawn exactly as a rebase the
  user gives (a new limits period); the notes say "limits recalculated at YYYY-MM after a
  sustained shift". The change point is the split that minimises the pooled within-part sum of
  squared deviations from each part's mean (least-squares, the earliest on a tie), so it is
  reproducible. Five points: "useful limits may be constructed with as few as five or six
  values" (Wheeler, *Understanding Variation*, p. 60, quoted in NHSRplotthedots' vignette "How
  many points are required for robust control limits?"); such limits are trial limits and the
  notes say so. It is not made when every point of either part belongs to a trend (a part that
  is still rising or falling is no settled process to draw limits round: a steady rise through
  the whole series is one change, not two processes), nor when it would leave every point special
  cause, nor when the user gave a rebase. ``recalculate_at_shift=False`` turns it off: the
  audit's own months (``outliers.monthly_spc``) look for exactly such a shift (a change in
  coding), which must stay special cause rather than become the new process.
- **Bounded measures.** ``bounds`` (``(0, 100)`` for a percentage) clip every limit.
- **Rebasing.** ``rebase`` dates start a new limits period (its own mean and limits) as
  NHSRplotthedots' ``ptd_rebase`` does; runs do not cross a rebase either.
- **Assurance** against a ``target`` (NHSRplotthedots' ``ptd_calculate_assurance_type``), from
  the last limits period: with higher better, a target above the upper limit will consistently
  fail ("fail"), below the lower limit will consistently pass ("pass"), otherwise the process
  will hit and miss it ("inconsistent"); reversed when lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LIMIT = 2.66
NEAR = 2 * LIMIT / 3
SCREEN = 3.267
SHORT_SERIES = 13
MIN_PART = 5  # fewest points on each side of an automatic recalculation of the limits (Wheeler)
NEAR_BOUND = 0.02  # share of a bounded measure's range counted as "at the bound" (2 points of 0-100 %)
RULES = ("outside_limits", "trend", "two_of_three", "shift")
DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}
LIMIT_COLUMNS = ("centre", "lower", "upper", "lower_near", "upper_near")


@dataclass
class XmrResult:
    """Centre, limits and per-point special causes of one XmR chart.

    The scalar centre and limits are those of the last limits period (the current process);
    ``points`` carries each point's own (they differ only after a rebase). Limits are NaN when
    the series has too little variation for XmR (``flat``).
    """

    centre: float
    amr: float
    lower: float
    upper: float
    lower_near: float
    upper_near: float
    run_length: int
    improvement: str
    #: one row per point: value, moving_range, segment, phase, centre/limit columns, one bool column
    #: per rule, rule, point_type
    points: pd.DataFrame
    warning: str | None
    notes: list[str] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    flat: bool = False
    screened: bool = True
    target: float | None = None
    assurance: str | None = None

    @property
    def special_cause(self) -> pd.Series:
        return self.points["rule"].notna()

    @property
    def variation(self) -> str:
        """Making Data Count's variation icon for the last point: common_cause,
        improvement_high/low, concern_high/low or neutral_high/low."""
        last = self.points.iloc[-1]
        kind = last["point_type"]
        if kind == "common_cause" or kind.startswith("neutral"):
            return kind
        side = "high" if last["direction"] > 0 else "low"
        return f"{kind}_{side}"

    def to_dict(self) -> dict:
        """JSON-ready form, points as parallel lists (compact for many series)."""
        pts = self.points
        phase = pts["phase"].to_numpy()
        starts = np.flatnonzero(np.r_[True, phase[1:] != phase[:-1]])
        dates = [_label(d) for d in pts.index.tolist()]
        return {
            "centre": _num(self.centre), "amr": _num(self.amr),
            "lower": _num(self.lower), "upper": _num(self.upper),
            "lower_near": _num(self.lower_near), "upper_near": _num(self.upper_near),
            "run_length": self.run_length, "improvement": self.improvement, "warning": self.warning,
            "notes": list(self.notes), "gaps": list(self.gaps), "flat": self.flat, "screened": self.screened,
            "target": self.target, "assurance": self.assurance, "variation": self.variation,
            "phases": [{"start": dates[i], **{c: _num(pts[c].iat[i]) for c in LIMIT_COLUMNS}} for i in starts],
            "points": {
                "date": dates,
                "value": pts["value"].astype(float).tolist(),
                "phase": phase.astype(int).tolist(),
                "rule": [r if isinstance(r, str) else None for r in pts["rule"]],
                "point_type": pts["point_type"].tolist(),
            },
        }


def xmr(values, dates=None, run_length: int = 7, screen_outliers: bool = True,
        improvement: str = "neutral", *, bounds: tuple[float, float] | None = None,
        target: float | None = None, rebase=None, recalculate_at_shift: bool = True) -> XmrResult:
    """XmR chart of ``values`` (in time order, or ordered by ``dates``); missing values skipped.

    ``dates``: one per value; monthly dates ("2024-04", "2024-04-01", timestamps) give a calendar
    axis whose missing months are gaps. ``improvement`` is "increase", "decrease" or "neutral"
    and types the points (improvement / concern, or neutral high / low). ``bounds``: the range
    the measure can take (``(0, 100)`` for a percentage), which clips the limits. ``target``: a
    standard in the values' units, for the assurance. ``rebase``: dates at which new limits
    start. ``recalculate_at_shift``: recalculate the limits at a sustained shift that made every
    point special cause (module docstring); off where the shift itself is the finding sought.
    Raises ValueError for fewer than 2 values or an unknown direction.
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
    months = _months(series.index) if dates is not None else None
    rebase_at = np.zeros(len(y), bool)
    if rebase is not None and months is not None:
        for when in np.atleast_1d(_months(pd.Index(np.atleast_1d(rebase)))):
            later = np.flatnonzero(months >= when)
            if later.size and later[0] > 0:
                rebase_at[later[0]] = True
    args = (series, months, run_length, screen_outliers, improvement, bounds, target)
    result = _chart(*args, rebase_at, np.zeros(len(y), bool), [])
    if not result.special_cause.all():
        return result
    # Every point special cause: when that is because a one-month shock pulled the mean away from
    # every other month, leave the shock out of the mean and limits (MDC's "ghosted" points) and
    # say so; a sustained trend or shift stays as it is, since that is a real change.
    ghost = _isolated_shocks(result)
    if ghost.any():
        shown = ", ".join(str(_label(d)) for d in series.index[ghost])
        retry = _chart(*args, rebase_at, ghost, [f"{shown} left out of the mean and limits (ghosted): a one-month "
                                                  "shock that otherwise made every point special cause"])
        if not retry.special_cause.all():
            return retry
    if recalculate_at_shift and not rebase_at.any():
        change = _change_point(y)
        trend = result.points["trend"].to_numpy()
        if change is not None and not trend[:change].all() and not trend[change:].all():
            when = _month_text(months[change]) if months is not None else f"point {change + 1}"
            new_phase = np.zeros(len(y), bool)
            new_phase[change] = True
            retry = _chart(*args, new_phase, new_phase & False, [f"limits recalculated at {when} after a sustained shift"])
            both_have_limits = retry.points.groupby("phase")["lower"].first().notna().all()
            if both_have_limits and not retry.special_cause.all():
                return retry
    return result


def _change_point(y: np.ndarray) -> int | None:
    """The index where a second limits period would start: the split into two parts of at least
    ``MIN_PART`` points that minimises the pooled sum of squared deviations from each part's mean
    (the first such split on a tie); None when the series is shorter than ``2 × MIN_PART``."""
    n = y.size
    if n < 2 * MIN_PART:
        return None
    split = np.arange(MIN_PART, n - MIN_PART + 1)          # first index of the second part
    total, squares = np.cumsum(y), np.cumsum(y * y)
    left = squares[split - 1] - total[split - 1] ** 2 / split
    right_n = n - split
    right = (squares[-1] - squares[split - 1]) - (total[-1] - total[split - 1]) ** 2 / right_n
    return int(split[np.argmin(np.round(left + right, 9))])  # rounding: float noise never breaks a tie


def _chart(series, months, run_length, screen_outliers, improvement, bounds, target, new_phase, ghost,
           notes) -> XmrResult:
    """The XmR chart of ``series`` with limits periods starting at ``new_phase`` and the ``ghost``
    points left out of each period's mean and moving ranges."""
    y = series.to_numpy()
    notes = list(notes)
    # run breaks: a gap in the calendar or a rebase; limits periods ("phases"): rebases only
    after_gap = np.zeros(len(y), bool)
    gaps = []
    if months is not None:
        step = np.diff(months)
        after_gap[1:] = step > 1
        for i in np.flatnonzero(step > 1):
            gaps.append(_gap(months[i], months[i + 1]))
    breaks = after_gap | new_phase
    segment = np.cumsum(breaks)
    phase = np.cumsum(new_phase)

    moving_range = np.r_[np.nan, np.abs(np.diff(y))]
    moving_range[breaks] = np.nan
    shock_ranges = ghost | np.r_[ghost[1:], False]
    limits = {c: np.full(len(y), np.nan) for c in LIMIT_COLUMNS}
    amrs, flats, unscreened = [], [], []
    for p in np.unique(phase):
        mine = phase == p
        centre = float(y[mine & ~ghost].mean()) if (mine & ~ghost).any() else float(y[mine].mean())
        ranges = moving_range[mine & ~shock_ranges]
        ranges = ranges[np.isfinite(ranges)]
        amr, flat, screened = _average_moving_range(ranges, y[mine & ~ghost], screen_outliers, bounds)
        amrs.append(amr)
        flats.append(flat)
        unscreened.append(screen_outliers and not screened and not flat)
        limits["centre"][mine] = centre
        if not flat:
            for column, width in (("lower", -LIMIT), ("upper", LIMIT), ("lower_near", -NEAR), ("upper_near", NEAR)):
                limits[column][mine] = centre + width * amr
    if bounds is not None:
        for column in LIMIT_COLUMNS[1:]:
            limits[column] = np.clip(limits[column], *bounds)
    flat_point = np.repeat(np.asarray(flats), np.bincount(phase))

    centre = limits["centre"]
    side = np.sign(y - centre)
    outside = ~flat_point & ((y > limits["upper"]) | (y < limits["lower"]))
    near = ~flat_point & ~outside & ((y > limits["upper_near"]) | (y < limits["lower_near"]))
    trend, trend_direction = _trend(y, run_length, breaks)
    flags = {
        "outside_limits": outside,
        "trend": trend & ~flat_point,
        "two_of_three": _two_of_three(near, side, segment),
        "shift": _runs(side, run_length, breaks) & (side != 0) & ~flat_point,
    }
    rule = np.select([flags[r] for r in RULES], list(RULES), default="")
    direction = np.where(rule == "trend", trend_direction, side) * (rule != "")
    points = pd.DataFrame({"value": y, "moving_range": moving_range, "segment": segment, "phase": phase,
                           **limits, **flags}, index=series.index)
    points["rule"] = pd.Series(rule, index=series.index).replace("", None)
    points["direction"] = direction
    points["point_type"] = _point_type(direction, DIRECTIONS[improvement])

    last = phase == phase[-1]
    if flats[-1]:
        values, counts = np.unique(y[last], return_counts=True)
        notes.append(f"too little variation for XmR: {int(counts.max())} of {int(last.sum())} months at "
                     f"{values[counts.argmax()]:g}, so no limits are drawn and no special cause is called "
                     "(values stuck at one level, such as 0% or 100%, suit a funnel or P-chart)")
    if any(unscreened):
        notes.append("moving-range screening was not applied: it would have removed every non-zero "
                     "moving range and left zero-width limits")
    for gap in gaps:
        notes.append(f"no data for {gap['from']}" + (f" to {gap['to']}" if gap["months"] > 1 else "")
                     + f" ({gap['months']} month{'s' if gap['months'] > 1 else ''}): runs, trends and "
                     "moving ranges do not cross the gap")
    short = int(last.sum())
    if short < SHORT_SERIES:
        notes.append(f"only {short} points (fewer than {SHORT_SERIES}): these are trial limits, "
                     "recalculate them when more months are available")
    assurance = None
    if target is not None and improvement != "neutral" and not flats[-1]:
        lower, upper = limits["lower"][-1], limits["upper"][-1]
        sense = DIRECTIONS[improvement]
        if target > upper:
            assurance = "fail" if sense > 0 else "pass"
        elif target < lower:
            assurance = "pass" if sense > 0 else "fail"
        else:
            assurance = "inconsistent"
    return XmrResult(float(centre[-1]), float(amrs[-1]), float(limits["lower"][-1]), float(limits["upper"][-1]),
                     float(limits["lower_near"][-1]), float(limits["upper_near"][-1]), run_length, improvement,
                     points, "; ".join(notes) or None, notes, gaps, bool(flats[-1]),
                     not unscreened[-1], None if target is None else float(target), assurance)


def _average_moving_range(ranges: np.ndarray, values: np.ndarray, screen: bool,
                          bounds: tuple[float, float] | None) -> tuple[float, bool, bool]:
    """(AMR, too little variation, screening applied) for one limits period's moving ranges and
    values (see ``_stuck``)."""
    if ranges.size == 0:
        return float("nan"), True, False
    amr = float(ranges.mean())
    if _stuck(values, ranges, bounds):
        return amr, True, False
    if not screen:
        return amr, False, False
    kept = ranges[ranges < SCREEN * amr]
    if kept.size == 0 or not (kept > 0).any():
        return amr, False, False  # screening would leave zero-width limits: do not screen
    return float(kept.mean()), False, True


def _stuck(values: np.ndarray, ranges: np.ndarray, bounds: tuple[float, float] | None) -> bool:
    """Too little variation for XmR: a constant series, or one stuck at a bound of the measure
    (more than half its months within ``NEAR_BOUND`` of the range from 0 % or 100 %, and more
    than half its month-to-month changes zero: 98, 99, 99, 99, 98 … in whole points). A step
    between two levels away from a bound, or values alternating, is variation XmR should show."""
    if not (ranges > 0).any():
        return True
    if bounds is None or np.median(ranges) > 0:
        return False
    near = NEAR_BOUND * (bounds[1] - bounds[0])
    at_bound = (values <= bounds[0] + near) | (values >= bounds[1] - near)
    return bool(at_bound.sum() * 2 > values.size)


def _isolated_shocks(result: XmrResult) -> np.ndarray:
    """Points outside the limits whose moving ranges on both sides (where they exist) are at or
    above the screening cut-off: one-month shocks, such as a month of partial data."""
    pts = result.points
    cut = SCREEN * result.amr if np.isfinite(result.amr) else np.inf
    before = pts["moving_range"].to_numpy()
    after = np.r_[before[1:], np.nan]
    big_before, big_after = before >= cut, after >= cut
    either_missing = np.isnan(before) | np.isnan(after)
    return pts["outside_limits"].to_numpy() & (big_before | big_after) & \
        ((big_before & big_after) | either_missing)


def _months(index: pd.Index) -> np.ndarray | None:
    """Calendar month numbers (year × 12 + month) of monthly dates, or None when the index is
    not dates (then the series is taken as consecutive)."""
    if pd.api.types.is_numeric_dtype(index.dtype):
        return None
    text = [str(v) for v in index]
    if all(len(t) >= 7 and t[4] == "-" and t[:4].isdigit() and t[5:7].isdigit() for t in text):
        return np.array([int(t[:4]) * 12 + int(t[5:7]) - 1 for t in text], dtype="int64")  # "2024-04(-01)"
    try:
        stamps = pd.to_datetime(pd.Index([str(v) for v in index]) if not
                                pd.api.types.is_datetime64_any_dtype(index.dtype) else index, format="mixed")
    except (ValueError, TypeError):
        return None
    return (stamps.year * 12 + stamps.month - 1).to_numpy(dtype="int64")


def _gap(before: int, after: int) -> dict:
    first, last = before + 1, after - 1
    return {"from": _month_text(first), "to": _month_text(last), "months": int(last - first + 1)}


def _month_text(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _runs(codes: np.ndarray, length: int, breaks: np.ndarray | None = None) -> np.ndarray:
    """True where a point sits in a run of >= length equal consecutive codes; ``breaks`` marks
    points that start a new run whatever their code (after a gap or at a rebase)."""
    if codes.size == 0:
        return np.zeros(0, bool)
    starts = np.r_[True, codes[1:] != codes[:-1]]
    if breaks is not None:
        starts |= breaks
    run_id = np.cumsum(starts) - 1
    run_size = np.bincount(run_id)
    return run_size[run_id] >= length


def _trend(y: np.ndarray, length: int, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``length`` consecutive strictly rising (or falling) values, and the direction.

    A trend of ``length`` points is ``length − 1`` equal-signed steps; a step across a gap or a
    rebase is no step. A point between a rising and a falling trend takes the direction of the
    step to its right, as the package does.
    """
    step = np.sign(np.diff(y))
    step[breaks[1:]] = 0
    in_trend_step = _runs(step, length - 1) & (step != 0) if step.size else np.zeros(0, bool)
    left = np.r_[False, in_trend_step]     # the step arriving at the point
    right = np.r_[in_trend_step, False]    # the step leaving the point
    direction = np.where(right, np.r_[step, 0], np.where(left, np.r_[0, step], 0))
    return left | right, direction


def _two_of_three(near: np.ndarray, side: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Near-limit points inside a 3-point window (within one segment) with >= 2 near-limit
    points, all on one side."""
    n = near.size
    if n < 3:
        return np.zeros(n, bool)
    windows_near = np.lib.stride_tricks.sliding_window_view(near.astype(int), 3).sum(axis=1)
    windows_side = np.lib.stride_tricks.sliding_window_view(side, 3).sum(axis=1)
    same_segment = segment[:-2] == segment[2:]
    qualifies = (windows_near >= 2) & (np.abs(windows_side) == 3) & same_segment
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


def _label(value):
    return str(value.date()) if isinstance(value, pd.Timestamp) else (value.item() if isinstance(value, np.generic)
                                                                        else value)


def _num(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
