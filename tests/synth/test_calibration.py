"""The extract is realistic: clean providers sit near the national figures, planted ones stand out.

Every rate is computed here from the raw tables (``synth_measures``), by the definitions in the
domain reference; the bands are the national figures of iapt-dataset.md §5 with room for twelve
providers' honest spread.
"""

from __future__ import annotations

import pandas as pd
import pytest

from iapt_audit.model import codes
from synth_measures import WSAS, provider_rates

MATURE_BEFORE = "2024-10-01"   # referred at least six months before the period end


@pytest.fixture(scope="module")
def rates(extract):
    return provider_rates(extract["referrals"], MATURE_BEFORE)


@pytest.fixture(scope="module")
def pooled_clean(honest):
    """The headline rates of twelve clean providers taken together."""
    return provider_rates(honest["referrals"].assign(OrgIDProv="all"), MATURE_BEFORE).loc["all"]


@pytest.mark.parametrize("measure, low, high", [
    ("entered", 0.60, 0.78),                 # ~70% of referrals enter treatment
    ("finished_of_entered", 0.48, 0.65),     # ~55% of those finish a course
    ("caseness", 0.90, 0.96),                # ~93% of finishers at caseness
    ("recovery", 0.45, 0.55),                # ~50% recovery
    ("reliable_improvement", 0.62, 0.73),    # ~67% reliable improvement
    ("within_6_weeks", 0.86, 0.95),          # ~90% start within 6 weeks
    ("within_18_weeks", 0.96, 1.00),         # ~98% within 18 weeks
    ("second_over_90", 0.12, 0.24),          # 13.5%-23.7% wait > 90 days for the second session
    ("mean_sessions", 6.0, 8.0),             # ~7 sessions per finished course
])
def test_clean_providers_match_the_national_figures(pooled_clean, measure, low, high):
    assert low <= pooled_clean[measure] <= high


def test_clean_providers_vary_honestly(honest):
    assert all(p["planted"] is None for p in honest["truth"]["providers"].values())
    recovery = provider_rates(honest["referrals"], MATURE_BEFORE)["recovery"]
    assert recovery.max() - recovery.min() > 0.04
    assert recovery.between(0.35, 0.65).all()


def test_dnas_are_about_one_contact_in_ten(extract):
    attend = extract["tables"]["IDS201CareContact"]["AttendOrDNACode"].value_counts(normalize=True)
    assert 0.08 <= attend["3"] <= 0.13
    assert attend["2"] > 0.02 and attend["4"] > 0.01


def test_stepped_care_has_low_and_high_intensity_and_groups(extract):
    act = extract["tables"]["IDS202CareActivity"]["CodeProcAndProcStatus"]
    act = act[~act.isin(codes.EMPLOYMENT_SUPPORT)]   # employment support (AppType 10) is not a step of care
    li, hi = act.isin(codes.LOW_INTENSITY).mean(), act.isin(codes.HIGH_INTENSITY).mean()
    assert li > 0.2 and hi > 0.3 and li + hi == 1
    group = extract["tables"]["IDS201CareContact"]["CareContPatientTherMode"] == "3"
    assert 0.01 < group.mean() < 0.2


def test_anxiety_measure_follows_the_problem_descriptor(extract):
    t = extract["tables"]
    scores = t["IDS606CodedScoreAssessmentRefer"].merge(t["IDS603PresentingComplaints"], on="ServiceRequestId")
    scores = scores[~scores["CodedAssToolType"].isin(WSAS)]   # recorded beside PHQ-9 and the ADSM
    ptsd = scores[scores["PresComp"] == "F43.1"]["CodedAssToolType"]
    gad = scores[scores["PresComp"] == "F41.1"]["CodedAssToolType"]
    assert set(ptsd) == {"720433000", "491581000000104"}   # PHQ-9 and PCL-5
    assert set(gad) == {"720433000", "445455005"}          # PHQ-9 and GAD-7


def _others(rates, clean, measure):
    return rates.loc[clean, measure]


def _by_provider(ref, condition, clean):
    entered = ref[ref["entered"]]
    share = condition(entered).groupby(entered["OrgIDProv"]).mean()
    return share, share.loc[clean]


def test_gm01_single_assess_and_treat_sessions(extract, planted, clean):
    ref = extract["referrals"]
    share, peers = _by_provider(ref, lambda r: (r["first_AppType"] == "03") & (r["n_treat"] == 1)
                                & r["discharged"].notna(), clean)
    assert share[planted["GM01"]] > 0.3 and share[planted["GM01"]] > 3 * peers.max()


