"""Read an IAPT data-set extract into typed pandas tables.

An extract is a folder with one file per table (``IDS101Referral.csv``, ``.csv.gz`` or
``.parquet``), a .zip of such files, or one ``.xlsx`` workbook with a sheet per table. Column
names are the data items' own names; v2.0 and v2.1 names for the same item are mapped to one
(``model.tables``). File-level problems (encodings, delimiters, ragged rows, archives) are settled
in ``io.csvfile``, ``io.workbook`` and ``io.files``; docs/bad-input.md lists what each gets.

Why the typing is done here and only here: codes must stay strings ("01" is not 1), dates are
parsed once, and a value that does not parse must survive to the data-quality stage as a finding
rather than crash the run. So every column is read as text, dates and numbers are converted with
``errors="coerce"``, and whatever failed to convert is kept in ``Extract.unparsed`` with its file,
column, row and raw value. The record itself always stays in its table: counts in = counts out.

Values are typed by the one reader policy the published-file reader applies too (``io.values``:
blanks, NULL/NA, whole-number floats, booleans, date layouts and time zones, thousands
separators). Codes are kept exactly as submitted otherwise: AppType "2" stays "2", not "02",
because the audit reports what the provider sent and NHS Digital would count it invalid too; the
data-quality stage flags it against the code list. What was tolerated rather than taken as
submitted (an encoding other than UTF-8, header names matched only by ignoring case, and the
policy's own notices) is listed in ``Extract.notices`` so the reports can say so.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from iapt_audit.errors import InputError
from iapt_audit.io import submissions
from iapt_audit.io import values as values_policy
from iapt_audit.io.files import TableFile, find_table_files, opened_source, read_table_file, table_file_name
from iapt_audit.model.tables import SUBMISSION_ID, TABLES, TableSpec

UNPARSED_COLUMNS = ["table", "column", "row", "position", "value"]  # row: in its file; position: in its table
NOTICE_COLUMNS = ["table", "column", "rows", "message"]
HEADER = submissions.HEADER


@dataclass
class Extract:
    """The typed tables of one extract, with what could not be typed and what was tolerated."""

    source: Path
    tables: dict[str, pd.DataFrame]
    files: dict[str, Path]
    # file row of each table's first record (row 2 of a CSV or sheet, row 1 of Parquet), for messages
    first_row: dict[str, int]
    unparsed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNPARSED_COLUMNS))
    rows_read: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)  # CSV tables: the text encoding used
    notices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTICE_COLUMNS))
    # one row per submission (io.submissions.SUBMISSION_COLUMNS); every table's UniqueSubmissionID names one
    submissions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=submissions.SUBMISSION_COLUMNS))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def providers(self) -> list[str]:
        """Every provider with referrals or a submission: one that submitted nothing but a header
        is audited too (with nothing counted), not left out."""
        referring = self.tables["IDS101Referral"]["OrgIDProv"].dropna().unique().tolist()
        submitting = self.submissions["OrgIDProv"].dropna().astype(str).unique().tolist() \
            if "OrgIDProv" in self.submissions else []
        return sorted(set(referring) | set(submitting))

    def header_period(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The reporting period the submission's header declares, if it has one."""
        header = self.tables.get("IDS000Header")
        if header is None or "ReportingPeriodStartDate" not in header or "ReportingPeriodEndDate" not in header:
            return None
        start, end = header["ReportingPeriodStartDate"].min(), header["ReportingPeriodEndDate"].max()
        if pd.isna(start) or pd.isna(end) or end < start:
            return None
        return start, end

    def drop_identifiers(self) -> None:
        """Remove NHS number, date of birth and postcode once no check needs them."""
        for name, spec in TABLES.items():
            if name in self.tables and spec.identifier_columns:
                self.tables[name] = self.tables[name].drop(
                    columns=[c for c in spec.identifier_columns if c in self.tables[name]])
        identifiers = {c for spec in TABLES.values() for c in spec.identifier_columns}
        self.unparsed = self.unparsed[~self.unparsed["column"].isin(identifiers)].reset_index(drop=True)


