"""Find an extract's table files and read one of them as text columns with canonical names.

Only this package opens input files, and only for reading. An extract is a folder of
``IDS*.csv`` / ``.csv.gz`` / ``.parquet`` files, a .zip of such files, or one .xlsx workbook.
CSV and Parquet go through pyarrow (the fast path at national scale); a workbook goes through
openpyxl in read-only mode. Archives are size-checked before anything is unpacked.

Header names are matched the forgiving way real exports need — surrounding blanks and a
byte-order mark stripped, letter case ignored, v2.0 names mapped to v2.1 — and the unforgiving
way the audit needs: a data item given twice, or a name that looks like a misspelt data item
while the item itself is absent, stops the run with the nearest data item name in the fix.
Silently ignoring ``ServDischDat`` would make every referral look open.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from iapt_audit.errors import InputError
from iapt_audit.io import archives, csvfile, workbook
from iapt_audit.model.tables import TABLES, TableSpec

SUFFIXES = (".csv", ".csv.gz", ".parquet")
ZIP_FOLDER_PREFIX = "iapt-audit-zip-"  # + pid: a folder whose process is gone is a leftover
MISSPELT_CUTOFF = 0.85   # difflib ratio above which an unknown header is taken for a misspelt data item
SUGGEST_CUTOFF = 0.6     # weaker matches are still offered as a suggestion when a required item is missing


@dataclass
class TableFile:
    """One table's text columns as read, with where its first record sits and how it was decoded."""

    frame: pd.DataFrame
    first_row: int          # file row of the first record (a CSV/sheet header is row 1)
    encoding: str | None    # the text encoding used for a CSV; None for Parquet and workbooks
    case_mapped: list[str]  # header names matched to a data item only by ignoring letter case


@contextmanager
def opened_source(path: Path):
    """Yield a folder or workbook to read; a .zip's table files are read where no copy can outlive us.

    A .zip is checked first (``archives.check_zip``: damage, passwords, unreadable methods, and
    every member's and the total unpacked size and ratio). Each table member is then streamed
    into an unnamed temporary file (``O_TMPFILE``: it has no name on disk, and the kernel frees it
    when the process ends, however it ends, a kill included). The folder yielded holds only
    symbolic links to those files (``/proc/self/fd/N``), under the tables' own names, so a kill
    leaves at most a folder of dangling links, which the next run removes (Linux only).
    """
    path = Path(path)
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        yield path
        return
    _remove_leftover_folders()
    infos = {info.filename: info for info in archives.check_zip(path)}  # every member, unpacked or not
    with zipfile.ZipFile(path) as archive:
        wanted = _zip_members(archive, path)
    folder = Path(tempfile.mkdtemp(prefix=f"{ZIP_FOLDER_PREFIX}{os.getpid()}-"))
    with ExitStack() as held:
        held.callback(shutil.rmtree, folder, ignore_errors=True)
        with zipfile.ZipFile(path) as archive:
            for member, name in wanted.items():
                unpacked = held.enter_context(tempfile.TemporaryFile(prefix="iapt-audit-"))
                archives.copy_member(archive, infos[member], unpacked, f"{path}:{member}")
                unpacked.flush()
                # linked under our own name: a member's path ("../../x") is never used as a path
                os.symlink(f"/proc/{os.getpid()}/fd/{unpacked.fileno()}", folder / name)
        yield folder


