"""The adjusted headlines in the reports: labelled as sensitivity figures everywhere, exact in the
self-check, disclosure-controlled for commissioners and regulators (the hand-worked fixture of
``test_adjusted_headlines`` with its config: access 13 → 12, recovery 5/7 → 1/7)."""

from __future__ import annotations

import pytest

from builders import write_extract
from iapt_audit.audit import run_audit
from iapt_audit.report.audiences import build_report
from test_adjusted_headlines import FIXTURE_CONFIG, HEADER, YEAR, fixture_tables

GM01 = "GM01Access without the excess of single assess-and-treat endings"
GM06 = "GM06Recovery without the excess of last scores one under the cut-off"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_audit(write_extract(tmp_path_factory.mktemp("report") / "extract", fixture_tables(), HEADER),
                     period=YEAR, config=FIXTURE_CONFIG)


def _rows(result, audience):
    report = build_report(result, audience)
    section = next(s for s in report.sections if s.id == "adjusted-headlines")
    assert "sensitivity figures, not official measures" in section.intro
    tables = {b.id: b for b in section.blocks}
    assert all("sensitivity" in (t.title + t.note).lower() for t in tables.values())
    return {row[1] + row[2]: row[4:] for row in tables["adjusted-total"].rows}


def test_self_check_shows_exact_figures(result):
    rows = _rows(result, "self-check")
    assert rows[GM01] == ["13", "12", "-1"]
    assert rows[GM06] == ["71.4%", "14.3%", "-57.1 points"]


@pytest.mark.parametrize("audience", ["commissioner", "regulator"])
def test_commissioner_and_regulator_figures_are_disclosure_controlled(result, audience):
    rows = _rows(result, audience)
    assert rows[GM01] == ["15", "10", "*"]  # 1 left out: under 5
    assert rows[GM06] == ["71%", "*", "*"]  # 5 of 7 shown; 1 of 7 suppressed
