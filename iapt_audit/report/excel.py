"""The Excel workbook (openpyxl), laid out the way NHS analysts expect.

A summary sheet first, with a hyperlink to every other sheet and a line for each stage that did
not run; then one sheet per table of the report. Each sheet has its title, a note and a link back
to the summary above an Excel table (filters, banded rows) whose header row is frozen; columns are
sized to their contents; counts, percentages and means carry number formats (percentages are
stored as fractions, so Excel's own % arithmetic works); native Excel charts are added where a
chart helps (the attrition funnel, final scores).

No text cell can run as a formula: text starting with = + - @ (or a tab / carriage return) is
stored as a string cell with Excel's "quote prefix" set, the same as typing an apostrophe first,
so it shows unchanged and stays text even when edited (OWASP's CSV/formula-injection advice).
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table as ExcelTable
from openpyxl.worksheet.table import TableStyleInfo

from iapt_audit.report.atomic import atomic_path
from iapt_audit.report.document import Report, Table

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SUMMARY = "Summary"
HEADER_ROW = 5
TITLE_FONT = Font(size=14, bold=True, color="005EB8")
NOTE_FONT = Font(italic=True, color="425563")
LINK_FONT = Font(color="005EB8", underline="single")
STATUS_FILL = PatternFill("solid", fgColor="FFF4CC")
WIDE_TEXT = 60
NUMBER_FORMATS = {"count": "#,##0", "number": "#,##0.0##"}
CHARTS = {  # table id -> (category column, value column, filter column, chart title)
    "attrition": ("Step", "Referrals", "Provider", "Attrition funnel"),
    "all-score-distribution": ("Last score", "Referrals", "Questionnaire", "Final scores"),
}


def write_workbook(report: Report, target: Path) -> Path:
    """Write ``report`` as an .xlsx at ``target`` (atomically)."""
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY
    names = _sheet_names(report.sheets())
    percent_format = "0%" if report.disclosure else "0.0%"
    for table, name in zip(report.sheets(), names):
        _table_sheet(book.create_sheet(name), table, percent_format)
    _summary_sheet(summary, report, names)
    target = Path(target)
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target


def safe_text(cell, text: str) -> None:
    """Put ``text`` in ``cell`` as text that Excel will never evaluate."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def _put(cell, value, kind: str, percent_format: str) -> None:
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    if isinstance(value, str):
        safe_text(cell, value)
        if kind != "text":
            cell.alignment = Alignment(horizontal="right")  # "*" sits where the number would
        return
    if value is None:
        return
    if kind == "percent":
        cell.value = value / 100.0
        cell.number_format = percent_format
    else:
        cell.value = value
        if kind in NUMBER_FORMATS and isinstance(value, (int, float)):
            cell.number_format = NUMBER_FORMATS[kind]


def _sheet_names(tables: list[Table]) -> list[str]:
    """Unique sheet names of at most 31 characters without the characters Excel forbids."""
    names, used = [], {SUMMARY.lower()}
    for table in tables:
        base = re.sub(r"[\[\]:*?/\\]", " ", table.sheet)[:31].strip()
        name, n = base, 2
        while name.lower() in used:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        names.append(name)
    return names


def _table_sheet(ws, table: Table, percent_format: str) -> None:
    safe_text(ws.cell(1, 1), table.title)
    ws.cell(1, 1).font = TITLE_FONT
    if table.note:
        safe_text(ws.cell(2, 1), table.note)
        ws.cell(2, 1).font = NOTE_FONT
    back = ws.cell(3, 1, "← Back to the summary")
    back.hyperlink = Hyperlink(ref=back.coordinate, location=f"'{SUMMARY}'!A1")
    back.font = LINK_FONT
    for j, column in enumerate(table.columns, start=1):
        safe_text(ws.cell(HEADER_ROW, j), column.name)
        ws.cell(HEADER_ROW, j).font = Font(bold=True)
        ws.cell(HEADER_ROW, j).alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(table.rows, start=HEADER_ROW + 1):
        for j, (value, column) in enumerate(zip(row, table.columns), start=1):
            _put(ws.cell(i, j), value, column.kind, percent_format)
    last_row = HEADER_ROW + len(table.rows)
    last_col = get_column_letter(len(table.columns))
    if table.rows:
        excel_table = ExcelTable(displayName=_display_name(table.id), ref=f"A{HEADER_ROW}:{last_col}{last_row}")
        excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(excel_table)
    else:
        ws.cell(HEADER_ROW + 1, 1, "No rows.").font = NOTE_FONT
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    _widths(ws, table)
    if table.id in CHARTS and table.rows:
        _chart(ws, table)


