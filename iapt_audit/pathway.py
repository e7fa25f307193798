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
TOOL_NAMES = sorted(set(codes.TOOLS.values()))
# therapy step of each SNOMED code: low intensity, high intensity or employment support
STEP_NAMES = ("LI", "HI", "ES")
THERAPY_STEPS = {**dict.fromkeys(codes.LOW_INTENSITY, "LI"), **dict.fromkeys(codes.HIGH_INTENSITY, "HI"),
                 **dict.fromkeys(codes.EMPLOYMENT_SUPPORT, "ES")}


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
    activity_table = extract["IDS202CareActivity"]
    # each care activity's contact (first record of a duplicated key), shared by therapy steps and scores
    contact_of_activity = key_positions(activity_table, contacts, CONTACT_KEY)
    activities = _therapy_activities(activity_table, contact_of_activity, contacts)
    _add_contact_fields(referrals, contacts)
    _add_therapy_steps(referrals, activities)
    scores = _scores(extract, contact_of_activity, referrals, contacts)
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
    or a key part is missing. The last key part is the record's identifier, the others its scope
    (the provider).

    Why not ``merge`` or a ``MultiIndex``: at national scale (25 million scores) pandas factorises
    every string key column again on each join; an Arrow hash look-up gives positions that every
    later step uses for numpy takes. Why the identifier first: identifiers are nearly always
    unique across providers, so looking up the identifier alone and confirming the scope settles
    almost every row without building a joined text key; only rows whose identifier's first
    parent record is in another scope are looked up again on the whole key.
    """
    *scope, identifier = key
    found = _index_in(_text(child[identifier]), _text(parent[identifier]))
    if not scope or len(parent) == 0:  # nothing more to check: every row already found or -1
        return found
    wrong = np.zeros(len(found), bool)
    for column in scope:  # compared as codes into the parent's distinct values: no text copies
        parent_code, child_code = _codes(parent[column], child[column])
        wrong |= (child_code < 0) | (child_code != parent_code[np.maximum(found, 0)])
    wrong &= found >= 0
    again = np.flatnonzero(wrong)
    if len(again):
        found[again] = _index_in(_joined(child.iloc[again], key), _joined(parent, key))
    return found


def _text(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow large strings, pandas' own storage, without combining its chunks."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        values = values.astype("string[pyarrow]")
    column = values.array.__arrow_array__()
    return column if column.type == pa.large_string() else column.cast(pa.large_string())


def _codes(parent: pd.Series, child: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both columns as positions among the parent's distinct values (-1: missing or not there)."""
    distinct = pc.unique(_text(parent)).drop_null()
    return _index_in(_text(parent), distinct, np.int32), _index_in(_text(child), distinct, np.int32)


def _joined(frame: pd.DataFrame, key: list[str]) -> pa.ChunkedArray:
    """The key parts joined by a separator no identifier carries; missing if any part is."""
    return pc.binary_join_element_wise(*(_text(frame[c]) for c in key), pa.scalar(KEY_SEPARATOR, pa.large_string()))


def _index_in(values: pa.ChunkedArray, value_set: pa.ChunkedArray | pa.Array, dtype=np.int64) -> np.ndarray:
    """Position of each value in ``value_set`` (first occurrence), -1 where absent or missing."""
    if isinstance(value_set, pa.ChunkedArray):
        value_set = value_set.combine_chunks()
    found = pc.index_in(values, value_set=value_set, skip_nulls=True)
    return found.fill_null(-1).to_numpy().astype(dtype, copy=False)


def _contacts(table: pd.DataFrame, referrals: pd.DataFrame) -> pd.DataFrame:
    cols = ["OrgIDProv", "ServiceRequestId", "CareContactId", "CareContDate", "AttendOrDNACode", "AppType",
            "PlannedCareContIndicator", "CareContPatientTherMode", "NumGroupTherParticipants"]
    contacts = table[[c for c in cols if c in table]]  # copy-on-write: nothing is copied yet
    for column in cols:
        if column not in contacts:
            contacts = contacts.assign(**{column: pd.NA})
    ref = _ref_positions(contacts, referrals)
    matched = np.flatnonzero(ref >= 0)
    keys = pd.DataFrame({"ref": ref[matched], "CareContDate": contacts["CareContDate"].to_numpy()[matched],
                         "CareContactId": contacts["CareContactId"].array.take(matched)})
    order = matched[sorted_by(keys, ["ref", "CareContDate", "CareContactId"]).index.to_numpy()]
    del keys, matched
    contacts = contacts.iloc[order].reset_index(drop=True)  # the one copy: matched rows, sorted
    ref = ref[order]
    contacts["ref"] = ref
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
    treatment = contacts["treatment"].to_numpy()
    contacts["treatment_number"] = np.where(
        treatment, _running_count(contacts["ref"].to_numpy(), treatment), 0).astype("int32")
    return contacts


