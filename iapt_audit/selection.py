"""Selection: from every submission read, the records an audit counts.

NHS England's analysts count each provider's latest submission for each month and each record's
latest copy ([BG] ``IsLatest_SubmissionID`` joined on ``UniqueSubmissionID``, Count_EndedReferrals.sql;
[TT] every count a ``COUNT(DISTINCT …)`` of record identifiers; [MM21] M082 "count of distinct
Unique_CareContactId"). This stage does the same, in three steps, before data quality and
derivation:

1. **Latest submission per provider and reporting month.** A Refresh supersedes a Primary; then the
   later ``DateTimeDatSetCreate``; then the higher ``UniqueSubmissionID`` (compared as a number when
   both are digits). Every record of a superseded submission is set aside.
2. **Latest copy per record.** Records are matched by their table's key (``TableSpec.key``: the
   provider and the record's own identifier). Of a key's copies, those from its latest selected
   submission remain, months in time order: a referral is resubmitted every month it is open, and
   its record from its latest month is its record (its discharge shows only from that month).
   This is ``Selection.latest``: the data-quality stage runs on it, so its uniqueness checks
   (DQ004, …) report a key repeated *within* one submission, and nothing else.
3. **One record per key.** A key repeated within one submission (the same contact listed twice)
   is counted once: ``Selection.distinct``, what pathways, KPIs and rules read. Which copy is kept
   is decided by the records' content (every item, compared in item-name order), never by their
   order in the file, so the same data in any row order selects the same records.

Records that name no submission (a table without ``UniqueSubmissionID`` whose provider made several,
an extract without a header, a provider no header names) rank below every attributed record; a
blank ``UniqueSubmissionID`` where the provider made several is refused by the reader
(``io.submissions.tag_records``). A snapshot without repeated keys passes through untouched
(the same frames, no copies). ``Selection.report`` accounts for every record read: superseded +
replaced by a later month + collapsed duplicates + selected = read, per table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.io.extract import NOTICE_COLUMNS, Extract
from iapt_audit.io.submissions import FILE_TYPE_ORDER, positions_in
from iapt_audit.model.tables import SUBMISSION_ID, TABLES

HEADER = "IDS000Header"
REPORT_COLUMNS = ["table", "read", "superseded", "replaced_by_later_month", "duplicates_collapsed", "selected"]


@dataclass
class Selection:
    """What selection kept and set aside.

    ``latest``: the extract the data-quality stage checks (step 2). ``distinct``: one record per key
    (step 3), for derivation. ``submissions``: every submission read, with ``month`` (its reporting
    month, ``YYYY-MM``), ``selected``, ``superseded_by`` and ``order`` (its place in time order, -2 if
    superseded). ``report``: per table, REPORT_COLUMNS. ``notices``: what the reader tolerated or
    did not read (``Extract.notices``).
    """

    latest: Extract
    distinct: Extract
    submissions: pd.DataFrame
    report: pd.DataFrame
    notices: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame(columns=NOTICE_COLUMNS))

    def as_json(self) -> dict:
        """The ``submissions`` section of findings.json: what was read and what was set aside."""
        subs = self.submissions
        return {
            "submissions_read": int(len(subs)),
            "submissions_selected": int(subs["selected"].sum()),
            "submissions": [{"UniqueSubmissionID": str(row[SUBMISSION_ID]), "OrgIDProv": _text(row["OrgIDProv"]),
                             "month": _text(row["month"]), "File_Type": _text(row["File_Type"]),
                             "selected": bool(row["selected"]), "superseded_by": _text(row["superseded_by"])}
                            for _, row in subs.iterrows()],
            "records": [{k: (v if k == "table" else int(v)) for k, v in row.items()}
                        for row in self.report.to_dict("records")],
            # what the reader tolerated or did not read (``io.extract``: encodings, header case, files passed over)
            "reader_notices": [{"table": _text(row["table"]), "column": _text(row["column"]), "rows": int(row["rows"]),
                                "message": str(row["message"])} for _, row in self.notices.iterrows()],
        }


class Selector:
    """Selection fed one table at a time, as the reader hands the tables over (``read_extract``'s
    ``take``), so that each table's records as read can be freed before the next table is read.

    ``submissions``: every submission read (``Extract.submissions``); ``self.submissions`` holds them
    as ``ordered_submissions`` returns them. ``take`` each table (in any order, the header too),
    then ``selection``.
    """

    def __init__(self, submissions: pd.DataFrame):
        self.submissions = ordered_submissions(submissions)
        self._order = np.append(self.submissions["order"].to_numpy(), -1)  # position -1 (no submission): rank -1
        self._latest, self._distinct, self._kept, self._distinct_rows, self._report = {}, {}, {}, {}, {}

    def placed(self, table: pd.DataFrame) -> np.ndarray:
        """Position of each row's submission in ``self.submissions`` (-1: unattributed)."""
        if SUBMISSION_ID not in table:
            return np.full(len(table), -1, np.int64)
        return positions_in(table[SUBMISSION_ID], self.submissions[SUBMISSION_ID])

    def take(self, name: str, table: pd.DataFrame, key: np.ndarray | None, placed: np.ndarray) -> None:
        """Select ``table``'s records, keeping only what is kept. ``key``: ``record_key`` (None for
        the header); ``placed``: ``self.placed(table)``."""
        rank = self._order[placed]  # -2: superseded
        if name == HEADER:
            latest, distinct = rank != -2, rank != -2
        else:
            latest, distinct = latest_and_distinct(table, key, rank)
        self._kept[name], self._distinct_rows[name] = latest, distinct
        self._latest[name] = _rows(table, latest)
        self._distinct[name] = self._latest[name] if np.array_equal(latest, distinct) else _rows(table, distinct)
        self._report[name] = {"table": name, "read": len(table), "superseded": int((rank == -2).sum()),
                              "replaced_by_later_month": int((rank != -2).sum() - latest.sum()),
                              "duplicates_collapsed": int(latest.sum() - distinct.sum()),
                              "selected": int(distinct.sum())}

    def selection(self, extract: Extract) -> Selection:
        """The ``Selection`` of every table taken; ``extract`` gives the rest (files, unparsed values,
        notices), its own ``tables`` not used."""
        names = [name for name in TABLES if name in self._latest]  # the data set's order, not the files'
        return Selection(latest=_subset(extract, {n: self._latest[n] for n in names}, self._kept),
                         distinct=_subset(extract, {n: self._distinct[n] for n in names}, self._distinct_rows),
                         submissions=self.submissions,
                         report=pd.DataFrame([self._report[n] for n in names], columns=REPORT_COLUMNS),
                         notices=extract.notices)


