"""Planted gaming: one provider per pattern bends its referrals' plans the way a gamer would.

Each plant takes the chunk's plan, the mask of its provider's referrals and a random generator,
rewrites the plan fields of a share (``calibration.PLANT_SHARE``) of the referrals the pattern is
about, and returns the mask of referrals it touched. Those become ``truth_records`` so a rule's
record-level recall can be measured. The patterns are the developers' brief's:

- GM01 assess-and-treat single sessions: a single AppType 03 contact, then discharge.
- GM02 single-session large groups: treatment entered through one group of 20-40, nothing more.
- GM03 hidden wait first to second treatment: quick first session, > 90 days to the second.
- GM04 hidden wait group to individual: a group session first, > 90 days to individual therapy.
- GM05 hidden wait low to high intensity: > 90 days from last low- to first high-intensity
  session, within a referral or across an N1 stepped-up re-referral.
- GM06 discharge at the recovery threshold: discharged at the first session below caseness on
  both measures, with the last PHQ-9 at 9 and the anxiety measure just below its cut-off.
- GM08 selective outcome recording: patients who did not improve lose their later scores.
"""

from __future__ import annotations

import numpy as np

from iapt_audit.synth import calibration as cal
from iapt_audit.synth.draw import extra_count, uniform_days
from iapt_audit.synth import tools
from iapt_audit.synth.pathways import SEEN, TREATED, Plan, first_treatment_wait

PATTERNS = ("GM01", "GM02", "GM03", "GM04", "GM05", "GM06", "GM08")
# GM05: long step-up waits push many touched high-intensity starts past the period end, so a
# larger share is planted for the visible share to stay within 30-60%; and the provider steps up
# more of its low-intensity courses, so a rule has enough step-ups to judge it by.
STEP_UP_SHARE = 0.8
STEP_UP_CONVERTED = 0.3
AUTO_MINIMUM_PROVIDERS = 8   # --plant auto: 7 patterns need 8+ providers so clean peers remain


def parse_plant(spec: str, providers: int) -> list[str | None]:
    """The pattern planted in each provider for ``--plant auto|none|GM01,GM03``.

    ``auto`` plants every pattern, one per provider in order, when there are at least
    AUTO_MINIMUM_PROVIDERS providers (so clean peers remain), and nothing otherwise.
    """
    spec = spec.strip()
    if spec == "none":
        chosen: list[str] = []
    elif spec == "auto":
        chosen = list(PATTERNS) if providers >= AUTO_MINIMUM_PROVIDERS else []
    else:
        chosen = [p.strip().upper() for p in spec.split(",") if p.strip()]
        unknown = [p for p in chosen if p not in PATTERNS]
        if unknown or not chosen:
            raise ValueError(f"unknown pattern {', '.join(unknown) or spec!r}; "
                             f"use auto, none or a list of {', '.join(PATTERNS)}")
        if len(set(chosen)) != len(chosen):
            raise ValueError("a pattern is listed twice")
        if len(chosen) >= providers:
            raise ValueError(f"{len(chosen)} patterns need at least {len(chosen) + 1} providers "
                             "(one per pattern and a clean peer)")
    return chosen + [None] * (providers - len(chosen))


def apply_plants(plan: Plan, rng: np.random.Generator, plants: list[str | None]) -> dict[str, np.ndarray]:
    """Plant each provider's pattern in the chunk; returns pattern -> referrals touched."""
    touched = {}
    for position, pattern in enumerate(plants):
        mine = plan.prov == position
        if pattern is not None and mine.any():
            touched[pattern] = PLANTS[pattern](plan, rng, mine)
    return touched


def _pick(rng, relevant: np.ndarray) -> np.ndarray:
    return relevant & (rng.random(len(relevant)) < cal.PLANT_SHARE)


def _plain(plan: Plan) -> np.ndarray:
    """Referrals that are not part of an N1 step-up pair."""
    return ~plan.child & ~plan.is_parent


def assess_and_treat_single(plan, rng, mine):
    chosen = _pick(rng, mine & (plan.path >= SEEN) & _plain(plan))
    plan.path[chosen] = TREATED
    plan.combined[chosen] = True
    plan.n_li[chosen], plan.n_hi[chosen] = 1, 0
    plan.li_group[chosen] = plan.first_group[chosen] = False
    return chosen


