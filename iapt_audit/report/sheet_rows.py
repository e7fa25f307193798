"""A table's data rows as SpreadsheetML text (the ``<row>`` elements of a sheet's ``<sheetData>``).

Why not openpyxl's cells: openpyxl serialises each cell through an element tree, about 10 µs a
cell even in write-only mode, and a national self-check workbook has half a million cells of
worklists. Rows written as text cost about a microsecond a cell. ``excel`` still builds everything
else of the workbook with openpyxl (styles, titles, tables, charts, links) and registers the styles
these rows refer to by index; it splices the rows into the sheet when it writes the file.

Values are written as ``excel.text_cell`` writes its cells: text as strings (never formulas: text
that Excel would evaluate carries the quote-prefix style), booleans as Yes / No, numbers as
numbers, percentages as fractions; a value Excel cannot hold (NaN, infinity) is left blank.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# characters XML 1.0 cannot carry at all: shown as U+FFFD rather than making the file unreadable
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class ColumnStyles:
    """Style indexes (into the workbook's cell formats) for one column's values; 0 is the default."""

    kind: str       # the document column kind: text, count, percent, number or date
    text: int       # plain text (alignment only)
    quoted: int     # text Excel would read as a formula: quote prefix
    number: int     # a number in a count or number column
    percent: int    # a percentage, stored as a fraction


def escape_text(text: str) -> str:
    text = ILLEGAL_XML.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _style(index: int) -> str:
    return f' s="{index}"' if index else ""


def _text_cell(ref: str, text: str, style: int) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{_style(style)} t="inlineStr"><is><t{space}>{escape_text(text)}</t></is></c>'


def _cell(ref: str, value, styles: ColumnStyles) -> str:
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    if isinstance(value, str):
        if value.startswith(FORMULA_PREFIXES):
            return _text_cell(ref, value, styles.quoted)
        return _text_cell(ref, value, styles.text)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    if styles.kind == "percent":  # 15 significant digits, what Excel keeps: no 0.8190000000000001
        return f'<c r="{ref}"{_style(styles.percent)}><v>{value / 100.0:.15g}</v></c>'
    return f'<c r="{ref}"{_style(styles.number)}><v>{value:.16g}</v></c>'


def rows_xml(rows: list[list], first_row: int, columns: list[ColumnStyles]) -> str:
    """The ``<row>`` elements for ``rows``, the first on sheet row ``first_row``."""
    letters = [get_column_letter(j) for j in range(1, len(columns) + 1)]
    out = []
    for r, row in enumerate(rows, start=first_row):
        cells = "".join(_cell(f"{letter}{r}", value, styles) for letter, value, styles in zip(letters, row, columns)
                        if value is not None)
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)
