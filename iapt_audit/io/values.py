"""The one reader policy: how a value as exported becomes a code, a date or a number.

Both readers apply it: the extract reader (``io.extract``) to every table, the published-file
reader (``io.published``) to NHS Digital's files. Whatever it tolerates rather than takes as
written is counted, so each reader lists it as a notice (``Typed.tolerated``: message -> values).

* **text**: blanks around a value are not part of it (``RV9 `` is ``RV9``); ``NULL``, ``null``
  and ``NA`` (what databases and R write for nothing) are missing, as a blank is; a whole
  number a spreadsheet wrote as a float (``46.0``: a workbook column of numbers with blanks) is
  the whole number ``46``; in a yes/no item (``YES_NO_ITEMS``) a spreadsheet's boolean
  (``TRUE``/``False``) is ``Y``/``N``.
* **dates** (``DATE_FORMATS``, value by value): ISO, UK day-first as Excel writes it
  (``01/04/2023``, with or without a time), compact ``yyyymmdd``, ``dd-mm-yyyy``, ``dd.mm.yyyy``,
  month names; five-digit numbers are Excel serial days. An ISO date-time with an offset
  (``2024-04-01T00:00:00+01:00``) is read at the local time it states, since the offset says
  what the writer's clock showed; one in UTC (``Z``) is converted to UK local time
  (Europe/London), so ``2024-06-30T23:30:00Z`` is 1 July. US month-first dates are never
  guessed, and a date outside what the engine holds (before 1677, after 2262) is unparsed.
* **numbers**: thousands separators are read (``1,200``); ``inf`` and ``NaN`` are unparsed.

Encodings (UTF-8, UTF-8 with a BOM, Windows-1252) are ``io.csvfile``'s, shared the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M",
                "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y%m%d", "%d-%m-%Y",
                "%d.%m.%Y", "%Y/%m/%d", "%d-%b-%Y", "%d %b %Y", "%d-%b-%y")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial day 1 is 1900-01-01 (Excel's leap-year bug included)
EXCEL_SERIAL_DAYS = r"\d{5}(\.\d+)?"     # 10000-99999: 1927-05-18 to 2173-10-14
THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
# ISO 8601 date-time with a zone: the local part, then Z or a numeric offset
ZONED = r"(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)"
UK_ZONE = "Europe/London"
MISSING_WORDS = ("NULL", "null", "NA")
WHOLE_FLOAT = r"[+-]?\d+\.0+"
YES_NO_ITEMS = frozenset({"PlannedCareContIndicator", "SickAbsenceInd", "BenefitRecInd"})
BOOLEAN_WORDS = {"TRUE": "Y", "FALSE": "N"}  # upper-cased spreadsheet booleans in a yes/no item
# bytes that may begin or end white space: tab to carriage return, the information separators, space,
# and any non-ASCII byte
EDGE_SUSPECT = np.zeros(256, bool)
EDGE_SUSPECT[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # 28-31: separators Python strips
EDGE_SUSPECT[128:] = True

NOTICE_MISSING = "NULL, null or NA read as missing"
NOTICE_WHOLE = "whole numbers written as floats (46.0) read as whole numbers (46)"
NOTICE_BOOLEAN = "booleans (TRUE/FALSE) in a yes/no item read as Y/N"
NOTICE_SERIAL = "dates given as Excel serial day numbers"
NOTICE_UTC = "date-times in UTC (Z) read as UK local dates"
NOTICE_THOUSANDS = "numbers written with thousands separators"


@dataclass
class Typed:
    """One column typed: its values, which failed to parse, and what was tolerated (message -> count)."""

    values: pd.Series
    failed: pd.Series | None = None
    tolerated: dict[str, int] = field(default_factory=dict)


def as_text(values: pd.Series, item: str = "", whole_numbers: bool = True) -> Typed:
    """Codes, identifiers and other text as stripped strings (``string[pyarrow]``), missing for blanks.

    ``whole_numbers=False`` leaves ``46.0`` as written (dates and numbers parse it themselves)."""
    tolerated = {}
    if pd.api.types.is_bool_dtype(values) and item in YES_NO_ITEMS:
        text = values.map({True: "Y", False: "N"}, na_action="ignore").astype("string[pyarrow]")
        return Typed(text, tolerated={NOTICE_BOOLEAN: int(values.notna().sum())})
    if pd.api.types.is_float_dtype(values):
        values, whole = _whole_floats(values)
        if whole:
            tolerated[NOTICE_WHOLE] = whole
    elif values.dtype == object:
        values = values.map(_cell_text, na_action="ignore")
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.astype("string[pyarrow]")
    if _may_have_edge_blanks(values.array.__arrow_array__()):
        values = values.str.strip()
    values = values.mask(values == "")
    # Arrow's kernels first (a hash lookup, a substring search): clean columns pay nothing more
    arrow = values.array.__arrow_array__()
    if pc.any(pc.is_in(arrow, value_set=pa.array(MISSING_WORDS))).as_py():
        said_nothing = values.isin(MISSING_WORDS)
        values = values.mask(said_nothing)
        tolerated[NOTICE_MISSING] = int(said_nothing.sum())
    if whole_numbers and pc.any(pc.match_substring(arrow, ".0")).as_py():
        written_float = values.str.fullmatch(WHOLE_FLOAT).fillna(False)
        if written_float.any():
            values = values.where(~written_float, values.str.replace(r"\.0+$", "", regex=True))
            tolerated[NOTICE_WHOLE] = tolerated.get(NOTICE_WHOLE, 0) + int(written_float.sum())
    if item in YES_NO_ITEMS:
        upper = values.str.upper()
        boolean = upper.isin(list(BOOLEAN_WORDS)).fillna(False)
        if boolean.any():
            values = values.where(~boolean, upper.map(BOOLEAN_WORDS))
            tolerated[NOTICE_BOOLEAN] = int(boolean.sum())
    return Typed(values.astype("string[pyarrow]"), tolerated=tolerated)


def _cell_text(value):
    """A workbook cell as text: a whole float as an integer, a boolean as Python writes it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _whole_floats(values: pd.Series) -> tuple[pd.Series, int]:
    """A float column as text: whole numbers without ``.0`` (counted), others as Python writes them."""
    finite = values.notna() & np.isfinite(values)
    whole = finite & (np.floor(values) == values) & (values.abs() < 2.0 ** 53)
    text = values.astype("string[pyarrow]")
    if whole.any():
        text = text.where(~whole, values.where(whole).astype("Int64").astype("string[pyarrow]"))
    return text, int(whole.sum())


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


