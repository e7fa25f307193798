"""Which monthly submissions a synthetic year is made of, and which history defects it carries.

IAPT v2.x data arrives monthly per provider: each reporting month is submitted in the Primary
window and may be submitted again in the Refresh window, which supersedes it (NHS England's
analysts keep the latest submission per provider and month: ``IsLatest``, ``UniqueSubmissionID``
[BG]). A plan holds, for every provider and every month of the span, the submission that carries
the month's records (``final``) and, where the month was also submitted earlier, the superseded
Primary (``primary``). The header table (``IDS000Header``, one row per submission) is built here.

History defects, planted on request so the audit's submission-history checks can be tested
against a known answer: one provider's month is not submitted at all (``final`` is -1 there);
one Primary later refreshed loses a record (a care contact entered in error); one open referral
is left out of one month; one referral's received date differs between months. The first two are
fixed here; the last two need a referral and are chosen while the records are laid out
(``monthly``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from iapt_audit.synth import ids

PRIMARY, REFRESH = "Primary", "Refresh"
REFRESHED_SHARE = 0.25             # months also submitted in the Refresh window (not the last month)
PRIMARY_CREATED_DAYS = (5, 20)     # days after the month's end the Primary is created
REFRESH_CREATED_DAYS = (32, 50)    # and the Refresh
WORKING_SECONDS = (8 * 3600, 18 * 3600)
DATASET_VERSION = "2.1"
SYSTEM = "SYNTHETIC"
MIN_MONTHS_FOR_DEFECTS = 3         # a missing month needs a month either side
DEFECT_ROLES = ("missing_month", "broken_continuity", "refresh_drops_record", "received_date_changes")

S, D = pa.string(), pa.date32()
HEADER_SCHEMA = pa.schema([("OrgIDProv", S), ("DatSetVer", S), ("OrgIDSubmit", S), ("PrimSystemInUse", S),
                           ("ReportingPeriodStartDate", D), ("ReportingPeriodEndDate", D), ("File_Type", S),
                           ("DateTimeDatSetCreate", S), ("UniqueSubmissionID", S)])


def month_number(days: np.ndarray) -> np.ndarray:
    """Months since January 1970 of days since 1970-01-01."""
    return np.asarray(days, "datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start_day(months: np.ndarray) -> np.ndarray:
    """Day number (since 1970-01-01) of each month's first day."""
    return np.asarray(months, "datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_label(month: int) -> str:
    """ISO date of the month's first day, as ReportingPeriodStartDate shows it."""
    return str(np.datetime64(int(month), "M").astype("datetime64[D]"))


@dataclass
class SubmissionPlan:
    """Submissions of ``providers`` (codes, by position) for the months ``first_month`` onwards.

    ``final[p, m]`` is the index (into ``header``'s rows) of the submission holding provider p's
    records of month m, -1 when the month is missing; ``primary[p, m]`` the superseded Primary's
    index, or -1. ``defects`` maps each planted defect to its identifiers; ``targets`` the
    defects still to be planted in records (provider, and month where fixed), which move to
    ``defects`` once the records are chosen as the data are laid out.
    """

    providers: list[str]
    first_month: int
    final: np.ndarray
    primary: np.ndarray
    header: pa.Table
    defects: dict = field(default_factory=dict)
    targets: dict = field(default_factory=dict)

    @property
    def months(self) -> int:
        return self.final.shape[1]

    @property
    def submission_ids(self) -> pa.Array:
        return self.header["UniqueSubmissionID"].combine_chunks()

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index (0 .. months - 1) of each day; days outside the span go to its first or
        last month."""
        return np.clip(month_number(days) - self.first_month, 0, self.months - 1)

    def describe(self) -> dict:
        """What truth.json says of the submissions: span, counts and the planted defects."""
        return {"months": [month_label(self.first_month), month_label(self.first_month + self.months - 1)],
                "submissions": self.header.num_rows,
                "refreshed_months": int((self.primary >= 0).sum()),
                "history_defects": self.defects,
                **({"history_defects_not_planted": sorted(self.targets)} if self.targets else {})}


def plan_submissions(providers: list[str], first_month: int, last_month: int, rng: np.random.Generator,
                     history_defects: bool) -> SubmissionPlan:
    """Draw the submissions for every provider and month from ``first_month`` to ``last_month``
    (months since 1970-01), with the history defects when asked. ValueError when defects are
    asked for fewer than three months."""
    n_prov, n_months = len(providers), last_month - first_month + 1
    if history_defects and n_months < MIN_MONTHS_FOR_DEFECTS:
        raise ValueError(f"history defects need at least {MIN_MONTHS_FOR_DEFECTS} months of data, "
                         f"not {n_months}")
    refreshed = rng.random((n_prov, n_months)) < REFRESHED_SHARE
    refreshed[:, -1] = False        # the last month's Refresh window has not come yet
    present = np.ones((n_prov, n_months), bool)
    defects, targets, drop_cell = {}, {}, None
    if history_defects:
        role = {name: int(p) for name, p in zip(DEFECT_ROLES, rng.permutation(np.resize(np.arange(n_prov),
                                                                                        len(DEFECT_ROLES))))}
        missing = int(rng.integers(1, n_months - 1))
        present[role["missing_month"], missing] = refreshed[role["missing_month"], missing] = False
        dropped = int(rng.choice(np.flatnonzero(present[role["refresh_drops_record"], :-1])))
        refreshed[role["refresh_drops_record"], dropped] = True
        drop_cell = (role["refresh_drops_record"], dropped)
        defects = {"missing_month": {"OrgIDProv": providers[role["missing_month"]],
                                     "month": month_label(first_month + missing), "open_referrals": 0}}
        targets = {name: {"OrgIDProv": providers[role[name]]} for name in DEFECT_ROLES[1:]}
        targets["refresh_drops_record"]["month"] = month_label(first_month + dropped)

    # submission index per (provider, month, kind): a month's Primary first, then its Refresh
    kinds = np.stack([refreshed, present], axis=-1)            # [.., 0] Primary before a Refresh, [.., 1] the final
    index = np.full(kinds.shape, -1, np.int64)
    index[kinds] = np.arange(int(kinds.sum()))
    prov, month, kind = np.nonzero(kinds)
    file_type = np.where((kind == 1) & refreshed[prov, month], REFRESH, PRIMARY)
    header = _header(providers, first_month, prov, month, file_type, rng)
    if drop_cell:
        uids = header["UniqueSubmissionID"]
        targets["refresh_drops_record"].update(primary=uids[int(index[drop_cell][0])].as_py(),
                                               refresh=uids[int(index[drop_cell][1])].as_py())
    return SubmissionPlan(providers, first_month, final=index[..., 1], primary=index[..., 0],
                          header=header, defects=defects, targets=targets)


def _header(providers, first_month, prov, month, file_type, rng) -> pa.Table:
    """IDS000Header: one row per submission. UniqueSubmissionIDs are unique numbers in no
    particular order, so nothing can lean on their order instead of File_Type and creation time."""
    n = len(prov)
    start = month_start_day(first_month + month)
    end = month_start_day(first_month + month + 1) - 1
    primary = file_type == PRIMARY
    days = np.where(primary, rng.integers(*PRIMARY_CREATED_DAYS, n, endpoint=True),
                    rng.integers(*REFRESH_CREATED_DAYS, n, endpoint=True))
    seconds = (end + days) * 86400 + rng.integers(*WORKING_SECONDS, n)
    created = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    width = max(6, len(str(n)))
    codes = pa.array(providers, S).take(pa.array(prov))
    return pa.table({
        "OrgIDProv": codes, "DatSetVer": pa.array([DATASET_VERSION] * n, S), "OrgIDSubmit": codes,
        "PrimSystemInUse": pa.array([SYSTEM] * n, S),
        "ReportingPeriodStartDate": pa.array(start.astype(np.int32)).cast(D),
        "ReportingPeriodEndDate": pa.array(end.astype(np.int32)).cast(D),
        "File_Type": pa.array(file_type, S),
        "DateTimeDatSetCreate": pa.array(created.astype(object), S),
        "UniqueSubmissionID": ids.record_ids("", rng.permutation(n) + 1, width),
    }, schema=HEADER_SCHEMA)
