"""Derive every referral's pathway: one row per referral with the fields published measures use.

Definitions follow iapt-dataset.md §1.4, §1.5, §2 and §3 ([MM20], [MM21], [G21]) and NHS England's
public SQL ([TT] nhsengland/Talking-Therapies); each choice below names its source.

* codes are read as exports write them: "2", " 2", "2.0" as AppType 02, "05" as AttendOrDNACode 5
  ([TT] "2.10 CareContactMethod.sql" and the Preferred Languages scripts accept these forms;
  ``model.codes.canonical_code``). The data-quality checks still report the raw forms;
  ``Pathways.code_forms`` counts what was read that way;
* attended = AttendOrDNACode 5 or 6, or an unplanned contact (PlannedCareContIndicator "N")
  ([MM20] M090, M1001);
* a treatment contact is attended, of AppType 02, 03 or 05, on or after ReferralRequestReceivedDate
  and on or before ServDischDate (when set); follow-ups (06) never count; a combined
  "assessment and treatment" (03) contact is both the first assessment and the first treatment
  ([G21] glossary, [MM21] M348);
* employment support is never treatment: AppType 10 is not a treatment type, and a contact whose
  coded care activities are all employment support (SNOMED 1098051000000103) is not a treatment
  contact whatever its AppType ([MM20] M076 "employment-support contacts excluded"; [MM21] M099
  counts them apart). A contact with employment support and a LI/HI therapy is treatment;
* internet-enabled therapy: each IDS205InternetTherLog record with DurationIntEnabledTher > 0
  and its EndDateIntEnabledTherLog in the referral's window is one treatment session
  (TreatmentCareContact_Count includes IET: [TT] IET "Step 1 - IET (M).sql" sets "Only IET"
  where TreatmentCareContact_Count − InternetEnabledTherapy_Count = 0 and counts a log only with
  DurationIntEnabledTher > 0; [MM20] M108 counts distinct UniqueID_IDS205 by
  EndDateIntEnabledTherLog; [G21] "IET sessions are included within the outcome calculations").
  A log is dated by its EndDateIntEnabledTherLog (M108's date). Every log is a high-intensity
  session for the stepped-care dates ([MM21] M348), so it can set HighIntensityTherapy_FirstDate.
  The sources are silent on whether a log sets TherapySession_FirstDate/SecondDate/LastDate:
  ``PathwaySettings.iet_sets_session_dates`` (default yes, ``[pathway]`` in the config file)
  decides. Why yes: NHS England's IET dashboard times referral-to-first-therapy waits from
  TherapySession_FirstDate for "Only IET" courses ([TT] IET Step 1, WaitRefToFirstTherapy),
  which needs that date set by the logs; and a finished course with no first treatment date
  would be finished without ever having "accessed services";
* CareContact_Count counts attended contacts in the referral's window other than follow-ups;
* CompletedTreatment_Flag = at least two treatment sessions ([MM20] M076);
* order: "first", "second" and "last" contacts and scores are taken by date, then time
  (CareContTime, AssToolCompTime; a missing time sorts first, as SQL Server sorts NULL), then
  identifier (CareContactId; CareActId for activity scores, referral-level scores before them),
  as NHS England's SQL orders them — never by row order, so shuffled input gives the same output;
* scores (IDS607 at a care activity, dated and timed by its contact; IDS606 at the referral,
  dated AssToolCompDate) count when dated inside the referral's window, attended or not ([G21]
  §6.3); ``*_LastScore`` is filled only when there are at least two scores ("paired") ([MM20]
  M199/M201);
* the ADSM follows the last recorded problem descriptor (IDS603, chosen by [MM20] M203's order:
  valid code, primary, latest date, then the highest code in place of UniqueID_IDS603): its own
  ADSM when paired, else GAD-7 when paired ([G21] §7.7);
* caseness is set from the first scores whether or not the course is paired: Caseness_Flag =
  first PHQ-9 or first anxiety score at caseness; NotCaseness_Flag = both first scores present
  and neither at caseness (an anxiety measure with no cut-off in any source, BIQ, cannot show
  "not at caseness", so such a course gets neither flag unless PHQ-9 is at caseness). The first anxiety score is the ADSM's when the course is paired, else
  the descriptor's own ADSM's first score, else GAD-7's. Source: NHS Digital's published 2024-25
  England totals ([AM25]): 670,419 finished courses, 8,521 of them without paired scores
  (finished − improvement − no change − deterioration), yet only 937 with neither flag
  (finished − at caseness − not at caseness), so the flags are set for unpaired courses.
  Recovery and reliable change still need paired PHQ-9 and paired anxiety scores; every cut-off
  is ``model.thresholds`` (configurable);
* UsePathway_Flag, when NHS Digital's extract carries it, is kept as ``UsePathway``: referrals it
  marks false are left out of the measures (``kpis``), as every NHS Digital measure requires
  UsePathway_Flag = 'True' ([MM20]). A blank is no statement and keeps the referral.

Everything is vectorised over the whole extract: contacts are sorted once and every per-referral
"first", "second" and "last" is taken from that one order.

Besides the referral table, ``Pathways`` keeps the contacts (with their referral's position and
derived flags) and the long score table, sorted, so the gaming rules reuse them without re-joining.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.errors import InputError
from iapt_audit.io.extract import Extract
from iapt_audit.model import codes
from iapt_audit.model.tables import NHS_DIGITAL_DERIVED
from iapt_audit.model.thresholds import SCALES, Scale

REFERRAL_KEY = ["OrgIDProv", "ServiceRequestId"]
CONTACT_KEY = ["OrgIDProv", "CareContactId"]
ACTIVITY_KEY = ["OrgIDProv", "CareActId"]
IET_TABLE = "IDS205InternetTherLog"
KEY_SEPARATOR = "\x1f"  # a control character no identifier read from CSV, Parquet or Excel carries
TOOL_NAMES = sorted(set(codes.TOOLS.values()))
# therapy step of each SNOMED code: low intensity, high intensity or employment support
STEP_NAMES = ("LI", "HI", "ES")
THERAPY_STEPS = {**dict.fromkeys(codes.LOW_INTENSITY, "LI"), **dict.fromkeys(codes.HIGH_INTENSITY, "HI"),
                 **dict.fromkeys(codes.EMPLOYMENT_SUPPORT, "ES")}
NO_TIME = -1  # seconds after midnight of a missing CareContTime / AssToolCompTime: sorts first
CODE_FORM_COLUMNS = ["table", "column", "form", "code", "rows"]


@dataclass(frozen=True)
class PathwaySettings:
    """Derivation choices the sources leave open; ``[pathway]`` in the config file sets them.

    ``iet_sets_session_dates``: whether an internet-enabled therapy log (dated by its
    EndDateIntEnabledTherLog) can be a referral's first, second or last treatment session
    (TherapySession_FirstDate, _SecondDate, _LastDate). It always counts as a session. Default
    True; the module docstring gives the reasoning and sources.
    """

    iet_sets_session_dates: bool = True

    @classmethod
    def from_config(cls, config: dict | None) -> "PathwaySettings":
        """The ``[pathway]`` table of the config file; an unknown key or a non-boolean is an error."""
        given = (config or {}).get("pathway", {})
        known = {f.name for f in fields(cls)}
        for key, value in given.items():
            if key not in known:
                raise InputError(f"unknown key {key!r} in [pathway]", fix=f"use {', '.join(sorted(known))}")
            if not isinstance(value, bool):
                raise InputError(f"[pathway] {key} must be true or false", fix=f"write {key} = true")
        return cls(**given)


@dataclass
class Pathways:
    """The derived pathway table and the contact and score tables it was derived from."""

    referrals: pd.DataFrame   # one row per referral, sorted by (OrgIDProv, ServiceRequestId); index = ``ref``
    contacts: pd.DataFrame    # contacts matched to a referral, sorted by (ref, CareContDate, time, CareContactId);
    #                           time = CareContTime in seconds (-1 missing), UsePathway = its referral's
    scores: pd.DataFrame      # ref, tool, date, PersScore, source — in-window scores sorted by (ref, tool, date, time, id)
    activities: pd.DataFrame  # ref, CareContactId, CareContDate, step (LI/HI/ES) for therapy activities
    # values read as a Data Dictionary code from another form: table, column, form, code, rows
    code_forms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CODE_FORM_COLUMNS))
    iet_logs: int = 0         # IDS205 logs counted as treatment sessions
    # NHS Digital's own derived fields where the extract carries them (same index as ``referrals``)
    nhs_digital: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: PathwaySettings = field(default_factory=PathwaySettings)
    # per-referral facts the rules computed on these referrals (``rules_engine.facts.remembered``)
    facts: dict = field(default_factory=dict, repr=False, compare=False)

    def derivation_json(self) -> dict:
        """What findings.json says about how the pathways were derived (counts only, no records)."""
        r = self.referrals
        left_out = ~r["UsePathway"]
        by_provider = left_out.groupby(r["OrgIDProv"], observed=True).sum()
        return {
            "code_forms": [{"table": row.table, "column": row.column, "form": row.form, "code": row.code,
                            "rows": int(row.rows)} for row in self.code_forms.itertuples(index=False)],
            "code_form_values": int(self.code_forms["rows"].sum()),
            "iet_logs_counted": int(self.iet_logs),
            "iet_sets_session_dates": self.settings.iet_sets_session_dates,
            "use_pathway_false": int(left_out.sum()),
            "use_pathway_false_by_provider": {str(org): int(n) for org, n in sorted(by_provider.items()) if n},
        }


def derive_pathways(extract: Extract, scales: dict[str, Scale] | None = None,
                    settings: PathwaySettings | None = None) -> Pathways:
    """Build the pathway table for every referral of the extract (see the module docstring)."""
    scales = scales or SCALES
    settings = settings or PathwaySettings()
    forms = _CodeForms()
    referral_table = extract["IDS101Referral"]
    referrals, kept = _referral_frame(referral_table, forms)
    contacts = _contacts(extract["IDS201CareContact"], referrals, forms)
    activity_table = extract["IDS202CareActivity"]
    # each care activity's contact (first record of a duplicated key), shared by therapy steps and scores
    contact_of_activity = key_positions(activity_table, contacts, CONTACT_KEY)
    step = lookup(forms.read(activity_table, "IDS202CareActivity", "CodeProcAndProcStatus"), THERAPY_STEPS,
                  list(STEP_NAMES))
    _exclude_employment_support(contacts, step, contact_of_activity)
    activities = _therapy_activities(activity_table, step, contact_of_activity, contacts)
    iet = iet_sessions(extract.tables.get(IET_TABLE), referrals)
    _add_contact_fields(referrals, contacts, iet, settings)
    _add_therapy_steps(referrals, activities, iet)
    scores = _scores(extract, contact_of_activity, referrals, contacts, forms)
    _add_descriptor(referrals, extract["IDS603PresentingComplaints"])
    _add_outcomes(referrals, scores, scales)
    present = [c for c in NHS_DIGITAL_DERIVED if c in referral_table]
    nhs = referral_table[present].iloc[kept].reset_index(drop=True) if present else pd.DataFrame(index=referrals.index)
    nhs.index = referrals.index
    return Pathways(referrals=referrals, contacts=contacts, scores=scores, activities=activities,
                    code_forms=forms.frame(), iet_logs=len(iet), nhs_digital=nhs, settings=settings)


class _CodeForms:
    """Reads code columns as their Data Dictionary codes and remembers which other forms it read."""

    def __init__(self):
        self.found: list[pd.DataFrame] = []

    def read(self, table: pd.DataFrame, name: str, column: str) -> pd.Series:
        """``table[column]`` with every form of a standard code replaced by the code (a missing
        column reads as all missing). Only values outside the code list are looked at, and only
        their distinct values are worked out in Python: a clean column is returned as it is."""
        if column not in table:
            return pd.Series(pd.NA, index=table.index, dtype="string[pyarrow]")
        values = table[column]
        standard = codes.DERIVATION_CODES[(name, column)]
        text = _text(values)
        outside = pc.and_(pc.invert(pc.is_in(text, value_set=pa.array(sorted(standard), pa.large_string()))),
                          pc.is_valid(text))
        if not pc.any(outside).as_py():
            return values
        rows = np.flatnonzero(outside.to_numpy())
        odd = text.take(pa.array(rows))
        mapping = {raw: codes.canonical_code(raw, standard) for raw in pc.unique(odd).to_pylist()}
        mapping = {raw: code for raw, code in mapping.items() if code is not None}
        if not mapping:
            return values
        forms = list(mapping)
        position = _index_in(odd, pa.array(forms, pa.large_string()))
        read = position >= 0
        out = values.astype("string[pyarrow]", copy=True)
        out.iloc[rows[read]] = np.array([mapping[f] for f in forms], dtype=object)[position[read]]
        counts = np.bincount(position[read], minlength=len(forms))
        self.found.append(pd.DataFrame({"table": name, "column": column, "form": forms,
                                        "code": [mapping[f] for f in forms], "rows": counts}))
        return out

    def frame(self) -> pd.DataFrame:
        if not self.found:
            return pd.DataFrame(columns=CODE_FORM_COLUMNS)
        return pd.concat(self.found, ignore_index=True).sort_values(["table", "column", "form"], ignore_index=True)


def nhs_flag(values: pd.Series) -> pd.Series:
    """NHS Digital's 'True'/'False' flags (any case; also 1/0, Y/N) as a nullable boolean; other
    values and blanks are missing. Worked out on the distinct values only."""
    position, distinct = pd.factorize(values.astype("string[pyarrow]"))
    meaning = pd.array([codes.FLAG_FORMS.get(str(value).strip().upper()) for value in distinct] + [None],
                       dtype="boolean")
    return pd.Series(meaning[position], index=values.index)  # -1 (missing) takes the appended None


def _referral_frame(table: pd.DataFrame, forms: _CodeForms) -> tuple[pd.DataFrame, np.ndarray]:
    """Referral rows in (OrgIDProv, ServiceRequestId) order, with a dense position, and the table
    rows they came from. A duplicated key keeps one record, chosen by its dates and end code rather
    than by row order (a data-quality finding either way)."""
    keep = ["OrgIDProv", "ServiceRequestId", "LocalPatientId", "ReferralRequestReceivedDate", "ServDischDate",
            "EndCode", "SourceOfReferralIAPT"]
    frame = table[[c for c in keep if c in table]]
    for column in keep:
        if column not in frame:
            dtype = "datetime64[ns]" if column.endswith("Date") else "string[pyarrow]"
            frame = frame.assign(**{column: pd.Series(None, index=frame.index, dtype=dtype)})
    frame = frame.assign(EndCode=forms.read(table, "IDS101Referral", "EndCode")) if "EndCode" in table else frame
    frame = frame.reset_index(drop=True)
    order = sorted_by(frame, [*REFERRAL_KEY, "ReferralRequestReceivedDate", "ServDischDate", "EndCode"]).index
    frame = frame.iloc[order.to_numpy()]
    first = ~frame.duplicated(REFERRAL_KEY).to_numpy()
    kept = order.to_numpy()[first]
    frame = frame.iloc[np.flatnonzero(first)].reset_index(drop=True)
    flag = nhs_flag(table["UsePathway_Flag"].iloc[kept]) if "UsePathway_Flag" in table else None
    frame["UsePathway"] = True if flag is None else flag.fillna(True).to_numpy(dtype=bool)
    frame.index.name = "ref"
    return frame, kept


def _ref_positions(frame: pd.DataFrame, referrals: pd.DataFrame) -> np.ndarray:
    """Position of each row's referral (by OrgIDProv + ServiceRequestId), -1 where none matches."""
    return key_positions(frame, referrals, REFERRAL_KEY)