def _add_contact_fields(referrals: pd.DataFrame, contacts: pd.DataFrame) -> None:
    n = len(referrals)
    ref, date = contacts["ref"].to_numpy(), contacts["CareContDate"].to_numpy()
    seen, assessment = contacts["seen"].to_numpy(), contacts["assessment"].to_numpy()
    treatment, number = contacts["treatment"].to_numpy(), contacts["treatment_number"].to_numpy()
    referrals["CareContact_Count"] = np.bincount(ref[seen], minlength=n).astype("int32")
    referrals["TreatmentCareContact_Count"] = np.bincount(ref[treatment], minlength=n).astype("int32")
    referrals["Assessment_FirstDate"] = _first_by_ref(ref[assessment], date[assessment], n)
    referrals["TherapySession_FirstDate"] = _dates_by_ref(ref[number == 1], date[number == 1], n)
    referrals["TherapySession_SecondDate"] = _dates_by_ref(ref[number == 2], date[number == 2], n)
    referrals["TherapySession_LastDate"] = _last_by_ref(ref[treatment], date[treatment], n)
    referrals["CompletedTreatment_Flag"] = referrals["TreatmentCareContact_Count"] >= 2
    referrals["Wait_ReferralToFirstTreatment"] = _days(
        referrals["TherapySession_FirstDate"] - referrals["ReferralRequestReceivedDate"])
    referrals["Wait_FirstToSecondTreatment"] = _days(
        referrals["TherapySession_SecondDate"] - referrals["TherapySession_FirstDate"])


def _therapy_activities(table: pd.DataFrame, contact_of_activity: np.ndarray, contacts: pd.DataFrame) -> pd.DataFrame:
    """Care activities on treatment contacts, with their therapy step from the SNOMED code, in
    contact order (referral, date, contact ID)."""
    code = table["CodeProcAndProcStatus"] if "CodeProcAndProcStatus" in table else pd.Series(
        pd.NA, index=table.index, dtype="string[pyarrow]")
    step = lookup(code, THERAPY_STEPS, list(STEP_NAMES))
    treatment = contacts["treatment"].to_numpy()
    keep = (step >= 0) & (contact_of_activity >= 0)
    keep[keep] = treatment[contact_of_activity[keep]]
    rows = np.flatnonzero(keep)
    # contacts are sorted by (referral, date, contact ID), so their positions give that order
    rows = rows[np.argsort(contact_of_activity[rows], kind="stable")]
    contact = contact_of_activity[rows]
    return pd.DataFrame({
        "OrgIDProv": table["OrgIDProv"].array.take(rows),
        "CareContactId": table["CareContactId"].array.take(rows),
        "step": pd.array(np.array(STEP_NAMES, dtype=object)[step[rows]], dtype="string[pyarrow]"),
        "ref": contacts["ref"].to_numpy()[contact],
        "CareContDate": contacts["CareContDate"].to_numpy()[contact],
        "CareContPatientTherMode": contacts["CareContPatientTherMode"].array.take(contact),
    })


def _add_therapy_steps(referrals: pd.DataFrame, activities: pd.DataFrame) -> None:
    n = len(referrals)
    ref, date, step = activities["ref"].to_numpy(), activities["CareContDate"].to_numpy(), activities["step"]
    low, high = (step == "LI").to_numpy(), (step == "HI").to_numpy()
    referrals["LowIntensityTherapy_FirstDate"] = _first_by_ref(ref[low], date[low], n)
    referrals["LowIntensityTherapy_LastDate"] = _last_by_ref(ref[low], date[low], n)
    referrals["HighIntensityTherapy_FirstDate"] = _first_by_ref(ref[high], date[high], n)


