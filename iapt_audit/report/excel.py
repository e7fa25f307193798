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

At national scale a self-check workbook holds about half a million cells of worklists, so the
workbook is built in openpyxl's write-only mode (no cell object kept per value; column widths,
frozen panes and the table's columns are decided from ``Table`` before the first row goes out)
and each table's data rows are written as text by ``sheet_rows``, in the styles registered here,
then spliced into the sheet's ``<sheetData>`` as the file is written (``_save``).
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table as ExcelTable
from openpyxl.worksheet.table import TableColumn, TableStyleInfo

from iapt_audit.report.atomic import atomic_path
from iapt_audit.report.disclosure import STATEMENT
from iapt_audit.report.document import Report, Table
from iapt_audit.report.sheet_rows import FORMULA_PREFIXES, ColumnStyles, rows_xml

SUMMARY = "Summary"
HEADER_ROW = 5
TITLE_FONT = Font(size=14, bold=True, color="005EB8")
NOTE_FONT = Font(italic=True, color="425563")
LINK_FONT = Font(color="005EB8", underline="single")
BOLD = Font(bold=True)
STATUS_FILL = PatternFill("solid", fgColor="FFF4CC")
WRAPPED = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")
WIDE_TEXT = 60
NUMBER_FORMATS = {"count": "#,##0", "number": "#,##0.0##"}
MAX_SHEET_CHARTS = 40  # native charts per sheet (each funnel or drawn SPC chart); the rest are in the page
LINE_STYLES = {"dashed": "dash", "line": "solid"}
CHARTS = {  # table id -> (category column, value column, filter column, chart title)
    "attrition": ("Step", "Referrals", "Provider", "Attrition funnel"),
    "all-score-distribution": ("Last score", "Referrals", "Questionnaire", "Final scores"),
}


def write_workbook(report: Report, target: Path) -> Path:
    """Write ``report`` as an .xlsx at ``target`` (atomically)."""
    book = Workbook(write_only=True)
    names = _sheet_names(report.sheets())
    _summary_sheet(book.create_sheet(SUMMARY), report, names)
    # outside audiences see rates to whole points (NHS Digital's rule); published data keep their decimals
    percent_format = "0%" if report.disclosure == STATEMENT else "0.0%"
    data_rows = {}
    for table, name in zip(report.sheets(), names):
        ws = book.create_sheet(name)
        data_rows[ws] = _table_sheet(ws, table, percent_format)
    target = Path(target)
    _save(book, data_rows, target)
    return target


def _save(book: Workbook, data_rows: dict, target: Path) -> None:
    """Save ``book`` to ``target`` (atomically) with each sheet's data rows (``sheet_rows`` text)
    inserted at the end of its ``<sheetData>``, after the title and header rows openpyxl wrote."""
    skeleton = io.BytesIO()
    book.save(skeleton)
    by_member = {ws.path.lstrip("/"): text.encode("utf-8") for ws, text in data_rows.items() if text}
    with atomic_path(target) as tmp, zipfile.ZipFile(skeleton) as source, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for member in source.infolist():
            content = source.read(member)
            if member.filename in by_member:
                end = content.rindex(b"</sheetData>")  # the title and header rows are always there
                content = content[:end] + by_member[member.filename] + content[end:]
            out.writestr(member, content)


def text_cell(ws, text: str, **style) -> WriteOnlyCell:
    """A cell holding ``text`` as text that Excel will never evaluate, with ``style`` applied."""
    cell = _styled(ws, **style)
    cell.value = text
    cell.data_type = "s"  # "=..." would be a formula and "#N/A" an error value
    cell.quotePrefix = text.startswith(FORMULA_PREFIXES)
    return cell


def _styled(ws, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _style_index(ws, **style) -> int:
    """The workbook's index of a cell format (registering it), for rows written as text."""
    return _styled(ws, **style).style_id


def _column_styles(ws, kind: str, percent_format: str, wrap: bool) -> ColumnStyles:
    """The formats one column's values take: text aligned (wrapped when long; right in a number
    column, so "*" sits where the number would), numbers and percentages with their formats."""
    alignment = WRAPPED if wrap else (RIGHT if kind != "text" else None)
    aligned = {"alignment": alignment} if alignment else {}
    return ColumnStyles(kind=kind, text=_style_index(ws, **aligned),
                        quoted=_style_index(ws, quotePrefix=True, **aligned),
                        number=_style_index(ws, number_format=NUMBER_FORMATS[kind]) if kind in NUMBER_FORMATS else 0,
                        percent=_style_index(ws, number_format=percent_format))


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


def _table_sheet(ws, table: Table, percent_format: str) -> str:
    """Lay out ``table``'s sheet and return its data rows as ``sheet_rows`` text (spliced in on save)."""
    wraps = _widths(ws, table)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.append([text_cell(ws, table.title, font=TITLE_FONT)])
    ws.append([text_cell(ws, table.note, font=NOTE_FONT)] if table.note else [])
    ws.append([_link(ws, "← Back to the summary", SUMMARY)])
    ws.append([])
    ws.append([text_cell(ws, column.name, font=BOLD, alignment=WRAPPED) for column in table.columns])
    if table.rows:
        ref = f"A{HEADER_ROW}:{get_column_letter(len(table.columns))}{HEADER_ROW + len(table.rows)}"
        _add_table(ws, _excel_table(_display_name(table.id), ref, table.headers, "TableStyleMedium2"))
    else:
        ws.append([_styled(ws, value="No rows.", font=NOTE_FONT)])
    if table.id in CHARTS and table.rows:
        _chart(ws, table)
    for i, sheet_chart in enumerate(table.charts[:MAX_SHEET_CHARTS]):
        _native_chart(ws, table, sheet_chart, i)
    styles = [_column_styles(ws, column.kind, percent_format, wrap) for column, wrap in zip(table.columns, wraps)]
    return rows_xml(table.rows, HEADER_ROW + 1, styles)


def _excel_table(name: str, ref: str, headers: list[str], style: str) -> ExcelTable:
    """An Excel table over ``ref`` whose column names are ``headers`` (a write-only sheet cannot be
    read back for them)."""
    excel_table = ExcelTable(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref),
                             tableColumns=[TableColumn(id=j, name=h) for j, h in enumerate(headers, start=1)])
    excel_table.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True)
    return excel_table


