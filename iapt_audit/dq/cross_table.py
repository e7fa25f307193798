"""Consistency checks across tables, where GX expectations (one frame at a time) cannot reach.

Each check is a ``Check`` (its code, wording and severity) and a function returning the frame the
check's records live in, the records it applies to (the denominator) and the row positions that
fail. All of it is vectorised: keys are matched with one index lookup per table pair.

Windows and definitions follow the pathway derivation (``iapt_audit.pathway``, [MM20], [G21]):
a referral's window runs from ReferralRequestReceivedDate to ServDischDate; follow-up contacts
(AppType 06) are expected after discharge; "finished a course of treatment" is
CompletedTreatment_Flag (two or more attended treatment contacts) with ServDischDate in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.dq.findings import Check
from iapt_audit.dq.gx_frames import attended
from iapt_audit.identifiers import WITHHELD, IdentifierMask
from iapt_audit.io.extract import Extract
from iapt_audit.model import codes
from iapt_audit.model.tables import RECORD_ID, TABLES
from iapt_audit.pathway import Pathways, derive_pathways
from iapt_audit.period import Period

NO_ACTIVITY_DAYS = 120  # [MM20] M022: open referrals with no activity for more than 120 days
REFERRAL_KEY = ("OrgIDProv", "ServiceRequestId")
CONTACT_KEY = ("OrgIDProv", "CareContactId")
KEY_SEPARATOR = "\x1f"  # cannot occur in an identifier read from CSV, Parquet or Excel


@dataclass
class Inputs:
    """What the checks read; the pathways are derived on first use (two checks need them)."""

    extract: Extract
    period: Period
    given_pathways: Pathways | None = None
    joins: dict = field(default_factory=dict, repr=False)  # (child, parent) -> parent_position

    @cached_property
    def pathways(self) -> Pathways:
        return self.given_pathways or derive_pathways(self.extract)

    def parent_position(self, child: str, parent: str, key: tuple[str, ...]) -> np.ndarray:
        """Position in ``parent`` of each ``child`` row's key (first match), -1 where none; cached,
        since several checks join the same pair of tables."""
        if (child, parent) not in self.joins:
            tables = self.extract.tables
            found = pc.index_in(_joined_key(tables[child], key), value_set=_joined_key(tables[parent], key))
            self.joins[(child, parent)] = found.fill_null(-1).to_numpy().astype(np.int64)
        return self.joins[(child, parent)]


@dataclass
class Verdict:
    frame: pd.DataFrame      # the rows the check's records come from
    applies: np.ndarray      # boolean mask over frame: the denominator
    failing: np.ndarray      # sorted positions in frame that fail
    value_column: str | None = None
    totals: pd.Series | None = None  # denominator per provider, when it is not the frame's rows
    aligned: bool = True             # frame's rows are the check's extract table's rows, in order


def _check(code, title, severity, table, column, fix, denominator) -> Check:
    return Check(code=code, title=title, severity=severity, table=table, column=column, fix=fix,
                 denominator=denominator, engine="cross_table")


def _joined_key(frame: pd.DataFrame, key: tuple[str, ...]) -> pa.Array:
    """The key columns joined into one Arrow string per row (null if any part is missing): Arrow
    hashes one string column far faster than pandas matches a MultiIndex of strings."""
    parts = [pa.array(frame[column].astype("string[pyarrow]"), type=pa.large_string()) for column in key]
    separator = pa.scalar(KEY_SEPARATOR, type=pa.large_string())
    return pc.binary_join_element_wise(*parts, separator) if len(parts) > 1 else parts[0]


def _positions(mask) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _table(inputs: Inputs, name: str) -> pd.DataFrame:
    return inputs.extract.tables[name].reset_index(drop=True)


def _referral_dates(inputs: Inputs, child: str) -> tuple[np.ndarray, np.ndarray]:
    """Received and discharge dates of each ``child`` row's referral (NaT where it has none).

    A row with no referral has position -1, which picks the NaT appended to each date column:
    one take per column, with no mask to apply afterwards.
    """
    referrals = _table(inputs, "IDS101Referral")
    found = inputs.parent_position(child, "IDS101Referral", REFERRAL_KEY)

    def spread(column: str) -> np.ndarray:
        dates = (referrals[column].to_numpy() if column in referrals
                 else np.full(len(referrals), np.datetime64("NaT"), dtype="datetime64[ns]"))
        return np.concatenate([dates, np.array(["NaT"], dtype=dates.dtype)])[found]

    return spread("ReferralRequestReceivedDate"), spread("ServDischDate")


def contact_before_referral(inputs: Inputs) -> Verdict:
    contacts = _table(inputs, "IDS201CareContact")
    received, _ = _referral_dates(inputs, "IDS201CareContact")
    date = contacts["CareContDate"].to_numpy()
    applies = ~np.isnat(received) & ~np.isnat(date)
    return Verdict(contacts, applies, _positions(applies & (date < received)), "CareContDate")


def contact_after_discharge(inputs: Inputs) -> Verdict:
    contacts = _table(inputs, "IDS201CareContact")
    _, discharged = _referral_dates(inputs, "IDS201CareContact")
    date = contacts["CareContDate"].to_numpy()
    may_follow = contacts["AppType"].isin(codes.AFTER_DISCHARGE_APP_TYPES).to_numpy(dtype=bool)
    applies = ~np.isnat(discharged) & ~np.isnat(date) & ~may_follow
    return Verdict(contacts, applies, _positions(applies & (date > discharged)), "CareContDate")


def _orphans(inputs: Inputs, child: str, parent: str, key: tuple[str, ...]) -> Verdict:
    rows = _table(inputs, child)
    applies = rows[list(key)].notna().all(axis=1).to_numpy()
    found = inputs.parent_position(child, parent, key)
    return Verdict(rows, applies, _positions(applies & (found < 0)), key[-1])


def orphan_contact(inputs: Inputs) -> Verdict:
    return _orphans(inputs, "IDS201CareContact", "IDS101Referral", REFERRAL_KEY)


def orphan_activity(inputs: Inputs) -> Verdict:
    return _orphans(inputs, "IDS202CareActivity", "IDS201CareContact", CONTACT_KEY)


def orphan_activity_score(inputs: Inputs) -> Verdict:
    return _orphans(inputs, "IDS607CodedScoreAssessmentAct", "IDS202CareActivity", ("OrgIDProv", "CareActId"))


def orphan_referral_score(inputs: Inputs) -> Verdict:
    return _orphans(inputs, "IDS606CodedScoreAssessmentRefer", "IDS101Referral", REFERRAL_KEY)


def duplicate_referral(inputs: Inputs) -> Verdict:
    """Two or more service requests for one patient received on one day at one provider."""
    referrals = _table(inputs, "IDS101Referral")
    person_day = ["OrgIDProv", "LocalPatientId", "ReferralRequestReceivedDate"]
    if "LocalPatientId" not in referrals:
        return Verdict(referrals, np.zeros(len(referrals), dtype=bool), np.array([], dtype=np.int64))
    applies = referrals[person_day + ["ServiceRequestId"]].notna().all(axis=1).to_numpy()
    chosen = referrals[applies]
    # only a person-day with two or more referrals can hold two requests: count distinct requests
    # for those few, not for all 1.8M (a hashed pass instead of a group-by over every referral)
    crowded = chosen.duplicated(person_day, keep=False).to_numpy()
    requests = chosen[crowded].groupby(person_day, observed=True)["ServiceRequestId"].transform("nunique")
    failing = np.zeros(len(referrals), dtype=bool)
    failing[np.flatnonzero(applies)[np.flatnonzero(crowded)[requests.to_numpy() > 1]]] = True
    return Verdict(referrals, applies, _positions(failing), "ReferralRequestReceivedDate")


def treatment_without_therapy(inputs: Inputs) -> Verdict:
    """Attended treatment contacts (AppType 02/03/05) with no care activity naming a therapy."""
    contacts = _table(inputs, "IDS201CareContact")
    activities = inputs.extract.tables["IDS202CareActivity"]
    contact_of = inputs.parent_position("IDS202CareActivity", "IDS201CareContact", CONTACT_KEY)
    named = (activities["CodeProcAndProcStatus"].notna().to_numpy() if "CodeProcAndProcStatus" in activities
             else np.zeros(len(activities), dtype=bool))
    has_therapy = np.zeros(len(contacts), dtype=bool)
    has_therapy[contact_of[named & (contact_of >= 0)]] = True
    applies = (attended(contacts) & contacts["AppType"].isin(codes.TREATMENT_APP_TYPES)).to_numpy(dtype=bool)
    return Verdict(contacts, applies, _positions(applies & ~has_therapy), "AppType")


def referral_score_outside_window(inputs: Inputs) -> Verdict:
    scores = _table(inputs, "IDS606CodedScoreAssessmentRefer")
    received, discharged = _referral_dates(inputs, "IDS606CodedScoreAssessmentRefer")
    date = scores["AssToolCompDate"].to_numpy()
    applies = ~np.isnat(received) & ~np.isnat(date)
    outside = (date < received) | (~np.isnat(discharged) & (date > discharged))
    return Verdict(scores, applies, _positions(applies & outside), "AssToolCompDate")


def open_without_activity(inputs: Inputs) -> Verdict:
    """Referrals open at the period end whose last attended contact (else receipt) is > 120 days old."""
    referrals = _table(inputs, "IDS101Referral")
    end = inputs.period.end
    received = referrals["ReferralRequestReceivedDate"]
    discharged = referrals["ServDischDate"] if "ServDischDate" in referrals else pd.Series(pd.NaT, index=referrals.index)
    applies = ((received <= end) & (discharged.isna() | (discharged > end))).to_numpy(dtype=bool)
    contacts = _table(inputs, "IDS201CareContact")
    referral_of = inputs.parent_position("IDS201CareContact", "IDS101Referral", REFERRAL_KEY)
    seen = attended(contacts).to_numpy() & (contacts["CareContDate"] <= end).to_numpy() & (referral_of >= 0)
    last_seen = contacts["CareContDate"][seen].groupby(referral_of[seen]).max()
    last = pd.Series(last_seen.reindex(range(len(referrals))).to_numpy(), index=referrals.index).fillna(received)
    idle = ((end - last).dt.days > NO_ACTIVITY_DAYS).to_numpy(dtype=bool)
    failing = _positions(applies & idle)
    # the date is shown only as the failing referrals' worklist value: format just those
    shown = np.full(len(referrals), None, dtype=object)
    shown[failing] = last.iloc[failing].dt.strftime("%Y-%m-%d").to_numpy()
    frame = referrals.assign(LastActivityDate=pd.Series(shown, index=referrals.index, dtype="string"))
    return Verdict(frame, applies, failing, "LastActivityDate")


def _finished(inputs: Inputs) -> tuple[pd.DataFrame, np.ndarray]:
    referrals = inputs.pathways.referrals
    finished = referrals["CompletedTreatment_Flag"] & inputs.period.contains(referrals["ServDischDate"])
    return referrals, finished.fillna(False).to_numpy(dtype=bool)


def finished_without_paired_phq9(inputs: Inputs) -> Verdict:
    referrals, finished = _finished(inputs)
    unpaired = referrals["PHQ9_LastScore"].isna().to_numpy()
    frame = referrals.assign(PHQ9_Count=referrals["PHQ9_Count"].astype("string"))
    return Verdict(frame, finished, _positions(finished & unpaired), "PHQ9_Count", aligned=False)


def finished_without_appropriate_adsm(inputs: Inputs) -> Verdict:
    """[MM20] M203–M205: finished courses whose descriptor calls for an ADSM without it paired.

    The descriptor calls for an ADSM when it maps to a disorder-specific measure
    (``codes.ADSM_BY_DESCRIPTOR``) or is generalised anxiety disorder (F41.1, whose measure is GAD-7).
    """
    referrals, finished = _finished(inputs)
    descriptor = referrals["PresentingComplaint"].astype("string").str.replace(".", "", regex=False).str.upper()
    specific = (referrals["DescriptorADSM"] != codes.DEFAULT_ADSM) | descriptor.str.startswith("F411").fillna(False)
    applies = finished & specific.to_numpy(dtype=bool)
    appropriate = (referrals["ADSM"] == referrals["DescriptorADSM"]).fillna(False).to_numpy(dtype=bool)
    return Verdict(referrals, applies, _positions(applies & ~appropriate), "DescriptorADSM", aligned=False)


def unparsed_values(inputs: Inputs) -> Verdict:
    """Dates and numbers the reader could not parse ([DQM] "not specified format" = invalid)."""
    frame = unparsed_frame(inputs.extract)
    return Verdict(frame, np.ones(len(frame), dtype=bool), np.arange(len(frame)), "value",
                   totals=typed_value_totals(inputs.extract, frame), aligned=False)


def unparsed_frame(extract: Extract) -> pd.DataFrame:
    """One row per unparsed value, with its provider and record ID in place of its file row.

    A birth date that did not parse is still a birth date: its value is withheld."""
    unparsed = extract.unparsed
    parts = []
    for name, rows in unparsed.groupby("table", observed=True):
        table = extract.tables[name]
        position = rows["position"].to_numpy(dtype=np.int64)
        identifier = rows["column"].isin(TABLES[name].identifier_columns).to_numpy()
        parts.append(pd.DataFrame({
            "OrgIDProv": table["OrgIDProv"].iloc[position].to_numpy(),
            "record_id": table[RECORD_ID[name]].iloc[position].to_numpy(),
            "table": name, "column": rows["column"].to_numpy(),
            "value": np.where(identifier, WITHHELD, rows["value"].astype(str).to_numpy())}))
    return (pd.concat(parts, ignore_index=True) if parts else
            pd.DataFrame(columns=["OrgIDProv", "record_id", "table", "column", "value"]))


def identifiers_in_wrong_items(inputs: Inputs) -> Verdict:
    """Records holding an NHS number, postcode or one of the extract's birth dates in an item
    that is not an identifier item (``iapt_audit.identifiers``): text items as read, and the raw
    values of dates and numbers that did not parse. Their values are withheld in the worklist.

    Why a check as well as masking: masking keeps the value out of the outputs, but the record
    still carries it into the provider's own systems and NHS Digital's; only the provider can
    move it to its item. Vectorised: Arrow's RE2 picks the few candidate values, and only those
    are confirmed one by one (check digit, birth-date lookup).
    """
    extract = inputs.extract
    mask = IdentifierMask.of(extract)
    parts, totals = [], []
    for name, table in extract.tables.items():
        spec = TABLES[name]
        scanned = [c for c in table.columns if c not in spec.identifier_columns and c not in spec.date_columns
                   and c not in spec.number_columns and pd.api.types.is_string_dtype(table[c])]
        for column in scanned:
            candidates = np.flatnonzero(mask.candidates(table[column]))
            found = candidates[[mask.holds(v) for v in table[column].iloc[candidates].tolist()]] \
                if len(candidates) else candidates
            if len(found):
                parts.append(_identifier_rows(extract, name, column, found))
        if scanned:
            totals.append(table[scanned].notna().sum(axis=1).groupby(table["OrgIDProv"].astype("string")).sum())
    unparsed = unparsed_frame(extract)  # identifier items' own values come back withheld: never counted here
    if len(unparsed):
        totals.append(unparsed["OrgIDProv"].astype("string").value_counts())
        held = np.array([mask.holds(str(v)) for v in unparsed["value"].tolist()], dtype=bool)
        parts.append(unparsed[held].assign(value=WITHHELD))
    frame = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=["OrgIDProv", "record_id", "table", "column", "value"]))
    total = (pd.concat(totals).groupby(level=0).sum().astype("int64") if totals else pd.Series(dtype="int64"))
    return Verdict(frame, np.ones(len(frame), dtype=bool), np.arange(len(frame)), "value", totals=total,
                   aligned=False)


def _identifier_rows(extract: Extract, name: str, column: str, positions: np.ndarray) -> pd.DataFrame:
    table = extract.tables[name]
    ids = (table[RECORD_ID[name]].iloc[positions].to_numpy() if name in RECORD_ID and RECORD_ID[name] in table
           else [f"row {p + extract.first_row.get(name, 2)}" for p in positions])
    return pd.DataFrame({"OrgIDProv": table["OrgIDProv"].iloc[positions].to_numpy(), "record_id": ids,
                         "table": name, "column": column, "value": WITHHELD})


def typed_value_totals(extract: Extract, unparsed: pd.DataFrame) -> pd.Series:
    """Denominator of the unparsed-value check per provider: date and number values given."""
    totals = []
    for name, table in extract.tables.items():
        spec = TABLES[name]
        columns = [c for c in spec.date_columns + spec.number_columns if c in table]
        if columns:
            totals.append(table[columns].notna().sum(axis=1).groupby(table["OrgIDProv"].astype("string")).sum())
    if len(unparsed):
        totals.append(unparsed["OrgIDProv"].astype("string").value_counts())
    if not totals:
        return pd.Series(dtype="int64")
    return pd.concat(totals).groupby(level=0).sum().astype("int64")


CROSS_TABLE_CHECKS: list[tuple[Check, Callable[[Inputs], Verdict]]] = [
    (_check("DQ100", "Care contact before the referral was received", "warning", "IDS201CareContact",
            "CareContDate", "Correct the contact or referral date; the contact is outside the pathway and not counted.",
            "care contacts with a date whose referral has a received date"), contact_before_referral),
    (_check("DQ101", "Care contact after discharge that is not a follow-up or employment support", "warning",
            "IDS201CareContact", "CareContDate",
            "Record post-discharge contacts as follow-ups (AppType 06) or correct ServDischDate.",
            "dated care contacts other than follow-ups and employment support whose referral is discharged"),
     contact_after_discharge),
    (_check("DQ102", "Care contact with no matching referral", "error", "IDS201CareContact", "ServiceRequestId",
            "Submit the referral the contact belongs to, or correct its ServiceRequestId.",
            "care contacts with a ServiceRequestId"), orphan_contact),
    (_check("DQ103", "Care activity with no matching care contact", "error", "IDS202CareActivity", "CareContactId",
            "Submit the care contact the activity belongs to, or correct its CareContactId.",
            "care activities with a CareContactId"), orphan_activity),
    (_check("DQ104", "Activity-level score with no matching care activity", "error", "IDS607CodedScoreAssessmentAct",
            "CareActId", "Submit the care activity the score belongs to, or correct its CareActId.",
            "activity-level scores with a CareActId"), orphan_activity_score),
    (_check("DQ105", "Referral-level score with no matching referral", "error", "IDS606CodedScoreAssessmentRefer",
            "ServiceRequestId", "Submit the referral the score belongs to, or correct its ServiceRequestId.",
            "referral-level scores with a ServiceRequestId"), orphan_referral_score),
    (_check("DQ106", "Duplicate referral: one patient, one provider, one received date", "warning", "IDS101Referral",
            "ServiceRequestId", "Merge the duplicate service requests; each inflates referral counts.",
            "referrals with a LocalPatientId, ServiceRequestId and received date"), duplicate_referral),
    (_check("DQ107", "Attended treatment contact with no therapy type", "warning", "IDS201CareContact",
            "CodeProcAndProcStatus", "Record the therapy (IDS202 CodeProcAndProcStatus) on every treatment contact.",
            "attended care contacts of AppType 02, 03 or 05"), treatment_without_therapy),
    (_check("DQ108", "Referral-level score dated outside its referral", "warning", "IDS606CodedScoreAssessmentRefer",
            "AssToolCompDate", "Correct AssToolCompDate; scores outside the referral are left out of outcomes.",
            "dated referral-level scores whose referral has a received date"), referral_score_outside_window),
    (_check("DQ109", f"Open referral with no activity for more than {NO_ACTIVITY_DAYS} days", "warning",
            "IDS101Referral", "ServDischDate",
            "Discharge referrals that have ended (with ServDischDate and EndCode) or record the activity.",
            "referrals open at the end of the period"), open_without_activity),
    (_check("DQ110", "Finished course of treatment without paired PHQ-9 scores", "warning", "IDS101Referral",
            "PHQ9_LastScore", "Record PHQ-9 at every treatment session; recovery needs a first and a last score.",
            "courses of treatment finished in the period (two or more treatment contacts, discharged in period)"),
     finished_without_paired_phq9),
    (_check("DQ111", "Finished course without the paired ADSM its problem descriptor requires", "warning",
            "IDS101Referral", "ADSM_LastScore",
            "Record the anxiety-disorder-specific measure the problem descriptor calls for at every session.",
            "finished courses whose problem descriptor calls for a disorder-specific measure (incl. GAD-7 for F41.1)"),
     finished_without_appropriate_adsm),
    (_check("DQ112", "Date or number in an unrecognised format", "error", "(all tables)", "(date and number items)",
            "Write dates as YYYY-MM-DD (or DD/MM/YYYY) and numbers as digits.",
            "date and number values given in any table"), unparsed_values),
    (_check("DQ113", "NHS number, postcode or patient's birth date in an item that is not for it", "error",
            "(all tables)", "(text items)",
            "Move the identifier to its own item (NHSNumber, Postcode, PersonBirthDate) and give this item "
            "its proper value; outputs withhold it meanwhile.",
            "text values given in any table, and date and number values that did not parse"),
     identifiers_in_wrong_items),
]
