"""Questionnaire scores: PHQ-9, the anxiety measure of the problem descriptor, and the WSAS items.

Each treated referral moves from its intake scores to its end scores in a straight line over its
planned sessions, with session-to-session noise; the end scores come from the referral's
proportional improvement (``Plan.response``), which is what calibrates recovery and reliable
improvement. Scores sit at a care activity (IDS607) at most sessions, always the first and usually
the last; some referrals also have referral-level scores at assessment (IDS606) [G21 §7.2].
PHQ-9 and the ADSM are recorded together; the five WSAS items (§2.1: no caseness, never an ADSM)
join them at the first and last session, as NHS Digital's paired WSAS counts show, and at a share
of the other occasions (``calibration.WSAS_RECORDED``); they improve less than PHQ-9, as the
published first and last WSAS means show (``calibration.WSAS_RESPONSE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth import tools
from iapt_audit.synth.pathways import Plan
from iapt_audit.synth.timeline import Schedule

WORK = 0   # the WSAS work item's column in Plan.wsas0 (calibration.WSAS_ITEMS order)


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
    wsas_end = plan.wsas0 * (1 - cal.WSAS_RESPONSE * plan.response)[:, None]
    wsas_noise = rng.normal(0, cal.SCORE_NOISE, (len(at), len(tools.WSAS))) * tools.INTAKE_SD[tools.WSAS]
    r, f = ref[at], fraction[at, None]
    wsas = tools.to_scale(plan.wsas0[r] + (wsas_end[r] - plan.wsas0[r]) * f + wsas_noise * middle[at, None],
                          tools.WSAS)
    with_wsas = ~middle[at] | (rng.random(len(at)) < cal.WSAS_RECORDED)
    return _occasions(plan, at, r, phq[at], adsm_score[at], adsm[at], wsas, with_wsas, np.full(len(at), -1))


def assessment_scores(plan: Plan, sched: Schedule, rng: np.random.Generator) -> Scores:
    """IDS606 rows: intake scores at the assessment date (owner = referral position)."""
    at = np.flatnonzero((sched.assess_day >= 0) & plan.assess_scores)
    adsm = tools.ADSM_BY_DESCRIPTOR[plan.descriptor[at]]
    with_wsas = rng.random(len(at)) < cal.WSAS_RECORDED
    return _occasions(plan, at, at, plan.phq0[at], plan.adsm0[at], adsm, plan.wsas0[at], with_wsas,
                      sched.assess_day[at])


def _occasions(plan, owner, ref, phq, adsm_score, adsm, wsas, with_wsas, day) -> Scores:
    """The rows of each scoring occasion, owner by owner: PHQ-9, the anxiety measure, then the
    WSAS items where ``with_wsas`` (the work item only where it applies)."""
    n = len(owner)
    keep = np.column_stack([np.ones((n, 2), bool), np.repeat(with_wsas[:, None], len(tools.WSAS), axis=1)])
    keep[:, 2 + WORK] &= ~plan.work_not_applicable[ref]
    tool = np.column_stack([np.full(n, tools.PHQ9), adsm, np.broadcast_to(tools.WSAS, (n, len(tools.WSAS)))])
    score = np.column_stack([phq, adsm_score, wsas])
    width = tool.shape[1]
    rows = keep.ravel()
    return Scores(
        owner=np.repeat(owner, width)[rows],
        tool=tool.ravel()[rows],
        score=score.ravel()[rows],
        day=np.repeat(day, width)[rows],
    )