def test_gm02_single_session_large_groups(extract, planted, clean):
    ref = extract["referrals"]
    size = ref["first_NumGroupTherParticipants"].astype(float)
    share, peers = _by_provider(ref, lambda r: (size[r.index] >= 20) & (r["n_treat"] == 1), clean)
    assert share[planted["GM02"]] > 0.3 and peers.max() == 0


def test_gm03_hidden_wait_first_to_second(rates, planted, clean):
    org = planted["GM03"]
    assert rates.loc[org, "within_6_weeks"] >= 0.9
    assert rates.loc[org, "second_over_90"] > 2 * _others(rates, clean, "second_over_90").max()


def test_gm04_group_then_long_wait_for_individual_therapy(extract, planted, clean):
    t = extract["tables"]
    con = t["IDS201CareContact"]
    treat = con[con["AttendOrDNACode"].isin(["5", "6"]) & con["AppType"].isin(["02", "03", "05"])]
    first = treat.groupby("ServiceRequestId").first()   # contacts are in date order
    started_in_group = first[first["CareContPatientTherMode"] == "3"]
    individual = treat[treat["CareContPatientTherMode"] == "1"].groupby("ServiceRequestId")["CareContDate"].min()
    gap = (pd.to_datetime(individual.reindex(started_in_group.index))
           - pd.to_datetime(started_in_group["CareContDate"])).dt.days
    long_wait = (gap > 90).groupby(started_in_group["OrgIDProv"]).sum()
    entered = extract["referrals"].query("entered").groupby("OrgIDProv").size()
    share = (long_wait / entered).fillna(0)
    assert share[planted["GM04"]] > 0.1 and share[planted["GM04"]] > 4 * share.reindex(clean).fillna(0).max()


def test_gm05_long_wait_from_low_to_high_intensity(extract, planted, clean):
    t = extract["tables"]
    act = t["IDS202CareActivity"].merge(t["IDS201CareContact"], on=["CareContactId", "OrgIDProv"])
    act = act.merge(t["IDS101Referral"][["ServiceRequestId", "LocalPatientId"]], on="ServiceRequestId")
    li = act[act["CodeProcAndProcStatus"].isin(codes.LOW_INTENSITY)].groupby("LocalPatientId")["CareContDate"].max()
    hi = act[act["CodeProcAndProcStatus"].isin(codes.HIGH_INTENSITY)].groupby("LocalPatientId")["CareContDate"].min()
    stepped = pd.DataFrame({"li": pd.to_datetime(li), "hi": pd.to_datetime(hi)}).dropna()
    stepped = stepped[stepped["hi"] > stepped["li"]]
    org = t["IDS101Referral"].groupby("LocalPatientId")["OrgIDProv"].first()
    long_step = ((stepped["hi"] - stepped["li"]).dt.days > 90).groupby(org.reindex(stepped.index)).mean()
    assert long_step[planted["GM05"]] > 0.3 and long_step[clean].max() < 0.1


def test_gm06_discharge_at_the_recovery_threshold(extract, planted, clean):
    fin = extract["referrals"].query("finished and paired and adsm_tool == '445455005'")
    heaped = ((fin["phq_last"] == 9) & (fin["adsm_last"] == 7)).groupby(fin["OrgIDProv"]).mean()
    assert heaped[planted["GM06"]] > 0.2 and heaped[planted["GM06"]] > 5 * heaped[clean].max()


def test_gm08_selective_outcome_recording(extract, rates, planted, clean):
    org = planted["GM08"]
    assert rates.loc[org, "paired"] < rates.loc[clean, "paired"].min() - 0.2
    fin = extract["referrals"].query("finished and caseness and paired")
    recovery_paired = fin["recovered"].groupby(fin["OrgIDProv"]).mean()
    assert recovery_paired[org] > recovery_paired[clean].max() + 0.1


def test_gm01_truth_records_are_the_single_session_referrals(extract, planted):
    records = pd.read_parquet(extract["folder"] / "truth_records.parquet").query("pattern == 'GM01'")
    ref = extract["referrals"].loc[records["ServiceRequestId"]]
    visible = ref["entered"]
    single = (ref["first_AppType"] == "03") & (ref["n_treat"] == 1)
    assert visible.mean() > 0.9 and single[visible].mean() > 0.95