def _display_name(table_id: str) -> str:
    return "T_" + re.sub(r"[^A-Za-z0-9_]", "_", table_id)


def _widths(ws, table: Table) -> None:
    """Wide enough for the values (first 2,000 rows) and the header's longest word; headers wrap."""
    for j, column in enumerate(table.columns, start=1):
        lengths = [len(_shown(row[j - 1])) for row in table.rows[:2000]] or [0]
        header = max(min(len(column.name), 16), max(len(word) for word in column.name.split()))
        width = min(max(max(lengths), header) + 2, WIDE_TEXT)
        ws.column_dimensions[get_column_letter(j)].width = max(width, 9)
        if max(lengths) > WIDE_TEXT:
            for i in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(table.rows)):
                ws.cell(i, j).alignment = Alignment(wrap_text=True, vertical="top")


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _chart(ws, table: Table) -> None:
    """A native bar chart over the first block of rows sharing the filter column's first value."""
    category, value, by, title = CHARTS[table.id]
    headers = table.headers
    keys = table.column(by)
    first = keys[0]
    count = next((i for i, key in enumerate(keys) if key != first), len(keys))
    start, end = HEADER_ROW + 1, HEADER_ROW + count
    chart = BarChart()
    chart.type = "bar" if table.id == "attrition" else "col"
    chart.title = f"{title} — {first}"
    chart.style = 10
    chart.legend = None
    chart.height, chart.width = 7.5, 16
    col_value = headers.index(value) + 1
    col_category = headers.index(category) + 1
    chart.add_data(Reference(ws, min_col=col_value, min_row=start - 1, max_row=end), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=col_category, min_row=start, max_row=end))
    if table.id == "attrition":
        chart.y_axis.scaling.orientation = "minMax"
        chart.x_axis.scaling.orientation = "maxMin"  # first step at the top, like a funnel
    ws.add_chart(chart, f"{get_column_letter(len(headers) + 2)}{HEADER_ROW}")


def _summary_sheet(ws, report: Report, names: list[str]) -> None:
    safe_text(ws.cell(1, 1), report.title)
    ws.cell(1, 1).font = Font(size=16, bold=True, color="005EB8")
    safe_text(ws.cell(2, 1), report.subtitle)
    ws.cell(2, 1).font = NOTE_FONT
    row = 4
    for label, value in report.facts:
        safe_text(ws.cell(row, 1), label)
        ws.cell(row, 1).font = Font(bold=True)
        safe_text(ws.cell(row, 2), value)
        row += 1
    if report.disclosure:
        row += 1
        safe_text(ws.cell(row, 1), report.disclosure)
        ws.cell(row, 1).font = NOTE_FONT
        row += 1
    for section in _not_run(report):
        safe_text(ws.cell(row, 1), section.title)
        safe_text(ws.cell(row, 2), section.status)
        for col in (1, 2):
            ws.cell(row, col).fill = STATUS_FILL
        row += 1
    row += 1
    ws.cell(row, 1, "Contents").font = Font(size=12, bold=True)
    row += 1
    header = row
    for j, name in enumerate(("Sheet", "What it holds", "Rows"), start=1):
        ws.cell(row, j, name).font = Font(bold=True)
    for table, name in zip(report.sheets(), names):
        row += 1
        link = ws.cell(row, 1)
        safe_text(link, name)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{name}'!A1")
        link.font = LINK_FONT
        safe_text(ws.cell(row, 2), table.title)
        ws.cell(row, 3, len(table.rows)).number_format = "#,##0"
    if row > header:
        contents = ExcelTable(displayName="T_contents", ref=f"A{header}:C{row}")
        contents.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(contents)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 10


def _not_run(report: Report):
    def walk(sections):
        for section in sections:
            if not section.ran:
                yield section
            yield from walk(section.subsections)
    return list(walk(report.sections))