def _add_table(ws, excel_table: ExcelTable) -> None:
    with warnings.catch_warnings():  # openpyxl warns on every write-only table; its columns are set
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
        ws.add_table(excel_table)


def _link(ws, text: str, sheet: str) -> WriteOnlyCell:
    cell = text_cell(ws, text, font=LINK_FONT)
    cell.hyperlink = Hyperlink(ref="", location=f"'{sheet}'!A1")
    return cell


def _display_name(table_id: str) -> str:
    return "T_" + re.sub(r"[^A-Za-z0-9_]", "_", table_id)


def _widths(ws, table: Table) -> list[bool]:
    """Size the columns to the values (first 2,000 rows) and the header's longest word (headers
    wrap); return, per column, whether its values wrap (longer than ``WIDE_TEXT``)."""
    wraps = []
    for j, column in enumerate(table.columns, start=1):
        lengths = [len(_shown(row[j - 1])) for row in table.rows[:2000]] or [0]
        header = max(min(len(column.name), 16), max(len(word) for word in column.name.split()))
        width = min(max(max(lengths), header) + 2, WIDE_TEXT)
        ws.column_dimensions[get_column_letter(j)].width = max(width, 9)
        wraps.append(max(lengths) > WIDE_TEXT)
    return wraps


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


def _native_chart(ws, table: Table, spec, index: int) -> None:
    """One ``SheetChart``: a scatter (funnel: limit curves as lines, providers as markers) or a
    line chart (SPC: months as categories), stacked beside the table 16 rows apart."""
    headers = table.headers
    x_col = headers.index(spec.x) + 1
    chart = ScatterChart() if spec.kind == "scatter" else LineChart()
    chart.title = spec.title[:120]
    chart.height, chart.width = 7.5, 16
    chart.y_axis.title = "%"
    chart.x_axis.title = spec.x
    for column, first, last, style in spec.series:
        y_col = headers.index(column) + 1
        top, bottom = HEADER_ROW + 1 + first, HEADER_ROW + 1 + last
        values = Reference(ws, min_col=y_col, min_row=top, max_row=bottom)
        if spec.kind == "scatter":
            series = Series(values, Reference(ws, min_col=x_col, min_row=top, max_row=bottom), title=column)
            chart.series.append(series)
        else:
            chart.add_data(values, titles_from_data=False)
            series = chart.series[-1]
            series.tx = None
        if style == "markers":
            series.marker.symbol = "circle"
            series.graphicalProperties.line.noFill = True
        else:
            series.marker.symbol = "circle" if style == "markers-line" else "none"
            series.graphicalProperties.line.dashStyle = LINE_STYLES.get(style, "solid")
            series.smooth = False
    if spec.kind == "line":
        first, last = spec.series[0][1], spec.series[0][2]
        chart.set_categories(Reference(ws, min_col=x_col, min_row=HEADER_ROW + 1 + first,
                                       max_row=HEADER_ROW + 1 + last))
    ws.add_chart(chart, f"{get_column_letter(len(headers) + 2)}{HEADER_ROW + 16 * index}")


def _summary_sheet(ws, report: Report, names: list[str]) -> None:
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 10
    rows = [[text_cell(ws, report.title, font=Font(size=16, bold=True, color="005EB8"))],
            [text_cell(ws, report.subtitle, font=NOTE_FONT)], []]
    rows += [[text_cell(ws, label, font=BOLD), text_cell(ws, value)] for label, value in report.facts]
    if report.disclosure:
        rows += [[], [text_cell(ws, report.disclosure, font=NOTE_FONT)]]
    rows += [[text_cell(ws, section.title, fill=STATUS_FILL), text_cell(ws, section.status, fill=STATUS_FILL)]
             for section in _not_run(report)]
    rows += [[], [_styled(ws, value="Contents", font=Font(size=12, bold=True))]]
    headers = ["Sheet", "What it holds", "Rows"]
    rows.append([_styled(ws, value=h, font=BOLD) for h in headers])
    header = len(rows)
    rows += [[_link(ws, name, name), text_cell(ws, table.title),
              _styled(ws, value=len(table.rows), number_format="#,##0")]
             for table, name in zip(report.sheets(), names)]
    for row in rows:
        ws.append(row)
    if len(rows) > header:
        _add_table(ws, _excel_table("T_contents", f"A{header}:C{len(rows)}", headers, "TableStyleLight9"))


def _not_run(report: Report):
    def walk(sections):
        for section in sections:
            if not section.ran:
                yield section
            yield from walk(section.subsections)
    return list(walk(report.sections))
