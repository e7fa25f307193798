"""Derive every referral's pathway: one row per referral with the fields published measures use.

Definitions follow iapt-dataset.md §1.4, §1.5, §2 and §3 ([MM20], [G21]):

* attended = AttendOrDNACode 5 or 6, or an unplanned contact (PlannedCareContIndicator "N");
* a treatment contact is attended, of AppType 02, 03 or 05, on or after ReferralRequestReceivedDate
  and on or before ServDischDate (when set); follow-ups (06) never count; a combined
  "assessment and treatment" (03) contact is both the first assessment and the first treatment;
* CareContact_Count counts attended contacts in the referral's window other than follow-ups;
* CompletedTreatment_Flag = at least two treatment contacts;
* scores (IDS607 at a care activity, dated by its contact; IDS606 at the referral, dated
  AssToolCompDate) count when dated inside the referral's window, attended or not ([G21] §6.3);
  ``*_LastScore`` is filled only when there are at least two scores ("paired");
* the ADSM follows the last recorded problem descriptor (IDS603, chosen by [MM20] M203's order):
  its own ADSM when paired, else GAD-7 when paired ([G21] §7.7);
* outcomes need paired PHQ-9 and paired ADSM; caseness, recovery and reliable change use
  ``model.thresholds`` (configurable).

Everything is vectorised over the whole extract: contacts are sorted once and every per-referral
"first", "second" and "last" is taken from that one order.

Besides the referral table, ``Pathways`` keeps the contacts (with their referral's position and
derived flags) and the long score table, sorted, so the gaming rules reuse them without re-joining.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.io.extract import Extract
from iapt_audit.model import codes
from iapt_audit.model.thresholds import SCALES, Scale

REFERRAL_KEY = ["OrgIDProv", "ServiceRequestId"]
CONTACT_KEY = ["OrgIDProv", "CareContactId"]
ACTIVITY_KEY = ["OrgIDProv", "CareActId"]
KEY_SEPARATOR = "\x1f"  # a control character no identifier read from CSV, Parquet or Excel carries


@dataclass
class Pathways:
    """The derived pathway table and the contact and score tables it was derived from."""

    referrals: pd.DataFrame   # one row per referral; index = referral position ``ref``
    contacts: pd.DataFrame    # contacts matched to a referral, sorted by (ref, CareContDate, CareContactId)
    scores: pd.DataFrame      # ref, tool, date, PersScore, source — in-window scores sorted by (ref, tool, date)
    activities: pd.DataFrame  # ref, CareContactId, CareContDate, step (LI/HI/ES) for therapy activities


def derive_pathways(extract: Extract, scales: dict[str, Scale] | None = None) -> Pathways:
    """Build the pathway table for every referral of the extract."""
    scales = scales or SCALES
    referrals = _referral_frame(extract["IDS101Referral"])
    contacts = _contacts(extract["IDS201CareContact"], referrals)
    activities = _therapy_activities(extract["IDS202CareActivity"], contacts)
    _add_contact_fields(referrals, contacts)
    _add_therapy_steps(referrals, activities)
    scores = _scores(extract, referrals, contacts)
    _add_descriptor(referrals, extract["IDS603PresentingComplaints"])
    _add_outcomes(referrals, scores, scales)
    return Pathways(referrals=referrals, contacts=contacts, scores=scores, activities=activities)


def _referral_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Referral rows with a dense position; a duplicated key keeps its first record (a DQ finding)."""
    keep = ["OrgIDProv", "ServiceRequestId", "LocalPatientId", "ReferralRequestReceivedDate", "ServDischDate",
            "EndCode", "SourceOfReferralIAPT"]
    frame = table[[c for c in keep if c in table]].drop_duplicates(REFERRAL_KEY).reset_index(drop=True)
    for column in keep:
        if column not in frame:
            dtype = "datetime64[ns]" if column.endswith("Date") else "string[pyarrow]"
            frame[column] = pd.Series(None, index=frame.index, dtype=dtype)
    frame.index.name = "ref"
    return frame