def _remove_leftover_folders() -> None:
    """Remove the link folders of runs that were killed (their process no longer exists)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{ZIP_FOLDER_PREFIX}*-*"):
        pid = folder.name[len(ZIP_FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _zip_members(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    """Archive member -> file name for every member that is a table file (at any folder depth)."""
    out = {}
    for info in archive.infolist():
        base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
        known = table_file_name(base)
        if not info.is_dir() and known:
            if known in out.values():
                first = next(member for member, name in out.items() if name == known)
                several = first.replace("\\", "/").rsplit("/", 1)[0] != info.filename.replace("\\", "/").rsplit("/", 1)[0]
                raise InputError(f"{known} is in the archive twice ({first}, {info.filename})", file=path,
                                 fix="unzip it and give the folder: a folder of submissions is read as one, "
                                     "a zip of several extracts is not" if several
                                 else "keep one file per table in the archive")
            out[info.filename] = known
        elif not info.is_dir():
            refuse_near_miss(base, path)
    return out


def refuse_near_miss(name: str, where: Path) -> None:
    """A file named like a table of the data set (``IDS`` and three digits) that is not one of its
    names (``IDS101Referral_old.csv``, ``IDS205 InternetTherLog.csv``) is refused: passed over, it
    would change the figures without a word."""
    if re.match(r"ids\d{3}", name.strip(), re.IGNORECASE):
        raise InputError(f"{name} looks like a table of the data set but is not named as one", file=where,
                         fix="name it as its table (IDS101Referral.csv, .csv.gz or .parquet, or IDS101_Referral.csv), "
                             "or move it out of the extract")


def table_of(name: str) -> str | None:
    """The table a file or sheet name stands for, in any letter case and with NHS Digital's
    underscore after the table number (``IDS101_Referral``), or None."""
    return _TABLES_BY_FOLDED.get(name.strip().lower().replace("_", ""))


def table_file_name(file_name: str) -> str | None:
    """The canonical file name (``IDS101Referral.csv``) of a table file's name, or None when the
    name is not a table file (``ids101_referral.CSV`` -> ``IDS101Referral.csv``)."""
    lower = file_name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            table = table_of(file_name[:-len(suffix)])
            return f"{table}{suffix}" if table else None
    return None


_TABLES_BY_FOLDED = {name.lower(): name for name in TABLES}


def find_table_files(path: Path) -> dict[str, Path]:
    """Map table name -> file for a folder, or table name -> workbook for an .xlsx."""
    if not path.exists():
        raise InputError("no such file or folder", file=path, fix="give the extract's folder, .zip or .xlsx workbook")
    if path.is_file():
        if path.suffix.lower() != ".xlsx":
            raise InputError("not an extract", file=path,
                             fix="give a folder (or .zip) of IDS*.csv/.csv.gz/.parquet files or one .xlsx workbook")
        found = {}
        for sheet in workbook.sheet_names(path):
            name = table_of(sheet)
            if name in found:
                raise InputError(f"{name} is given twice (two sheets)", file=path, column=sheet,
                                 fix="keep one sheet per table")
            if name:
                found[name] = path
    else:
        given: dict[str, list[Path]] = {}
        for file in sorted(p for p in path.iterdir() if p.is_file()):
            canonical = table_file_name(file.name)
            if canonical:
                given.setdefault(canonical.split(".", 1)[0], []).append(file)
            else:
                refuse_near_miss(file.name, file)
        for name, matches in given.items():
            if len(matches) > 1:
                raise InputError(f"{name} is given twice ({', '.join(m.name for m in matches)})", file=path,
                                 fix="keep one file per table")
        found = {name: matches[0] for name, matches in given.items()}
    missing = [name for name, spec in TABLES.items() if spec.required and name not in found]
    if missing:
        nested = path.is_dir() and any(p.is_dir() or p.suffix.lower() == ".zip" for p in path.iterdir())
        raise InputError(f"required table {missing[0]} is missing", file=path,
                         fix=f"add {missing[0]}.csv, .csv.gz or .parquet (or a sheet of that name)" + (
                             "; for a folder of submissions (a sub-folder, .zip or .xlsx each), keep no table "
                             "files in the folder itself" if nested else ""))
    return found


def read_table_file(source: Path, name: str, wanted: list[str], spec: TableSpec) -> TableFile:
    """Read the wanted columns of one table, renamed to their canonical data item names."""
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        return _read_sheet(source, name, wanted, spec)
    if suffix == ".parquet":
        return _read_parquet(source, wanted, spec)
    return _read_csv(source, wanted, spec)


def _read_sheet(source: Path, name: str, wanted: list[str], spec: TableSpec) -> TableFile:
    sheet = next(sheet for sheet in sorted(workbook.sheet_names(source)) if table_of(sheet) == name)
    original, rows = workbook.sheet_rows(source, sheet, spec.required_columns)
    header, case_mapped = canonical_header(original, spec, source)
    frame = pd.DataFrame(rows, dtype=object).reindex(columns=range(len(header)))
    keep = [i for i, c in enumerate(header) if c in wanted]
    frame = pd.DataFrame({header[i]: frame[i].map(workbook.whole_number, na_action="ignore") for i in keep},
                         index=frame.index)
    return TableFile(frame, first_row=2, encoding=None, case_mapped=case_mapped)


def _read_parquet(source: Path, wanted: list[str], spec: TableSpec) -> TableFile:
    try:
        schema = pq.read_schema(source)
        header, case_mapped = canonical_header(schema.names, spec, source)
        present = [orig for orig, canon in zip(schema.names, header) if canon in wanted]
        table = pq.read_table(source, columns=present)
    except (pa.ArrowException, OSError) as err:
        message = "the file is empty" if source.stat().st_size == 0 else \
            f"cannot read the Parquet file ({type(err).__name__})"
        raise InputError(message, file=source, fix="re-export the table as Parquet (or CSV)") from None
    rename = dict(zip(schema.names, header))
    table = table.rename_columns([rename[c] for c in table.column_names])
    # dates as datetime64, not one Python date object per value (20 s of 35 s at national scale)
    frame = _strings_except_typed(table, spec).to_pandas(date_as_object=False)
    return TableFile(frame, first_row=1, encoding=None, case_mapped=case_mapped)


def _read_csv(source: Path, wanted: list[str], spec: TableSpec) -> TableFile:
    original, encoding = csvfile.csv_header(source)
    header, case_mapped = canonical_header(original, spec, source)
    rename = {o: c for o, c in zip(original, header) if c in wanted}
    table, encoding = csvfile.read_csv_columns(source, list(rename), encoding)
    table = table.rename_columns([rename[c] for c in table.column_names])
    return TableFile(table.to_pandas(), first_row=2, encoding=encoding, case_mapped=case_mapped)


def _strings_except_typed(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Keep Parquet's own dates and numbers where the item is a date or number; all else as text.

    A code written as a float (``2.0``, what pandas makes of an integer column with gaps) is
    cast through int64 first, so it reads "2" and not "2.0".
    """
    columns = []
    for f, column in zip(table.schema, table.columns):
        typed_date = f.name in spec.date_columns and (pa.types.is_date(f.type) or pa.types.is_timestamp(f.type))
        typed_number = f.name in spec.number_columns and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
        if not (typed_date or typed_number):
            if pa.types.is_floating(f.type) and _all_whole(column):
                column = column.cast(pa.int64())
            column = column.cast(pa.large_string())  # pandas' own string storage: no second cast
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _all_whole(column: pa.ChunkedArray) -> bool:
    """Every non-null value is a whole number that int64 holds exactly."""
    valid = pc.drop_null(column)
    whole = pc.and_(pc.equal(pc.floor(valid), valid), pc.less(pc.abs(valid), 2.0 ** 53))
    return len(valid) == 0 or bool(pc.all(whole).as_py())