def seconds_of_day(values: pd.Series | None, length: int) -> np.ndarray:
    """Times of day ("10:00:00", "10:00", "1900-01-01 10:00:00") as seconds after midnight,
    ``NO_TIME`` where missing or unreadable; for ordering only. Parsed once per distinct value."""
    if values is None:
        return np.full(length, NO_TIME, np.int32)
    text = values.astype("string[pyarrow]")
    distinct = pd.Series(text.dropna().unique(), dtype="string[pyarrow]")
    clock = distinct.str.split(r"[ T]").str[-1].str.replace(r"^(\d{1,2}:\d{2})$", r"\1:00", regex=True)
    delta = pd.to_timedelta(clock.astype(object), errors="coerce")
    secs = (delta.dt.total_seconds().fillna(NO_TIME) % 86400).where(delta.notna(), NO_TIME).astype(np.int32)
    position = _index_in(_text(text), pa.array(distinct.astype(object).tolist(), pa.large_string()))
    return np.append(secs.to_numpy(), np.int32(NO_TIME))[position]


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


def _contacts(table: pd.DataFrame, referrals: pd.DataFrame, forms: _CodeForms) -> pd.DataFrame:
    """Contacts matched to a referral, sorted by (ref, CareContDate, CareContTime, CareContactId),
    codes read as their Data Dictionary codes, with attended / in-window / treatment flags."""
    cols = ["OrgIDProv", "ServiceRequestId", "CareContactId", "CareContDate", "CareContTime", "AttendOrDNACode",
            "AppType", "PlannedCareContIndicator", "CareContPatientTherMode", "NumGroupTherParticipants"]
    contacts = table[[c for c in cols if c in table]]  # copy-on-write: nothing is copied yet
    for column in cols:
        if column not in contacts:
            contacts = contacts.assign(**{column: pd.NA})
    for column in ("AttendOrDNACode", "AppType", "PlannedCareContIndicator", "CareContPatientTherMode"):
        if column in table:
            contacts = contacts.assign(**{column: forms.read(table, "IDS201CareContact", column)})
    ref = _ref_positions(contacts, referrals)
    matched = np.flatnonzero(ref >= 0)
    time = seconds_of_day(table["CareContTime"] if "CareContTime" in table else None, len(table))
    keys = pd.DataFrame({"ref": ref[matched], "CareContDate": contacts["CareContDate"].to_numpy()[matched],
                         "time": time[matched], "CareContactId": contacts["CareContactId"].array.take(matched)})
    order = matched[sorted_by(keys, ["ref", "CareContDate", "time", "CareContactId"]).index.to_numpy()]
    del keys, matched
    contacts = contacts.iloc[order].reset_index(drop=True)  # the one copy: matched rows, sorted
    ref = ref[order]
    contacts["ref"] = ref
    contacts["time"] = time[order]
    contacts["UsePathway"] = referrals["UsePathway"].to_numpy()[ref]
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
    return contacts


