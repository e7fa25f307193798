"""Monthly submissions: which submission every record came in, and a folder of submissions.

IAPT v2.x data arrives monthly per provider: every open referral is submitted again each month
until it closes, contacts and scores in the month they happen, and a month submitted in the
Primary window may be submitted again in the Refresh window ([DQM] "open referrals must be
submitted every reporting period until the referral closes"; [BG] the replication database's
``IDS000_Header`` and ``IsLatest_SubmissionID``). Every submission has one ``IDS000Header`` row
naming its provider, reporting period, ``File_Type`` and ``UniqueSubmissionID``.

Two layouts carry several submissions:

* a **warehouse extract**: one file (or sheet) per table holding many submissions, every record
  naming its submission in ``UniqueSubmissionID``, the header one row per submission;
* a **folder of submissions**: sub-folders or ``.zip`` files (any names, any order), each an
  extract with a one-row header; its records belong to that submission.

A snapshot (today's single extract) is the one-submission case. A record without a
``UniqueSubmissionID`` belongs to its provider's only submission. Where its provider has several,
a blank in a table that names submissions is refused (its month cannot be told), while a table
without the column (NHS Digital's extracts carry it on some tables only) stays unattributed, as
does a record of a provider no header names: the selection stage treats those as older than any
attributed record.

What cannot be attributed honestly is refused, one line and exit code 2 (``InputError``): a
submission without a header row, a header naming one provider over records of another, one
``UniqueSubmissionID`` on two different header rows, a record naming a submission no header has or
leaving it blank while its provider has several, and headers whose order is a guess
(``check_submissions``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.errors import InputError
from iapt_audit.model.tables import SUBMISSION_ID

HEADER = "IDS000Header"
SUBMISSION_COLUMNS = [SUBMISSION_ID, "OrgIDProv", "ReportingPeriodStartDate", "ReportingPeriodEndDate", "File_Type",
                      "DateTimeDatSetCreate", "source"]
SUBMISSION_SUFFIXES = (".zip", ".xlsx")
# archives and workbooks a submission might come as that the reader does not open
UNREADABLE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".7z", ".rar", ".xls", ".xlsb", ".xlsm", ".ods")
# NHS Digital's File_Type values (compared trimmed, in lower case): a month's Refresh supersedes its Primary
FILE_TYPE_ORDER = {"primary": 1, "refresh": 2}  # ([BG], [DQM])
# what a header row must agree on to be the same submission twice (a repeated identical row is harmless)
_IDENTITY = SUBMISSION_COLUMNS[1:-1]


def submission_sources(path: Path, is_table_file) -> list[Path] | None:
    """The submissions of a folder of submissions, in name order; None when ``path`` is not one.

    A folder that holds table files itself is one extract (snapshot or warehouse). Otherwise each
    sub-folder holding table files, each ``.zip`` and each ``.xlsx`` workbook is a submission.
    An archive or workbook of a kind the tool cannot read (``.tar.gz``, ``.7z``, ``.xls``, …) is
    refused rather than passed over, and so is a folder whose submissions sit one level further
    down: either would leave months out without a word. Other entries are ignored
    (``ignored_entries`` lists them for the reports).
    """
    if not path.is_dir():
        return None
    entries = sorted((p for p in path.iterdir() if not _hidden(p.name)), key=lambda p: p.name)
    if any(p.is_file() and is_table_file(p.name) for p in entries):
        return None
    sources = [p for p in entries if _is_submission(p, is_table_file)]
    unreadable = [p for p in entries if p.is_file() and p.name.lower().endswith(UNREADABLE_SUFFIXES)]
    if unreadable:
        raise InputError("is an archive or workbook this tool cannot read, so its submission would be left out",
                         file=unreadable[0],
                         fix="give each submission as a folder of table files, a .zip or an .xlsx workbook")
    deeper = [p for p in entries if p.is_dir() and p not in sources
              and any(_is_submission(q, is_table_file) for q in p.iterdir() if not _hidden(q.name))]
    if deeper:
        raise InputError(f"its folder {deeper[0].name} holds submissions one level down, which would be left out",
                         file=path, fix="put every submission (a folder, .zip or .xlsx) in one folder, and give that")
    return sources or None


def _hidden(name: str) -> bool:
    """Entries no one means as data: dot files (macOS ``._`` copies, ``.DS_Store``), ``__MACOSX``
    and Excel's ``~$`` lock files."""
    return name.startswith((".", "__MACOSX", "~$"))


