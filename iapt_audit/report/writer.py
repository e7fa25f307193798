"""Write the audience reports: ``<audience>.xlsx``, ``.html`` and ``.json`` beside findings.json.

Each report is built once (``audiences.build_report``) and rendered in every requested format, so
the formats cannot disagree. Every file is written atomically (``report.atomic``).
"""

from __future__ import annotations

import json
from pathlib import Path

from iapt_audit.report.atomic import atomic_write_text
from iapt_audit.report.audiences import AUDIENCES, build_report
from iapt_audit.report.document import Report
from iapt_audit.report.excel import write_workbook
from iapt_audit.report.html import write_html
from iapt_audit.report.published_report import build_published_report

FORMATS = ("xlsx", "html", "json")


def write_reports(result, out_dir, audiences=AUDIENCES, formats=FORMATS) -> list[Path]:
    """Write each audience's report of an ``AuditResult`` in each format; return the paths."""
    unknown = (set(audiences) - set(AUDIENCES)) | (set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown audience or format: {', '.join(sorted(unknown))}")
    written = []
    for audience in audiences:
        written += write_report(build_report(result, audience), Path(out_dir) / audience, formats)
    return written


def write_published_reports(analysis: dict, out_dir, formats=FORMATS, *, stem: str = "regulator") -> list[Path]:
    """The regulator report of an ``iapt-audit outliers`` analysis (``analyse_published``'s dict)."""
    return write_report(build_published_report(analysis), Path(out_dir) / stem, formats)


def write_report(report: Report, stem: Path, formats=FORMATS) -> list[Path]:
    """Render one report as ``stem.<format>`` for each format."""
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