def _exclude_employment_support(contacts: pd.DataFrame, step: np.ndarray, contact_of_activity: np.ndarray) -> None:
    """A contact whose coded therapy activities are all employment support is no treatment
    contact; then number each referral's treatment contacts in contact order."""
    linked = contact_of_activity >= 0
    n = len(contacts)
    employment = np.bincount(contact_of_activity[linked & (step == STEP_NAMES.index("ES"))], minlength=n)
    therapy = np.bincount(contact_of_activity[linked & (step >= 0) & (step != STEP_NAMES.index("ES"))], minlength=n)
    treatment = contacts["treatment"].to_numpy() & ~((employment > 0) & (therapy == 0))
    contacts["treatment"] = treatment
    contacts["treatment_number"] = np.where(
        treatment, _running_count(contacts["ref"].to_numpy(), treatment), 0).astype("int32")


def iet_sessions(table: pd.DataFrame | None, referrals: pd.DataFrame) -> pd.DataFrame:
    """IDS205 logs that are treatment sessions: ref, date (EndDateIntEnabledTherLog) and the log's
    row in ``table`` (for the clinician view's CarePersLocalId), sorted by ref and date.

    Counted: DurationIntEnabledTher > 0 ([TT] IET Step 1; a blank duration is not > 0), end date
    inside the referral's window (the window treatment contacts have)."""
    if table is None or len(table) == 0:
        return pd.DataFrame({"ref": np.zeros(0, np.int64), "date": np.zeros(0, "datetime64[ns]"),
                             "row": np.zeros(0, np.int64)})
    ref = _ref_positions(table, referrals)
    date = table["EndDateIntEnabledTherLog"].to_numpy().astype("datetime64[ns]")
    duration = (table["DurationIntEnabledTher"].to_numpy(dtype="float64", na_value=np.nan)
                if "DurationIntEnabledTher" in table else np.full(len(table), np.nan))
    owner = np.maximum(ref, 0)
    received = referrals["ReferralRequestReceivedDate"].to_numpy()[owner]
    discharged = referrals["ServDischDate"].to_numpy()[owner]
    keep = ((ref >= 0) & ~np.isnat(date) & (duration > 0) & (date >= received)
            & (np.isnat(discharged) | (date <= discharged)))
    rows = np.flatnonzero(keep)
    ref, date = ref[keep], date[keep]
    order = np.lexsort((date, ref))
    return pd.DataFrame({"ref": ref[order], "date": date[order], "row": rows[order]})


