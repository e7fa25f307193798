"""GM02: referrals whose whole "treatment" was one group session."""

from __future__ import annotations

import pandas as pd

from iapt_audit.model import codes
from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, ended_treated, nth_treatment


class SingleSessionGroup(Rule):
    """Referrals that entered treatment in a group session and had no further treatment contact.

    What it checks:
    Among referrals that ended in the period after at least one treatment contact, the share
    whose first treatment contact was group therapy (CareContPatientTherMode 3) and who had no
    second treatment contact. The evidence and the detail single out large groups
    (NumGroupTherParticipants above large_group_participants).

    Why it matters:
    A group session is a treatment contact: it stops the waiting clock and counts the referral as
    having entered treatment (M031). Inviting many waiting people to one large "introductory"
    group and discharging those who do not come back turns a waiting list into access figures
    without a course of therapy; the referrals then leave the outcome measures, which need two
    treatment contacts.

    How it is measured:
    Denominator: referrals with ServDischDate in the period and a first treatment contact
    (M056 − M153). Numerator: those whose first treatment contact had CareContPatientTherMode 3
    and whose TreatmentCareContact_Count is 1. Detail: how many counted referrals' group had more
    than large_group_participants participants. Evidence: first treatment date and AppType, group
    size, discharge date and end code.

    Thresholds:
    min_percent: 10 percent of ended treated referrals (absolute test);
    min_denominator: 20 referrals before a provider is judged;
    large_group_participants: 12 participants — a larger group is reported as "large" (it does
    not change the numerator). With at least 8 providers the provider must also be a high outlier
    on the peers' 99.8 % funnel.

    Known false positives:
    Psychoeducational group courses where attendance after the first session was not recorded
    (a data-quality problem, but one worth fixing); genuine one-off group workshops offered as a
    complete low-intensity intervention.

    References:
    iapt-dataset.md §1.5 (CareContPatientTherMode 1/2/3, NumGroupTherParticipants) [TT 2.10,
    DSP]; §3 M031, M075, M076 [MM20]; "Assess-and-treat / single-session counting" [G21 glossary].
    """

    code = "GM02"
    name = "gaming.single_session_group"
    title = "Entered treatment in a group session, with no further treatment"
    severity = "critical"
    indicator = "ended referrals that had treatment"
    needs = ("ServDischDate", "TherapySession_FirstDate", "TreatmentCareContact_Count", "EndCode")
    thresholds = {
        "min_percent": Threshold(10, "percent", "share of ended treated referrals counted"),
        "min_denominator": Threshold(20, "count", "ended treated referrals needed to judge a provider"),
        "large_group_participants": Threshold(12, "participants", "group size above which a group is large"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        first = nth_treatment(pathways, 1)
        group = (first["CareContPatientTherMode"] == codes.GROUP_MODE).fillna(False)
        size = pd.to_numeric(first["NumGroupTherParticipants"], errors="coerce")
        large = (size > limits["large_group_participants"]).fillna(False)
        counted = group & (r["TreatmentCareContact_Count"] == 1)
        found = cases(r, ended_treated(r, period), counted,
                      TherapySession_FirstDate=r["TherapySession_FirstDate"], FirstTreatmentAppType=first["AppType"],
                      NumGroupTherParticipants=size, LargeGroup=large, ServDischDate=r["ServDischDate"],
                      EndCode=r["EndCode"])
        in_large = found["counted"] & found["LargeGroup"]
        grouped = in_large.groupby(found["OrgIDProv"], observed=True)
        detail = pd.DataFrame({"counted_in_large_groups": grouped.sum()})
        return Measurement(found, detail)
