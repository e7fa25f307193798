"""Find an extract's table files and read one of them as text columns.

Only this module opens input files, and only for reading. CSV and Parquet go through pyarrow (the
fast path at national scale); a workbook goes through openpyxl in read-only mode.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from iapt_audit.errors import InputError
from iapt_audit.model.tables import TABLES, TableSpec

SUFFIXES = (".csv", ".csv.gz", ".parquet")
_XLSX_SHEETS: dict[tuple, dict[str, list]] = {}  # the last workbook read, by path and version


def find_table_files(path: Path) -> dict[str, Path]:
    """Map table name -> file for a folder, or table name -> workbook for an .xlsx."""
    if not path.exists():
        raise InputError("no such file or folder", file=path, fix="give the extract's folder or .xlsx workbook")
    if path.is_file():
        if path.suffix.lower() != ".xlsx":
            raise InputError("not an extract", file=path,
                             fix="give a folder of IDS*.csv/.csv.gz/.parquet files or one .xlsx workbook")
        sheets = _xlsx_sheet_names(path)
        found = {name: path for name in TABLES if name in sheets}
    else:
        found = {}
        by_lower = {p.name.lower(): p for p in path.iterdir() if p.is_file()}
        for name in TABLES:
            matches = [by_lower[f"{name.lower()}{s}"] for s in SUFFIXES if f"{name.lower()}{s}" in by_lower]
            if len(matches) > 1:
                raise InputError(f"{name} is given twice ({', '.join(m.name for m in matches)})", file=path,
                                 fix="keep one file per table")
            if matches:
                found[name] = matches[0]
    missing = [name for name, spec in TABLES.items() if spec.required and name not in found]
    if missing:
        raise InputError(f"required table {missing[0]} is missing", file=path,
                         fix=f"add {missing[0]}.csv, .csv.gz or .parquet (or a sheet of that name)")
    return found


def read_table_file(source: Path, name: str, wanted: list[str], spec: TableSpec) -> tuple[pd.DataFrame, int]:
    """Read the wanted columns of one table; return the frame and the file row of its first record."""
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        header, rows = _xlsx_rows(source, name)
        frame = pd.DataFrame(rows, columns=header, dtype=object)
        header = _canonical_header(header, spec, source)
        frame.columns = header
        frame = frame[[c for c in wanted if c in header]]
        first = 2
    elif suffix == ".parquet":
        schema = pq.read_schema(source)
        header = _canonical_header(schema.names, spec, source)
        rename = dict(zip(schema.names, header))
        present = [orig for orig, canon in rename.items() if canon in wanted]
        table = pq.read_table(source, columns=present)
        table = table.rename_columns([rename[c] for c in table.column_names])
        frame = _strings_except_typed(table, spec).to_pandas()
        first = 1
    else:
        header = _canonical_header(_csv_header(source), spec, source)
        present = [c for c in wanted if c in header]
        # read every column as text; pyarrow reads by original name, so rename afterwards
        original = _csv_header(source)
        rename = dict(zip(original, header))
        include = [o for o, c in rename.items() if c in present]
        table = pacsv.read_csv(
            source,
            convert_options=pacsv.ConvertOptions(
                include_columns=include, column_types={c: pa.string() for c in include},
                strings_can_be_null=True, null_values=[""]),
            parse_options=pacsv.ParseOptions(newlines_in_values=True))
        table = table.rename_columns([rename[c] for c in table.column_names])
        frame = table.to_pandas()
        first = 2
    return frame, first


def _strings_except_typed(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Keep Parquet's own dates and numbers where the item is a date or number; all else as text."""
    fields = []
    for f in table.schema:
        typed_date = f.name in spec.date_columns and (pa.types.is_date(f.type) or pa.types.is_timestamp(f.type))
        typed_number = f.name in spec.number_columns and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
        fields.append(f if typed_date or typed_number else pa.field(f.name, pa.string()))
    return table.cast(pa.schema(fields))


def _canonical_header(names: list, spec: TableSpec, source: Path) -> list[str]:
    """Strip BOMs and blanks, map other-version names to canonical ones, check required items."""
    header = [spec.aliases.get(str(n).lstrip("\ufeff").strip(), str(n).lstrip("\ufeff").strip())
              for n in names]
    seen = set()
    for column in header:
        if column in seen and column in spec.columns:
            raise InputError(f"data item {column} appears twice in the header", file=source, column=column,
                             row=1, fix="keep one column per data item")
        seen.add(column)
    for column in spec.required_columns:
        if column not in seen:
            raise InputError(f"required data item {column} is missing from {spec.name}", file=source,
                             column=column, row=1, fix=f"add a {column} column (data item name as in the data set)")
    return header


def _csv_header(source: Path) -> list[str]:
    opener = gzip.open if source.name.lower().endswith(".gz") else open
    with opener(source, "rt", encoding="utf-8-sig", newline="") as handle:
        first_line = handle.readline()
    if not first_line.strip():
        raise InputError("the file is empty", file=source, row=1, fix="export the table with its header row")
    return next(csv.reader(io.StringIO(first_line)))


def _xlsx_sheet_names(path: Path) -> set[str]:
    return set(_load_xlsx(path))


def _xlsx_rows(path: Path, name: str):
    rows = _load_xlsx(path)[name]
    if not rows:
        raise InputError(f"sheet {name} is empty", file=path, row=1, fix="add the header row and records")
    header = [h for h in rows[0]]
    return header, [list(r) for r in rows[1:] if any(v is not None for v in r)]


def _load_xlsx(path: Path) -> dict[str, list]:
    """Read every sheet once (workbooks are small extracts; national data comes as CSV/Parquet)."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _XLSX_SHEETS:
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many types for a damaged file
            raise InputError(f"cannot open the workbook ({type(err).__name__})", file=path,
                             fix="re-save it from Excel as .xlsx") from None
        _XLSX_SHEETS.clear()
        _XLSX_SHEETS[key] = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
        book.close()
    return _XLSX_SHEETS[key]
