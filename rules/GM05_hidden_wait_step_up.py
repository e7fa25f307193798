"""GM05: the hidden wait when stepping up from low- to high-intensity therapy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.model import codes
from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, days, remembered


class HiddenWaitStepUp(Rule):
    """Long waits from the last low-intensity to the first high-intensity treatment.

    What it checks:
    Among referrals whose first high-intensity (HI) treatment fell in the period after earlier
    low-intensity (LI) treatment, the share where the HI treatment started more than over_days
    after the last LI treatment. The LI treatment may be in the same referral or — for a
    stepped-up re-referral (SourceOfReferralIAPT N1) — in an earlier referral of the same
    patient at the same provider.

    Why it matters:
    Stepping up starts no new clock that anyone measures: the patient "entered treatment" at the
    first LI session, so months spent waiting for HI therapy are invisible to the 6/18-week
    standards. When the step-up is made as a new referral (N1) its own referral-to-treatment
    wait starts only when the referral is made, so a delayed step-up referral hides the wait
    twice. NHS Digital added step-up waits to the v2.1 measures (M348–M367) for this reason.

    How it is measured:
    For each referral with a HighIntensityTherapy_FirstDate in the period: the last LI therapy
    activity on a treatment contact on or before that date, in the same referral, or, when the
    referral's source is N1, in any referral of the same LocalPatientId at the same provider.
    Denominator: those with such an LI treatment. Numerator: gap from that last LI treatment to
    the first HI treatment over over_days days. Evidence, longest gap first: the last LI date and
    the ServiceRequestId it belongs to, the first HI date, gap in days, whether the referral was
    a stepped-up re-referral. The patient identifier is used for the match only, never shown.

    Thresholds:
    over_days: 90 days (the v2.1 step-up measures' longer band);
    min_percent: 30 percent of stepped-up referrals (absolute test);
    min_denominator: 20 referrals before a provider is judged. With at least 8 providers the
    provider must also be a high outlier on the peers' 99.8 % funnel.

    Known false positives:
    A step-up agreed after a planned break, or after a relapse long after a completed LI course;
    LI and HI delivered by different providers (the patient cannot be matched across providers
    without the NHS number, which the audit drops, so such step-ups are missed, not flagged).

    References:
    iapt-dataset.md §1.5 (therapy types by step, SNOMED CT; SourceOfReferral N1 stepped up) [G21
    App. B, MM20]; §3 "v2.1 stepped-care waits" M348–M367 [MM21].
    """

    code = "GM05"
    name = "waits.low_to_high_intensity"
    title = "Hidden wait from low- to high-intensity therapy (step-up)"
    severity = "warning"
    indicator = "referrals stepped up to high-intensity therapy in the period"
    needs = ("HighIntensityTherapy_FirstDate", "SourceOfReferralIAPT", "LocalPatientId")
    thresholds = {
        "over_days": Threshold(90, "days", "a gap longer than this counts"),
        "min_percent": Threshold(30, "percent", "share of stepped-up referrals waiting over over_days"),
        "min_denominator": Threshold(20, "count", "stepped-up referrals needed to judge a provider"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        high = r["HighIntensityTherapy_FirstDate"]
        stepped_up = (r["SourceOfReferralIAPT"] == codes.STEPPED_UP).fillna(False)
        last_low = remembered(pathways, "last low intensity before high",
                              lambda: _last_low_intensity_before(pathways, high, stepped_up))
        gap = days(high - last_low["date"])
        in_scope = period.contains(high).fillna(False) & last_low["date"].notna()
        found = cases(r, in_scope, gap > limits["over_days"], LowIntensityLastDate=last_low["date"],
                      LowIntensityServiceRequestId=last_low["ServiceRequestId"],
                      HighIntensityTherapy_FirstDate=high, GapDays=gap, SteppedUpReReferral=stepped_up)
        found = found.sort_values(["GapDays", "ServiceRequestId"], ascending=[False, True], kind="stable")
        return Measurement(found)


def _last_low_intensity_before(pathways, high: pd.Series, stepped_up: pd.Series) -> pd.DataFrame:
    """Per referral with an HI date: date and ServiceRequestId of the last LI treatment on or before it.

    Candidates are the referral's own LI activities and, for an N1 referral, every LI activity of
    the same patient at the same provider (joined on OrgIDProv + LocalPatientId).
    """
    r = pathways.referrals
    acts = pathways.activities
    low = acts.loc[(acts["step"] == "LI").to_numpy(), ["ref", "CareContDate"]]
    low = low.assign(OrgIDProv=r["OrgIDProv"].to_numpy()[low["ref"].to_numpy()],
                     LocalPatientId=r["LocalPatientId"].to_numpy()[low["ref"].to_numpy()])
    target = pd.DataFrame({"target": r.index, "OrgIDProv": r["OrgIDProv"], "LocalPatientId": r["LocalPatientId"],
                           "high": high, "stepped_up": stepped_up})
    target = target[target["high"].notna()]
    own = low.merge(target[["target", "high"]], left_on="ref", right_on="target")
    patient = low.merge(target[target["stepped_up"] & target["LocalPatientId"].notna()],
                        on=["OrgIDProv", "LocalPatientId"])
    candidates = pd.concat([own[["target", "ref", "CareContDate", "high"]],
                            patient[["target", "ref", "CareContDate", "high"]]], ignore_index=True)
    candidates = candidates[(candidates["CareContDate"] <= candidates["high"]).to_numpy()]
    last = candidates.sort_values(["target", "CareContDate"], kind="stable").drop_duplicates("target", keep="last")
    last = last.set_index("target")
    out = pd.DataFrame(index=r.index)
    out["date"] = last["CareContDate"].reindex(r.index)
    source = last["ref"].reindex(r.index)
    ids = r["ServiceRequestId"].to_numpy()
    out["ServiceRequestId"] = np.where(source.notna(), ids[source.fillna(0).astype("int64").to_numpy()], None)
    return out
