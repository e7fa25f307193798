"""CSV cells a spreadsheet cannot run: formula-leading text is written as text.

A CSV opened in Excel or LibreOffice turns a cell beginning ``=``, ``+``, ``-``, ``@``, tab or
carriage return into a formula (``=HYPERLINK(...)`` becomes a live link: "CSV injection", OWASP).
Values typed by providers reach ``check``'s CSVs as record IDs and codes, so every such cell is
prefixed with an apostrophe, the spreadsheet's own "this is text" mark, as the workbooks quote
the same prefixes (``sheet_rows.FORMULA_PREFIXES``). A plain signed number (``-3``) is left as it
is: it is a number, not a formula, and a negative score must stay readable as one.
"""

from __future__ import annotations

import pandas as pd

from iapt_audit.report.sheet_rows import FORMULA_PREFIXES

PLAIN_NUMBER = r"[+-]?\d+(\.\d+)?"


def inert_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every formula-leading text cell prefixed by ``'`` (vectorised per column)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.astype("string")
        live = (text.str.startswith(FORMULA_PREFIXES) & ~text.str.fullmatch(PLAIN_NUMBER)).fillna(False)
        if live.any():
            out[column] = values.where(~live.to_numpy(), "'" + text)
    return out
