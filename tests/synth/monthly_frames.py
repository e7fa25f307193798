"""Plain-pandas readers for the three synthetic layouts and the month arithmetic of issue 13.

Independent of the package's reader and of its selection stage: every value is text as written
(Parquet cast to text in Arrow the way CSV writes it), NHS Digital's names are mapped back by
hand, and each record of the monthly layouts carries the UniqueSubmissionID of its submission.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth_measures import TABLES

HEADER = "IDS000Header"
SUB = "UniqueSubmissionID"
# a key per table: the identifiers that make a record itself (iapt-dataset.md §1.3)
KEYS = {
    "IDS001MPI": ["OrgIDProv", "LocalPatientId"],
    "IDS004EmpStatus": ["OrgIDProv", "LocalPatientId", "EmployStatusRecDate"],
    "IDS101Referral": ["OrgIDProv", "ServiceRequestId"],
    "IDS201CareContact": ["OrgIDProv", "CareContactId"],
    "IDS202CareActivity": ["OrgIDProv", "CareActId"],
    "IDS603PresentingComplaints": ["OrgIDProv", "ServiceRequestId", "PresComp"],
    "IDS606CodedScoreAssessmentRefer": ["OrgIDProv", "ServiceRequestId", "CodedAssToolType", "AssToolCompDate"],
    "IDS607CodedScoreAssessmentAct": ["OrgIDProv", "CareActId", "CodedAssToolType"],
}
RECORD_TABLES = list(KEYS)


def _table_name(file_name: str) -> str | None:
    stem = file_name.split(".")[0].replace("_", "")
    return stem if stem in TABLES else None


def _read_file(path: Path) -> pd.DataFrame:
    if path.name.endswith(".parquet"):
        table = pq.read_table(path)
        table = pa.table({name: table[name].cast(pa.string()) for name in table.column_names})
        frame = table.to_pandas()
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame = frame.rename(columns={"OrgID_Provider": "OrgIDProv"})
    return frame.astype(object).where(frame.notna(), None)


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table file of one folder (any naming), as text."""
    return {name: _read_file(p) for p in Path(folder).iterdir() if p.is_file() and (name := _table_name(p.name))}


def file_names(folder: Path) -> set[str]:
    return {p.name for p in Path(folder).iterdir() if _table_name(p.name)}


def read_submissions(folder: Path) -> dict[str, pd.DataFrame]:
    """A folder of submissions (sub-folders and .zip files) as one warehouse: records tagged
    with their submission's UniqueSubmissionID, the headers stacked."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_dir():
            tables = read_tables(entry)
        elif entry.suffix == ".zip":
            with tempfile.TemporaryDirectory() as unpacked, zipfile.ZipFile(entry) as archive:
                archive.extractall(unpacked)
                tables = read_tables(Path(unpacked))
        else:
            continue
        [uid] = tables[HEADER][SUB]
        for name, frame in tables.items():
            parts.setdefault(name, []).append(frame if name == HEADER else frame.assign(**{SUB: uid}))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def month(dates: pd.Series) -> pd.Series:
    """'2024-04-17' -> '2024-04-01' (the ReportingPeriodStartDate of its month)."""
    return dates.str[:7] + "-01"


def winners(header: pd.DataFrame) -> pd.DataFrame:
    """Per provider and month the submission that counts: a Refresh over a Primary, then the
    later DateTimeDatSetCreate (issue 13, NHS England's IsLatest)."""
    ranked = header.assign(refresh=header["File_Type"] == "Refresh").sort_values(
        ["refresh", "DateTimeDatSetCreate"])
    return ranked.drop_duplicates(["OrgIDProv", "ReportingPeriodStartDate"], keep="last")


def latest_records(header: pd.DataFrame, table: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The records of the winning submissions, one per key: the one from the latest month."""
    win = winners(header)[[SUB, "ReportingPeriodStartDate"]]
    kept = table.merge(win, on=SUB)
    kept = kept.sort_values("ReportingPeriodStartDate").drop_duplicates(key, keep="last")
    return kept.drop(columns=[SUB, "ReportingPeriodStartDate"])


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted on every column, for comparing sets of records."""
    frame = frame[sorted(frame.columns)].fillna("")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
