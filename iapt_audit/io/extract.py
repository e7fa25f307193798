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

Decisions about values a clinical system or a spreadsheet mangles:

* codes are kept exactly as submitted (stripped of surrounding blanks): AppType "2" stays "2",
  not "02", because the audit reports what the provider sent and NHS Digital would count it
  invalid too; the data-quality stage flags it against the code list;
* dates are read in any of ``DATE_FORMATS`` (ISO, UK day-first, with or without time, compact,
  month names), and five-digit numbers in a date column are Excel serial days
  (``EXCEL_SERIAL_DAYS``); US month-first dates are *not* guessed and come out unparsed;
* a date outside what the engine can hold (before 1677 or after 2262, e.g. the sentinel
  9999-12-31) is unparsed, not clipped;
* numbers may carry thousands separators ("1,200"); infinities and "NaN" are unparsed;
* what was tolerated rather than taken as submitted (an encoding other than UTF-8, header names
  matched only by ignoring case, Excel serial dates, thousands separators) is listed in
  ``Extract.notices`` so the reports can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from iapt_audit.errors import InputError
from iapt_audit.io.files import TableFile, find_table_files, opened_source, read_table_file
from iapt_audit.model.tables import TABLES, TableSpec

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M",
                "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d-%b-%Y", "%d %b %Y", "%d-%b-%y")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial day 1 is 1900-01-01 (Excel's leap-year bug included)
EXCEL_SERIAL_DAYS = r"\d{5}(\.\d+)?"     # 10000-99999: 1927-05-18 to 2173-10-14
THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
UNPARSED_COLUMNS = ["table", "column", "row", "value"]
# bytes that may begin or end white space: tab to carriage return, the information separators, space,
# and any non-ASCII byte
EDGE_SUSPECT = np.zeros(256, bool)
EDGE_SUSPECT[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # 28-31: separators Python strips
EDGE_SUSPECT[128:] = True
NOTICE_COLUMNS = ["table", "column", "rows", "message"]


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

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def providers(self) -> list[str]:
        return sorted(self.tables["IDS101Referral"]["OrgIDProv"].dropna().unique().tolist())

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


def read_extract(path, *, identifiers: bool = False) -> Extract:
    """Read the extract at ``path`` (folder, .zip or .xlsx).

    ``identifiers=True`` keeps NHS number, date of birth and postcode for the checks that need
    them (NHS number check digit); callers drop them with ``Extract.drop_identifiers``.
    """
    path = Path(path)
    with opened_source(path) as source:
        try:
            extract = _read(source, identifiers)
        except InputError as err:
            if source != path and err.file:
                err.file = err.file.replace(str(source), str(path))
            raise
    if source != path:  # name a zip's tables inside the archive, not in the deleted temporary folder
        extract.source = path
        extract.files = {name: path / file.name for name, file in extract.files.items()}
    return extract


def _read(source: Path, identifiers: bool) -> Extract:
    files = find_table_files(source)
    tables, first_row, rows_read, encodings = {}, {}, {}, {}
    unparsed, notices = [], []
    for name, file in files.items():
        spec = TABLES[name]
        read: TableFile = read_table_file(file, name, _wanted_columns(spec, identifiers), spec)
        rows_read[name] = len(read.frame)
        table, bad, noted = _type_columns(read.frame, spec, read.first_row)
        tables[name], first_row[name] = table, read.first_row
        unparsed.extend(bad)
        notices.extend(noted)
        if read.encoding:
            encodings[name] = read.encoding
            if not read.encoding.startswith("utf-8"):
                notices.append(_notice(name, None, rows_read[name], f"read as {read.encoding}, not UTF-8"))
        for header_name in read.case_mapped:
            notices.append(_notice(name, header_name, 0, f"header {header_name!r} matched by ignoring letter case"))
    _attach_provider(tables, files, first_row)
    return Extract(source=source, tables=tables, files=files, first_row=first_row,
                   unparsed=_frame(unparsed, UNPARSED_COLUMNS), rows_read=rows_read, encodings=encodings,
                   notices=_frame(notices, NOTICE_COLUMNS))


def _frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _notice(table: str, column: str | None, rows: int, message: str) -> pd.DataFrame:
    return pd.DataFrame({"table": [table], "column": [column], "rows": [rows], "message": [message]})


def _wanted_columns(spec: TableSpec, identifiers: bool) -> list[str]:
    return [c for c in spec.columns if identifiers or c not in spec.identifier_columns]


def _type_columns(raw: pd.DataFrame, spec: TableSpec, first: int):
    """Convert date and number columns; return the typed frame, what failed, and what was tolerated."""
    out, bad, noted = {}, [], []
    for column in raw.columns:
        values = raw[column]
        if column in spec.date_columns:
            out[column], failed, tolerated = _parse_dates(values)
            message = "dates given as Excel serial day numbers"
        elif column in spec.number_columns:
            out[column], failed, tolerated = _parse_numbers(values)
            message = "numbers written with thousands separators"
        else:
            out[column], failed, tolerated = _as_code(values), None, 0
        if failed is not None and failed.any():
            rows = np.flatnonzero(failed.to_numpy())
            bad.append(pd.DataFrame({
                "table": spec.name, "column": column, "row": rows + first,
                "value": values.iloc[rows].astype(str).to_numpy()}))
        if tolerated:
            noted.append(_notice(spec.name, column, tolerated, message))
    return pd.DataFrame(out, index=raw.index), bad, noted


def _as_code(values: pd.Series) -> pd.Series:
    """Codes and identifiers as stripped strings, blanks as missing."""
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.astype("string[pyarrow]")
    if _may_have_edge_blanks(values.array.__arrow_array__()):
        values = values.str.strip()
    return values.mask(values == "")


def _may_have_edge_blanks(column: pa.ChunkedArray) -> bool:
    """Could any value start or end with white space?

    Why: stripping rewrites every string (1.5 s for 22 million score rows) and clean extracts
    have nothing to strip. Only each value's first and last byte is read; a non-ASCII byte counts
    as possible white space (a no-break space), so a "no" is certain and a "yes" merely strips.
    """
    for chunk in column.chunks:
        if chunk.type != pa.large_string():
            chunk = chunk.cast(pa.large_string())
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            continue
        ends = np.frombuffer(offsets, np.int64)[chunk.offset: chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, np.uint8)
        filled = ends[1:] > ends[:-1]
        if (EDGE_SUSPECT[text[ends[:-1][filled]]] | EDGE_SUSPECT[text[ends[1:][filled] - 1]]).any():
            return True
    return False


def _parse_dates(values: pd.Series):
    """Dates in any accepted layout -> datetime64[ns]; return (dates, failed, Excel serials read)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _as_ns(values)
    text = _as_code(values)
    present = text.notna()
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in DATE_FORMATS:
        todo = present & parsed.isna()
        if not todo.any():
            break
        candidates = text.where(todo)
        if fmt == "%Y%m%d":  # only eight digits: a shorter run of digits is ambiguous
            candidates = candidates.where(candidates.str.fullmatch(r"\d{8}").fillna(False))
        parsed = parsed.fillna(pd.to_datetime(candidates, format=fmt, errors="coerce").astype("datetime64[us]"))
    serial = present & parsed.isna() & text.str.fullmatch(EXCEL_SERIAL_DAYS).fillna(False)
    if serial.any():
        days = pd.to_numeric(text.where(serial), errors="coerce").astype("float64")
        parsed = parsed.fillna((EXCEL_EPOCH + pd.to_timedelta(np.floor(days), unit="D")).astype("datetime64[us]"))
    dates, failed, _ = _as_ns(parsed)
    return dates, failed | (present & dates.isna()), int(serial.sum())


def _as_ns(values: pd.Series):
    """datetime64[ns] without time zone; values outside its range (years 1677-2262) fail."""
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    if values.isna().all() or (values.min() >= pd.Timestamp.min and values.max() <= pd.Timestamp.max):
        return values.astype("datetime64[ns]"), pd.Series(False, index=values.index), 0  # the usual case
    in_range = (values >= pd.Timestamp.min) & (values <= pd.Timestamp.max)
    dates = values.where(in_range).astype("datetime64[ns]")
    return dates, values.notna() & ~in_range, 0


def _parse_numbers(values: pd.Series):
    """Numbers -> float64; return (numbers, failed, values that carried thousands separators)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        finite = np.isfinite(numbers)
        return numbers.where(finite), numbers.notna() & ~finite, 0
    text = _as_code(values)
    grouped = text.str.fullmatch(THOUSANDS).fillna(False)
    plain = text.where(~grouped, text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    return numbers, numbers.isna() & text.notna(), int(grouped.sum())


def _attach_provider(tables: dict[str, pd.DataFrame], files: dict[str, Path], first_row: dict[str, int]) -> None:
    """Give every table an OrgIDProv: its own column, else the header's single provider."""
    header = tables.get("IDS000Header")
    header_orgs = [] if header is None else header["OrgIDProv"].dropna().unique().tolist()
    for name, table in tables.items():
        if "OrgIDProv" in table and table["OrgIDProv"].notna().all():
            continue
        if len(header_orgs) == 1:
            fill = pd.Series(header_orgs[0], index=table.index, dtype="string[pyarrow]")
            table["OrgIDProv"] = table["OrgIDProv"].fillna(fill) if "OrgIDProv" in table else fill
            continue
        if "OrgIDProv" in table:
            row = int(np.flatnonzero(table["OrgIDProv"].isna().to_numpy())[0])
            raise InputError("OrgIDProv is blank", file=files[name], column="OrgIDProv", row=row + first_row[name],
                             fix="fill in the provider's ODS code on every row, or supply a one-provider IDS000Header")
        reason = ("IDS000Header names several providers" if header_orgs
                  else "there is no IDS000Header to take it from")
        raise InputError(f"no OrgIDProv column and {reason}", file=files[name], column="OrgIDProv",
                         fix="add an OrgIDProv column to every table, or supply a one-provider IDS000Header")
