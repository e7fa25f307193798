"""Read an extract given as one .xlsx workbook, with the archive checked before it is unpacked.

An .xlsx file is a zip archive, so a hostile or damaged one can claim gigabytes of sheet XML
from a few kilobytes (a "zip bomb"). The archive's own directory states every member's unpacked
size; every part and the total are checked (``io.archives``) before openpyxl reads a byte.

Spreadsheets edited by hand bring their own surprises, each settled here once:

* a **hidden sheet** named like a table is refused: it is often a stale copy, and reading it
  silently would audit data the user cannot see;
* **merged cells** read as a value in the first cell and blanks in the rest, so the blanks
  become missing-value findings rather than invented values;
* a **title row** above the header is recognised and reported with the row the header is on;
* whole-number cells stored as floats (``2.0``) are read as ``2``, so a code or an identifier
  does not gain a ``.0``; leading zeros Excel has already removed are *not* restored (the
  data-quality stage reports the code as submitted);
* blank rows after the last record are formatting, not records; blank rows between records are
  kept, so every record keeps its sheet row number.
"""

from __future__ import annotations

from pathlib import Path

from iapt_audit.errors import InputError
from iapt_audit.io import archives

HEADER_SEARCH_ROWS = 10
_CACHE: dict[tuple, dict[str, list[tuple]]] = {}  # the last workbook read, by path, mtime and size


def check_archive(path: Path) -> None:
    """Refuse a workbook that is not a zip, is damaged, or would unpack beyond the workbook limits
    (``archives.WORKBOOK_MAX_UNPACKED_BYTES`` of XML, ``archives.MAX_RATIO`` per part and in total)."""
    archives.check_zip(path, "workbook", archives.WORKBOOK_MAX_UNPACKED_BYTES)


def sheet_names(path: Path) -> set[str]:
    """Names of the visible sheets; a hidden sheet named like a table is an error."""
    return set(_load(path))


def sheet_rows(path: Path, name: str, required: tuple[str, ...]) -> tuple[list[str], list[tuple]]:
    """The header and record rows of one sheet (records keep their position: row 2 is the first)."""
    rows = _load(path)[name]
    if not rows:
        raise InputError(f"sheet {name} is empty", file=path, row=1, fix="add the header row and records")
    header = ["" if v is None else str(v) for v in rows[0]]
    if required and not set(required) & {h.strip() for h in header}:
        for number, row in enumerate(rows[1:HEADER_SEARCH_ROWS], start=2):
            if set(required) <= {str(v).strip() for v in row if v is not None}:
                raise InputError(f"sheet {name} has its header on row {number}, not row 1", file=path,
                                 row=number, fix=f"delete the {number - 1} row(s) above the header")
    records = rows[1:]
    while records and all(v is None or v == "" for v in records[-1]):
        records.pop()
    return header, records


def whole_number(value):
    """A float cell holding a whole number as an int, so code 2.0 reads "2"; anything else unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _load(path: Path) -> dict[str, list[tuple]]:
    """Read every visible sheet once (extracts sent as workbooks are small; national data is CSV)."""
    from iapt_audit.model.tables import TABLES

    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key in _CACHE:
        return _CACHE[key]
    check_archive(path)
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise InputError(f"cannot open the workbook ({type(err).__name__})", file=path,
                         fix="re-save it from Excel as .xlsx") from None
    try:
        hidden = [ws.title for ws in book.worksheets if ws.sheet_state != "visible" and ws.title in TABLES]
        if hidden:
            raise InputError(f"sheet {hidden[0]} is hidden", file=path,
                             fix="unhide it if it holds the extract's table, otherwise delete it")
        sheets = {ws.title: list(ws.iter_rows(values_only=True))
                  for ws in book.worksheets if ws.sheet_state == "visible"}
    except archives.ZIP_READ_ERRORS + (KeyError, TypeError) as err:  # a sheet's XML is damaged
        raise InputError(f"cannot read the workbook ({type(err).__name__}: it is damaged)", file=path,
                         fix="re-save it from Excel as .xlsx") from None
    finally:
        book.close()
    _CACHE.clear()
    _CACHE[key] = sheets
    return sheets
