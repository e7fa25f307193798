"""GM03: the hidden wait between the first and the second treatment contact."""

from __future__ import annotations

import pandas as pd

from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, gap_or_still_waiting


class HiddenWaitSecondTreatment(Rule):
    """Long waits from the first to the second treatment contact, including those still waiting.

    What it checks:
    Among referrals that had their second treatment contact in the period, or had a first
    treatment and were still open without a second one when the period ended, the share whose
    gap from the first to the second treatment (or to the period's end, for those still waiting)
    was over over_days. The detail adds the share over short_over_days and how many were still
    waiting.

    Why it matters:
    The national standards time only the wait to the *first* treatment (75 % within 6 weeks, 95 %
    within 18). A provider can meet them by giving everyone a quick first appointment and then
    queueing people for months before therapy continues: the "hidden wait". NHS Digital
    publishes these waits (M046 over 28 days, M047 over 90 days) because the headline standard
    cannot see them. Counting only second treatments that happened would also hide the longest
    waits of all, so referrals still waiting at the period's end count too.

    How it is measured:
    Denominator: referrals whose TherapySession_SecondDate is in the period (M046/M047's cohort),
    plus referrals with a TherapySession_FirstDate on or before the period's last day, no second
    treatment and no ServDischDate by then. Numerator: gap (TherapySession_SecondDate −
    TherapySession_FirstDate, or period end − TherapySession_FirstDate for those still waiting)
    over over_days days. Evidence, longest gap first: first and second treatment dates, gap in
    days, still waiting.

    Thresholds:
    over_days: 90 days (M047's band);
    short_over_days: 28 days (M046's band; reported in the detail only);
    min_percent: 30 percent of the cohort (nationally about 20 % of finished courses waited over
    90 days in 2019-20 to 2024-25, and half of providers were above 23 % in 2024-25);
    min_denominator: 20 referrals before a provider is judged. With at least 8 providers the
    provider must also be a high outlier on the peers' 99.8 % funnel, which is what separates a
    hidden-wait provider from the common national pattern.

    Known false positives:
    Planned gaps (a first session before a planned break, or a watchful-waiting interval agreed
    with the patient); providers whose open referrals are not discharged promptly (they appear as
    "still waiting"); short reporting periods, where most second treatments of the cohort lie
    outside the period.

    References:
    iapt-dataset.md §3 "First-to-second treatment (hidden waits)" M046, M047, M121, M126 [MM20,
    MM21], "Hidden waits" (BBC 2019 analysis, national figures [AN]); §5 "1st→2nd >90 d" column.
    """

    code = "GM03"
    name = "waits.first_to_second_treatment"
    title = "Hidden wait from first to second treatment"
    severity = "critical"
    indicator = "referrals with, or still waiting for, a second treatment"
    needs = ("TherapySession_FirstDate", "TherapySession_SecondDate", "ServDischDate")
    thresholds = {
        "over_days": Threshold(90, "days", "a gap longer than this counts"),
        "short_over_days": Threshold(28, "days", "the shorter band reported alongside"),
        "min_percent": Threshold(30, "percent", "share of the cohort waiting over over_days"),
        "min_denominator": Threshold(20, "count", "referrals needed to judge a provider"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        first, second = r["TherapySession_FirstDate"], r["TherapySession_SecondDate"]
        in_scope, gap, waiting = gap_or_still_waiting(first, second, r["ServDischDate"], period)
        found = cases(r, in_scope, gap > limits["over_days"], TherapySession_FirstDate=first,
                      TherapySession_SecondDate=second.where(~waiting), GapDays=gap, StillWaiting=waiting)
        found = found.sort_values(["GapDays", "ServiceRequestId"], ascending=[False, True], kind="stable")
        over_short = found["GapDays"] > limits["short_over_days"]
        by_org = found["OrgIDProv"]
        detail = pd.DataFrame({
            "over_short_days": over_short.groupby(by_org, observed=True).sum(),
            "still_waiting": found["StillWaiting"].groupby(by_org, observed=True).sum(),
            "still_waiting_over_days": (found["StillWaiting"] & found["counted"]).groupby(by_org, observed=True).sum(),
        })
        detail["over_short_days_percent"] = 100.0 * detail["over_short_days"] / by_org.value_counts()
        return Measurement(found, detail)
