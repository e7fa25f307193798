"""Lay a snapshot's records out as monthly submissions, as IAPT v2.x data really arrives.

Rules (issue 13; NHS Digital's DQ guidance: "open referrals must be submitted every reporting
period until the referral closes" [DQM]):

- IDS101: a referral in every month it is open (received on or before the month's end and not
  discharged before its start); ServDischDate and EndCode only from the month of discharge.
- IDS001: a patient in every month one of its referrals is submitted.
- Contacts (IDS201) in their month; activities (IDS202) and activity scores (IDS607) in their
  contact's month; referral scores (IDS606) in AssToolCompDate's month; presenting complaints
  (IDS603) in PresCompDate's month, else the referral's first month; IDS004 in
  EmployStatusRecDate's month. Records dated outside the span go to its first or last month;
  undated records whose parent is not in the extract go to the last month.
- A month that was also submitted as a Primary (``SubmissionPlan.primary``) has a copy of its
  records there, except the contacts of the month's last ``LATE_DAYS`` days (entered after the
  Primary was made) and their activities and scores: the Refresh supersedes it.

Everything is whole-array work (``np.repeat`` of referral rows by months open, hash look-ups of
parent keys in Arrow), so a national year costs seconds, not a loop per record. The rows of every
table come out shuffled: nothing downstream may depend on their order.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.synth.submission_plan import SubmissionPlan, month_label, month_start_day

LATE_DAYS = 7                        # contacts in a month's last week miss its Primary
RECEIVED_DATE_SHIFT = 7              # days the received date is wrong by in earlier months (defect)
ERROR_CONTACT_ID = "CC9999999999"    # the contact a Primary carries and its Refresh drops (defect)
KEY_SEPARATOR = "\x1f"


@dataclass
class _Expansion:
    """IDS101 laid out by month: one element per (referral, month open)."""

    rows: np.ndarray        # the referral's row in the snapshot
    month: np.ndarray       # month index
    blank: np.ndarray       # ServDischDate and EndCode blank: a month before the discharge's
    keep: np.ndarray        # False: left out (a planted broken continuity)
    wrong: np.ndarray       # the received date is the planted wrong one
    first: np.ndarray       # per snapshot referral: its first month
    shifted: pa.Scalar | None = None


class MonthlyRecords:
    """Lays out the records of one snapshot (or one chunk of one) at a time for ``plan``; the
    history defects the plan still targets are planted in the first records that allow them, and
    written into ``plan.defects``."""

    def __init__(self, plan: SubmissionPlan):
        self.plan = plan
        self.codes = pa.array(plan.providers, pa.string())

    def lay_out(self, tables: dict[str, pa.Table], rng: np.random.Generator) -> dict[str, tuple[pa.Table, np.ndarray]]:
        """Each record table of ``tables`` (canonical names, OrgIDProv on every row) as its
        monthly records: (rows, submission index of each row), rows shuffled. Tables absent from
        ``tables`` are absent from the result; the header is the plan's."""
        ref = tables["IDS101Referral"]
        ref_prov = self._provider(ref)
        exp = self._expand(ref, ref_prov, rng)
        kept = np.flatnonzero(exp.keep)
        at, subs = self._place(ref_prov[exp.rows[kept]], exp.month[kept], None)
        placed = kept[at]
        out = {"IDS101Referral": self._referral_records(ref, exp, placed, subs, rng)}
        if "IDS001MPI" in tables:
            out["IDS001MPI"] = self._patients(tables["IDS001MPI"], ref, exp, placed, rng)
        months = {}
        if "IDS004EmpStatus" in tables:
            months["IDS004EmpStatus"] = (self._dated(tables["IDS004EmpStatus"], "EmployStatusRecDate"), None)
        if "IDS201CareContact" in tables:
            contacts = tables["IDS201CareContact"]
            month = self._dated(contacts, "CareContDate")
            days, _ = date_days(contacts, "CareContDate")
            late = days > month_start_day(self.plan.first_month + month + 1) - 1 - LATE_DAYS
            months["IDS201CareContact"] = (month, late)
            activities = tables.get("IDS202CareActivity")
            if activities is not None:
                months["IDS202CareActivity"] = _inherit(activities, "CareContactId", contacts, "CareContactId",
                                                        months["IDS201CareContact"], self.plan.months)
                if "IDS607CodedScoreAssessmentAct" in tables:
                    months["IDS607CodedScoreAssessmentAct"] = _inherit(
                        tables["IDS607CodedScoreAssessmentAct"], "CareActId", activities, "CareActId",
                        months["IDS202CareActivity"], self.plan.months)
        ref_key = None
        for name, column in (("IDS606CodedScoreAssessmentRefer", "AssToolCompDate"),
                             ("IDS603PresentingComplaints", "PresCompDate")):
            if name in tables:
                ref_key = _key(ref, "ServiceRequestId") if ref_key is None else ref_key
                parent = _positions(_key(tables[name], "ServiceRequestId"), ref_key)
                fallback = np.where(parent >= 0, exp.first[parent], self.plan.months - 1)
                months[name] = (self._dated(tables[name], column, fallback), None)
        for name, (month, late) in months.items():
            table = tables[name]
            at, subs = _shuffled(*self._place(self._provider(table), month, late), rng)
            out[name] = (table.take(pa.array(at)), subs)
        if "IDS201CareContact" in out:
            self._plant_refresh_drop(tables["IDS201CareContact"], months["IDS201CareContact"][0], out, rng)
        return out

    # ------------------------------------------------------------------ referrals and patients
    def _expand(self, ref: pa.Table, prov_of_ref: np.ndarray, rng) -> _Expansion:
        """Every referral once per month open, with the defects that concern referrals."""
        plan = self.plan
        received, has_received = date_days(ref, "ReferralRequestReceivedDate")
        discharged, has_discharge = date_days(ref, "ServDischDate")
        first = np.where(has_received, plan.month_of(received), 0)
        last = np.where(has_discharge, np.maximum(first, plan.month_of(discharged)), plan.months - 1)
        open_months = last - first + 1
        rows = np.repeat(np.arange(ref.num_rows), open_months)
        month = first[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(open_months) - open_months, open_months)
        exp = _Expansion(rows=rows, month=month, blank=has_discharge[rows] & (month < last[rows]),
                         keep=np.ones(len(rows), bool), wrong=np.zeros(len(rows), bool), first=first)
        prov = prov_of_ref[rows]
        if "missing_month" in plan.defects:
            plan.defects["missing_month"]["open_referrals"] += int((plan.final[prov, month] < 0).sum())
        self._plant_broken_continuity(ref, exp, last, prov, rng)
        self._plant_received_date_change(ref, exp, last, prov_of_ref, has_received, rng)
        return exp

    def _referral_records(self, ref, exp: _Expansion, placed, subs, rng) -> tuple[pa.Table, np.ndarray]:
        placed, subs = _shuffled(placed, subs, rng)
        table = ref.take(pa.array(exp.rows[placed]))
        blank = pa.array(exp.blank[placed])
        for column in ("ServDischDate", "EndCode"):
            if column in table.column_names:
                table = _replace(table, column, blank, None)
        if exp.shifted is not None:
            table = _replace(table, "ReferralRequestReceivedDate", pa.array(exp.wrong[placed]), exp.shifted)
        return table, subs

    def _patients(self, mpi: pa.Table, ref: pa.Table, exp: _Expansion, placed, rng) -> tuple[pa.Table, np.ndarray]:
        """IDS001 in every month one of the patient's referrals is submitted (the last month for a
        patient without referrals)."""
        k = self.plan.months
        patient_of_ref = _positions(_key(ref, "LocalPatientId"), _key(mpi, "LocalPatientId"))
        patient, month = patient_of_ref[exp.rows[placed]], exp.month[placed]
        submitted = np.zeros(mpi.num_rows * k, bool)       # (patient, month) pairs, as one flag each
        submitted[patient[patient >= 0] * k + month[patient >= 0]] = True
        pairs = np.flatnonzero(submitted)
        has_referral = np.zeros(mpi.num_rows, bool)
        has_referral[pairs // k] = True
        alone = np.flatnonzero(~has_referral)
        rows = np.concatenate([pairs // k, alone])
        months = np.concatenate([pairs % k, np.full(len(alone), k - 1)])
        at, subs = _shuffled(*self._place(self._provider(mpi)[rows], months, None), rng)
        return mpi.take(pa.array(rows[at])), subs

    # ------------------------------------------------------------------ placing rows in submissions
    def _dated(self, table: pa.Table, column: str, fallback: np.ndarray | None = None) -> np.ndarray:
        days, dated = date_days(table, column)
        undated = np.full(table.num_rows, self.plan.months - 1) if fallback is None else fallback
        return np.where(dated, self.plan.month_of(days), undated)

    def _provider(self, table: pa.Table) -> np.ndarray:
        column = table["OrgIDProv"]
        position = pc.index_in(column, value_set=self.codes.cast(column.type))
        if position.null_count:
            raise ValueError("a record's OrgIDProv is not one of the plan's providers")
        return position.to_numpy().astype(np.int64)

    def _place(self, prov: np.ndarray, month: np.ndarray, late: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(row, submission) pairs: each row in the submission holding its provider's month, and a
        copy in that month's superseded Primary unless ``late``; rows of a missing month are
        dropped."""
        final, primary = self.plan.final[prov, month], self.plan.primary[prov, month]
        in_final = np.flatnonzero(final >= 0)
        in_primary = np.flatnonzero((primary >= 0) & (True if late is None else ~late))
        return np.concatenate([in_final, in_primary]), np.concatenate([final[in_final], primary[in_primary]])

    # ------------------------------------------------------------------ history defects
    def _pending(self, name: str) -> int | None:
        """The provider position a defect is still to be planted in, or None."""
        target = self.plan.targets.get(name)
        return None if target is None else self.plan.providers.index(target["OrgIDProv"])

    def _planted(self, name: str, **identifiers) -> None:
        self.plan.defects[name] = {**self.plan.targets.pop(name), **identifiers}

    def _plant_broken_continuity(self, ref, exp: _Expansion, last, prov, rng) -> None:
        """Leave one open referral out of one month's submission, with submissions either side."""
        p = self._pending("broken_continuity")
        if p is None:
            return
        month, rows = exp.month, exp.rows
        submitted = self.plan.final[p] >= 0
        inner = (month > exp.first[rows]) & (month < last[rows])
        candidates = np.flatnonzero((prov == p) & inner & submitted[np.maximum(month - 1, 0)] & submitted[month]
                                    & submitted[np.minimum(month + 1, self.plan.months - 1)])
        if not len(candidates):
            return
        chosen = int(rng.choice(candidates))
        exp.keep[chosen] = False
        self._planted("broken_continuity", ServiceRequestId=ref["ServiceRequestId"][int(rows[chosen])].as_py(),
                      absent_from=month_label(self.plan.first_month + int(month[chosen])))

    def _plant_received_date_change(self, ref, exp: _Expansion, last, prov_of_ref, has_received, rng) -> None:
        """One referral's ReferralRequestReceivedDate is a week earlier in every month but its
        last (the latest record is right)."""
        p = self._pending("received_date_changes")
        if p is None:
            return
        submitted = self.plan.final[p] >= 0
        first = exp.first
        eligible = (prov_of_ref == p) & has_received & (last > first) & submitted[first] & submitted[last]
        eligible[exp.rows[~exp.keep]] = False      # not the referral left out of a month
        candidates = np.flatnonzero(eligible)
        if not len(candidates):
            return
        chosen = int(rng.choice(candidates))
        exp.wrong = (exp.rows == chosen) & (exp.month < last[exp.rows])
        column = ref["ReferralRequestReceivedDate"]
        right = pc.cast(column[chosen], pa.date32()).as_py()
        shifted = right - datetime.timedelta(days=RECEIVED_DATE_SHIFT)
        exp.shifted = pc.cast(pa.scalar(shifted, pa.date32()), column.type)
        self._planted("received_date_changes", ServiceRequestId=ref["ServiceRequestId"][chosen].as_py(),
                      ReferralRequestReceivedDate=str(right), earlier_months_show=str(shifted),
                      months_with_earlier_date=[month_label(self.plan.first_month + int(m))
                                                for m in exp.month[exp.wrong] if submitted[m]])

    def _plant_refresh_drop(self, contacts, month, out, rng) -> None:
        """The planted Primary carries one contact (entered in error) that its Refresh has not."""
        p = self._pending("refresh_drops_record")
        if p is None:
            return
        m = int(np.datetime64(self.plan.targets["refresh_drops_record"]["month"], "M").astype(np.int64)
                - self.plan.first_month)
        candidates = np.flatnonzero((self._provider(contacts) == p) & (month == m))
        if not len(candidates):
            return
        ghost = contacts.take(pa.array([int(rng.choice(candidates))]))
        at = ghost.column_names.index("CareContactId")
        ghost = ghost.set_column(at, "CareContactId", pa.array([ERROR_CONTACT_ID], ghost["CareContactId"].type))
        self._planted("refresh_drops_record", table="IDS201CareContact", CareContactId=ERROR_CONTACT_ID)
        table, subs = out["IDS201CareContact"]
        out["IDS201CareContact"] = (pa.concat_tables([table, ghost]), np.append(subs, self.plan.primary[p, m]))


def _inherit(child: pa.Table, child_column: str, parent: pa.Table, parent_column: str,
             parent_placing: tuple[np.ndarray, np.ndarray], months: int) -> tuple[np.ndarray, np.ndarray]:
    """A child record's month and lateness are its parent's; an orphan goes in the last month."""
    at = _positions(_key(child, child_column), _key(parent, parent_column))
    month, late = parent_placing
    found = at >= 0
    return np.where(found, month[at], months - 1), np.where(found, late[at], False)


def _key(table: pa.Table, column: str) -> pa.Array:
    """Provider and identifier joined into one string: identifiers are unique per provider."""
    return pc.binary_join_element_wise(table["OrgIDProv"], table[column], KEY_SEPARATOR).combine_chunks()


def _positions(values: pa.Array, lookup: pa.Array) -> np.ndarray:
    """Position of each value in ``lookup`` (its first occurrence), -1 where absent."""
    return pc.fill_null(pc.index_in(values, value_set=lookup.cast(values.type)), -1).to_numpy().astype(np.int64)


def date_days(table: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of a date column (Arrow dates, ISO text or timestamps), and which
    rows have one; a missing column has none."""
    if column not in table.column_names:
        return np.zeros(table.num_rows, np.int64), np.zeros(table.num_rows, bool)
    dates = table[column].combine_chunks()
    if not pa.types.is_date32(dates.type):
        dates = pc.cast(dates, pa.date32())
    valid = dates.is_valid().to_numpy(zero_copy_only=False)
    return pc.fill_null(dates.cast(pa.int32()), 0).to_numpy().astype(np.int64), valid


def _replace(table: pa.Table, column: str, where: pa.Array, value) -> pa.Table:
    """``column`` with ``value`` (a scalar of the column's type, or None for blank) where ``where``."""
    at = table.column_names.index(column)
    current = table[column].combine_chunks()
    new = pa.scalar(value, current.type) if not isinstance(value, pa.Scalar) else value
    return table.set_column(at, column, pc.if_else(where, new, current))


def _shuffled(rows: np.ndarray, subs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same (row, submission) pairs in random order."""
    order = rng.permutation(len(rows))
    return rows[order], subs[order]
