"""Data quality of the submission history: checks that only a run of monthly submissions can fail.

NHS Digital's DQ report follows pathway continuity and submission completeness across months
([DQM] "open referrals must be submitted every reporting period until the referral closes"; a
month's Refresh replaces its Primary). These checks read every record of the *selected*
submissions (before each record's latest copy is taken) and the submissions set aside, so they run
between selection and the release of the records as read:

* DQ201 a provider's run of submitted months has a month missing;
* DQ202 an open referral is in one month's submission and absent from the next month's, which
  was submitted, without a discharge;
* DQ203 a referral's ReferralRequestReceivedDate or LocalPatientId changes between months;
* DQ204 a Refresh (any later submission for the month) drops a record its predecessor had;
* DQ205 a provider sent two submissions of one File_Type for one month (two Primaries).

Duplicates *within* one submission are the uniqueness checks of the suites (DQ004, …), run on
``Selection.latest``: repeats across months are how the data set works, not errors.
A snapshot (one submission per provider) has nothing to fail here: every check passes on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.dq.cross_table import Verdict
from iapt_audit.dq.findings import Check
from iapt_audit.model.tables import RECORD_ID, SUBMISSION_ID, TABLES
from iapt_audit.selection import key_codes, positions_in

HEADER, REFERRAL = "IDS000Header", "IDS101Referral"


def _check(code, title, table, column, fix, denominator, severity="warning") -> Check:
    return Check(code=code, title=title, severity=severity, table=table, column=column, fix=fix,
                 denominator=denominator, engine="submission_history")


def history_verdicts(extract, submissions: pd.DataFrame, wants=lambda code: True) -> list[tuple[Check, Verdict]]:
    """Run the selected history checks on ``extract`` (as read, every submission) given
    ``submissions`` as ``selection.ordered_submissions`` returns them. Each verdict's frame holds
    its failing records only (``totals`` carries the denominators per provider)."""
    history = _History(extract, submissions)
    return [(check, run(history)) for check, run in HISTORY_CHECKS if wants(check.code)]


class _History:
    """Each submission's month as a month number, and each table's rows placed in submissions."""

    def __init__(self, extract, submissions: pd.DataFrame):
        self.extract, self.submissions = extract, submissions.reset_index(drop=True)
        start = pd.to_datetime(self.submissions["month"], format="%Y-%m", errors="coerce")
        # both end in -1, which position -1 (a record of no submission) picks
        self.month = np.append(np.where(start.isna(), -1, start.dt.year * 12 + start.dt.month - 1), -1).astype(np.int64)
        self.order = np.append(self.submissions["order"].to_numpy(), -1)

    def monthly_rows(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``name`` in selected submissions of providers with two or more selected months
        (only they can have a history), and each one's submission position."""
        subs = self.submissions
        chosen = subs["selected"].to_numpy() & (self.month[:-1] >= 0)
        months = pd.Series(self.month[:-1][chosen]).groupby(subs["OrgIDProv"].astype("string").to_numpy()[chosen])
        several = (months.nunique() >= 2).reindex(subs["OrgIDProv"].astype("string"), fill_value=False).to_numpy()
        eligible = np.append(chosen & several, False)
        placed = self.placed(name) if eligible.any() else np.full(len(self.extract.tables[name]), -1, np.int64)
        rows = np.flatnonzero(eligible[placed])
        return rows, placed[rows]

    def placed(self, name: str) -> np.ndarray:
        """Position of each row's submission in ``submissions`` (-1: unattributed)."""
        table = self.extract.tables[name]
        return positions_in(table[SUBMISSION_ID], self.submissions[SUBMISSION_ID]) if SUBMISSION_ID in table \
            else np.full(len(table), -1, np.int64)


def _verdict(frame: pd.DataFrame, totals: pd.Series) -> Verdict:
    frame = frame.reset_index(drop=True)
    return Verdict(frame, np.ones(len(frame), bool), np.arange(len(frame)), "value", totals=totals.astype("int64"),
                   aligned=False)


def _failing_frame(org, record_id, table: str, column: str, value) -> pd.DataFrame:
    return pd.DataFrame({"OrgIDProv": pd.array(org, dtype="string"), "record_id": pd.array(record_id, dtype="string"),
                         "table": table, "column": column, "value": pd.array(value, dtype="string")})


def _month_text(month: np.ndarray) -> np.ndarray:
    return np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in month], dtype=object)


