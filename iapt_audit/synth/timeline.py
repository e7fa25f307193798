"""Dates: when each referral is assessed, treated and discharged, and what the extract can see.

Every date is first laid out as an offset from the referral date, so an N1 stepped-up child can
be moved to follow its parent's discharge by changing one number. Then the extract's edge is
applied: nothing after the period end exists, and a referral whose discharge would come later is
still open (no ServDischDate, no EndCode) — which is how open referrals arise naturally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth.draw import categorical, lognormal_days, uniform_days
from iapt_audit.synth.pathways import NOT_SEEN, SEEN, TREATED, Plan

DISCHARGE_LAG = {TREATED: (0, 28), SEEN: (0, 21), NOT_SEEN: (14, 120)}  # days after last event
CHILD_REFERRAL_LAG = (0, 14)   # an N1 re-referral follows its parent's discharge (days)
MIN_SESSION_GAP = 3


@dataclass
class Schedule:
    # per attended treatment session within the period, ordered by referral then session
    sess_ref: np.ndarray       # chunk position of the referral
    sess_k: np.ndarray         # 0 = first session
    sess_day: np.ndarray
    sess_li: np.ndarray        # low intensity (else high)
    sess_group: np.ndarray
    # per referral
    ref_day: np.ndarray
    assess_day: np.ndarray     # attended assessment (-1: none within the period)
    planned_end: np.ndarray    # discharge day had the extract no edge
    disch_day: np.ndarray      # -1: still open at the period end
    end_code: np.ndarray       # "" while open


def schedule(plan: Plan, rng: np.random.Generator, end_day: int) -> Schedule:
    n = len(plan)
    treated = plan.path == TREATED
    ntreat = plan.n_treat
    assess_off = np.where(treated, np.where(plan.combined, plan.wait, (plan.wait * rng.uniform(0.3, 0.8, n)).astype(np.int64)),
                          np.where(plan.path == SEEN, plan.wait, -1))

    ref = np.repeat(np.arange(n), ntreat)
    start = np.cumsum(ntreat) - ntreat
    k = np.arange(len(ref)) - start[ref]
    gap = lognormal_days(rng, cal.SESSION_GAP, len(ref), minimum=MIN_SESSION_GAP)
    gap = np.where(k == 1, plan.gap_second[ref], gap)
    step = (k == plan.n_li[ref]) & (plan.n_li[ref] > 0) & (plan.n_hi[ref] > 0)
    gap = np.where(step, np.maximum(gap, plan.gap_step[ref]), gap)
    gap[k == 0] = 0
    total = np.cumsum(gap)
    offset = plan.wait[ref] + total - total[start[ref]]

    last_off = np.where(plan.path == SEEN, assess_off, 0)
    has = ntreat > 0
    last_off[has] = offset[start[has] + ntreat[has] - 1]
    lag = np.select([plan.path == p for p in DISCHARGE_LAG],
                    [uniform_days(rng, bounds, n) for bounds in DISCHARGE_LAG.values()])
    end_off = last_off + lag

    ref_day = _place_children(plan, rng, plan.ref_day.copy(), end_off, end_day)
    sess_day = ref_day[ref] + offset
    planned_end = ref_day + end_off
    closed = planned_end <= end_day
    assess_day = np.where((assess_off >= 0) & (ref_day + assess_off <= end_day), ref_day + assess_off, -1)

    keep = sess_day <= end_day
    li = k < plan.n_li[ref]
    group = (plan.li_group[ref] & li) | (plan.first_group[ref] & (k == 0))
    return Schedule(
        sess_ref=ref[keep], sess_k=k[keep], sess_day=sess_day[keep], sess_li=li[keep], sess_group=group[keep],
        ref_day=ref_day, assess_day=assess_day, planned_end=planned_end,
        disch_day=np.where(closed, planned_end, -1),
        end_code=np.where(closed, _end_codes(plan, rng), ""),
    )


def _place_children(plan, rng, ref_day, end_off, end_day) -> np.ndarray:
    """Move each N1 child to just after its parent's discharge; unlink those that would fall
    after the period end (they stay ordinary high-intensity referrals)."""
    child = np.flatnonzero(plan.child)
    parent = plan.parent[child]
    moved = ref_day[parent] + end_off[parent] + uniform_days(rng, CHILD_REFERRAL_LAG, len(child))
    fits = moved <= end_day
    ref_day[child[fits]] = moved[fits]
    plan.parent[child[~fits]] = -1
    plan.ref_day = ref_day
    return ref_day


def _end_codes(plan, rng) -> np.ndarray:
    """EndCode consistent with the path: 50 not seen, 1x seen not treated, 46/47/48 treated."""
    n = len(plan)
    drawn = {group: np.array(list(mix))[categorical(rng, mix, n)] for group, mix in cal.END_CODE_MIX.items()}
    ntreat = plan.n_treat
    return np.select([plan.path == NOT_SEEN, plan.path == SEEN, ntreat == 1],
                     [np.full(n, "50"), drawn["seen"], drawn["once"]], drawn["course"])
