"""Read one CSV (or CSV.gz) table as text columns, whatever the clinical system exported.

Extracts come from many systems and from hand-edited spreadsheets, so this module settles the
file-level questions before any value is typed:

* **encoding** — UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text"), and
  the two Windows/ISO single-byte encodings. A legacy file is told apart by its bytes 0x80–0x9F:
  cp1252 prints them (€, curly quotes), Latin-1 uses them only as control codes, and cp1252
  leaves five of them undefined. The encoding used is returned so the audit can say which it was.
* **delimiter** — a header that only splits on ``;``, tab or ``|`` is a wrong export setting;
  it is reported, not guessed at, because a guess could shift every value into the wrong item.
* **ragged rows** and **unbalanced quotes** — one-line errors with the row number, found by a
  second, serial pass only when the fast parallel read has failed (pyarrow's parallel reader
  cannot number rows).

Row numbers are spreadsheet rows: the header is row 1 and a record spanning several physical
lines (a quoted newline) is still one row. Blank lines are not records and are not counted.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from iapt_audit.errors import InputError
from iapt_audit.io import archives

SNIFF_BYTES = 1 << 16
MAX_HEADER_BYTES = 1 << 24  # a header line longer than this is not a table's header
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Arrow's line breaks: not Python's \v, \f, \x1c-\x1e, \x85, \u2028
SCAN_CHUNK = 1 << 24
WRONG_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# bytes 0x80-0x9F that cp1252 leaves undefined: a file using them can only be Latin-1
CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)


def csv_header(source: Path) -> tuple[list[str], str]:
    """The header's field names and the file's encoding (as far as the header's bytes tell).

    A .csv.gz is first streamed through ``archives.check_gzip`` (a decompression bomb is refused
    before anything is kept). The header is read to its first line break however long it is.
    """
    if source.name.lower().endswith(".gz"):
        archives.check_gzip(source)
    head = _first_bytes(source)
    if not head.strip(b"\r\n\t \x00"):
        raise InputError("the file is empty", file=source, row=1, fix="export the table with its header row")
    encoding = _bom_encoding(head)
    line = _first_line(head, encoding)
    if line is None:
        encoding = legacy_encoding(source)
        line = _first_line(head, encoding)
    if not line.strip():
        raise InputError("the file has no header row", file=source, row=1,
                         fix="export the table with its header row (data item names) first")
    fields = next(csv.reader([line]))
    if len(fields) == 1:
        for delimiter, name in WRONG_DELIMITERS.items():
            if delimiter in line:
                raise InputError(f"the fields are separated by {name}, not commas", file=source, row=1,
                                 fix="export the table as comma-separated values (CSV)")
    return fields, encoding


def read_csv_columns(source: Path, include: list[str], encoding: str) -> tuple[pa.Table, str]:
    """Read the ``include`` columns as text; return the table and the encoding finally used."""
    try:
        return _read(source, include, encoding), encoding
    except (pa.ArrowKeyError, OSError) as err:  # ArrowInvalid is not one of these
        raise InputError(f"cannot read the file ({type(err).__name__}): it changed or disappeared while "
                         "being read", file=source, fix="let the export finish, then run again") from None
    except pa.ArrowInvalid as err:
        if "invalid UTF8" in str(err) and encoding.startswith("utf-8"):
            encoding = legacy_encoding(source)
            try:
                return _read(source, include, encoding), encoding
            except pa.ArrowInvalid as again:
                err = again
        raise _parse_error(source, encoding, err) from None


def legacy_encoding(source: Path) -> str:
    """cp1252 or latin-1 for a file that is not UTF-8, from a streaming count of its high bytes."""
    counts = np.zeros(256, dtype=np.int64)
    with _open_bytes(source) as handle:
        while chunk := handle.read(SCAN_CHUNK):
            counts += np.bincount(np.frombuffer(chunk, dtype=np.uint8), minlength=256)
    return _legacy_of(counts)


def text_encoding(data: bytes) -> str:
    """The encoding of a whole file held in memory (a published file, a zip member), by the same
    rule as a table file's: a byte-order mark, else UTF-8 if it decodes, else cp1252 or Latin-1."""
    encoding = _bom_encoding(data)
    if encoding != "utf-8":
        return encoding
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return _legacy_of(np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256))


