"""Fixtures of the report tests: the hand-worked cohort (``report_cohort``) audited once per session."""

from __future__ import annotations

import pytest

from builders import write_extract
from iapt_audit.audit import run_audit
from report_cohort import YEAR, cohort_tables


@pytest.fixture(scope="session")
def cohort_result(tmp_path_factory):
    folder = write_extract(tmp_path_factory.mktemp("cohort") / "extract", cohort_tables())
    return run_audit(folder, period=YEAR)


@pytest.fixture(scope="session")
def cohort_reports(cohort_result, tmp_path_factory):
    from iapt_audit.report.writer import write_reports

    out = tmp_path_factory.mktemp("cohort-out")
    return out, write_reports(cohort_result, out)
