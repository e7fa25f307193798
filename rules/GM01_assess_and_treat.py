"""GM01: referrals "treated" on one combined assessment-and-treatment contact and then ended."""

from __future__ import annotations

import pandas as pd

from iapt_audit.model import codes
from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, ended_treated, nth_treatment


class AssessAndTreat(Rule):
    """Referrals counted as entering treatment on one "assessment and treatment" contact, then ended.

    What it checks:
    Among referrals that ended in the period after at least one treatment contact, the share
    whose only treatment contact was a combined "assessment and treatment" appointment
    (AppType 03) — entered treatment and ended without a second treatment contact. The detail
    also gives the share of first assessment contacts coded 03 rather than 01 (assessment only).

    Why it matters:
    An AppType 03 contact is both the first assessment and the first treatment, so it stops the
    referral-to-treatment clock and counts the referral as "entered treatment" (accessed
    services, M031) on the day of assessment. Coding an assessment as 03 and then discharging
    inflates access and the 6/18-week standards while nobody received a course of therapy; the
    referral drops out of outcomes because a finished course needs two treatment contacts. NHS
    England's waiting-time guidance names "a single session of assessment and advice rather than
    a course of therapy" as the perverse incentive its measures guard against.

    How it is measured:
    Denominator: referrals with ServDischDate in the period and a first treatment contact
    (M056 − M153). Numerator: those with exactly one treatment contact
    (TreatmentCareContact_Count = 1), that contact of AppType 03. Detail: referrals whose first
    assessment contact (attended, AppType 01 or 03) is in the period, and how many of those were
    coded 03. Evidence: referral received, first treatment and discharge dates, end code,
    attended contacts.

    Thresholds:
    min_percent: 25 percent of ended treated referrals (absolute test);
    min_denominator: 20 referrals before a provider is judged. With at least 8 providers the
    provider must also be a high outlier on the peers' 99.8 % funnel.

    Known false positives:
    Services that legitimately offer single-session interventions (e.g. advice-and-signposting
    pathways) coded as treatment; referrals whose second contact falls after the extract's
    end although ServDischDate is set (a data-quality issue); patients who drop out after a
    genuine first session (also counted by GM07, which this rule refines to AppType 03).

    References:
    iapt-dataset.md §1.5 (AppType; treatment contact = 02/03/05, 03 also an assessment) [G21
    glossary, MM21 M348]; §3 M031, M075, M076, M288 [MM20, MM21]; "Assess-and-treat /
    single-session counting" [G21 glossary].
    """

    code = "GM01"
    name = "gaming.assess_and_treat"
    title = "Entered treatment on one assessment-and-treatment contact, then ended"
    severity = "critical"
    indicator = "ended referrals that had treatment"
    needs = ("ServDischDate", "TherapySession_FirstDate", "TreatmentCareContact_Count", "EndCode")
    thresholds = {
        "min_percent": Threshold(25, "percent", "share of ended treated referrals counted"),
        "min_denominator": Threshold(20, "count", "ended treated referrals needed to judge a provider"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        first = nth_treatment(pathways, 1)
        counted = (r["TreatmentCareContact_Count"] == 1) & (first["AppType"] == codes.ASSESS_AND_TREAT).fillna(False)
        found = cases(r, ended_treated(r, period), counted,
                      ReferralRequestReceivedDate=r["ReferralRequestReceivedDate"],
                      TherapySession_FirstDate=r["TherapySession_FirstDate"], FirstTreatmentAppType=first["AppType"],
                      TreatmentCareContact_Count=r["TreatmentCareContact_Count"],
                      CareContact_Count=r["CareContact_Count"], ServDischDate=r["ServDischDate"],
                      EndCode=r["EndCode"])
        return Measurement(found, self._first_assessment_coding(pathways, period))

    @staticmethod
    def _first_assessment_coding(pathways, period) -> pd.DataFrame:
        """Per provider: first assessment contacts in the period, and those coded 03 not 01."""
        contacts = pathways.contacts
        first = contacts.loc[contacts["assessment"].to_numpy()].drop_duplicates("ref")
        first = first[period.contains(first["CareContDate"]).fillna(False).to_numpy()]
        combined = (first["AppType"] == codes.ASSESS_AND_TREAT).fillna(False)
        grouped = combined.groupby(first["OrgIDProv"], observed=True)
        detail = pd.DataFrame({"first_assessments": grouped.size(), "first_assessments_coded_03": grouped.sum()})
        detail["first_assessments_coded_03_percent"] = (
            100.0 * detail["first_assessments_coded_03"] / detail["first_assessments"])
        detail.index.name = "OrgIDProv"
        return detail