def _add_contact_fields(referrals: pd.DataFrame, contacts: pd.DataFrame, iet: pd.DataFrame,
                        settings: PathwaySettings) -> None:
    n = len(referrals)
    ref, date = contacts["ref"].to_numpy(), contacts["CareContDate"].to_numpy()
    seen, assessment = contacts["seen"].to_numpy(), contacts["assessment"].to_numpy()
    treatment = contacts["treatment"].to_numpy()
    logs = np.bincount(iet["ref"].to_numpy(), minlength=n).astype("int32")
    referrals["CareContact_Count"] = np.bincount(ref[seen], minlength=n).astype("int32")
    referrals["InternetEnabledTherapy_Count"] = logs
    referrals["TreatmentCareContact_Count"] = np.bincount(ref[treatment], minlength=n).astype("int32") + logs
    referrals["Assessment_FirstDate"] = _first_by_ref(ref[assessment], date[assessment], n)
    session_ref, session_date = ref[treatment], date[treatment]
    if settings.iet_sets_session_dates and len(iet):
        session_ref = np.concatenate([session_ref, iet["ref"].to_numpy()])
        session_date = np.concatenate([session_date, iet["date"].to_numpy()])
        order = np.lexsort((session_date, session_ref))  # only dates are taken: same-day order is moot
        session_ref, session_date = session_ref[order], session_date[order]
    number = _running_count(session_ref, np.ones(len(session_ref), bool))
    referrals["TherapySession_FirstDate"] = _dates_by_ref(session_ref[number == 1], session_date[number == 1], n)
    referrals["TherapySession_SecondDate"] = _dates_by_ref(session_ref[number == 2], session_date[number == 2], n)
    referrals["TherapySession_LastDate"] = _last_by_ref(session_ref, session_date, n)
    referrals["CompletedTreatment_Flag"] = referrals["TreatmentCareContact_Count"] >= 2
    referrals["Wait_ReferralToFirstTreatment"] = _days(
        referrals["TherapySession_FirstDate"] - referrals["ReferralRequestReceivedDate"])
    referrals["Wait_FirstToSecondTreatment"] = _days(
        referrals["TherapySession_SecondDate"] - referrals["TherapySession_FirstDate"])


