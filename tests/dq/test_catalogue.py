"""The check catalogue: suites are valid GX documents whose meta describes every check fully."""

import re

import pandas as pd
import pytest

from iapt_audit.dq import all_checks
from iapt_audit.dq.cross_table import CROSS_TABLE_CHECKS
from iapt_audit.dq.submission_history import HISTORY_CHECKS
from iapt_audit.dq.findings import SEVERITIES
from iapt_audit.dq.suites import META_KEYS, load_suites, suite_parameters
from iapt_audit.model.tables import TABLES

DERIVED = {"NHSNumberCheck", "ScaleLow", "ScaleHigh", "Attended"}


def parameters_used(value):
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            yield value["$PARAMETER"]
        for item in value.values():
            yield from parameters_used(item)
    elif isinstance(value, list):
        for item in value:
            yield from parameters_used(item)


def test_suites_are_per_table_and_fully_described():
    suites = load_suites()
    assert set(suites) <= set(TABLES)
    for table, suite in suites.items():
        assert suite["name"] == table
        for expectation in suite["expectations"]:
            meta = expectation["meta"]
            assert set(META_KEYS) <= set(meta)
            assert re.fullmatch(r"DQ\d{3}", meta["code"]) and meta["severity"] in SEVERITIES
            kwargs = expectation["kwargs"]
            columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
            columns += kwargs.get("column_list", [])
            assert set(columns) <= set(TABLES[table].columns) | DERIVED | {"OrgIDProv"}, table


def test_every_parameter_is_supplied():
    supplied = suite_parameters(pd.Timestamp("2025-03-31"))
    used = {name for suite in load_suites().values() for name in parameters_used(suite["expectations"])}
    assert used and used <= set(supplied)


def test_codes_are_unique_and_shared_codes_share_their_meta():
    seen = {}
    for table, suite in load_suites().items():
        for expectation in suite["expectations"]:
            meta = expectation["meta"]
            if meta["code"] in seen:
                assert seen[meta["code"]] == (table, meta)
            seen[meta["code"]] = (table, meta)
    cross = [check.code for check, _ in CROSS_TABLE_CHECKS]
    history = [check.code for check in HISTORY_CHECKS]
    assert len(cross) == len(set(cross)) and not set(cross) & set(seen)
    assert len(history) == len(set(history)) and not set(history) & (set(cross) | set(seen))
    assert [c.code for c in all_checks()] == sorted(set(cross) | set(seen) | set(history))


@pytest.mark.parametrize("check", all_checks(), ids=lambda c: c.code)
def test_check_wording(check):
    assert check.title and check.fix.endswith(".") and check.denominator