def as_dates(values: pd.Series) -> Typed:
    """Dates in any accepted layout -> ``datetime64[ns]`` (time zones resolved as the module says)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        dates, failed = _as_ns(values)
        return Typed(dates, failed)
    typed = as_text(values, whole_numbers=False)
    text, tolerated = typed.values, typed.tolerated
    present = text.notna()
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    has_zone = _zoned(text.array.__arrow_array__())
    if has_zone.any():
        zoned = text.where(has_zone).str.extract(f"^{ZONED}$")
        utc = (zoned["zone"] == "Z").fillna(False).to_numpy()
        local = pd.to_datetime(zoned["local"].where(has_zone & ~utc), format="ISO8601", errors="coerce")
        parsed = parsed.fillna(local.astype("datetime64[us]"))
        if utc.any():
            moments = pd.to_datetime(zoned["local"].where(utc), format="ISO8601", errors="coerce", utc=True)
            parsed = parsed.fillna(moments.dt.tz_convert(UK_ZONE).dt.tz_localize(None).astype("datetime64[us]"))
            tolerated[NOTICE_UTC] = int(utc.sum())
    for fmt in DATE_FORMATS:
        todo = present & parsed.isna() & ~has_zone
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
        tolerated[NOTICE_SERIAL] = int(serial.sum())
    dates, _ = _as_ns(parsed)
    return Typed(dates, present & dates.isna(), tolerated)


def _zoned(text: pa.ChunkedArray) -> np.ndarray:
    """Which values are ISO date-times with a zone; Arrow's kernels, and the regex only when some
    value is long enough to be one (a column of plain dates costs one length pass)."""
    if not pc.any(pc.greater(pc.utf8_length(text), 16)).as_py():
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.match_substring_regex(text, f"^{ZONED}$"), False).to_numpy()


def _as_ns(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """datetime64[ns] without time zone; values outside its range (years 1677-2262) fail."""
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    if values.isna().all() or (values.min() >= pd.Timestamp.min and values.max() <= pd.Timestamp.max):
        return values.astype("datetime64[ns]"), pd.Series(False, index=values.index)  # the usual case
    in_range = (values >= pd.Timestamp.min) & (values <= pd.Timestamp.max)
    return values.where(in_range).astype("datetime64[ns]"), values.notna() & ~in_range


def as_numbers(values: pd.Series) -> Typed:
    """Numbers -> float64; thousands separators read, infinities and NaN unparsed."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        finite = np.isfinite(numbers)
        return Typed(numbers.where(finite), numbers.notna() & ~finite)
    typed = as_text(values, whole_numbers=False)
    text, tolerated = typed.values, typed.tolerated
    grouped = text.str.fullmatch(THOUSANDS).fillna(False)
    plain = text.where(~grouped, text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    if grouped.any():
        tolerated[NOTICE_THOUSANDS] = int(grouped.sum())
    return Typed(numbers, numbers.isna() & text.notna(), tolerated)