def canonical_header(names: list, spec: TableSpec, source: Path) -> tuple[list[str], list[str]]:
    """Canonical data item names for a header; also the names matched only by ignoring case.

    Errors: a data item given twice; a required item missing (with the nearest header name as a
    suggestion); an unknown name that is a near-miss for an absent data item.
    """
    known = {c.lower(): c for c in spec.columns} | {a.lower(): c for a, c in spec.aliases.items()}
    header, case_mapped = [], []
    for raw in names:
        text = str(raw).lstrip("\ufeff").strip()
        canon = spec.aliases.get(text, text)
        if canon not in spec.columns and text.lower() in known:
            canon = known[text.lower()]
            case_mapped.append(text)
        header.append(canon)
    _use_fallbacks(header, spec)
    seen = set()
    for column in header:
        if column in seen and column in spec.columns:
            raise InputError(f"data item {column} appears twice in the header", file=source, column=column,
                             row=1, fix="keep one column per data item")
        seen.add(column)
    unknown = [h for h in header if h not in spec.columns and h]
    for column in spec.required_columns:
        if column not in seen:
            near = _nearest(column, unknown, SUGGEST_CUTOFF)
            fix = (f"rename the column {near!r} to {column}" if near
                   else f"add a {column} column (data item name as in the data set)")
            raise InputError(f"required data item {column} is missing from {spec.name}", file=source,
                             column=column, fix=fix)
    for name in unknown:
        item = _nearest(name, [c for c in spec.columns if c not in seen], MISSPELT_CUTOFF)
        if item:
            raise InputError(f"the header has {name!r}, which looks like a misspelling of {item}", file=source,
                             column=name, row=1, fix=f"rename the column to {item}, or drop it if it is another item")
    return header, case_mapped


def _use_fallbacks(header: list[str], spec: TableSpec) -> None:
    """Name NHS Digital's identifier (``Unique_ServiceRequestID``, ...) as the table's own where the
    table does not carry its own (``model.tables.IDENTIFIER_FALLBACKS``), in place."""
    lower = [h.lower() for h in header]
    for item, alternatives in spec.fallbacks.items():
        if item in header:
            continue
        for alternative in alternatives:
            if alternative.lower() in lower:
                header[lower.index(alternative.lower())] = item
                break


def _nearest(name: str, candidates: list[str], cutoff: float) -> str | None:
    """The candidate closest to ``name`` ignoring case, if any is at least ``cutoff`` similar."""
    by_lower = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[match[0]] if match else None