def ordered_submissions(submissions: pd.DataFrame) -> pd.DataFrame:
    """``submissions`` with ``month``, ``selected``, ``superseded_by`` and ``order``: the position of
    each selected submission in time order (month, then the latest-wins order), -2 if superseded.

    A submission without a reporting period is its provider's own month (an older snapshot).
    """
    subs = submissions.copy()
    start = pd.to_datetime(subs["ReportingPeriodStartDate"]).fillna(pd.to_datetime(subs["ReportingPeriodEndDate"]))
    subs["month"] = pd.Series(start.dt.strftime("%Y-%m"), index=subs.index, dtype="string")
    # listed by provider, month and identifier, whatever order they were read in
    subs = subs.sort_values(["OrgIDProv", "month", SUBMISSION_ID], kind="stable", na_position="last",
                            key=lambda column: column.astype("string")).reset_index(drop=True)
    file_type = subs["File_Type"].astype("string").str.strip().str.lower().map(FILE_TYPE_ORDER)
    identifier = subs[SUBMISSION_ID].astype("string")
    numeric = pd.to_numeric(identifier.where(identifier.str.fullmatch(r"\d+").fillna(False)), errors="coerce")
    keys = pd.DataFrame({
        "org": subs["OrgIDProv"].astype("string").fillna(""), "month": subs["month"].fillna(""),
        "type": file_type.fillna(0).astype("int64"),
        "created": pd.to_datetime(subs["DateTimeDatSetCreate"]).fillna(pd.Timestamp.min),
        "number": numeric.fillna(-1).astype("float64"), "text": identifier.fillna("")})
    latest_first = keys.sort_values(["org", "month", "type", "created", "number", "text"],
                                    ascending=[True, True, False, False, False, False], kind="stable")
    winner = latest_first.groupby(["org", "month"], sort=False).head(1).index
    subs["selected"] = subs.index.isin(winner)
    chosen = pd.Series(identifier[winner].to_numpy(), index=pd.MultiIndex.from_frame(keys.loc[winner, ["org", "month"]]))
    of_month = pd.MultiIndex.from_frame(keys[["org", "month"]])
    subs["superseded_by"] = pd.Series(chosen.reindex(of_month).to_numpy(), index=subs.index,
                                      dtype="string").where(~subs["selected"])
    in_time = keys[subs["selected"]].sort_values(["month", "type", "created", "number", "text", "org"], kind="stable")
    subs["order"] = -2
    subs.loc[in_time.index, "order"] = np.arange(len(in_time))
    return subs