def _legacy_of(counts: np.ndarray) -> str:
    """cp1252 or latin-1 from a file's byte counts (see the module docstring)."""
    c1 = counts[0x80:0xA0]
    if c1.any() and not counts[list(CP1252_UNDEFINED)].any():
        return "cp1252"
    return "latin-1"


def _read(source: Path, include: list[str], encoding: str) -> pa.Table:
    return pacsv.read_csv(
        source,
        read_options=_read_options(encoding),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=_convert_options(include))


def _read_options(encoding: str, **kwargs) -> pacsv.ReadOptions:
    # pyarrow strips a UTF-8 byte-order mark itself; any other encoding is transcoded to UTF-8
    if encoding in ("utf-8", "utf-8-sig"):
        return pacsv.ReadOptions(**kwargs)
    return pacsv.ReadOptions(encoding=encoding, **kwargs)


def _convert_options(include: list[str]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(include_columns=include, column_types={c: pa.string() for c in include},
                                strings_can_be_null=True, null_values=[""])


def _parse_error(source: Path, encoding: str, err: Exception) -> InputError:
    """Turn pyarrow's parse error into a one-line error that names the row."""
    text = str(err)
    if "Expected" in text and "columns" in text:
        row, expected, got, content = _first_ragged_row(source, encoding)
        if content.count('"') % 2:
            return InputError("a quoted value is never closed", file=source, row=row,
                              fix="close the quote (\") or remove the stray one, then re-export")
        return InputError(f"row has {got} fields where the header has {expected}", file=source, row=row,
                          fix="quote any value that contains a comma, and give every row one field per column")
    if "quote" in text.lower() or "EOF" in text:
        return InputError("a quoted value is never closed", file=source,
                          fix="close the quote (\") or remove the stray one, then re-export")
    return InputError(f"cannot read the CSV ({text.splitlines()[0][:120]})", file=source,
                      fix="re-export the table as comma-separated values (CSV UTF-8)")


def _first_ragged_row(source: Path, encoding: str) -> tuple[int | None, int, int, str]:
    """Row number, expected and actual field counts and text of the first ragged row (serial pass)."""
    found = []

    def handler(row):
        found.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "error"

    try:
        pacsv.read_csv(source, read_options=_read_options(encoding, use_threads=False),
                       parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
                       convert_options=pacsv.ConvertOptions(include_columns=[]))
    except pa.ArrowInvalid:
        pass
    return found[0] if found else (None, 0, 0, "")


def _open_bytes(source: Path):
    return gzip.open(source, "rb") if source.name.lower().endswith(".gz") else open(source, "rb")


def _first_bytes(source: Path) -> bytes:
    """The file's first bytes, up to and including the header's line break."""
    try:
        with _open_bytes(source) as handle:
            head = handle.read(SNIFF_BYTES)
            while not re.search(b"[\r\n]", head) and len(head) < MAX_HEADER_BYTES:
                more = handle.read(SNIFF_BYTES)
                if not more:
                    break
                head += more
            return head
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(f"cannot read the file ({type(err).__name__})", file=source,
                         fix="check it is a complete .csv or .csv.gz file") from None


def _bom_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _first_line(head: bytes, encoding: str) -> str | None:
    """The header line decoded with ``encoding``; None when the bytes are not in that encoding."""
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(head)
    except UnicodeDecodeError:
        return None
    return LINE_BREAK.split(text.lstrip("\ufeff"), maxsplit=1)[0] if text.strip() else ""
