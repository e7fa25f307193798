"""Write the audience reports: ``<audience>.xlsx``, ``.html`` and ``.json`` beside findings.json.

Each report is built once (``audiences.build_report``) and rendered in every requested format, so
the formats cannot disagree. Every file is written atomically (``report.atomic``), and every text
a report carries passes ``identifiers.IdentifierMask`` first: an NHS number, postcode or patient's
birth date typed into some other item is withheld in the workbook, the page and the JSON alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from iapt_audit.identifiers import IdentifierMask

from iapt_audit.report.atomic import atomic_write_text
from iapt_audit.report.audiences import AUDIENCES, build_report
from iapt_audit.report.document import Chart, Report, Section, Table
from iapt_audit.report.excel import write_workbook
from iapt_audit.report.html import write_html
from iapt_audit.report.published_report import build_published_report

FORMATS = ("xlsx", "html", "json")


def write_reports(result, out_dir, audiences=AUDIENCES, formats=FORMATS, highlight=()) -> list[Path]:
    """Write each audience's report of an ``AuditResult`` in each format; return the paths.
    ``highlight``: provider codes marked on every funnel and SPC chart."""
    unknown = (set(audiences) - set(AUDIENCES)) | (set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown audience or format: {', '.join(sorted(unknown))}")
    written = []
    for audience in audiences:
        written += write_report(build_report(result, audience, highlight), Path(out_dir) / audience, formats,
                                mask=result.identifiers)
    return written


def write_published_reports(analysis: dict, out_dir, formats=FORMATS, *, stem: str = "regulator",
                            highlight=()) -> list[Path]:
    """The regulator report of an ``iapt-audit outliers`` analysis (``analyse_published``'s dict)."""
    return write_report(build_published_report(analysis, highlight), Path(out_dir) / stem, formats)


def write_report(report: Report, stem: Path, formats=FORMATS, mask: IdentifierMask | None = None) -> list[Path]:
    """Render one report as ``stem.<format>`` for each format, its identifiers masked."""
    report = masked_report(report, mask or IdentifierMask())
    written = []
    for fmt in formats:
        target = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "xlsx":
            written.append(write_workbook(report, target))
        elif fmt == "html":
            written.append(write_html(report, target))
        elif fmt == "json":
            atomic_write_text(target, json.dumps(report.as_json(), indent=1, ensure_ascii=False, allow_nan=False) + "\n")
            written.append(target)
        else:
            raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return written


def masked_report(report: Report, mask: IdentifierMask) -> Report:
    """A copy of ``report`` whose every text (facts, titles, notes, cells, chart labels) is masked."""
    def section(part: Section) -> Section:
        return replace(part, title=mask.text(part.title), intro=mask.text(part.intro),
                       blocks=[table(b) if isinstance(b, Table) else chart(b) if isinstance(b, Chart) else b
                               for b in part.blocks],
                       subsections=[section(s) for s in part.subsections])

    def table(block: Table) -> Table:
        cells = [(i, j, v) for i, row in enumerate(block.rows) for j, v in enumerate(row) if isinstance(v, str)]
        hit = mask.candidates([v for _, _, v in cells]) if cells else []
        rows = block.rows
        if any(hit):
            rows = [list(row) for row in block.rows]
            for (i, j, v), found in zip(cells, hit):
                if found:
                    rows[i][j] = mask.text(v)
        return replace(block, title=mask.text(block.title), note=mask.text(block.note), rows=rows)

    def chart(block: Chart) -> Chart:
        svg = SVG_TEXT.sub(lambda m: m.group(1) + mask.text(m.group(2)) + m.group(3), block.svg)
        return replace(block, title=mask.text(block.title), alt=mask.text(block.alt), note=mask.text(block.note),
                       svg=svg)

    return replace(report, title=mask.text(report.title), subtitle=mask.text(report.subtitle),
                   facts=[(mask.text(k), mask.text(v)) for k, v in report.facts],
                   sections=[section(s) for s in report.sections])


SVG_TEXT = re.compile(r"(<(?:text|title|tspan)\b[^>]*>)([^<]*)(</)")  # the words in a chart, not its geometry
