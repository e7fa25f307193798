"""Snapshot of the reports' structure: section ids and titles, sheet names and table headers.

Not pixels and not values: a change here is a change users see (a section moved, a column renamed).
Tables whose columns another stage defines (worklists, the data-quality item table) are left out.
Regenerate after an intended change with ``UPDATE_SNAPSHOTS=1 pytest tests/report/test_structure_snapshot.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from iapt_audit.report.audiences import AUDIENCES, build_report
from iapt_audit.report.excel import _sheet_names

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "structure.json"
OTHER_STAGES = ("worklist-", "dq-items")


def outline(section) -> dict:
    return {"id": section.id, "title": section.title, "ran": section.ran,
            "subsections": [outline(s) for s in section.subsections]}


def structure(report) -> dict:
    sheets = [t for t in report.sheets() if not t.id.startswith(OTHER_STAGES)]
    return {
        "sections": [outline(s) for s in report.sections],
        "sheets": _sheet_names(sheets),
        "tables": {t.id: t.headers for t in report.tables() if not t.id.startswith(OTHER_STAGES)},
        "charts": [c.id for c in report.charts()],
    }


def test_report_structure_matches_the_snapshot(cohort_result):
    current = {audience: structure(build_report(cohort_result, audience)) for audience in AUDIENCES}
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert current == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