def _scores(extract: Extract, contact_of_activity: np.ndarray, referrals: pd.DataFrame,
            contacts: pd.DataFrame) -> pd.DataFrame:
    """All scores of known questionnaires in their referral's window, sorted by (ref, tool, date).

    Built as plain arrays, filtered once and sorted on one integer key: at England's volume (33
    million scores) each intermediate frame of the straightforward concat-filter-sort was another
    gigabyte at the stage's memory peak."""
    scored, at_referral = extract["IDS607CodedScoreAssessmentAct"], extract["IDS606CodedScoreAssessmentRefer"]
    # score -> its care activity (first record of a duplicated key) -> that activity's contact
    rows = _through(key_positions(scored, extract["IDS202CareActivity"], ACTIVITY_KEY), contact_of_activity)
    linked = rows >= 0
    rows = rows[linked]
    ref = np.concatenate([contacts["ref"].to_numpy()[rows], _ref_positions(at_referral, referrals)])
    date = np.concatenate([contacts["CareContDate"].to_numpy()[rows],
                           at_referral["AssToolCompDate"].to_numpy().astype("datetime64[ns]")])
    tool = np.concatenate([lookup(scored["CodedAssToolType"], codes.TOOLS, TOOL_NAMES)[linked],
                           lookup(at_referral["CodedAssToolType"], codes.TOOLS, TOOL_NAMES)])
    score = np.concatenate([scored["PersScore"].to_numpy()[linked], at_referral["PersScore"].to_numpy()])
    source = np.repeat(np.array([607, 606], np.int16), [len(rows), len(at_referral)])
    del rows, linked
    owner = np.maximum(ref, 0)
    received = referrals["ReferralRequestReceivedDate"].to_numpy()[owner]
    discharged = referrals["ServDischDate"].to_numpy()[owner]
    keep = ((ref >= 0) & (tool >= 0) & ~np.isnan(score) & ~np.isnat(date)
            & (date >= received) & (np.isnat(discharged) | (date <= discharged)))
    del owner, received, discharged
    ref, date, tool, score, source = ref[keep], date[keep], tool[keep], score[keep], source[keep]
    rank, distinct = date_ranks(date)
    # (ref, tool, date, source) as one number; its range (referrals x questionnaires x distinct
    # dates x 2) stays far inside int64 for any extract that fits in memory
    key = ((ref * len(TOOL_NAMES) + tool) * (len(distinct) + 1) + rank) * 2 + (source == 607)
    order = np.argsort(key, kind="stable")
    del key, rank
    columns = {"ref": ref, "date": date, "PersScore": score, "source": source, "tool": tool}
    del ref, date, score, source, tool
    for name in columns:  # one column at a time, so only one unsorted copy is ever alive beside it
        columns[name] = columns[name][order]
    columns["tool"] = _categories_present(columns["tool"], TOOL_NAMES)
    return pd.DataFrame(columns, copy=False)