def _therapy_activities(table: pd.DataFrame, step: np.ndarray, contact_of_activity: np.ndarray,
                        contacts: pd.DataFrame) -> pd.DataFrame:
    """Care activities on treatment contacts, with their therapy step from the SNOMED code, in
    contact order (referral, date, time, contact ID)."""
    treatment = contacts["treatment"].to_numpy()
    keep = (step >= 0) & (contact_of_activity >= 0)
    keep[keep] = treatment[contact_of_activity[keep]]
    rows = np.flatnonzero(keep)
    # contacts are sorted by (referral, date, time, contact ID), so their positions give that order
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


def _add_therapy_steps(referrals: pd.DataFrame, activities: pd.DataFrame, iet: pd.DataFrame) -> None:
    """LI/HI first and last dates; every IET log is a high-intensity session ([MM21] M348)."""
    n = len(referrals)
    ref, date, step = activities["ref"].to_numpy(), activities["CareContDate"].to_numpy(), activities["step"]
    low, high = (step == "LI").to_numpy(), (step == "HI").to_numpy()
    referrals["LowIntensityTherapy_FirstDate"] = _first_by_ref(ref[low], date[low], n)
    referrals["LowIntensityTherapy_LastDate"] = _last_by_ref(ref[low], date[low], n)
    high_first = _first_by_ref(ref[high], date[high], n)
    iet_first = _first_by_ref(iet["ref"].to_numpy(), iet["date"].to_numpy(), n)
    referrals["HighIntensityTherapy_FirstDate"] = np.where(np.isnat(high_first) | (iet_first < high_first),
                                                           iet_first, high_first)