def read_extract(path, *, identifiers: bool = False, take=None) -> Extract:
    """Read the extract at ``path``: a folder, .zip or .xlsx (a snapshot or a warehouse extract of
    many submissions), or a folder of submissions (``io.submissions``).

    ``identifiers=True`` keeps NHS number, date of birth and postcode for the checks that need
    them (NHS number check digit); callers drop them with ``Extract.drop_identifiers``.
    Every table comes back with a ``UniqueSubmissionID`` column naming each record's submission
    (missing where it cannot be told), and ``Extract.submissions`` lists the submissions.

    ``take(extract, name, table)``: when given, each record table is handed to it as soon as it is
    typed and tagged, in the data set's table order after the header (``extract.submissions`` is
    then complete), and is not kept in ``extract.tables``. The selection stage takes them this way
    so that a year of monthly submissions is never held whole as read: each table is reduced to its
    latest records before the next is read (the audit's memory peak, issue 13).
    """
    path = Path(path)
    sources = submissions.submission_sources(path, table_file_name)
    if sources is not None:
        return _read_submissions(path, sources, identifiers, take)
    with _opened_tables(path, identifiers) as (files, read):
        extract = Extract(source=path, tables={}, files=files, first_row={})
        if path.is_dir():
            extract.notices = folder_notices(path, files.values())
        if HEADER in files:
            _add_table(extract, HEADER, read(HEADER))
        extract.submissions = submissions.header_submissions(
            extract.tables.get(HEADER), files.get(HEADER), extract.first_row.get(HEADER, 2))
        submissions.check_submissions(extract.submissions)
        _name_header_rows(extract)
        for name in [name for name in TABLES if name in files and name != HEADER]:
            _add_table(extract, name, read(name), take)
    return extract


@contextmanager
def _opened_tables(path: Path, identifiers: bool):
    """One extract's (folder, .zip or .xlsx) table files, named as the user gave them, and a
    function reading one table's wanted columns untyped (read one at a time, when asked)."""
    with opened_source(path) as source:
        def named(err: InputError) -> InputError:
            # a zip's tables are named inside the archive, not in the deleted temporary folder
            if source != path and err.file:
                err.file = err.file.replace(str(source), str(path))
            return err

        try:
            found = find_table_files(source)
        except InputError as err:
            raise named(err) from None

        def read(name: str) -> TableFile:
            try:
                return read_table_file(found[name], name, _wanted_columns(TABLES[name], identifiers), TABLES[name])
            except InputError as err:
                raise named(err) from None

        yield ({name: path / file.name for name, file in found.items()} if source != path else found), read