def _is_submission(entry: Path, is_table_file) -> bool:
    """A ``.zip``, an ``.xlsx`` or a folder holding table files."""
    if entry.is_file():
        return entry.suffix.lower() in SUBMISSION_SUFFIXES
    return entry.is_dir() and any(f.is_file() and is_table_file(f.name) for f in entry.iterdir())


def ignored_entries(folder: Path, used) -> list[str]:
    """Names of ``folder``'s entries the extract does not read (``used``: the paths it reads),
    hidden ones (``_hidden``) left out, so the reports can say what was passed over."""
    used = {Path(p).name for p in used}
    return [p.name for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name not in used and not _hidden(p.name)]


def check_submissions(submissions: pd.DataFrame) -> None:
    """Refuse what would make selection's order a guess (``InputError`` naming the header's file,
    column and row): a ``File_Type`` other than Primary or Refresh (blank included) beside another
    submission for the same provider and month; a submission without a reporting period beside
    other submissions of its provider. A provider's only submission (a snapshot) needs neither."""
    if submissions.empty:
        return
    kind = submissions["File_Type"].astype("string").str.strip().str.lower()
    provider = submissions["OrgIDProv"].astype("string").fillna("")
    start = pd.to_datetime(submissions["ReportingPeriodStartDate"], errors="coerce")
    month = start.dt.strftime("%Y-%m").fillna("")
    several = provider.duplicated(keep=False).to_numpy()
    shared_month = pd.DataFrame({"provider": provider, "month": month}).duplicated(keep=False)
    problems = [
        (~kind.isin(list(FILE_TYPE_ORDER)).to_numpy() & shared_month.to_numpy(), "File_Type",
         "File_Type is neither Primary nor Refresh while the provider has another submission for the same month, "
         "so which replaces which cannot be told",
         "give File_Type as Primary or Refresh"),
        (start.isna() & several, "ReportingPeriodStartDate",
         "the submission has no reporting period while its provider has other submissions",
         "give ReportingPeriodStartDate and ReportingPeriodEndDate on every header row"),
    ]
    for bad, column, message, fix in problems:
        rows = np.flatnonzero(np.asarray(bad, dtype=bool))
        if len(rows):
            file, _, row = str(submissions["source"].iloc[rows[0]]).rpartition(" row ")
            raise InputError(message, file=file, column=column, row=int(row), fix=fix)


def header_submissions(header: pd.DataFrame | None, file: Path | None, first_row: int) -> pd.DataFrame:
    """One row per submission from an ``IDS000Header`` table (SUBMISSION_COLUMNS).

    A header without ``UniqueSubmissionID`` (an older snapshot) names each row's submission by its
    file row. Identical repeated rows are one submission; one identifier on two different rows is
    an ``InputError`` naming the second row.
    """
    if header is None or len(header) == 0:
        return pd.DataFrame({c: pd.Series(dtype="string[pyarrow]") for c in SUBMISSION_COLUMNS})
    frame = pd.DataFrame(index=header.index)
    rows = np.arange(len(header)) + first_row
    given = header[SUBMISSION_ID] if SUBMISSION_ID in header else pd.Series(pd.NA, index=header.index)
    frame[SUBMISSION_ID] = given.astype("string[pyarrow]").fillna(
        pd.Series([f"{HEADER} row {r}" for r in rows], index=header.index, dtype="string[pyarrow]"))
    for column in _IDENTITY:
        frame[column] = header[column] if column in header else pd.Series(pd.NA, index=header.index,
                                                                           dtype="string[pyarrow]")
    frame["source"] = [f"{file} row {r}" for r in rows]
    duplicated = frame.duplicated(SUBMISSION_ID, keep="first").to_numpy()
    if duplicated.any():
        clash = np.flatnonzero(duplicated & ~_same_as_first(frame))
        if len(clash):
            raise InputError(f"UniqueSubmissionID {frame[SUBMISSION_ID].iloc[clash[0]]} is on two different header rows",
                             file=file, column=SUBMISSION_ID, row=int(rows[clash[0]]),
                             fix="give each submission its own UniqueSubmissionID, or remove the repeated header row")
        frame = frame[~duplicated]
    return frame.reset_index(drop=True)


def _same_as_first(frame: pd.DataFrame) -> np.ndarray:
    """For each row, whether its identity items equal those of the first row with its identifier."""
    text = frame[_IDENTITY].astype("string").fillna("\x00").agg("\x1f".join, axis=1)
    first = text.groupby(frame[SUBMISSION_ID].to_numpy(), sort=False).transform("first")
    return (text == first).to_numpy()