def _scores(extract: Extract, contact_of_activity: np.ndarray, referrals: pd.DataFrame,
            contacts: pd.DataFrame, forms: _CodeForms) -> pd.DataFrame:
    """All scores of known questionnaires in their referral's window, sorted by (ref, tool, date,
    time, contact, CareActId, score): at the same time referral-level scores (606) come first,
    activity scores (607) follow their contacts' order (CareContactId) and then CareActId.

    Built as plain arrays, filtered once and sorted on one integer key (referral, questionnaire,
    date); only rows that tie on it — the same questionnaire twice on one day — are ordered again
    on time and identifier, read for those rows alone. At England's volume (33 million scores)
    each intermediate frame of the straightforward concat-filter-sort was another gigabyte at the
    stage's memory peak."""
    scored, at_referral = extract["IDS607CodedScoreAssessmentAct"], extract["IDS606CodedScoreAssessmentRefer"]
    # score -> its care activity (first record of a duplicated key) -> that activity's contact
    through = _through(key_positions(scored, extract["IDS202CareActivity"], ACTIVITY_KEY), contact_of_activity)
    linked = through >= 0
    # each score's row: 607 rows as their position, 606 rows as -1 - position
    origin = np.concatenate([np.flatnonzero(linked), -1 - np.arange(len(at_referral))]).astype(np.int32)
    rows = through[linked]
    ref = np.concatenate([contacts["ref"].to_numpy()[rows], _ref_positions(at_referral, referrals)])
    date = np.concatenate([contacts["CareContDate"].to_numpy()[rows],
                           at_referral["AssToolCompDate"].to_numpy().astype("datetime64[ns]")])
    tool_of = {name: forms.read(table, name, "CodedAssToolType") for name, table in
               (("IDS607CodedScoreAssessmentAct", scored), ("IDS606CodedScoreAssessmentRefer", at_referral))}
    tool = np.concatenate([lookup(tool_of["IDS607CodedScoreAssessmentAct"], codes.TOOLS, TOOL_NAMES)[linked],
                           lookup(tool_of["IDS606CodedScoreAssessmentRefer"], codes.TOOLS, TOOL_NAMES)])
    score = np.concatenate([scored["PersScore"].to_numpy()[linked], at_referral["PersScore"].to_numpy()])
    del rows, linked, tool_of
    owner = np.maximum(ref, 0)
    received = referrals["ReferralRequestReceivedDate"].to_numpy()[owner]
    discharged = referrals["ServDischDate"].to_numpy()[owner]
    keep = ((ref >= 0) & (tool >= 0) & ~np.isnan(score) & ~np.isnat(date)
            & (date >= received) & (np.isnat(discharged) | (date <= discharged)))
    del owner, received, discharged
    ref, date, tool, score, origin = ref[keep], date[keep], tool[keep], score[keep], origin[keep]
    rank, distinct = date_ranks(date)
    # (ref, tool, date) as one number; its range (referrals x questionnaires x distinct dates)
    # stays far inside int64 for any extract that fits in memory
    key = (ref * len(TOOL_NAMES) + tool) * (len(distinct) + 1) + rank
    order = np.argsort(key, kind="stable")
    del rank
    tied = _tied(key[order])
    if tied.any():
        order[tied] = _ties_in_order(order[tied], key, origin, score, through, contacts, scored, at_referral)
    del key, tied
    columns = {"ref": ref, "date": date, "PersScore": score, "source": np.where(origin >= 0, 607, 606).astype(np.int16),
               "tool": tool}
    del ref, date, score, tool, origin
    for name in columns:  # one column at a time, so only one unsorted copy is ever alive beside it
        columns[name] = columns[name][order]
    columns["tool"] = _categories_present(columns["tool"], TOOL_NAMES)
    return pd.DataFrame(columns, copy=False)


