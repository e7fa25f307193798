"""The offline HTML report: one self-contained file rendered by jinja2 from ``report_templates/``.

Autoescaping is on for every value; the only unescaped content is chart SVG written by
``report.charts``, which escapes its own text. The page carries its CSS inline, its charts as inline
SVG and a Content-Security-Policy of ``default-src 'none'``, so even a stray reference could not
fetch anything: it reads the same on an NHS laptop with no network, and prints.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from iapt_audit.report.atomic import atomic_write_text
from iapt_audit.report.document import Chart, Report, Table
from iapt_audit.resources import resource_dir

TEMPLATE = "report.html.j2"
ROWS_SHOWN = 500  # longer tables are cut in the page; the workbook has every row
FLAG_WORDS = {"Flagged", "Fail", "Below", "High outlier ▲", "Low outlier ▼", "concern"}
OK_WORDS = {"Not flagged", "Pass", "Meets", "Meets all", "Within limits"}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(resource_dir("report_templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(is_table=lambda b: isinstance(b, Table), is_chart=lambda b: isinstance(b, Chart),
                       svg=lambda chart: Markup(chart.svg), cell_class=cell_class, ROWS_SHOWN=ROWS_SHOWN)
    env.filters["cell"] = format_cell
    return env


def format_cell(value, kind: str, disclosed: bool) -> str:
    """A value as shown in the page: counts with thousands separators, rates with "%"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return value
    if kind == "percent":
        return f"{value:.0f}%" if disclosed else f"{value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.1f}" if value == round(value, 1) else f"{value:.3g}"  # means keep their decimal
    return str(value)


def cell_class(value, kind: str) -> str:
    classes = [] if kind == "text" else ["num"]
    if value == "*":
        classes.append("suppressed")
    elif value in FLAG_WORDS or (isinstance(value, str) and value.startswith("Below: ")):
        classes.append("flag")
    elif value in OK_WORDS:
        classes.append("ok")
    return " ".join(classes)


def render_html(report: Report) -> str:
    return _environment().get_template(TEMPLATE).render(report=report, disclosed=bool(report.disclosure))


def write_html(report: Report, target: Path) -> Path:
    target = Path(target)
    atomic_write_text(target, render_html(report))
    return target