def single_session_large_group(plan, rng, mine):
    chosen = _pick(rng, mine & (plan.path == TREATED) & _plain(plan))
    plan.combined[chosen] = plan.first_group[chosen] = False
    plan.n_li[chosen], plan.n_hi[chosen] = 1, 0
    plan.li_group[chosen] = True
    plan.group_size[chosen] = uniform_days(rng, cal.LARGE_GROUP_SIZE, int(chosen.sum()))
    return chosen


def hidden_wait_first_second(plan, rng, mine):
    # the first session comes quickly, so the 6-week standard is met
    plan.wait[mine] = first_treatment_wait(rng, np.zeros(int(mine.sum())))
    chosen = _pick(rng, mine & (plan.n_treat >= 2))
    plan.gap_second[chosen] = uniform_days(rng, cal.LONG_GAP, int(chosen.sum()))
    return chosen


def hidden_wait_group_individual(plan, rng, mine):
    chosen = _pick(rng, mine & (plan.n_treat >= 2) & _plain(plan))
    plan.first_group[chosen] = True
    plan.li_group[chosen] = plan.combined[chosen] = False
    plan.gap_second[chosen] = uniform_days(rng, cal.LONG_GAP, int(chosen.sum()))
    return chosen


def hidden_wait_low_high(plan, rng, mine):
    # a provider that steps many people up to high intensity, and makes them wait for it
    n = len(plan)
    li_course = mine & (plan.path == TREATED) & (plan.n_li >= 2) & (plan.n_hi == 0) & _plain(plan)
    stepped = li_course & (rng.random(n) < STEP_UP_CONVERTED)
    plan.n_hi[stepped] = 2 + extra_count(rng, cal.HI_EXTRA_SESSIONS, n)[stepped]
    within = mine & (plan.path == TREATED) & (plan.n_li > 0) & (plan.n_hi > 0)
    parents = mine & plan.is_parent
    chosen = (within | parents) & (rng.random(n) < STEP_UP_SHARE)
    long_gap = uniform_days(rng, cal.LONG_GAP, n)
    plan.gap_step[chosen & within] = long_gap[chosen & within]
    # across a re-referral: the child's first (high-intensity) session waits long
    children = np.flatnonzero(plan.child & chosen[np.maximum(plan.parent, 0)])
    plan.wait[children] = long_gap[children]
    chosen[children] = True
    return chosen


def discharge_at_threshold(plan, rng, mine):
    adsm_case = tools.at_caseness(plan.adsm0, tools.ADSM_BY_DESCRIPTOR[plan.descriptor])
    relevant = mine & (plan.n_treat >= 2) & _plain(plan) & (plan.phq0 >= 12) & adsm_case
    chosen = _pick(rng, relevant)
    sessions = rng.integers(3, 7, len(plan))
    li = chosen & (plan.n_li > 0)
    plan.n_li[li], plan.n_hi[li] = sessions[li], 0
    plan.n_hi[chosen & ~li] = sessions[chosen & ~li]
    plan.heap[chosen] = True
    plan.record_last[chosen] = True
    return chosen


def selective_recording(plan, rng, mine):
    adsm = tools.ADSM_BY_DESCRIPTOR[plan.descriptor]
    phq_end = plan.phq0 * (1 - plan.response)
    adsm_end = tools.LOW[adsm] + (plan.adsm0 - tools.LOW[adsm]) * (1 - plan.response)
    not_improved = tools.at_caseness(phq_end, tools.PHQ9) | tools.at_caseness(adsm_end, adsm)
    chosen = mine & (plan.n_treat >= 2) & not_improved & (rng.random(len(plan)) < 0.85)
    plan.sparse_scores[chosen] = True
    plan.record_last[chosen] = plan.assess_scores[chosen] = False
    return chosen


PLANTS = {
    "GM01": assess_and_treat_single,
    "GM02": single_session_large_group,
    "GM03": hidden_wait_first_second,
    "GM04": hidden_wait_group_individual,
    "GM05": hidden_wait_low_high,
    "GM06": discharge_at_threshold,
    "GM08": selective_recording,
}
