"""Data quality of the submission history: checks that only a run of monthly submissions can fail.

NHS Digital's DQ report follows pathway continuity and submission completeness across months
([DQM] "open referrals must be submitted every reporting period until the referral closes"; a
month's Refresh replaces its Primary). These checks read every record of the *selected*
submissions (before each record's latest copy is taken) and the submissions set aside, so they run
beside selection on each table as read, before its records as read are freed
(``audit.SelectStage``):

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
import pyarrow.compute as pc

from iapt_audit.dq.cross_table import Verdict
from iapt_audit.dq.findings import BLANK, Check
from iapt_audit.model.tables import RECORD_ID, SUBMISSION_ID, TABLES
from iapt_audit.io.submissions import arrow_text, positions_in
from iapt_audit.selection import key_codes

HEADER, REFERRAL = "IDS000Header", "IDS101Referral"
MONTH_SPAN = 12 * 10_000  # month numbers (year * 12 + month - 1) stay below this: a key's place value


def _check(code, title, table, column, fix, denominator, severity="warning") -> Check:
    return Check(code=code, title=title, severity=severity, table=table, column=column, fix=fix,
                 denominator=denominator, engine="submission_history")


class SubmissionHistory:
    """The history checks fed one table at a time, beside selection (``audit.SelectStage``).

    ``submissions``: as ``selection.ordered_submissions`` returns them; ``wants(code)``: whether a
    check runs. ``take`` each record table with its record keys and each row's submission position;
    ``verdicts`` then gives each check run and its verdict, whose frame holds the failing records
    only (``totals`` carries the denominators per provider).
    """

    def __init__(self, submissions: pd.DataFrame, wants=lambda code: True):
        self.submissions, self.wants = submissions.reset_index(drop=True), wants
        start = pd.to_datetime(self.submissions["month"], format="%Y-%m", errors="coerce")
        # both end in -1, which position -1 (a record of no submission) picks
        self.month = np.append(np.where(start.isna(), -1, start.dt.year * 12 + start.dt.month - 1), -1).astype(np.int64)
        self.order = np.append(self.submissions["order"].to_numpy(), -1)
        subs = self.submissions
        chosen = subs["selected"].to_numpy() & (self.month[:-1] >= 0)
        months = pd.Series(self.month[:-1][chosen]).groupby(subs["OrgIDProv"].astype("string").to_numpy()[chosen])
        several = (months.nunique() >= 2).reindex(subs["OrgIDProv"].astype("string"), fill_value=False).to_numpy()
        # submissions of providers with two or more selected months: only they can have a history
        self.eligible = np.append(chosen & several, False)
        self._per_table = {code: [] for code in ("DQ202", "DQ203", "DQ204")}

    def monthly_rows(self, placed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows in eligible submissions, and each one's submission position."""
        rows = np.flatnonzero(self.eligible[placed])
        return rows, placed[rows]

    def take(self, name: str, table: pd.DataFrame, key: np.ndarray | None, placed: np.ndarray) -> None:
        """Run the checks that read ``name``'s records (``key``: ``selection.record_key``, None for
        the header, which no check here reads; ``placed``: each row's position in ``submissions``)."""
        if name == HEADER:
            return
        for code, check in PER_TABLE:
            if (name == REFERRAL or code == "DQ204") and self.wants(code):
                self._per_table[code].append(check(self, table, key, placed, name))

    def verdicts(self) -> list[tuple[Check, Verdict]]:
        """Every wanted check and its verdict, in ``HISTORY_CHECKS`` order."""
        out = []
        for check in HISTORY_CHECKS:
            if not self.wants(check.code):
                continue
            if check.code in self._per_table:
                out.append((check, _combined(self._per_table[check.code])))
            else:
                out.append((check, WHOLE_HISTORY[check.code](self)))
        return out


def _verdict(frame: pd.DataFrame, totals: pd.Series) -> Verdict:
    frame = frame.reset_index(drop=True)
    return Verdict(frame, np.ones(len(frame), bool), np.arange(len(frame)), "value", totals=totals.astype("int64"),
                   aligned=False)