def missing_month(history: _History) -> Verdict:
    """Months between a provider's first and last selected month with no submission."""
    subs = history.submissions
    chosen = subs["selected"].to_numpy() & (history.month[:-1] >= 0)
    frame = pd.DataFrame({"org": subs["OrgIDProv"].astype("string").to_numpy()[chosen], "month": history.month[:-1][chosen]})
    span = frame.groupby("org")["month"].agg(["min", "max", "nunique"])
    expected = span["max"] - span["min"] + 1
    orgs, months = [], []
    for org, low, high in zip(span.index, span["min"], span["max"]):  # one pass per provider, not per record
        present = set(frame.loc[frame["org"] == org, "month"])
        gaps = [m for m in range(int(low), int(high) + 1) if m not in present]
        orgs += [org] * len(gaps)
        months += gaps
    text = _month_text(np.array(months, np.int64))
    return _verdict(_failing_frame(orgs, text, HEADER, "ReportingPeriodStartDate",
                                   [f"no submission for {m}" for m in text]), expected)


def broken_continuity(history: _History) -> Verdict:
    """Referral-months open at month end whose provider submitted the next month without them."""
    table = history.extract.tables[REFERRAL]
    rows, placed = history.monthly_rows(REFERRAL)
    month = history.month[placed]
    referral = key_codes(table.iloc[rows], ["OrgIDProv", "ServiceRequestId"])
    provider = key_codes(table.iloc[rows], ["OrgIDProv"])
    month_end = (pd.to_datetime(_month_text(month + 1), format="%Y-%m") - pd.Timedelta(days=1)).to_numpy()
    discharged = table["ServDischDate"].to_numpy()[rows] if "ServDischDate" in table else \
        np.full(len(rows), np.datetime64("NaT"), "datetime64[ns]")
    is_open = np.isnat(discharged) | (discharged > month_end)
    present = np.unique(referral * 100_000 + month)
    submitted = np.unique(provider * 100_000 + month)
    applies = is_open & np.isin(provider * 100_000 + month + 1, submitted)
    pair = pd.Series(referral * 100_000 + month)
    applies &= ~pair.duplicated().to_numpy()  # one referral-month once, however often listed
    failing = applies & ~np.isin(referral * 100_000 + month + 1, present)
    org = table["OrgIDProv"].astype("string").to_numpy()[rows]
    totals = pd.Series(applies.astype(np.int64)).groupby(org).sum()
    lost = np.flatnonzero(failing)
    text, after = _month_text(month[lost]), _month_text(month[lost] + 1)
    return _verdict(_failing_frame(org[lost], table["ServiceRequestId"].astype("string").to_numpy()[rows][lost],
                                   REFERRAL, "ServDischDate",
                                   [f"open in {a}, absent from {b}" for a, b in zip(text, after)]), totals)


def changed_between_months(history: _History) -> Verdict:
    """Referrals whose received date or patient differs between their monthly records."""
    table = history.extract.tables[REFERRAL]
    rows, placed = history.monthly_rows(REFERRAL)
    referral = key_codes(table.iloc[rows], ["OrgIDProv", "ServiceRequestId"])
    order = np.lexsort((history.order[placed], referral))
    rows, referral, placed = rows[order], referral[order], placed[order]
    same = np.zeros(len(rows), bool)
    same[1:] = referral[1:] == referral[:-1]
    items = [c for c in ("ReferralRequestReceivedDate", "LocalPatientId") if c in table]
    changed = {}
    for item in items:
        values = key_codes(table[[item]].iloc[rows], [item])
        changed[item] = same & np.concatenate([[False], values[1:] != values[:-1]])
    any_change = np.logical_or.reduce(list(changed.values())) if changed else np.zeros(len(rows), bool)
    starts = ~same
    group = np.cumsum(starts) - 1
    months = np.bincount(group, minlength=group.max() + 1 if len(group) else 0)
    flagged = np.zeros(len(months), bool)
    np.logical_or.at(flagged, group[any_change], True)
    first_change = np.flatnonzero(any_change & ~pd.Series(group).where(any_change).duplicated().to_numpy())
    org = table["OrgIDProv"].astype("string").to_numpy()[rows]
    totals = pd.Series((months >= 2).astype(np.int64)).groupby(org[starts]).sum()
    month = _month_text(history.month[placed[first_change]])
    described = []
    for position, in_month in zip(first_change, month):
        parts = [item for item in items if changed[item][position]]
        described.append(f"{' and '.join(parts)} changed in {in_month}")
    return _verdict(_failing_frame(org[first_change], table["ServiceRequestId"].astype("string").to_numpy()[rows][first_change],
                                   REFERRAL, "ReferralRequestReceivedDate", described), totals)


