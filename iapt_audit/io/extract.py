"""Read an IAPT data-set extract into typed pandas tables.

An extract is a folder with one file per table (``IDS101Referral.csv``, ``.csv.gz`` or
``.parquet``) or one ``.xlsx`` workbook with a sheet per table. Column names are the data items'
own names; v2.0 and v2.1 names for the same item are mapped to one (``model.tables``).

Why the typing is done here and only here: codes must stay strings ("01" is not 1), dates are
parsed once, and a value that does not parse must survive to the data-quality stage as a finding
rather than crash the run. So every column is read as text, dates and numbers are converted with
``errors="coerce"``, and whatever failed to convert is kept in ``Extract.unparsed`` with its file,
column, row and raw value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iapt_audit.errors import InputError
from iapt_audit.io.files import find_table_files, read_table_file
from iapt_audit.model.tables import TABLES, TableSpec

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
UNPARSED_COLUMNS = ["table", "column", "row", "value"]


@dataclass
class Extract:
    """The typed tables of one extract, with what could not be typed."""

    source: Path
    tables: dict[str, pd.DataFrame]
    files: dict[str, Path]
    # header rows (first data row is row 2 of a CSV) offset per table, for messages and worklists
    first_row: dict[str, int]
    unparsed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNPARSED_COLUMNS))
    rows_read: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def providers(self) -> list[str]:
        return sorted(self.tables["IDS101Referral"]["OrgIDProv"].dropna().unique().tolist())

    def header_period(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The reporting period the submission's header declares, if it has one."""
        header = self.tables.get("IDS000Header")
        if header is None or "ReportingPeriodStartDate" not in header:
            return None
        start, end = header["ReportingPeriodStartDate"].min(), header["ReportingPeriodEndDate"].max()
        if pd.isna(start) or pd.isna(end):
            return None
        return start, end

    def drop_identifiers(self) -> None:
        """Remove NHS number, date of birth and postcode once no check needs them."""
        for name, spec in TABLES.items():
            if name in self.tables and spec.identifier_columns:
                self.tables[name] = self.tables[name].drop(
                    columns=[c for c in spec.identifier_columns if c in self.tables[name]])


def read_extract(path, *, identifiers: bool = False) -> Extract:
    """Read the extract at ``path`` (folder or .xlsx).

    ``identifiers=True`` keeps NHS number, date of birth and postcode for the checks that need
    them (NHS number check digit); callers drop them with ``Extract.drop_identifiers``.
    """
    path = Path(path)
    files = find_table_files(path)
    tables, first_row, unparsed, rows_read = {}, {}, [], {}
    for name, source in files.items():
        spec = TABLES[name]
        raw, first = read_table_file(source, name, _wanted_columns(spec, identifiers), spec)
        rows_read[name] = len(raw)
        table, bad = _type_columns(raw, spec, source, first)
        tables[name], first_row[name] = table, first
        unparsed.extend(bad)
    _attach_provider(tables, files)
    return Extract(
        source=path, tables=tables, files=files, first_row=first_row,
        unparsed=pd.concat(unparsed, ignore_index=True) if unparsed else
        pd.DataFrame(columns=UNPARSED_COLUMNS),
        rows_read=rows_read)


def _wanted_columns(spec: TableSpec, identifiers: bool) -> list[str]:
    return [c for c in spec.columns if identifiers or c not in spec.identifier_columns]


def _type_columns(raw: pd.DataFrame, spec: TableSpec, source: Path, first: int):
    """Convert date and number columns; return the typed frame and what failed to convert."""
    out = {}
    bad = []
    for column in raw.columns:
        values = raw[column]
        if column in spec.date_columns:
            out[column], failed = _parse_dates(values)
        elif column in spec.number_columns:
            out[column], failed = _parse_numbers(values)
        else:
            out[column], failed = _as_code(values), None
        if failed is not None and failed.any():
            rows = np.flatnonzero(failed.to_numpy())
            bad.append(pd.DataFrame({
                "table": spec.name, "column": column, "row": rows + first,
                "value": values.iloc[rows].astype(str).to_numpy()}))
    return pd.DataFrame(out, index=raw.index), bad


def _as_code(values: pd.Series) -> pd.Series:
    """Codes and identifiers as stripped strings, blanks as missing."""
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.astype("string[pyarrow]")
    stripped = values.str.strip()
    return stripped.mask(stripped == "")


def _parse_dates(values: pd.Series):
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]"), None
    text = _as_code(values)
    parsed = pd.to_datetime(text, format=DATE_FORMATS[0], errors="coerce")
    for fmt in DATE_FORMATS[1:]:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        parsed = parsed.fillna(pd.to_datetime(text.where(todo), format=fmt, errors="coerce"))
    failed = parsed.isna() & text.notna()
    return parsed.astype("datetime64[ns]"), failed


def _parse_numbers(values: pd.Series):
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64"), None
    text = _as_code(values)
    parsed = pd.to_numeric(text, errors="coerce").astype("float64")
    failed = parsed.isna() & text.notna()
    return parsed, failed


def _attach_provider(tables: dict[str, pd.DataFrame], files: dict[str, Path]) -> None:
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
            raise InputError("OrgIDProv is blank", file=files[name], column="OrgIDProv", row=row + 2,
                             fix="fill in the provider's ODS code on every row")
        reason = ("IDS000Header names several providers" if header_orgs
                  else "there is no IDS000Header to take it from")
        raise InputError(f"no OrgIDProv column and {reason}", file=files[name], column="OrgIDProv",
                         fix="add an OrgIDProv column to every table, or supply a one-provider IDS000Header")

