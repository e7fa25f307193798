"""Rows per referral: the extract carries England's volumes of contacts and scores.

Golden values: the brief's national scale (~25 million scores for ~1.8 million referrals a year)
and NHS Digital's monthly England figures for April 2024 - March 2025, summed
(shared/data/published/monthly): 8,408,692 appointments (M082) for 1,772,132 referrals received
(M001); 760,141 DNAs (M084), 890,407 cancelled by the patient (M083) and 433,146 by the provider
(M085); 279,687
attended employment-support appointments (M099) for 1,196,618 referrals accessing services (M031);
WSAS paired in 631,547 finished courses on home management (M217) and 534,033 on work (M212),
first and last means 3.62 / 2.67 (home management, M218/M220).
"""

from __future__ import annotations

import pandas as pd
import pytest

from iapt_audit.model import codes
from synth_measures import PHQ9, WSAS

PERIOD_START = "2024-04-01"
WORK, HOME = "932621000000100", "932581000000100"
EMPLOYMENT_SUPPORT = "1098051000000103"


@pytest.fixture(scope="module")
def scores(honest):
    """Every score with its referral and date: IDS606 at completion, IDS607 at its contact's date."""
    t = honest["tables"]
    act = t["IDS607CodedScoreAssessmentAct"].merge(t["IDS202CareActivity"][["CareActId", "CareContactId"]], on="CareActId")
    act = act.merge(t["IDS201CareContact"][["CareContactId", "ServiceRequestId", "CareContDate", "AppType"]],
                    on="CareContactId")
    refer = t["IDS606CodedScoreAssessmentRefer"].rename(columns={"AssToolCompDate": "CareContDate"})
    both = pd.concat([refer.assign(order=0), act.assign(order=1)], ignore_index=True)
    both["PersScore"] = both["PersScore"].astype(float)
    return both.sort_values(["ServiceRequestId", "CareContDate", "order"], kind="stable")


def test_scores_per_referral_are_the_national_scale(honest):
    t = honest["tables"]
    scores = len(t["IDS606CodedScoreAssessmentRefer"]) + len(t["IDS607CodedScoreAssessmentAct"])
    per_referral = scores / len(t["IDS101Referral"])
    assert 25 / 1.8 * 0.9 <= per_referral <= 25 / 1.8 * 1.1


def test_contacts_per_referral_lie_between_englands_published_count_and_the_brief(honest):
    """In-period contacts per referral received in the period: at least England's published
    appointments per referral received (4.75), at most the brief's 12 million for 1.8 million (6.7)."""
    t = honest["tables"]
    received = (t["IDS101Referral"]["ReferralRequestReceivedDate"] >= PERIOD_START).sum()
    contacts = (t["IDS201CareContact"]["CareContDate"] >= PERIOD_START).sum()
    assert 8_408_692 / 1_772_132 <= contacts / received <= 12 / 1.8


def test_appointments_not_attended_follow_englands_mix(honest):
    """Cancellations against DNAs (760,141, M084), whose own share varies by provider (test_calibration)."""
    attend = honest["tables"]["IDS201CareContact"]["AttendOrDNACode"].value_counts()
    assert attend["2"] / attend["3"] == pytest.approx(890_407 / 760_141, abs=0.1)   # cancelled by the patient
    assert attend["4"] / attend["3"] == pytest.approx(433_146 / 760_141, abs=0.07)  # cancelled by the provider


def test_employment_support_contacts_per_referral_accessing_services(honest):
    contacts = honest["tables"]["IDS201CareContact"]
    support = contacts["AppType"] == "10"
    entered = honest["referrals"]["entered"].sum()
    assert support.sum() / entered == pytest.approx(279_687 / 1_196_618, abs=0.06)


def test_employment_support_is_not_treatment(honest, scores):
    """AppType 10 contacts are attended, carry the employment-support code and no other, no
    therapy code appears on them, they carry no scores, and they fall within the course (between
    its first and last treatment contact), so session counts and last contacts are unchanged."""
    t, ref = honest["tables"], honest["referrals"]
    con, act = t["IDS201CareContact"], t["IDS202CareActivity"]
    support = con[con["AppType"] == "10"]
    assert len(support) > 100 and support["AttendOrDNACode"].isin(["5", "6"]).all()
    coded = act.merge(con[["CareContactId", "AppType"]], on="CareContactId")
    assert set(coded.loc[coded["AppType"] == "10", "CodeProcAndProcStatus"]) == {EMPLOYMENT_SUPPORT}
    assert (coded.loc[coded["AppType"] != "10", "CodeProcAndProcStatus"] != EMPLOYMENT_SUPPORT).all()
    assert coded.groupby("CareContactId").size().max() == 1
    assert not (scores["AppType"] == "10").any()
    treat = con[con["AppType"].isin(["02", "03", "05"]) & con["AttendOrDNACode"].isin(["5", "6"])]
    span = treat.groupby("ServiceRequestId")["CareContDate"].agg(["min", "max"]).reindex(support["ServiceRequestId"])
    assert ((support["CareContDate"].to_numpy() >= span["min"].to_numpy())
            & (support["CareContDate"].to_numpy() <= span["max"].to_numpy())).all()
    assert (ref.loc[support["ServiceRequestId"].unique(), "n_treat"] >= 2).all()


def test_wsas_items_are_scored_0_to_8(scores):
    wsas = scores[scores["CodedAssToolType"].isin(WSAS)]
    assert set(wsas["CodedAssToolType"]) == set(WSAS)
    assert wsas["PersScore"].between(0, 8).all() and (wsas["PersScore"] % 1 == 0).all()


def test_wsas_is_never_the_anxiety_measure(honest, scores):
    """Besides PHQ-9 and WSAS, a referral is scored on one questionnaire: its descriptor's ADSM."""
    other = scores[~scores["CodedAssToolType"].isin(WSAS) & (scores["CodedAssToolType"] != PHQ9)]
    tools = other.groupby("ServiceRequestId")["CodedAssToolType"].unique()
    adsm = honest["referrals"]["adsm_tool"].reindex(tools.index)
    assert all(list(found) == [expected] for found, expected in zip(tools, adsm))
    assert not set(WSAS) & set(codes.ADSM_BY_DESCRIPTOR.values())


def test_wsas_is_paired_as_in_england(honest, scores):
    """Among finished courses with paired PHQ-9, WSAS home management is paired about as often as
    in England (631,547 of 658,579, 96%) and work in 84.6% of those (534,033 / 631,547); first and
    last means near England's (3.62 and 2.67 on home management)."""
    ref = honest["referrals"]
    finished = ref.index[ref["finished"] & ref["phq_last"].notna()]
    wsas = scores[scores["ServiceRequestId"].isin(finished)]
    by_item = wsas.groupby(["CodedAssToolType", "ServiceRequestId"])["PersScore"]
    count, first, last = by_item.size(), by_item.first(), by_item.last()
    home_paired = count[HOME] >= 2
    work_paired = count.get(WORK, pd.Series(dtype=int)) >= 2
    assert home_paired.sum() / len(finished) >= 631_547 / 658_579 - 0.06
    assert work_paired.sum() / home_paired.sum() == pytest.approx(534_033 / 631_547, abs=0.06)
    paired = home_paired[home_paired].index
    assert first[HOME][paired].mean() == pytest.approx(3.62, abs=0.4)
    assert last[HOME][paired].mean() == pytest.approx(2.67, abs=0.4)
