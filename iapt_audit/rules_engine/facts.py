"""Per-referral building blocks the rules share, all vectorised over ``Pathways``.

Each returns a Series aligned to ``pathways.referrals`` (index ``ref``), so a rule states its
indicator as a few masks and builds its cases with ``cases``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def remembered(pathways, name: str, compute):
    """``compute()``, a per-referral fact that does not depend on the period measured (a Series or
    DataFrame indexed like ``pathways.referrals``), computed once per set of referrals.

    Why: the monthly SPC charts (``outliers.monthly_spc``) measure every rule on a dozen cuts of
    the same referrals; each cut (``outliers._open_during``) takes the facts the rules stage
    already computed on the whole with it (``cut_facts``) instead of computing them again. Facts
    are kept per referrals frame, so a ``Pathways`` holding other referrals never sees them.
    """
    key = (id(pathways.referrals), name)
    if key not in pathways.facts:
        pathways.facts[key] = compute()
    return pathways.facts[key]


def cut_facts(pathways, keep: np.ndarray, referrals: pd.DataFrame) -> dict:
    """The facts remembered for ``pathways``' referrals, cut to the rows ``keep`` (a mask over
    them) and indexed like ``referrals`` (those rows, renumbered), for a ``Pathways`` of them."""
    own = id(pathways.referrals)
    return {(id(referrals), name): fact[keep].set_axis(referrals.index)
            for (frame, name), fact in pathways.facts.items() if frame == own}


def cases(referrals: pd.DataFrame, in_scope, counted, **facts) -> pd.DataFrame:
    """``Measurement.cases``: the referrals in scope, their ``counted`` flag and the named facts."""
    frame = pd.DataFrame({"OrgIDProv": referrals["OrgIDProv"], "ServiceRequestId": referrals["ServiceRequestId"],
                          "counted": np.asarray(counted, dtype=bool), **facts}, index=referrals.index)
    return frame.loc[np.asarray(in_scope, dtype=bool)]


def ended_in(referrals: pd.DataFrame, period) -> pd.Series:
    """Referral ended (ServDischDate) in the period ([MM20] M056)."""
    return period.contains(referrals["ServDischDate"]).fillna(False)


def ended_treated(referrals: pd.DataFrame, period) -> pd.Series:
    """Ended in the period after at least one treatment contact (M056 − M153, M288's denominator)."""
    return ended_in(referrals, period) & referrals["TherapySession_FirstDate"].notna()


def finished(referrals: pd.DataFrame, period) -> pd.Series:
    """Finished a course of treatment in the period ([MM20] M076)."""
    return ended_in(referrals, period) & referrals["CompletedTreatment_Flag"]


def nth_treatment(pathways, nth: int, columns=("CareContDate", "AppType", "CareContPatientTherMode",
                                                 "NumGroupTherParticipants")) -> pd.DataFrame:
    """The nth (1-based) treatment contact's items per referral; missing where there is none."""
    def compute():
        contacts = pathways.contacts
        picked = contacts.loc[(contacts["treatment_number"] == nth).to_numpy(), ["ref", *columns]].set_index("ref")
        return picked.reindex(pathways.referrals.index)
    return remembered(pathways, f"treatment {nth} {columns}", compute)


def last_seen(pathways) -> pd.Series:
    """Date of each referral's last attended, in-window, non-follow-up contact."""
    def compute():
        contacts = pathways.contacts
        seen = contacts.loc[contacts["seen"].to_numpy(), ["ref", "CareContDate"]]
        return seen.groupby("ref")["CareContDate"].max().reindex(pathways.referrals.index)
    return remembered(pathways, "last seen", compute)


def days(delta: pd.Series) -> pd.Series:
    """Whole days of a timedelta Series, as floats (NaN where missing)."""
    return delta.dt.days.astype("float64")


def gap_or_still_waiting(start: pd.Series, end: pd.Series, discharged: pd.Series, period):
    """A wait from ``start`` to ``end`` as NHS Digital times the second-treatment wait, plus the
    referrals still waiting when the period ends.

    In scope: ``end`` falls in the period ([MM20] M046/M047's cohort), or the referral had
    ``start`` by the period's end, had no ``end`` by then and was still open ("still waiting").
    Returns (in_scope, gap in days — to the period's last day for those still waiting, waiting).
    """
    happened = period.contains(end).fillna(False) & start.notna()
    waiting = (start.notna() & (start <= period.end) & (end.isna() | (end > period.end))
               & (discharged.isna() | (discharged > period.end)))
    waiting = waiting.fillna(False)
    gap = days(end.where(happened, period.end) - start)
    return happened | waiting, gap, waiting
