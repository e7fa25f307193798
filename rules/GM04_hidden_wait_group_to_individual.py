"""GM04: the hidden wait between a first group session and individual therapy."""

from __future__ import annotations

import pandas as pd

from iapt_audit.model import codes
from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, days, nth_treatment


class HiddenWaitGroupToIndividual(Rule):
    """Treatment started in a group, then a long wait for the first individual treatment contact.

    What it checks:
    Among referrals whose first treatment contact was a group session and whose first individual
    treatment contact fell in the period, the share where the first individual contact came more
    than over_days after the first group session.

    Why it matters:
    The first group session stops the referral-to-treatment clock, so a provider can meet the
    6-week standard by starting everyone in a group and then keeping them waiting for the
    individual therapy they were assessed as needing. The standard cannot see that wait; it is a
    variant of the first-to-second treatment hidden wait (GM03) that GM03 misses when the group
    sessions continue meanwhile.

    How it is measured:
    Denominator: referrals whose first treatment contact had CareContPatientTherMode 3 (group)
    and whose first treatment contact with CareContPatientTherMode 1 (individual) is dated in
    the period. Numerator: those where that individual contact came over over_days days after
    the first treatment. Evidence, longest gap first: first (group) treatment date, group size,
    first individual treatment date, gap in days, group contacts before the individual one.

    Thresholds:
    over_days: 90 days (long enough for a typical 6–8 week group course and a short wait);
    min_percent: 30 percent of the cohort (absolute test);
    min_denominator: 20 referrals before a provider is judged. With at least 8 providers the
    provider must also be a high outlier on the peers' 99.8 % funnel.

    Known false positives:
    Planned stepped pathways where a full group course (longer than over_days) comes first and
    individual work follows by design; patients who pause treatment by choice. Referrals still
    waiting for an individual contact at the period's end are not counted, because a group-only
    course is usually complete in itself: the rule understates the wait.

    References:
    iapt-dataset.md §1.5 (CareContPatientTherMode, NumGroupTherParticipants) [TT 2.10, DSP]; §3
    hidden waits M046/M047 and v2.1 stepped-care waits M348–M367 [MM20, MM21].
    """

    code = "GM04"
    name = "waits.group_to_individual"
    title = "Hidden wait from first group session to individual therapy"
    severity = "warning"
    indicator = "referrals that started in a group and had a first individual treatment in the period"
    needs = ("TherapySession_FirstDate",)
    thresholds = {
        "over_days": Threshold(90, "days", "a gap longer than this counts"),
        "min_percent": Threshold(30, "percent", "share of the cohort waiting over over_days"),
        "min_denominator": Threshold(20, "count", "referrals needed to judge a provider"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        contacts = pathways.contacts
        first = nth_treatment(pathways, 1)
        started_in_group = (first["CareContPatientTherMode"] == codes.GROUP_MODE).fillna(False)
        treatment = contacts.loc[contacts["treatment"].to_numpy(), ["ref", "CareContDate", "CareContPatientTherMode"]]
        individual = treatment[(treatment["CareContPatientTherMode"] == codes.INDIVIDUAL_MODE).fillna(False).to_numpy()]
        first_individual = individual.groupby("ref")["CareContDate"].min().reindex(r.index)
        groups_before = (treatment["CareContDate"].to_numpy() < first_individual.to_numpy()[treatment["ref"].to_numpy()]) \
            & (treatment["CareContPatientTherMode"] == codes.GROUP_MODE).fillna(False).to_numpy()
        group_count = pd.Series(groups_before).groupby(treatment["ref"].to_numpy()).sum().reindex(r.index, fill_value=0)
        gap = days(first_individual - first["CareContDate"])
        in_scope = started_in_group & period.contains(first_individual).fillna(False)
        found = cases(r, in_scope, gap > limits["over_days"], FirstGroupTreatmentDate=first["CareContDate"],
                      NumGroupTherParticipants=pd.to_numeric(first["NumGroupTherParticipants"], errors="coerce"),
                      FirstIndividualTreatmentDate=first_individual, GapDays=gap, GroupContactsBefore=group_count)
        found = found.sort_values(["GapDays", "ServiceRequestId"], ascending=[False, True], kind="stable")
        return Measurement(found)