def _combined(parts: list[tuple[pd.DataFrame, pd.Series]]) -> Verdict:
    """One verdict from the failing records and denominators of each table a check read."""
    frame = pd.concat([f for f, _ in parts], ignore_index=True) if parts else _failing_frame([], [], "", "", [])
    totals = [t for _, t in parts if len(t)]
    return _verdict(frame, pd.concat(totals).groupby(level=0).sum() if totals else pd.Series(dtype="int64"))


def _failing_frame(org, record_id, table: str, column: str, value) -> pd.DataFrame:
    return pd.DataFrame({"OrgIDProv": pd.array(org, dtype="string"), "record_id": pd.array(record_id, dtype="string"),
                         "table": table, "column": column, "value": pd.array(value, dtype="string")})


def _month_text(month: np.ndarray) -> np.ndarray:
    return np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in month], dtype=object)


def missing_month(history: SubmissionHistory) -> Verdict:
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


def _providers(table: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``rows``' provider as a code, and the codes' provider names (dictionary-encoded by
    Arrow over the whole column: cheaper than taking millions of strings first)."""
    encoded = pc.dictionary_encode(arrow_text(table["OrgIDProv"]))
    if encoded.num_chunks == 0:
        return np.zeros(0, np.int64), np.array([], dtype=object)
    codes = np.concatenate([c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks])
    labels = np.append(np.array(encoded.chunks[-1].dictionary.to_pylist(), dtype=object), BLANK)
    return codes.astype(np.int64)[rows], labels  # a missing provider (-1) picks BLANK


def _per_provider(codes: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> pd.Series:
    return pd.Series(np.bincount(codes[mask], minlength=len(labels)), index=labels)


def _contains(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Which ``values`` occur in ``reference`` (int64 codes): one hash table, as pandas builds it."""
    return pd.Index(reference).unique().get_indexer(values) >= 0 if len(reference) else np.zeros(len(values), bool)


def _month_end(month: np.ndarray) -> np.ndarray:
    """The last day of each month number (year * 12 + month - 1), as datetime64[ns]."""
    first_of_next = (month + 1 - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    return (first_of_next - np.timedelta64(1, "D")).astype("datetime64[ns]")


def broken_continuity(history: SubmissionHistory, table: pd.DataFrame, key: np.ndarray, placed: np.ndarray,
                      name: str = REFERRAL) -> tuple[pd.DataFrame, pd.Series]:
    """Referral-months open at month end whose provider submitted the next month without them."""
    rows, placed = history.monthly_rows(placed)
    month = history.month[placed]
    referral = key[rows]
    provider, labels = _providers(table, rows)
    discharged = table["ServDischDate"].to_numpy()[rows] if "ServDischDate" in table else \
        np.full(len(rows), np.datetime64("NaT"), "datetime64[ns]")
    is_open = np.isnat(discharged) | (discharged > _month_end(month))
    span = MONTH_SPAN
    applies = is_open & _contains(provider * span + month + 1, provider * span + month)
    applies &= ~pd.Series(referral * span + month).duplicated().to_numpy()  # a referral-month once, however often listed
    failing = applies & ~_contains(referral * span + month + 1, referral * span + month)
    lost = np.flatnonzero(failing)
    text, after = _month_text(month[lost]), _month_text(month[lost] + 1)
    return (_failing_frame(labels[provider[lost]], table["ServiceRequestId"].iloc[rows[lost]].to_numpy(), REFERRAL,
                           "ServDischDate", [f"open in {a}, absent from {b}" for a, b in zip(text, after)]),
            _per_provider(provider, labels, applies))


def changed_between_months(history: SubmissionHistory, table: pd.DataFrame, key: np.ndarray, placed: np.ndarray,
                           name: str = REFERRAL) -> tuple[pd.DataFrame, pd.Series]:
    """Referrals whose received date or patient differs between their monthly records."""
    rows, placed = history.monthly_rows(placed)
    referral = key[rows]
    order = np.lexsort((history.order[placed], referral))
    rows, referral, placed = rows[order], referral[order], placed[order]
    same = np.zeros(len(rows), bool)
    same[1:] = referral[1:] == referral[:-1]
    items = [c for c in ("ReferralRequestReceivedDate", "LocalPatientId") if c in table]
    changed = {}
    for item in items:
        values = key_codes(table, [item])[rows]
        changed[item] = same & np.concatenate([[False], values[1:] != values[:-1]])
    any_change = np.logical_or.reduce(list(changed.values())) if changed else np.zeros(len(rows), bool)
    starts = ~same
    group = np.cumsum(starts) - 1
    months = np.bincount(group, minlength=group.max() + 1 if len(group) else 0)
    first_change = np.flatnonzero(any_change & ~pd.Series(group).where(any_change).duplicated().to_numpy())
    provider, labels = _providers(table, rows)
    month = _month_text(history.month[placed[first_change]])
    described = [f"{' and '.join(item for item in items if changed[item][position])} changed in {in_month}"
                 for position, in_month in zip(first_change, month)]
    return (_failing_frame(labels[provider[first_change]], table["ServiceRequestId"].iloc[rows[first_change]].to_numpy(),
                           REFERRAL, "ReferralRequestReceivedDate", described),
            _per_provider(provider[starts], labels, months >= 2))


def dropped_by_refresh(history: SubmissionHistory, table: pd.DataFrame, key: np.ndarray, placed: np.ndarray,
                       name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Records of a superseded submission that the submission replacing it for that month lacks.
    Only the rows of superseded submissions and of the submissions that replaced them are keyed."""
    subs = history.submissions
    winner = np.append(positions_in(subs["superseded_by"].astype("string"), subs[SUBMISSION_ID]), -1)
    nothing = (_failing_frame([], [], "", "", []), pd.Series(dtype="int64"))
    if SUBMISSION_ID not in table or not (winner >= 0).any():
        return nothing
    involved = (winner >= 0) | np.isin(np.arange(len(winner)), winner[winner >= 0])
    rows = np.flatnonzero(involved[placed])
    placed = placed[rows]
    superseded = winner[placed] >= 0
    if not superseded.any():
        return nothing
    key = key[rows]
    width = len(subs) + 1
    old = np.flatnonzero(superseded)
    lost = old[~_contains(key[old] * width + winner[placed[old]], key[~superseded] * width + placed[~superseded])]
    provider, labels = _providers(table, rows)
    kinds = subs["File_Type"].astype("string").fillna("submission").to_numpy()
    ids = subs[SUBMISSION_ID].astype("string").to_numpy()
    was, now = placed[lost], winner[placed[lost]]
    return (_failing_frame(labels[provider[lost]], table[RECORD_ID[name]].iloc[rows[lost]].to_numpy(), name,
                           RECORD_ID[name], [f"in {kinds[a]} {ids[a]}, not in {kinds[b]} {ids[b]}"
                                             for a, b in zip(was, now)]),
            _per_provider(provider, labels, superseded))


def repeated_file_type(history: SubmissionHistory) -> Verdict:
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
    _check("DQ201", "A month is missing from the provider's run of submissions", HEADER, "ReportingPeriodStartDate",
           "Submit the missing month (open referrals must be submitted every month until they close).",
           "months from each provider's first to its last submitted month"),
    _check("DQ202", "Open referral left out of the next month's submission without a discharge", REFERRAL,
           "ServDischDate", "Submit every open referral each month, or record its ServDischDate and EndCode.",
           "referral-months open at month end whose provider submitted the next month"),
    _check("DQ203", "Referral's received date or patient changes between monthly submissions", REFERRAL,
           "ReferralRequestReceivedDate",
           "Keep ReferralRequestReceivedDate and LocalPatientId fixed for the life of a referral.",
           "referrals submitted in two or more months"),
    _check("DQ204", "A Refresh drops a record its Primary had", "(all record tables)", "(record identifier)",
           "Resubmit the record in the Refresh, or confirm it was deleted on purpose.",
           "records of submissions replaced by a later submission for the same month"),
    _check("DQ205", "Two submissions of one File_Type for the same provider and month", HEADER, "File_Type",
           "Submit one Primary and at most one Refresh per month; the later one is counted.",
           "submissions"),
]
# checks that read one record table at a time (DQ202 and DQ203 the referrals only), and the rest
PER_TABLE = [("DQ202", broken_continuity), ("DQ203", changed_between_months), ("DQ204", dropped_by_refresh)]
WHOLE_HISTORY = {"DQ201": missing_month, "DQ205": repeated_file_type}