def tag_records(tables: dict[str, pd.DataFrame], submissions: pd.DataFrame, files: dict[str, Path],
                first_row: dict[str, int], owners: dict[str, np.ndarray] | None = None, locate=None) -> None:
    """Give every record table a ``UniqueSubmissionID`` column naming its submission, in place:
    a categorical over ``submissions``' identifiers (one small code per record, not a string).

    ``owners``: the folder-of-submissions case, each table's submission (a position in
    ``submissions``) for every row; a record naming another submission is refused. Otherwise a
    record keeps its own identifier (which must be in ``submissions``) or takes its provider's only
    submission. Errors name the file, the column and the record's row: ``locate(table, index)``
    gives (file, row) where a table was read from several files.
    """
    ids = submissions[SUBMISSION_ID].astype("string[pyarrow]")
    providers = submissions["OrgIDProv"].astype("string[pyarrow]")
    distinct = pd.Series(providers.dropna().unique(), dtype="string[pyarrow]")
    provider_of = np.append(positions_in(providers, distinct), -1)  # each submission's provider; -1 picks -1
    counts = np.bincount(provider_of[provider_of >= 0], minlength=len(distinct))
    only_submission = np.full(len(distinct) + 1, -1, np.int64)  # a provider's only submission; -1 picks none
    single = (provider_of[:-1] >= 0) & (counts[np.maximum(provider_of[:-1], 0)] == 1)
    only_submission[provider_of[:-1][single]] = np.flatnonzero(single)
    categories = pd.Index(ids.to_numpy(dtype=object), dtype=object)
    locate = locate or (lambda name, index: (files[name], first_row[name] + index))
    for name, table in tables.items():
        if name == HEADER:
            continue
        own = positions_in(table[SUBMISSION_ID], ids) if SUBMISSION_ID in table else None
        record_provider = positions_in(table["OrgIDProv"], distinct)
        if owners is not None:
            position = owners[name]
            if own is not None:
                _refuse(table[SUBMISSION_ID].notna().to_numpy() & (own != position), name, locate, SUBMISSION_ID,
                        "names a submission other than its folder's header",
                        "keep each submission's records with its own IDS000Header")
        else:
            if own is not None:
                _refuse(table[SUBMISSION_ID].notna().to_numpy() & (own < 0), name, locate, SUBMISSION_ID,
                        "names a submission that IDS000Header does not have",
                        "add the submission's header row, or correct the record's UniqueSubmissionID")
            position = only_submission[record_provider]
            if own is not None:
                position = np.where(own >= 0, own, position)
            if own is not None:  # a table that names submissions but leaves one record's blank
                several = np.append(counts > 1, False)  # a provider no header names (-1) picks False
                _refuse((position < 0) & several[record_provider], name, locate, SUBMISSION_ID,
                        "has a blank UniqueSubmissionID while its provider has several submissions, so its month "
                        "cannot be told", "give every record the UniqueSubmissionID of the submission it came in")
        expected = provider_of[position]
        _refuse((expected >= 0) & (record_provider != expected), name, locate, "OrgIDProv",
                "is not the provider its submission's IDS000Header names",
                "submit each provider's records under its own header")
        table[SUBMISSION_ID] = pd.Categorical.from_codes(position, categories=categories) if len(categories) else \
            pd.Categorical(np.full(len(table), None, dtype=object), categories=pd.Index([], dtype=object))


def positions_in(values: pd.Series, value_set: pd.Series) -> np.ndarray:
    """Position of each value in ``value_set`` (first occurrence), -1 where absent or missing: an
    Arrow hash look-up, with no Python object per value (a categorical, such as every table's
    UniqueSubmissionID once tagged, through its few categories)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        of_category = positions_in(pd.Series(values.cat.categories, dtype="string[pyarrow]"), value_set)
        return np.append(of_category, -1)[values.cat.codes.to_numpy()]
    found = pc.index_in(arrow_text(values), value_set=arrow_text(value_set).combine_chunks(), skip_nulls=True)
    return found.fill_null(-1).to_numpy().astype(np.int64, copy=False)


def _refuse(bad: np.ndarray, name: str, locate, column: str, message: str, fix: str) -> None:
    if bad.any():
        file, row = locate(name, int(np.flatnonzero(bad)[0]))
        raise InputError(f"the record {message}", file=file, column=column, row=row, fix=fix)


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow large strings without copying pandas' own Arrow storage."""
    if not isinstance(values.array, pd.arrays.ArrowStringArray):
        values = values.astype("string[pyarrow]")
    column = values.array.__arrow_array__()
    return column if column.type == pa.large_string() else column.cast(pa.large_string())