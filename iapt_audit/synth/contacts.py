"""Care contacts (IDS201) and care activities (IDS202) of a chunk, laid out from its schedule.

Five kinds of contact: the attended assessment (AppType 01; an assess-and-treat first contact is
the first session instead), the attended treatment sessions (02, 03 first if combined, some 05
reviews), employment-support contacts (10) during a course, appointments that did not happen
(DNA 3, cancellations 2 and 4, late and not seen 7) scattered over the referral's life, and
follow-ups (06) after discharge. Every attended treatment session has one care activity carrying
its therapy's SNOMED code, and its scores; every employment-support contact has one carrying the
employment-support code and no scores. Employment support is not treatment ([MM20] M076, §1.5
AppType), so those contacts fall between the first and the last session: they change neither the
session counts nor the last contact of a course.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth.draw import categorical, uniform_days
from iapt_audit.synth.pathways import NOT_SEEN, TREATED, Plan
from iapt_audit.synth.timeline import Schedule

APP_TYPES = ["01", "02", "03", "05", "06", "10"]
ASSESS, TREAT, COMBINED, REVIEW, FOLLOW_UP, EMPLOYMENT_SUPPORT = range(6)
ATTEND_CODES = ["5", "6"] + list(cal.NON_ATTENDANCE_MIX)
NOT_SEEN_APPOINTMENTS = 0.6      # mean booked-but-missed assessments of a referral never seen
FOLLOW_UP_DELAY = (30, 120)      # days after discharge
DURATION = {"assessment": (40, 60), "li": (25, 45), "hi": (50, 60), "group": (90, 120),
            "follow_up": (20, 40), "employment_support": (30, 60)}   # minutes, uniform (assumption)


@dataclass
class Contacts:
    ref: np.ndarray            # chunk position of the referral
    day: np.ndarray
    app: np.ndarray            # index into APP_TYPES
    attend: np.ndarray         # index into ATTEND_CODES
    planned: np.ndarray        # PlannedCareContIndicator is "Y"
    group: np.ndarray
    participants: np.ndarray   # group contacts only
    duration: np.ndarray       # minutes, -1 when the contact did not happen
    cons: np.ndarray           # ConsMechanism code
    session: np.ndarray        # position in the schedule's sessions, -1 if not a session

    def __len__(self) -> int:
        return len(self.ref)

    @property
    def has_activity(self) -> np.ndarray:
        """Contacts with a care activity (IDS202): treatment sessions and employment support."""
        return (self.session >= 0) | (self.app == EMPLOYMENT_SUPPORT)


def build_contacts(plan: Plan, sched: Schedule, rng: np.random.Generator, dna_rate: np.ndarray,
                   end_day: int) -> Contacts:
    """All contacts of the chunk, ordered by referral and date."""
    parts = [_assessments(plan, sched, rng), _sessions(plan, sched, rng), _employment_support(plan, sched, rng),
             _missed(plan, sched, rng, dna_rate, end_day), _follow_ups(plan, sched, rng, end_day)]
    merged = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    order = np.lexsort((merged["day"], merged["ref"]))
    merged = {name: values[order] for name, values in merged.items()}
    attended = merged["attend"] < 2
    n = len(order)
    late = attended & (rng.random(n) < cal.LATE_BUT_SEEN)
    merged["attend"] = np.where(late, 1, merged["attend"])
    merged["planned"] = ~(attended & (rng.random(n) < cal.UNPLANNED))
    cons = np.array(list(cal.CONS_MECHANISMS))[categorical(rng, cal.CONS_MECHANISMS, n)]
    group_cons = np.array(list(cal.GROUP_CONS_MECHANISMS))[categorical(rng, cal.GROUP_CONS_MECHANISMS, n)]
    merged["cons"] = np.where(merged["group"], group_cons, cons)
    return Contacts(**merged)


def _rows(ref, day, app, attend, rng, kind, session=None, group=None, participants=None):
    n = len(ref)
    group = np.zeros(n, bool) if group is None else group
    duration = np.where(attend < 2, uniform_days(rng, DURATION[kind], n), -1) if kind else np.full(n, -1)
    return {"ref": ref, "day": day, "app": np.full(n, app) if np.isscalar(app) else app,
            "attend": np.full(n, attend) if np.isscalar(attend) else attend, "group": group,
            "participants": np.where(group, participants, -1) if participants is not None else np.full(n, -1),
            "duration": duration, "session": np.full(n, -1) if session is None else session}


def _assessments(plan, sched, rng):
    ref = np.flatnonzero((sched.assess_day >= 0) & ~(plan.combined & (plan.path == TREATED)))
    return _rows(ref, sched.assess_day[ref], ASSESS, 0, rng, "assessment")


def _sessions(plan, sched, rng):
    ref, k = sched.sess_ref, sched.sess_k
    n = len(ref)
    app = np.where((k == 0) & plan.combined[ref], COMBINED,
                   np.where((k >= 2) & (rng.random(n) < cal.REVIEW_AND_TREATMENT), REVIEW, TREAT))
    rows = _rows(ref, sched.sess_day, app, 0, rng, "li", session=np.arange(n), group=sched.sess_group,
                 participants=plan.group_size[ref])
    hi = uniform_days(rng, DURATION["hi"], n)
    group = uniform_days(rng, DURATION["group"], n)
    rows["duration"] = np.select([sched.sess_group, ~sched.sess_li], [group, hi], rows["duration"])
    return rows


def employment_support_planned(plan: Plan) -> np.ndarray:
    """Employment-support contacts planned per referral: courses (two or more sessions) only."""
    return np.where(plan.employment_support & (plan.n_treat >= 2), plan.n_es, 0)


def _employment_support(plan, sched, rng):
    """Attended AppType 10 contacts on days between the first and last session within the period."""
    sessions = np.bincount(sched.sess_ref, minlength=len(plan))
    start = np.cumsum(sessions) - sessions
    course = np.flatnonzero((employment_support_planned(plan) > 0) & (sessions >= 2))
    first, last = sched.sess_day[start[course]], sched.sess_day[start[course] + sessions[course] - 1]
    count = plan.n_es[course]
    ref = np.repeat(course, count)
    low, span = np.repeat(first, count), np.repeat(last - first + 1, count)
    day = low + np.floor(rng.random(len(ref)) * span).astype(np.int64)
    return _rows(ref, day, EMPLOYMENT_SUPPORT, 0, rng, "employment_support")


def _missed(plan, sched, rng, dna_rate, end_day):
    """Appointments that did not happen, so that DNAs are about ``dna_rate`` of all contacts."""
    mix = cal.NON_ATTENDANCE_MIX
    missed_share = dna_rate[plan.prov] * sum(mix.values()) / mix["3"]
    attended = plan.n_treat + ((plan.path != NOT_SEEN) & ~plan.combined) + employment_support_planned(plan)
    mean = np.where(plan.path == NOT_SEEN, NOT_SEEN_APPOINTMENTS, missed_share / (1 - missed_share) * attended)
    count = rng.poisson(mean)
    ref = np.repeat(np.arange(len(plan)), count)
    span = sched.planned_end[ref] - sched.ref_day[ref]
    day = sched.ref_day[ref] + 1 + np.floor(rng.random(len(ref)) * np.maximum(span, 1)).astype(np.int64)
    keep = day <= end_day
    ref, day = ref[keep], day[keep]
    assessed = sched.assess_day[ref]
    app = np.where((assessed < 0) | (day < assessed), ASSESS, TREAT)
    attend = 2 + categorical(rng, mix, len(ref))
    return _rows(ref, day, app, attend, rng, None)


def _follow_ups(plan, sched, rng, end_day):
    due = (sched.disch_day >= 0) & (plan.n_treat >= 2) & plan.followup
    ref = np.flatnonzero(due)
    day = sched.disch_day[ref] + uniform_days(rng, FOLLOW_UP_DELAY, len(ref))
    keep = day <= end_day
    return _rows(ref[keep], day[keep], FOLLOW_UP, 0, rng, "follow_up")