def _ref_positions(frame: pd.DataFrame, referrals: pd.DataFrame) -> np.ndarray:
    """Position of each row's referral (by OrgIDProv + ServiceRequestId), -1 where none matches."""
    return key_positions(frame, referrals, REFERRAL_KEY)


def sorted_by(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` stably sorted by ``columns`` ascending, missing values last (as ``sort_values``).

    Why Arrow: pandas factorises every string sort key in full (eight million contact IDs) before
    it sorts; Arrow's multi-key sort compares a string only where the earlier keys tie.
    Categorical keys sort by their category order, as pandas does.
    """
    keys = {}
    for column in columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.cat.codes.where(values.notna())
        keys[column] = pa.array(values, from_pandas=True)
    order = pc.sort_indices(pa.table(keys), sort_keys=[(c, "ascending") for c in columns])  # nulls last
    return frame.iloc[order.to_numpy()]


def key_positions(child: pd.DataFrame, parent: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Position in ``parent`` of each ``child`` row's key (its first match), -1 where none matches
    or a key part is missing.

    Why not ``merge`` or a ``MultiIndex``: at national scale (8 million contacts) pandas factorises
    every string key column again on each join; one Arrow hash lookup on the key parts joined into
    one string is five to ten times faster, and positions let every later step use numpy takes.
    """
    def joined(frame: pd.DataFrame) -> pa.Array:
        parts = [pa.array(frame[column].astype("string[pyarrow]"), type=pa.large_string()) for column in key]
        if len(parts) == 1:
            return parts[0]
        return pc.binary_join_element_wise(*parts, pa.scalar(KEY_SEPARATOR, pa.large_string()))

    found = pc.index_in(joined(child), value_set=joined(parent), skip_nulls=True)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _contacts(table: pd.DataFrame, referrals: pd.DataFrame) -> pd.DataFrame:
    cols = ["OrgIDProv", "ServiceRequestId", "CareContactId", "CareContDate", "AttendOrDNACode", "AppType",
            "PlannedCareContIndicator", "CareContPatientTherMode", "NumGroupTherParticipants"]
    contacts = table[[c for c in cols if c in table]].copy()
    for column in cols:
        if column not in contacts:
            contacts[column] = pd.NA
    contacts["ref"] = _ref_positions(contacts, referrals)
    contacts = contacts[contacts["ref"] >= 0]
    ref = contacts["ref"].to_numpy()
    received = referrals["ReferralRequestReceivedDate"].to_numpy()[ref]
    discharged = referrals["ServDischDate"].to_numpy()[ref]
    date = contacts["CareContDate"].to_numpy()
    in_window = (date >= received) & (np.isnat(discharged) | (date <= discharged))
    attended = (contacts["AttendOrDNACode"].isin(codes.ATTENDED)
                | (contacts["PlannedCareContIndicator"] == codes.UNPLANNED).fillna(False)).to_numpy()
    app = contacts["AppType"]
    contacts["attended"] = attended
    contacts["in_window"] = in_window
    contacts["treatment"] = attended & in_window & app.isin(codes.TREATMENT_APP_TYPES).to_numpy()
    contacts["assessment"] = attended & in_window & app.isin(codes.ASSESSMENT_APP_TYPES).to_numpy()
    contacts["seen"] = attended & in_window & (app != codes.FOLLOW_UP).fillna(True).to_numpy()
    contacts = sorted_by(contacts, ["ref", "CareContDate", "CareContactId"])
    contacts["treatment_number"] = np.where(
        contacts["treatment"], contacts.groupby("ref")["treatment"].cumsum(), 0).astype("int32")
    return contacts.reset_index(drop=True)


def _add_contact_fields(referrals: pd.DataFrame, contacts: pd.DataFrame) -> None:
    n = len(referrals)
    referrals["CareContact_Count"] = _count_by_ref(contacts.loc[contacts["seen"], "ref"], n)
    treatment = contacts[contacts["treatment"]]
    referrals["TreatmentCareContact_Count"] = _count_by_ref(treatment["ref"], n)
    referrals["Assessment_FirstDate"] = _first_date(contacts[contacts["assessment"]], n)
    referrals["TherapySession_FirstDate"] = _nth_date(treatment, 1, n)
    referrals["TherapySession_SecondDate"] = _nth_date(treatment, 2, n)
    referrals["TherapySession_LastDate"] = _last_date(treatment, n)
    referrals["CompletedTreatment_Flag"] = referrals["TreatmentCareContact_Count"] >= 2
    referrals["Wait_ReferralToFirstTreatment"] = _days(
        referrals["TherapySession_FirstDate"] - referrals["ReferralRequestReceivedDate"])
    referrals["Wait_FirstToSecondTreatment"] = _days(
        referrals["TherapySession_SecondDate"] - referrals["TherapySession_FirstDate"])


def _therapy_activities(table: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Care activities on treatment contacts, with their therapy step from the SNOMED code."""
    step = pd.Series(pd.NA, index=table.index, dtype="string[pyarrow]")
    code = table["CodeProcAndProcStatus"] if "CodeProcAndProcStatus" in table else step
    step = step.mask(code.isin(codes.LOW_INTENSITY.keys()), "LI")
    step = step.mask(code.isin(codes.HIGH_INTENSITY.keys()), "HI")
    step = step.mask(code.isin(codes.EMPLOYMENT_SUPPORT.keys()), "ES")
    named = step.notna()
    acts = pd.DataFrame({"OrgIDProv": table["OrgIDProv"], "CareContactId": table["CareContactId"], "step": step})
    acts = acts[named].reset_index(drop=True)
    treatment = contacts.loc[contacts["treatment"], ["ref", "CareContDate", "CareContPatientTherMode",
                                                     "OrgIDProv", "CareContactId"]].reset_index(drop=True)
    found = key_positions(acts, treatment, CONTACT_KEY)
    matched = treatment.iloc[found[found >= 0]].drop(columns=CONTACT_KEY).reset_index(drop=True)
    merged = pd.concat([acts[found >= 0].reset_index(drop=True), matched], axis=1)
    return sorted_by(merged, ["ref", "CareContDate", "CareContactId"]).reset_index(drop=True)


def _add_therapy_steps(referrals: pd.DataFrame, activities: pd.DataFrame) -> None:
    n = len(referrals)
    low, high = activities[activities["step"] == "LI"], activities[activities["step"] == "HI"]
    referrals["LowIntensityTherapy_FirstDate"] = _first_date(low, n)
    referrals["LowIntensityTherapy_LastDate"] = _last_date(low, n)
    referrals["HighIntensityTherapy_FirstDate"] = _first_date(high, n)


def _scores(extract: Extract, referrals: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """All scores of known questionnaires in their referral's window, sorted by (ref, tool, date)."""
    activities = extract["IDS202CareActivity"]
    scored = extract["IDS607CodedScoreAssessmentAct"]
    # score -> its care activity (first record of a duplicated key) -> that activity's contact
    activity = key_positions(scored, activities, ACTIVITY_KEY)
    contact = key_positions(activities, contacts, CONTACT_KEY)
    contact_of_score = np.where(activity >= 0, contact[np.maximum(activity, 0)], -1)
    linked = contact_of_score >= 0
    rows = contact_of_score[linked]
    at_activity = pd.DataFrame({"ref": contacts["ref"].to_numpy()[rows],
                                "code": scored["CodedAssToolType"].array[linked],  # stays Arrow text
                                "date": contacts["CareContDate"].to_numpy()[rows],
                                "PersScore": scored["PersScore"].to_numpy()[linked], "source": np.int16(607)})
    at_referral = extract["IDS606CodedScoreAssessmentRefer"]
    at_referral = pd.DataFrame({"ref": _ref_positions(at_referral, referrals),
                                "code": at_referral["CodedAssToolType"], "date": at_referral["AssToolCompDate"],
                                "PersScore": at_referral["PersScore"], "source": np.int16(606)})
    scores = pd.concat([at_activity, at_referral[at_referral["ref"] >= 0]], ignore_index=True)
    scores["tool"] = scores["code"].map(codes.TOOLS).astype("category")
    scores = scores[scores["tool"].notna() & scores["PersScore"].notna() & scores["date"].notna()]
    ref = scores["ref"].to_numpy()
    received = referrals["ReferralRequestReceivedDate"].to_numpy()[ref]
    discharged = referrals["ServDischDate"].to_numpy()[ref]
    date = scores["date"].to_numpy()
    scores = scores[(date >= received) & (np.isnat(discharged) | (date <= discharged))]
    scores = sorted_by(scores.drop(columns="code"), ["ref", "tool", "date", "source"])
    return scores.reset_index(drop=True)


def _add_descriptor(referrals: pd.DataFrame, complaints: pd.DataFrame) -> None:
    """Pick one problem descriptor per referral ([MM20] M203) and the ADSM it calls for."""
    frame = complaints[[c for c in ["OrgIDProv", "ServiceRequestId", "PresComp", "PresCompCodSig", "PresCompDate"]
                        if c in complaints]].copy()
    frame["ref"] = _ref_positions(frame, referrals)
    frame = frame[frame["ref"] >= 0]
    frame["code"] = frame["PresComp"].str.replace(".", "", regex=False).str.upper()
    frame["valid"] = frame["code"].str.fullmatch(r"[A-Z][0-9]{2}[0-9A-Z]{0,2}|[0-9]{6,18}").fillna(False)
    primary = frame["PresCompCodSig"] if "PresCompCodSig" in frame else pd.Series(pd.NA, index=frame.index)
    frame["primary"] = (primary.astype("string").str.upper() == "P").fillna(False)
    dated = frame["PresCompDate"] if "PresCompDate" in frame else pd.Series(pd.NaT, index=frame.index)
    frame["dated"] = dated
    frame["order"] = np.arange(len(frame))
    frame = frame.sort_values(["ref", "valid", "primary", "dated", "order"], na_position="first", kind="stable")
    chosen = frame.drop_duplicates("ref", keep="last").set_index("ref")
    n = len(referrals)
    referrals["PresentingComplaint"] = chosen["PresComp"].reindex(range(n)).to_numpy()
    referrals["DescriptorADSM"] = _adsm_for(chosen["code"]).reindex(range(n)).fillna(codes.DEFAULT_ADSM).to_numpy()


def _adsm_for(code: pd.Series) -> pd.Series:
    """Longest matching problem-descriptor prefix -> ADSM tool name (GAD-7 when none matches)."""
    tool = pd.Series(codes.DEFAULT_ADSM, index=code.index, dtype=object)
    for prefix in sorted(codes.ADSM_BY_DESCRIPTOR, key=len):
        tool = tool.mask(code.str.startswith(prefix).fillna(False), codes.ADSM_BY_DESCRIPTOR[prefix])
    return tool


def _add_outcomes(referrals: pd.DataFrame, scores: pd.DataFrame, scales: dict[str, Scale]) -> None:
    """First/last scores, the ADSM choice, caseness, recovery and reliable change."""
    grouped = scores.groupby(["ref", "tool"], observed=True)["PersScore"]
    stats = pd.DataFrame({"first": grouped.first(), "last": grouped.last(), "count": grouped.size()})
    stats.loc[stats["count"] < 2, "last"] = np.nan
    n = len(referrals)

    def tool_stats(tool_per_ref: pd.Series) -> pd.DataFrame:
        key = pd.MultiIndex.from_arrays([np.arange(n), tool_per_ref.to_numpy()])
        found = stats.reindex(key)
        found.index = referrals.index
        found["count"] = found["count"].fillna(0).astype("int32")
        return found

    phq = tool_stats(pd.Series("PHQ9", index=referrals.index))
    gad = tool_stats(pd.Series("GAD7", index=referrals.index))
    own = tool_stats(referrals["DescriptorADSM"])
    use_own = own["count"] >= 2
    use_gad = ~use_own & (gad["count"] >= 2)
    adsm_tool = pd.Series(pd.NA, index=referrals.index, dtype=object).mask(use_own, referrals["DescriptorADSM"])
    adsm_tool = adsm_tool.mask(use_gad, "GAD7")
    adsm_first = np.where(use_own, own["first"], np.where(use_gad, gad["first"], np.nan))
    adsm_last = np.where(use_own, own["last"], np.where(use_gad, gad["last"], np.nan))
    referrals["PHQ9_FirstScore"], referrals["PHQ9_LastScore"], referrals["PHQ9_Count"] = \
        phq["first"], phq["last"], phq["count"]
    referrals["GAD7_FirstScore"], referrals["GAD7_LastScore"], referrals["GAD7_Count"] = \
        gad["first"], gad["last"], gad["count"]
    referrals["ADSM"] = adsm_tool
    referrals["ADSM_FirstScore"], referrals["ADSM_LastScore"] = adsm_first, adsm_last
    _add_flags(referrals, scales)


def _add_flags(referrals: pd.DataFrame, scales: dict[str, Scale]) -> None:
    phq = scales["PHQ9"]
    first_p, last_p = referrals["PHQ9_FirstScore"], referrals["PHQ9_LastScore"]
    first_a, last_a = referrals["ADSM_FirstScore"], referrals["ADSM_LastScore"]
    paired = last_p.notna() & last_a.notna()
    start_a = pd.Series(False, index=referrals.index)
    end_a = pd.Series(False, index=referrals.index)
    up_a = pd.Series(False, index=referrals.index)
    down_a = pd.Series(False, index=referrals.index)
    for tool in referrals["ADSM"].dropna().unique():
        scale = scales[tool]
        rows = referrals["ADSM"] == tool
        if scale.caseness is not None:
            start_a |= rows & scale.at_caseness(first_a)
            end_a |= rows & scale.at_caseness(last_a)
        if scale.reliable_change is not None:
            down_a |= rows & scale.reliable(first_a - last_a)
            up_a |= rows & scale.reliable(last_a - first_a)
    down_p, up_p = phq.reliable(first_p - last_p), phq.reliable(last_p - first_p)
    caseness = paired & (phq.at_caseness(first_p) | start_a)
    referrals["Paired_Flag"] = paired
    referrals["Caseness_Flag"] = caseness
    referrals["NotCaseness_Flag"] = paired & ~caseness
    referrals["Recovery_Flag"] = caseness & ~phq.at_caseness(last_p) & ~end_a
    improvement = paired & (down_p | down_a) & ~up_p & ~up_a
    deterioration = paired & (up_p | up_a) & ~down_p & ~down_a
    referrals["ReliableImprovement_Flag"] = improvement
    referrals["ReliableDeterioration_Flag"] = deterioration
    referrals["NoChange_Flag"] = paired & ~improvement & ~deterioration
    referrals["ReliableRecovery_Flag"] = referrals["Recovery_Flag"] & improvement


def _count_by_ref(refs: pd.Series, n: int) -> np.ndarray:
    return np.bincount(refs.to_numpy(), minlength=n).astype("int32")


def _first_date(frame: pd.DataFrame, n: int) -> pd.Series:
    """First CareContDate per referral; ``frame`` is already sorted by (ref, date)."""
    return _nth_date(frame, 1, n)


def _nth_date(frame: pd.DataFrame, nth: int, n: int) -> pd.Series:
    """The nth (1-based) CareContDate per referral of a frame sorted by (ref, date)."""
    ranked = frame.groupby("ref").cumcount()
    pick = frame[ranked.to_numpy() == nth - 1]
    return _dates_by_ref(pick, n)


def _last_date(frame: pd.DataFrame, n: int) -> pd.Series:
    return _dates_by_ref(frame.drop_duplicates("ref", keep="last"), n)


def _dates_by_ref(pick: pd.DataFrame, n: int) -> pd.Series:
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[pick["ref"].to_numpy()] = pick["CareContDate"].to_numpy()
    return pd.Series(out)


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.days.astype("float64")
