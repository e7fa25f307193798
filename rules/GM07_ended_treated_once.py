"""GM07: treated referrals that ended after a single treatment contact (access attrition)."""

from __future__ import annotations

from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, ended_treated, nth_treatment


class EndedTreatedOnce(Rule):
    """Share of treated referrals that ended after exactly one treatment contact.

    What it checks:
    Among referrals that ended in the period after at least one treatment contact, the share
    with exactly one treatment contact: NHS Digital's access-attrition measure (M288), the
    ended-treated-once count (M075) over treated endings.

    Why it matters:
    One treatment contact is enough to count a referral as having entered treatment (M031) and
    to stop its waiting clock, but not enough to count as a finished course, so a referral ended
    after one contact improves access and waiting figures and never reaches the outcome measures.
    A high share is the common footprint of the single-session patterns (GM01, GM02) and of
    drop-out between a first and a long-delayed second session (GM03); NHS England estimated
    about 100,000 people a year drop out between first and second appointment.

    How it is measured:
    Denominator: referrals with ServDischDate in the period and a TherapySession_FirstDate
    (M056 − M153). Numerator: those with TreatmentCareContact_Count = 1 (M075). Evidence: the
    single treatment's date, AppType and therapy mode, discharge date and end code.

    Thresholds:
    min_percent: 60 percent of ended treated referrals (absolute test; in 2024-25 providers'
    median was about 42 % and the 90th percentile about 57 %, from the published M077 and M078);
    min_denominator: 20 referrals before a provider is judged. With at least 8 providers the
    provider must also be a high outlier on the peers' 99.8 % funnel.

    Known false positives:
    Services whose pathway includes a legitimate single-session intervention; high drop-out for
    reasons outside the provider's control (population, access to the service); second
    treatments not yet submitted when the extract was taken.

    References:
    iapt-dataset.md §3 M075, M153, M056, v2.1 attrition measures M078 and M288 [MM20, MM21];
    "Hidden waits" (NHS England drop-out estimate, BBC 2019).
    """

    code = "GM07"
    name = "attrition.ended_treated_once"
    title = "Ended after one treatment contact (access attrition)"
    severity = "warning"
    indicator = "ended referrals that had treatment"
    needs = ("ServDischDate", "TherapySession_FirstDate", "TreatmentCareContact_Count", "EndCode")
    thresholds = {
        "min_percent": Threshold(60, "percent", "share of ended treated referrals treated once"),
        "min_denominator": Threshold(20, "count", "ended treated referrals needed to judge a provider"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        first = nth_treatment(pathways, 1)
        found = cases(r, ended_treated(r, period), r["TreatmentCareContact_Count"] == 1,
                      TherapySession_FirstDate=r["TherapySession_FirstDate"], FirstTreatmentAppType=first["AppType"],
                      FirstTreatmentTherMode=first["CareContPatientTherMode"], ServDischDate=r["ServDischDate"],
                      EndCode=r["EndCode"])
        return Measurement(found)