def _read_submissions(path: Path, sources: list[Path], identifiers: bool, take=None) -> Extract:
    """A folder of submissions as one extract: each table the submissions' records one after another,
    typed once (not once per submission: a year of a provider is a dozen files per table).

    Each submission's header must be one row (a header without a UniqueSubmissionID is named by its
    folder or file); a record table without OrgIDProv takes its header's; every record is its
    folder's submission (``io.submissions.tag_records``, errors naming the submission's own file).
    """
    parts, headers, seen = [], [], {}
    for source in sources:
        with _opened_tables(source, identifiers) as (files, read):
            raw = {name: read(name) for name in files}
        header = None
        if HEADER in raw:
            header = Extract(source=source, tables={}, files={HEADER: files[HEADER]}, first_row={})
            _add_table(header, HEADER, replace(raw[HEADER]))  # the text stays, combined below
        table = None if header is None else header.tables[HEADER]
        if table is None or len(table) != 1:
            found = "no IDS000Header" if table is None else f"an IDS000Header of {len(table)} rows"
            raise InputError(f"the submission has {found}", file=files.get(HEADER, source),
                             fix="give every submission of the folder its own one-row IDS000Header")
        if SUBMISSION_ID not in table or table[SUBMISSION_ID].isna().all():
            table[SUBMISSION_ID] = pd.Series(source.name, index=table.index, dtype="string[pyarrow]")
        described = submissions.header_submissions(table, files[HEADER], header.first_row[HEADER])
        identifier = str(described[SUBMISSION_ID].iloc[0])
        if identifier in seen:
            raise InputError(f"UniqueSubmissionID {identifier} is also the identifier of {seen[identifier]}",
                             file=files[HEADER], column=SUBMISSION_ID, row=header.first_row[HEADER],
                             fix="give each submission its own UniqueSubmissionID")
        seen[identifier] = str(source)
        raw[HEADER].frame[SUBMISSION_ID] = identifier
        _fill_provider({n: r.frame for n, r in raw.items() if n != HEADER}, table["OrgIDProv"].iloc[0])
        headers.append(described)
        parts.append((files, raw))
    names = [name for name in TABLES if any(name in raw for _, raw in parts)]
    extract = Extract(source=path, tables={}, files=dict.fromkeys(names, path), first_row={},
                      submissions=pd.concat(headers, ignore_index=True))
    submissions.check_submissions(extract.submissions)
    extract.notices = folder_notices(path, sources)
    for name in names:  # each table combined, typed and tagged, its submissions' parts freed as it goes
        reads = [(number, files[name], raw.pop(name)) for number, (files, raw) in enumerate(parts) if name in raw]
        columns = list(dict.fromkeys(column for _, _, read in reads for column in read.frame.columns))
        frame = pd.concat([read.frame.reindex(columns=columns) for _, _, read in reads], ignore_index=True)
        combined = TableFile(frame, first_row=2, encoding=next((r.encoding for *_, r in reads if r.encoding), None),
                             case_mapped=sorted({h for *_, r in reads for h in r.case_mapped}))
        owners = np.repeat([number for number, *_ in reads], [len(read.frame) for *_, read in reads])
        origins = [(file, read.first_row, len(read.frame)) for _, file, read in reads]
        del reads, frame
        _add_table(extract, name, combined, take, owners=owners, locate=functools.partial(_locate, origins))
    return extract


def folder_notices(folder: Path, used) -> pd.DataFrame:
    """A notice (NOTICE_COLUMNS) naming the entries of ``folder`` that are not read (``used``: the
    paths read), so that nothing is passed over without a word; empty when every entry is read."""
    names = submissions.ignored_entries(folder, used)
    if not names:
        return pd.DataFrame(columns=NOTICE_COLUMNS)
    return _notice("(folder)", None, len(names), "not read, not a table file or submission of the data set: "
                   + ", ".join(names))


def _locate(origins: list[tuple[Path, int, int]], name: str, index: int) -> tuple[Path, int]:
    """The file and row of a combined table's record ``index`` (``origins``: each part's file,
    first row and length, in order)."""
    for file, first, size in origins:
        if index < size:
            return file, first + index
        index -= size
    raise IndexError(index)


def _fill_provider(records: dict[str, pd.DataFrame], provider) -> None:
    """A submission's record tables without an OrgIDProv (or with blanks) take its header's, in place."""
    for name, frame in records.items():
        if "OrgIDProv" not in frame:
            frame["OrgIDProv"] = pd.Series(provider, index=frame.index, dtype="string[pyarrow]")
        elif frame["OrgIDProv"].isna().any():
            frame["OrgIDProv"] = frame["OrgIDProv"].astype("string[pyarrow]").fillna(provider)


def _name_header_rows(extract: Extract) -> None:
    """An older snapshot's header rows (no UniqueSubmissionID) take the identifiers
    ``header_submissions`` gave them."""
    header = extract.tables.get(HEADER)
    if header is not None and (SUBMISSION_ID not in header or header[SUBMISSION_ID].isna().any()):
        first = extract.first_row[HEADER]
        rows = [f"{extract.files[HEADER]} row {r}" for r in range(first, first + len(header))]
        named = extract.submissions.set_index("source")[SUBMISSION_ID]
        header[SUBMISSION_ID] = pd.Series(named.reindex(rows).to_numpy(), index=header.index, dtype="string[pyarrow]")