def dropped_by_refresh(history: _History) -> Verdict:
    """Records of a superseded submission that the submission replacing it for that month lacks."""
    subs = history.submissions
    winner = np.append(positions_in(subs["superseded_by"].astype("string"), subs[SUBMISSION_ID]), -1)
    kinds = subs["File_Type"].astype("string").fillna("submission").to_numpy()
    ids = subs[SUBMISSION_ID].astype("string").to_numpy()
    parts, totals = [], []
    for name, table in history.extract.tables.items():
        if name == HEADER or SUBMISSION_ID not in table or not (winner >= 0).any():
            continue
        placed = history.placed(name)
        superseded = winner[placed] >= 0
        if not superseded.any():
            continue
        key = key_codes(table, [c for c in TABLES[name].key if c in table])
        width = len(subs) + 1
        present = np.unique(key[placed >= 0] * width + placed[placed >= 0])
        rows = np.flatnonzero(superseded)
        lost = rows[~np.isin(key[rows] * width + winner[placed[rows]], present)]
        org = table["OrgIDProv"].astype("string").to_numpy()
        totals.append(pd.Series(1, index=org[rows]).groupby(level=0).sum())
        old, new = placed[lost], winner[placed[lost]]
        parts.append(_failing_frame(org[lost], table[RECORD_ID[name]].astype("string").to_numpy()[lost], name,
                                    RECORD_ID[name], [f"in {kinds[a]} {ids[a]}, not in {kinds[b]} {ids[b]}"
                                                      for a, b in zip(old, new)]))
    frame = pd.concat(parts, ignore_index=True) if parts else _failing_frame([], [], "", "", [])
    total = pd.concat(totals).groupby(level=0).sum() if totals else pd.Series(dtype="int64")
    return _verdict(frame, total)


def repeated_file_type(history: _History) -> Verdict:
    """Submissions sharing a provider, month and File_Type with another (e.g. two Primaries)."""
    subs = history.submissions
    kind = subs["File_Type"].astype("string").str.strip().str.lower()
    keyed = pd.DataFrame({"org": subs["OrgIDProv"].astype("string"), "month": subs["month"], "kind": kind})
    repeated = (keyed.duplicated(keep=False) & kind.notna() & subs["month"].notna()).to_numpy()
    org = keyed["org"].to_numpy()
    totals = pd.Series(1, index=org).groupby(level=0).sum()
    rows = np.flatnonzero(repeated)
    return _verdict(_failing_frame(org[rows], subs[SUBMISSION_ID].astype("string").to_numpy()[rows], HEADER, "File_Type",
                                   [f"one of several {subs['File_Type'].iloc[r]} submissions for {subs['month'].iloc[r]}"
                                    for r in rows]), totals)


HISTORY_CHECKS = [
    (_check("DQ201", "A month is missing from the provider's run of submissions", HEADER, "ReportingPeriodStartDate",
            "Submit the missing month (open referrals must be submitted every month until they close).",
            "months from each provider's first to its last submitted month"), missing_month),
    (_check("DQ202", "Open referral left out of the next month's submission without a discharge", REFERRAL,
            "ServDischDate", "Submit every open referral each month, or record its ServDischDate and EndCode.",
            "referral-months open at month end whose provider submitted the next month"), broken_continuity),
    (_check("DQ203", "Referral's received date or patient changes between monthly submissions", REFERRAL,
            "ReferralRequestReceivedDate",
            "Keep ReferralRequestReceivedDate and LocalPatientId fixed for the life of a referral.",
            "referrals submitted in two or more months"), changed_between_months),
    (_check("DQ204", "A Refresh drops a record its Primary had", "(all record tables)", "(record identifier)",
            "Resubmit the record in the Refresh, or confirm it was deleted on purpose.",
            "records of submissions replaced by a later submission for the same month"), dropped_by_refresh),
    (_check("DQ205", "Two submissions of one File_Type for the same provider and month", HEADER, "File_Type",
            "Submit one Primary and at most one Refresh per month; the later one is counted.",
            "submissions"), repeated_file_type),
]