def date_ranks(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each date's position among the distinct dates (in order), and those dates; for sort keys.
    Whole days, the usual case, are ranked by arithmetic instead of a sort."""
    if len(dates) == 0:
        return np.zeros(0, np.int64), dates
    days = dates.astype("datetime64[D]")
    if (days == dates).all():
        first = days.min()
        return (days - first).astype(np.int64), np.arange(first, days.max() + 1).astype(dates.dtype)
    distinct, rank = np.unique(dates, return_inverse=True)
    return rank.astype(np.int64), distinct


def _categories_present(code: np.ndarray, names: list[str]) -> pd.Categorical:
    """Codes into ``names`` as a categorical of only the names present, in ``names``' order (what
    ``astype("category")`` of the names would give), counted rather than searched for."""
    present = np.flatnonzero(np.bincount(code, minlength=len(names)))
    renumber = np.full(len(names), -1, np.int64)
    renumber[present] = np.arange(len(present))
    return pd.Categorical.from_codes(renumber[code], [names[i] for i in present])


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
    n = len(referrals)
    tools = list(scores["tool"].cat.categories)
    ref, tool, value = scores["ref"].to_numpy(), scores["tool"].cat.codes.to_numpy(), scores["PersScore"].to_numpy()
    # scores are sorted by (ref, tool, date): each (referral, questionnaire) is one run of rows
    start = run_starts(ref, tool)
    starts, ends = np.flatnonzero(start), np.flatnonzero(_run_ends(start))
    run_ref, run_tool, run_count = ref[starts], tool[starts], ends - starts + 1
    run_first, run_last = value[starts], np.where(run_count >= 2, value[ends], np.nan)

    def tool_stats(runs: np.ndarray) -> dict[str, np.ndarray]:
        first, last, count = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, "int32")
        first[run_ref[runs]], last[run_ref[runs]], count[run_ref[runs]] = \
            run_first[runs], run_last[runs], run_count[runs]
        return {"first": first, "last": last, "count": count}

    def tool_code(name: str) -> int:
        return tools.index(name) if name in tools else -2  # -2 matches no run

    phq = tool_stats(run_tool == tool_code("PHQ9"))
    gad = tool_stats(run_tool == tool_code("GAD7"))
    own_code = pd.Categorical(referrals["DescriptorADSM"], categories=tools).codes
    own = tool_stats(run_tool == np.where(own_code >= 0, own_code, -2)[run_ref])
    use_own = own["count"] >= 2
    use_gad = ~use_own & (gad["count"] >= 2)
    adsm_tool = pd.Series(pd.NA, index=referrals.index, dtype=object).mask(use_own, referrals["DescriptorADSM"])
    adsm_tool = adsm_tool.mask(use_gad, "GAD7")
    referrals["PHQ9_FirstScore"], referrals["PHQ9_LastScore"], referrals["PHQ9_Count"] = \
        phq["first"], phq["last"], phq["count"]
    referrals["GAD7_FirstScore"], referrals["GAD7_LastScore"], referrals["GAD7_Count"] = \
        gad["first"], gad["last"], gad["count"]
    referrals["ADSM"] = adsm_tool
    referrals["ADSM_FirstScore"] = np.where(use_own, own["first"], np.where(use_gad, gad["first"], np.nan))
    referrals["ADSM_LastScore"] = np.where(use_own, own["last"], np.where(use_gad, gad["last"], np.nan))
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


def lookup(values: pd.Series, mapping: dict[str, str], names: list[str]) -> np.ndarray:
    """Position in ``names`` (a few dozen at most, so int8) of ``mapping[value]`` for each value,
    -1 where the value is not a key.

    Why Arrow: a hash look-up of thirty million codes in a few dozen keys, without turning the
    text column into Python objects as ``Series.map`` does."""
    keys = list(mapping)
    position = _index_in(_text(values), pa.array(keys, pa.large_string()), np.int32)
    name_of_key = np.array([names.index(mapping[key]) for key in keys] + [-1], dtype=np.int8)
    return name_of_key[position]  # -1 picks the appended -1


def _through(positions: np.ndarray, onward: np.ndarray) -> np.ndarray:
    """Follow positions into a second position array (child -> parent -> grandparent), -1 kept."""
    if len(onward) == 0:
        return np.full(len(positions), -1, np.int64)
    return np.where(positions >= 0, onward[np.maximum(positions, 0)], -1)


def _running_count(ref: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Flags counted so far within each referral, in an array sorted by referral."""
    total = np.cumsum(flag)
    first = _group_first_row(ref)
    return total - (total[first] - flag[first])


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """True where a row starts a new run of equal ``keys``, in arrays sorted by them: the numpy
    form of a group-by on sorted data, used for every per-referral first, last and count."""
    start = np.zeros(len(keys[0]), bool)
    start[:1] = True
    for key in keys:
        start[1:] |= key[1:] != key[:-1]
    return start


def _run_ends(start: np.ndarray) -> np.ndarray:
    """True where a run ends, from ``run_starts``: the row before each start, and the last row."""
    return np.append(start[1:], True)[:len(start)]


def _group_first_row(ref: np.ndarray) -> np.ndarray:
    """For each row of an array sorted by referral, the row where its referral's run starts."""
    return np.maximum.accumulate(np.where(run_starts(ref), np.arange(len(ref)), 0)) if len(ref) else \
        np.zeros(0, np.int64)


def _first_by_ref(ref: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    """The first date per referral of rows sorted by (referral, date); NaT where none."""
    first = run_starts(ref)
    return _dates_by_ref(ref[first], dates[first], n)


def _last_by_ref(ref: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    last = _run_ends(run_starts(ref))
    return _dates_by_ref(ref[last], dates[last], n)


def _dates_by_ref(ref: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[ref] = dates
    return out


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.days.astype("float64")