def _add_table(extract: Extract, name: str, read: TableFile, take=None, owners=None, locate=None) -> None:
    """Type one table as read (``_type_columns``), give it its provider and (a record table) its
    submission (``io.submissions.tag_records``), record what failed to parse and what was
    tolerated in ``extract``, then keep it in ``extract.tables`` or hand it to ``take``."""
    spec = TABLES[name]
    extract.rows_read[name] = len(read.frame)
    extract.first_row[name] = read.first_row
    table, bad, noted = _type_columns(read.frame, spec, read.first_row)
    del read.frame  # the text as read: freed before the next table is read
    unparsed = [part.assign(position=part["row"] - read.first_row) for part in bad]
    if read.encoding:
        extract.encodings[name] = read.encoding
        if not read.encoding.startswith("utf-8"):
            noted.append(_notice(name, None, len(table), f"read as {read.encoding}, not UTF-8"))
    noted.extend(_notice(name, header_name, 0, f"header {header_name!r} matched by ignoring letter case")
                 for header_name in read.case_mapped)
    extract.unparsed = _appended(extract.unparsed, unparsed, UNPARSED_COLUMNS)
    extract.notices = _appended(extract.notices, noted, NOTICE_COLUMNS)
    _attach_provider(extract, name, table)
    if name != HEADER:
        submissions.tag_records({name: table}, extract.submissions, extract.files, extract.first_row,
                                None if owners is None else {name: owners}, locate)
    if take is None or name == HEADER:
        extract.tables[name] = table
    else:
        take(extract, name, table)


def _appended(frame: pd.DataFrame, parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``parts`` below it (an empty ``frame`` is left out, so it sets no types)."""
    parts = ([frame] if len(frame) else []) + parts
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _notice(table: str, column: str | None, rows: int, message: str) -> pd.DataFrame:
    return pd.DataFrame({"table": [table], "column": [column], "rows": [rows], "message": [message]})


def _wanted_columns(spec: TableSpec, identifiers: bool) -> list[str]:
    return [c for c in spec.columns if identifiers or c not in spec.identifier_columns]


def _type_columns(raw: pd.DataFrame, spec: TableSpec, first: int):
    """Type every column by the one reader policy (``io.values``); return the typed frame, what
    failed (table, column, row, raw value) and what was tolerated (notices)."""
    out, bad, noted = {}, [], []
    for column in raw.columns:
        values = raw[column]
        if column in spec.date_columns:
            typed = values_policy.as_dates(values)
        elif column in spec.number_columns:
            typed = values_policy.as_numbers(values)
        else:
            typed = values_policy.as_text(values, column)
        out[column] = typed.values
        if typed.failed is not None and typed.failed.any():
            rows = np.flatnonzero(typed.failed.to_numpy())
            bad.append(pd.DataFrame({
                "table": spec.name, "column": column, "row": rows + first,
                "value": values.iloc[rows].astype(str).to_numpy()}))
        noted.extend(_notice(spec.name, column, count, message) for message, count in typed.tolerated.items())
    return pd.DataFrame(out, index=raw.index), bad, noted


def _attach_provider(extract: Extract, name: str, table: pd.DataFrame) -> None:
    """Give ``table`` an OrgIDProv, in place: its own column, else the header's single provider."""
    header = table if name == HEADER else extract.tables.get(HEADER)
    if "OrgIDProv" in table and table["OrgIDProv"].notna().all():
        return
    header_orgs = [] if header is None else header["OrgIDProv"].dropna().unique().tolist()
    if len(header_orgs) == 1:
        fill = pd.Series(header_orgs[0], index=table.index, dtype="string[pyarrow]")
        table["OrgIDProv"] = table["OrgIDProv"].fillna(fill) if "OrgIDProv" in table else fill
        return
    if "OrgIDProv" in table:
        row = int(np.flatnonzero(table["OrgIDProv"].isna().to_numpy())[0])
        raise InputError("OrgIDProv is blank", file=extract.files[name], column="OrgIDProv",
                         row=row + extract.first_row[name],
                         fix="fill in the provider's ODS code on every row, or supply a one-provider IDS000Header")
    reason = "IDS000Header names several providers" if header_orgs else "there is no IDS000Header to take it from"
    raise InputError(f"no OrgIDProv column and {reason}", file=extract.files[name], column="OrgIDProv",
                     fix="add an OrgIDProv column to every table, or supply a one-provider IDS000Header")