def _tied(sorted_key: np.ndarray) -> np.ndarray:
    """True for each row of a sorted key that shares its value with a neighbour."""
    same = np.zeros(len(sorted_key), bool)
    same[1:] = sorted_key[1:] == sorted_key[:-1]
    tied = same.copy()
    tied[:-1] |= same[1:]
    return tied


def _ties_in_order(rows: np.ndarray, key: np.ndarray, origin: np.ndarray, score: np.ndarray, through: np.ndarray,
                   contacts: pd.DataFrame, scored: pd.DataFrame, at_referral: pd.DataFrame) -> np.ndarray:
    """``rows`` (score rows, runs of equal key: one questionnaire twice on one day) ordered by
    key, then time (CareContTime of a 607 score's contact, AssToolCompTime of a 606 score), then
    the contact's place in contact order (-1 for a referral-level score), then CareActId, then the
    score: never by row order."""
    row = origin[rows].astype(np.int64)
    at_activity = row >= 0
    contact = np.where(at_activity, through[np.where(at_activity, row, 0)] if len(through) else -1, -1)
    referral_row = np.where(at_activity, 0, -1 - row)
    referral_time = seconds_of_day(at_referral["AssToolCompTime"].iloc[referral_row]
                                   if "AssToolCompTime" in at_referral and len(at_referral) else None, len(rows))
    time = np.where(at_activity, contacts["time"].to_numpy()[np.maximum(contact, 0)] if len(contacts) else NO_TIME,
                    referral_time)
    identifier = pa.nulls(len(rows), pa.large_string())
    if at_activity.any():
        ids = _text(scored["CareActId"]).take(pa.array(np.where(at_activity, row, 0)))
        identifier = pc.if_else(pa.array(at_activity), ids.combine_chunks(), identifier)
    ties = pa.table({"key": key[rows], "time": time, "contact": contact, "identifier": identifier,
                     "score": score[rows]})
    return rows[pc.sort_indices(ties, sort_keys=[(c, "ascending") for c in ties.column_names]).to_numpy()]


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
    """Pick one problem descriptor per referral ([MM20] M203) and the ADSM it calls for.

    M203's order: a valid (validated) code, then primary before secondary, then the latest
    PresCompDate, then the highest UniqueID_IDS603 — which a submission does not carry, so the
    highest code stands in for it: the choice never depends on row order."""
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
    frame = frame.sort_values(["ref", "valid", "primary", "dated", "code", "PresComp"], na_position="first",
                              kind="stable")
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
    # scores are sorted by (ref, tool, date, time, …): each (referral, questionnaire) is one run of rows
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
    adsm_tool = np.where(use_own, referrals["DescriptorADSM"].to_numpy(dtype=object),
                         np.where(use_gad, "GAD7", None)).astype(object)
    referrals["PHQ9_FirstScore"], referrals["PHQ9_LastScore"], referrals["PHQ9_Count"] = \
        phq["first"], phq["last"], phq["count"]
    referrals["GAD7_FirstScore"], referrals["GAD7_LastScore"], referrals["GAD7_Count"] = \
        gad["first"], gad["last"], gad["count"]
    referrals["ADSM"] = adsm_tool
    referrals["ADSM_FirstScore"] = np.where(use_own, own["first"], np.where(use_gad, gad["first"], np.nan))
    referrals["ADSM_LastScore"] = np.where(use_own, own["last"], np.where(use_gad, gad["last"], np.nan))
    # the first anxiety score for caseness: the paired ADSM's, else the descriptor's own ADSM's,
    # else GAD-7's — so an unpaired course has caseness too. Tools as codes into ``tools``.
    own_code = np.where(own_code >= 0, own_code, -1)
    gad_code = tool_code("GAD7") if "GAD7" in tools else -1
    adsm_code = np.where(use_own, own_code, np.where(use_gad, gad_code, -1))
    unpaired_own = (adsm_code < 0) & (own["count"] >= 1)
    unpaired_gad = (adsm_code < 0) & ~unpaired_own & (gad["count"] >= 1)
    anxiety_code = np.where(unpaired_own, own_code, np.where(unpaired_gad, gad_code, adsm_code))
    anxiety_first = np.where(unpaired_own, own["first"], np.where(unpaired_gad, gad["first"],
                                                                  referrals["ADSM_FirstScore"].to_numpy()))
    _add_flags(referrals, anxiety_first, anxiety_code, adsm_code, tools, scales)


