"""The report as data: sections of tables and charts, built once and rendered three ways.

``audiences`` decides what goes into a ``Report`` for whom (and applies disclosure control);
``excel``, ``html`` and the JSON writer only lay it out. Keeping the content in one place means the
workbook, the web page and the JSON can never disagree about a number.

A ``Table`` carries typed columns so each renderer formats values the same way: ``count`` (whole
numbers, or "*" when suppressed), ``percent`` (percentage points 0–100, as findings.json states
them), ``number``, ``date`` (ISO text) and ``text``. Every table also says which Excel sheet it
belongs on; tables that only make sense in the web page (a provider's slice of a long table) have
``sheet=None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KINDS = ("text", "count", "percent", "number", "date")
# patient identifiers never reach a report, whatever a stage hands over (architecture.md, Conventions)
PATIENT_IDENTIFIERS = ("NHSNumber", "PersonBirthDate", "Postcode")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass
class SheetChart:
    """A native Excel chart over a block of a table's rows (the workbook draws it; the web page
    has the SVG). ``kind``: "scatter" (x numeric: a funnel) or "line" (x as categories: SPC).
    ``series``: (y column, first row, last row, style) with rows 0-based in ``Table.rows`` and
    style "line", "dashed" or "markers"; ``x`` names the x column."""

    title: str
    kind: str
    x: str
    series: list[tuple[str, int, int, str]]


@dataclass
class Table:
    """A titled grid of typed values; ``rows`` hold plain Python values (None = blank)."""

    id: str
    title: str
    columns: list[Column]
    rows: list[list]
    note: str = ""
    sheet: str | None = None   # Excel sheet name (<= 31 characters), None: web page only
    folded: bool = False       # long tables (worklists, full KPI lists) start folded in the web page
    charts: list[SheetChart] = field(default_factory=list)  # native charts on the table's sheet
    web: bool = True           # False: workbook and JSON only (series behind charts the page draws)

    @property
    def headers(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> list:
        i = self.headers.index(name)
        return [row[i] for row in self.rows]

    def where(self, column: str, value, *, id: str, title: str) -> "Table":
        """The rows whose ``column`` equals ``value``, without that column (a provider's slice)."""
        i = self.headers.index(column)
        keep = [c for j, c in enumerate(self.columns) if j != i]
        rows = [[v for j, v in enumerate(row) if j != i] for row in self.rows if row[i] == value]
        return Table(id=id, title=title, columns=keep, rows=rows, note=self.note)

    def as_json(self) -> dict:
        return {"id": self.id, "title": self.title, "note": self.note,
                "columns": [{"name": c.name, "kind": c.kind} for c in self.columns], "rows": self.rows}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, id: str, title: str, kinds: dict[str, str] | None = None,
                   note: str = "", sheet: str | None = None, folded: bool = False) -> "Table":
        """A table from a DataFrame: column kinds from ``kinds`` or the dtype; identifiers dropped."""
        frame = frame.drop(columns=[c for c in PATIENT_IDENTIFIERS if c in frame.columns])
        kinds = kinds or {}
        columns = [Column(str(name), kinds.get(name) or _kind_of(frame[name])) for name in frame.columns]
        values = [plain_column(frame.iloc[:, j]) for j in range(frame.shape[1])]
        rows = [list(row) for row in zip(*values)] if values else [[] for _ in range(len(frame))]
        return cls(id=id, title=title, columns=columns, rows=rows, note=note, sheet=sheet, folded=folded)


@dataclass
class Chart:
    """An inline SVG chart with its caption; ``alt`` describes it for screen readers and print."""

    id: str
    title: str
    svg: str
    alt: str
    note: str = ""


@dataclass
class Section:
    """One part of the report. ``status`` is "ran" or the reason the stage behind it did not run."""

    id: str
    title: str
    intro: str = ""
    status: str = "ran"
    blocks: list = field(default_factory=list)        # Tables and Charts, in reading order
    subsections: list["Section"] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.status == "ran"


@dataclass
class Report:
    audience: str
    title: str
    subtitle: str
    facts: list[tuple[str, str]]      # (label, value) shown at the top and on the summary sheet
    sections: list[Section]
    disclosure: str = ""              # the disclosure-control statement, empty for self-check

    def tables(self) -> list[Table]:
        """Every table, in reading order (sections, then their subsections)."""
        return self._blocks(Table)

    def sheets(self) -> list[Table]:
        """The tables that have an Excel sheet, in reading order."""
        return [t for t in self.tables() if t.sheet]

    def charts(self) -> list[Chart]:
        return self._blocks(Chart)

    def _blocks(self, kind) -> list:
        found = []

        def walk(section: Section):
            found.extend(b for b in section.blocks if isinstance(b, kind))
            for sub in section.subsections:
                walk(sub)

        for section in self.sections:
            walk(section)
        return found

    def as_json(self) -> dict:
        """The JSON report: the same tables as the workbook and an outline of the sections."""

        def outline(section: Section) -> dict:
            return {"id": section.id, "title": section.title, "status": section.status,
                    "tables": [b.id for b in section.blocks if isinstance(b, Table)],
                    "charts": [b.id for b in section.blocks if isinstance(b, Chart)],
                    "subsections": [outline(s) for s in section.subsections]}

        return {"audience": self.audience, "title": self.title, "subtitle": self.subtitle,
                "facts": [{"label": k, "value": v} for k, v in self.facts], "disclosure": self.disclosure,
                "sections": [outline(s) for s in self.sections],
                "tables": [t.as_json() for t in self.tables()]}


def plain(value):
    """A JSON- and cell-ready scalar: NaN/NA/NaT -> None, numpy -> Python, timestamps -> ISO day."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return value


def plain_column(series: pd.Series) -> list:
    """``plain`` over a column, converting whole columns where the dtype allows (a national
    worklist has hundreds of thousands of values; numpy's ``tolist`` already gives Python ints,
    floats and bools)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return [None if v != v else v for v in series.tolist()]  # NaN is the only value unequal to itself
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return [v if isinstance(v, str) else None for v in series.dt.strftime("%Y-%m-%d").tolist()]
    return [plain(v) for v in series.tolist()]


def _kind_of(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "count"
    if pd.api.types.is_float_dtype(series):
        return "percent" if "percent" in str(series.name).lower() else "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"
