"""Questionnaire scores: PHQ-9 and the anxiety measure of the problem descriptor.

Each treated referral moves from its intake scores to its end scores in a straight line over its
planned sessions, with session-to-session noise; the end scores come from the referral's
proportional improvement (``Plan.response``), which is what calibrates recovery and reliable
improvement. Scores sit at a care activity (IDS607) at most sessions, always the first and usually
the last; some referrals also have referral-level scores at assessment (IDS606) [G21 §7.2].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth import tools
from iapt_audit.synth.pathways import Plan
from iapt_audit.synth.timeline import Schedule


@dataclass
class Scores:
    """Long rows: ``owner`` is a session position (IDS607) or a referral position (IDS606)."""

    owner: np.ndarray
    tool: np.ndarray     # tool id (tools.NAMES)
    score: np.ndarray
    day: np.ndarray      # completion date (IDS606 only; IDS607 takes its contact's date)


def end_scores(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """PHQ-9 and anxiety measure at the last planned session of every referral."""
    n = len(plan)
    adsm = tools.ADSM_BY_DESCRIPTOR[plan.descriptor]
    ends = []
    for intake, tool in ((plan.phq0, tools.PHQ9), (plan.adsm0, adsm)):
        improvement = plan.response + rng.normal(0, cal.RESPONSE_TOOL_SD, n)
        noise = rng.normal(0, cal.SCORE_NOISE, n) * tools.INTAKE_SD[tool]
        low = tools.LOW[tool]
        end = tools.to_scale(low + (intake - low) * (1 - improvement) + noise, tool)
        # a threshold discharge ends just below caseness on both measures (GM06)
        ends.append(np.where(plan.heap, tools.BELOW_CASENESS[tool], end))
    return ends[0], ends[1]


def session_scores(plan: Plan, sched: Schedule, rng: np.random.Generator) -> Scores:
    """IDS607 rows for the sessions in the schedule (owner = session position)."""
    ref, k = sched.sess_ref, sched.sess_k
    n = len(ref)
    planned = plan.n_treat[ref]
    fraction = np.where(planned > 1, k / np.maximum(planned - 1, 1), 0.0)
    middle = (k > 0) & (k < planned - 1)
    phq_end, adsm_end = end_scores(plan, rng)
    adsm = tools.ADSM_BY_DESCRIPTOR[plan.descriptor][ref]
    values = []
    for intake, end, tool in ((plan.phq0, phq_end, tools.PHQ9), (plan.adsm0, adsm_end, adsm)):
        noise = rng.normal(0, cal.SCORE_NOISE, n) * tools.INTAKE_SD[tool] * middle
        values.append(tools.to_scale(intake[ref] + (end[ref] - intake[ref]) * fraction + noise, tool))
    phq, adsm_score = values
    # a threshold discharge is still at caseness on PHQ-9 at every session before the last
    held = plan.heap[ref] & (k < planned - 1)
    phq = np.where(held, np.maximum(phq, tools.CASENESS[tools.PHQ9]), phq)

    last = k == planned - 1
    recorded = (k == 0) | (last & plan.record_last[ref]) | \
        (middle & ~plan.sparse_scores[ref] & (rng.random(n) < cal.MID_SESSION_SCORED))
    at = np.flatnonzero(recorded)
    return _pairs(at, phq[at], adsm_score[at], adsm[at], np.full(len(at), -1))


def assessment_scores(plan: Plan, sched: Schedule) -> Scores:
    """IDS606 rows: intake scores at the assessment date (owner = referral position)."""
    at = np.flatnonzero((sched.assess_day >= 0) & plan.assess_scores)
    adsm = tools.ADSM_BY_DESCRIPTOR[plan.descriptor[at]]
    return _pairs(at, plan.phq0[at], plan.adsm0[at], adsm, sched.assess_day[at])


def _pairs(owner, phq, adsm_score, adsm, day) -> Scores:
    """Interleave PHQ-9 and anxiety-measure rows, owner by owner."""
    return Scores(
        owner=np.repeat(owner, 2),
        tool=np.column_stack([np.full(len(owner), tools.PHQ9), adsm]).ravel(),
        score=np.column_stack([phq, adsm_score]).ravel(),
        day=np.repeat(day, 2),
    )
