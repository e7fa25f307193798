"""The plan of each referral in a chunk: how far it gets, how many sessions, which waits.

A plan is drawn for all referrals of a chunk at once (one numpy array per field) from their
provider's rates; the gaming plants then overwrite fields for the referrals they touch, and only
then are dates and contacts laid out (``timeline``, ``contacts``). Keeping the plan separate from
the dates is what lets a plant say "this referral is a single assess-and-treat session" without
knowing how dates are computed.

Stepped care: a course is low intensity only, high intensity only, or low then high. A share of
step-ups is made as a new referral (SourceOfReferralIAPT "N1") for the same patient: the
referral before it in the chunk becomes its low-intensity parent. Alongside therapy, a share of
courses also sees an employment adviser (AppType 10 contacts, not treatment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth import tools
from iapt_audit.synth.draw import categorical, extra_count, lognormal_days, uniform_days
from iapt_audit.synth.providers import Providers

NOT_SEEN, SEEN, TREATED = 0, 1, 2
SOURCE_CODES = list(cal.SOURCES)
PARENT_LATEST = 150   # days before the period end after which a referral cannot be a step-up parent


@dataclass
class Plan:
    """One array per field, one element per referral of the chunk."""

    gidx: np.ndarray          # global referral index (ServiceRequestId number)
    prov: np.ndarray          # provider position
    ref_day: np.ndarray       # referral received, days since 1970-01-01
    path: np.ndarray          # NOT_SEEN / SEEN / TREATED
    combined: np.ndarray      # first contact is assessment and treatment (AppType 03)
    wait: np.ndarray          # days from referral to first treatment (or to assessment if SEEN)
    n_li: np.ndarray          # attended low-intensity treatment sessions planned
    n_hi: np.ndarray          # attended high-intensity treatment sessions planned
    li_group: np.ndarray      # low-intensity sessions are group sessions
    first_group: np.ndarray   # the first session is a group session, the rest individual
    group_size: np.ndarray    # participants in this referral's group sessions
    gap_second: np.ndarray    # days from first to second treatment session
    gap_step: np.ndarray      # days from last low- to first high-intensity session
    parent: np.ndarray        # chunk position of the low-intensity referral an N1 child steps up from
    descriptor: np.ndarray    # index into tools.DESCRIPTOR_CODES, tools.NO_DESCRIPTOR = none recorded
    phq0: np.ndarray          # PHQ-9 at intake
    adsm0: np.ndarray         # anxiety measure at intake (tool: tools.ADSM_BY_DESCRIPTOR[descriptor])
    wsas0: np.ndarray         # WSAS items at intake, one column per calibration.WSAS_ITEMS
    work_not_applicable: np.ndarray  # the WSAS work item is not recorded (not in work by choice, retired)
    response: np.ndarray      # proportional improvement by the last session
    heap: np.ndarray          # discharged at the recovery threshold (GM06)
    sparse_scores: np.ndarray  # only the first session scored (GM08)
    record_last: np.ndarray   # the last session is scored
    followup: np.ndarray      # a follow-up contact after discharge
    assess_scores: np.ndarray  # referral-level (IDS606) scores at assessment
    source: np.ndarray        # index into SOURCE_CODES (an N1 child is written as "N1")
    li_therapy: np.ndarray    # index into calibration.LI_THERAPIES
    hi_therapy: np.ndarray    # index into calibration.HI_THERAPIES
    li_therapist: np.ndarray
    hi_therapist: np.ndarray
    employment_support: np.ndarray  # a course that also sees an employment adviser
    n_es: np.ndarray          # attended employment-support contacts planned (if employment_support)
    es_adviser: np.ndarray

    def __len__(self) -> int:
        return len(self.gidx)

    @property
    def n_treat(self) -> np.ndarray:
        return np.where(self.path == TREATED, self.n_li + self.n_hi, 0)

    @property
    def child(self) -> np.ndarray:
        return self.parent >= 0

    @property
    def is_parent(self) -> np.ndarray:
        mask = np.zeros(len(self), bool)
        mask[self.parent[self.parent >= 0]] = True
        return mask


def first_treatment_wait(rng: np.random.Generator, slow_share: np.ndarray) -> np.ndarray:
    """Days from referral to first treatment: a fast and a slow lognormal component."""
    n = len(slow_share)
    fast = lognormal_days(rng, cal.FAST_WAIT, n, minimum=1)
    slow = lognormal_days(rng, cal.SLOW_WAIT, n, minimum=1)
    return np.where(rng.random(n) < slow_share, slow, fast)


def draw_plan(rng: np.random.Generator, gidx: np.ndarray, providers: Providers,
              first_day: int, end_day: int) -> Plan:
    """Draw the plan of the referrals ``gidx`` (consecutive global indices, provider order)."""
    n = len(gidx)
    prov = providers.of_referrals(gidx)
    rate = {name: values[prov] for name, values in providers.rates.items()}

    enter = rng.random(n) < rate["enter"]
    seen = ~enter & (rng.random(n) < rate["seen_if_not_entered"])
    path = np.where(enter, TREATED, np.where(seen, SEEN, NOT_SEEN)).astype(np.int8)
    once = enter & (rng.random(n) < rate["treated_once"])
    course = enter & ~once
    kind = rng.random(n)
    stepped = course & (kind < rate["stepped_up"])
    hi_only = course & ~stepped & (kind < rate["stepped_up"] + rate["hi_only"])
    li_only = course & ~stepped & ~hi_only

    once_li = once & (rng.random(n) < 0.65)
    li_extra = extra_count(rng, cal.LI_EXTRA_SESSIONS, n)
    hi_extra = extra_count(rng, cal.HI_EXTRA_SESSIONS, n)
    stepped_li_extra = extra_count(rng, cal.STEPPED_LI_EXTRA, n)
    n_li = np.select([li_only, stepped, once_li], [2 + li_extra, 2 + stepped_li_extra, 1], 0)
    n_hi = np.select([hi_only | stepped, once & ~once_li], [2 + hi_extra, 1], 0)

    ref_day = rng.integers(first_day - cal.LEAD_DAYS, end_day + 1, n)
    parent = _step_up_pairs(rng, stepped, prov, ref_day, end_day)
    child = parent >= 0
    # the parent is the low-intensity course, the child the high-intensity one
    n_li[parent[child]], n_hi[parent[child]] = n_li[child], 0
    path[parent[child]] = TREATED
    n_li[child] = 0

    descriptor = categorical(rng, cal.DESCRIPTORS, n)
    descriptor[rng.random(n) < cal.DESCRIPTOR_MISSING] = tools.NO_DESCRIPTOR
    phq0, adsm0, wsas0 = _intake_scores(rng, descriptor)
    li_group = (n_li > 1) & (rng.random(n) < rate["li_group"])
    ntreat = n_li + n_hi
    return Plan(
        gidx=gidx, prov=prov, ref_day=ref_day, path=path,
        combined=enter & (rng.random(n) < rate["assess_and_treat_first"]),
        wait=first_treatment_wait(rng, rate["slow_start"]),
        n_li=n_li, n_hi=n_hi, li_group=li_group,
        first_group=(ntreat > 1) & ~li_group & (rng.random(n) < rate["first_group"]),
        group_size=uniform_days(rng, cal.GROUP_SIZE, n),
        gap_second=np.where(rng.random(n) < rate["gap_over_90"], uniform_days(rng, cal.LONG_GAP, n),
                            lognormal_days(rng, cal.SECOND_SESSION_GAP, n, minimum=2)),
        gap_step=lognormal_days(rng, cal.STEP_UP_GAP, n, minimum=7),
        parent=parent, descriptor=descriptor, phq0=phq0, adsm0=adsm0, wsas0=wsas0,
        work_not_applicable=rng.random(n) < cal.WSAS_WORK_NOT_APPLICABLE,
        response=rng.normal(cal.RESPONSE[0] + providers.response_shift[prov], cal.RESPONSE[1]),
        heap=np.zeros(n, bool), sparse_scores=np.zeros(n, bool),
        record_last=rng.random(n) < rate["last_score_recorded"],
        followup=rng.random(n) < rate["followup"],
        assess_scores=rng.random(n) < rate["assessment_scores"],
        source=categorical(rng, cal.SOURCES, n),
        li_therapy=categorical(rng, cal.LI_THERAPIES, n),
        hi_therapy=categorical(rng, cal.HI_THERAPIES, n),
        li_therapist=rng.integers(0, providers.therapists[prov]),
        hi_therapist=rng.integers(0, providers.therapists[prov]),
        employment_support=rng.random(n) < rate["employment_support"],
        n_es=1 + extra_count(rng, cal.EMPLOYMENT_SUPPORT_EXTRA, n),
        es_adviser=rng.integers(0, np.maximum(1, providers.therapists[prov] * cal.ADVISERS_PER_THERAPIST).astype(np.int64)),
    )


def _step_up_pairs(rng, stepped, prov, ref_day, end_day) -> np.ndarray:
    """Chunk position of each N1 child's parent (the referral just before it), -1 if not a child.

    A child needs a parent of the same provider that is not itself a child and was referred
    early enough for the step-up to happen within the period.
    """
    n = len(stepped)
    candidate = stepped & (rng.random(n) < cal.STEP_UP_BY_REREFERRAL)
    before = np.arange(n) - 1
    child = candidate.copy()
    child[0] = False
    child[1:] &= (~candidate[:-1]) & (prov[1:] == prov[:-1]) & (ref_day[:-1] <= end_day - PARENT_LATEST)
    return np.where(child, before, -1)


def _intake_scores(rng, descriptor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PHQ-9, anxiety-measure and WSAS item scores at intake, each correlated with PHQ-9, on each
    tool's own scale."""
    n = len(descriptor)
    z_phq = rng.standard_normal(n)
    rho = cal.INTAKE_CORRELATION
    z_adsm = rho * z_phq + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    z_wsas = rho * z_phq[:, None] + np.sqrt(1 - rho ** 2) * rng.standard_normal((n, len(tools.WSAS)))
    adsm = tools.ADSM_BY_DESCRIPTOR[descriptor]
    phq = tools.to_scale(tools.INTAKE_MEAN[tools.PHQ9] + tools.INTAKE_SD[tools.PHQ9] * z_phq, tools.PHQ9)
    wsas = tools.to_scale(tools.INTAKE_MEAN[tools.WSAS] + tools.INTAKE_SD[tools.WSAS] * z_wsas, tools.WSAS)
    return phq, tools.to_scale(tools.INTAKE_MEAN[adsm] + tools.INTAKE_SD[adsm] * z_adsm, adsm), wsas