def _add_flags(referrals: pd.DataFrame, anxiety_first: np.ndarray, anxiety_code: np.ndarray, adsm_code: np.ndarray,
               tools: list[str], scales: dict[str, Scale]) -> None:
    """Caseness from the first scores; recovery and reliable change from the paired ones.
    ``anxiety_code`` / ``adsm_code``: each referral's caseness / paired anxiety measure as a
    position in ``tools`` (-1: none)."""
    phq = scales["PHQ9"]
    first_p, last_p = referrals["PHQ9_FirstScore"].to_numpy(), referrals["PHQ9_LastScore"].to_numpy()
    first_a, last_a = referrals["ADSM_FirstScore"].to_numpy(), referrals["ADSM_LastScore"].to_numpy()
    paired = ~np.isnan(last_p) & ~np.isnan(last_a)
    start_a, judged_a, end_a, up_a, down_a = (np.zeros(len(referrals), bool) for _ in range(5))
    for code in np.unique(anxiety_code[anxiety_code >= 0]):
        scale = scales[tools[code]]
        if scale.caseness is not None:  # a measure without a cut-off (BIQ) cannot say "not at caseness"
            judged_a |= (anxiety_code == code) & ~np.isnan(anxiety_first)
            start_a |= (anxiety_code == code) & scale.at_caseness(anxiety_first)
    for code in np.unique(adsm_code[adsm_code >= 0]):
        scale, rows = scales[tools[code]], adsm_code == code
        if scale.caseness is not None:
            end_a |= rows & scale.at_caseness(last_a)
        if scale.reliable_change is not None:
            down_a |= rows & scale.reliable(first_a - last_a)
            up_a |= rows & scale.reliable(last_a - first_a)
    down_p, up_p = phq.reliable(first_p - last_p), phq.reliable(last_p - first_p)
    caseness = phq.at_caseness(first_p) | start_a
    improvement = paired & (down_p | down_a) & ~up_p & ~up_a
    deterioration = paired & (up_p | up_a) & ~down_p & ~down_a
    recovery = paired & caseness & ~phq.at_caseness(last_p) & ~end_a
    referrals["Paired_Flag"] = paired
    referrals["Caseness_Flag"] = caseness
    referrals["NotCaseness_Flag"] = ~np.isnan(first_p) & judged_a & ~caseness
    referrals["Recovery_Flag"] = recovery
    referrals["ReliableImprovement_Flag"] = improvement
    referrals["ReliableDeterioration_Flag"] = deterioration
    referrals["NoChange_Flag"] = paired & ~improvement & ~deterioration
    referrals["ReliableRecovery_Flag"] = recovery & improvement


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