def latest_and_distinct(table: pd.DataFrame, key: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``table``'s rows: each key's copies from its highest ``rank`` (rank -2,
    superseded, never), and of those exactly one per key, chosen by content. ``key``: each row's
    record key (``key_codes``).

    Only rows whose key repeats are sorted; a table without repeated keys costs one hash pass.
    """
    live = rank != -2
    latest, distinct = live.copy(), live.copy()
    rows = np.flatnonzero(live)
    group = key[rows] if len(rows) < len(table) else key
    repeated = pd.Series(group).duplicated(keep=False).to_numpy()
    if not repeated.any():
        return latest, distinct
    rows, group, row_rank = rows[repeated], group[repeated], rank[rows[repeated]]
    content = content_order(table.iloc[rows], group, row_rank)
    order = np.lexsort((content, -row_rank, group))
    rows, group, row_rank = rows[order], group[order], row_rank[order]
    first = np.ones(len(rows), bool)
    first[1:] = group[1:] != group[:-1]
    top = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))  # each row's group's first row
    latest[rows] = row_rank == row_rank[top]
    distinct[rows] = first
    return latest, distinct


def content_order(rows: pd.DataFrame, group: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For rows sharing a key and a rank, their order by content (every column, in name order,
    missing last); 0 for rows that tie with no other. Never depends on the rows' order."""
    pair = pd.DataFrame({"group": group, "rank": rank})
    ties = np.flatnonzero(pair.duplicated(keep=False).to_numpy())
    out = np.zeros(len(rows), np.int64)
    if len(ties) == 0:
        return out
    columns = sorted(c for c in rows.columns if c != SUBMISSION_ID)
    tied = pa.table({c: pa.array(rows[c].iloc[ties], from_pandas=True) for c in columns})
    out[ties[pc.sort_indices(tied, sort_keys=[(c, "ascending") for c in columns]).to_numpy()]] = \
        np.arange(1, len(ties) + 1)
    return out


def key_codes(frame: pd.DataFrame, key: list[str]) -> np.ndarray:
    """One int64 per row, equal exactly where every ``key`` column is equal (missing equals missing).

    Each column is dictionary-encoded by Arrow (no Python object per value) and the codes combined
    by place value; where the product of the columns' sizes would overflow, the codes so far are
    renumbered densely first.
    """
    codes = np.zeros(len(frame), np.int64)
    size = 1
    for column in key:
        encoded = pc.dictionary_encode(pa.chunked_array([pa.array(frame[column], from_pandas=True)])
                                       if not isinstance(frame[column].array, pd.arrays.ArrowStringArray)
                                       else frame[column].array.__arrow_array__())
        values = np.concatenate([chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
                                 for chunk in encoded.chunks]) if encoded.num_chunks else np.zeros(0, np.int64)
        width = max((len(chunk.dictionary) for chunk in encoded.chunks), default=0) + 1
        if size * width >= 2 ** 62:
            codes = np.unique(codes, return_inverse=True)[1].astype(np.int64)
            size = int(codes.max()) + 1 if len(codes) else 1
        codes = codes * width + (values + 1)
        size *= width
    return codes


def record_key(name: str, table: pd.DataFrame) -> np.ndarray:
    """Each row's record key (``TableSpec.key``: the provider and the record's identifier) as one
    int64 (``key_codes``), computed once per table and shared by selection and the
    submission-history checks."""
    return key_codes(table, [c for c in TABLES[name].key if c in table])


def _rows(table: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The kept rows in file order, renumbered; the frame itself when every row is kept."""
    return table if keep.all() else table.iloc[np.flatnonzero(keep)].reset_index(drop=True)


def _subset(extract: Extract, tables: dict[str, pd.DataFrame], kept: dict[str, np.ndarray]) -> Extract:
    """``extract`` narrowed to ``tables``, its ``unparsed`` values following their records."""
    unparsed = extract.unparsed
    if len(unparsed):
        parts = []
        for name, rows in unparsed.groupby("table", observed=True, sort=False):
            keep = kept[name]
            new_position = np.cumsum(keep) - 1
            position = rows["position"].to_numpy(dtype=np.int64)
            alive = keep[position]
            parts.append(rows[alive].assign(position=new_position[position[alive]]))
        unparsed = pd.concat(parts, ignore_index=True) if parts else unparsed.iloc[0:0]
    return dataclasses.replace(extract, tables=tables, unparsed=unparsed)


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)
