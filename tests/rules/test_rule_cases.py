"""Every YAML case in tests/rules/fixtures/<CODE>.yml, run through the real pipeline.

A case is small tables of referrals, contacts, activities and scores, with the hand-computed
answer: the ServiceRequestIds the rule counts, its numerator, denominator and value, and where
stated the provider decision, the tests that fired, evidence facts and per-provider detail.
Adding a case is adding YAML (sqlfluff's std_rule_cases).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from builders import PROVIDER
from fixture_tables import pathways_for
from iapt_audit.period import Period
from iapt_audit.rules_engine import run_rules

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_cases():
    for path in sorted(FIXTURES.glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        for case in document["cases"]:
            yield pytest.param(document["rule"], document["period"], case, id=f"{document['rule']}-{case['name']}")


def _same(actual, expected):
    if isinstance(expected, float):
        return actual == pytest.approx(expected, abs=1e-5)
    if hasattr(expected, "isoformat"):  # YAML dates
        return pd.Timestamp(actual) == pd.Timestamp(expected)
    return actual == expected


@pytest.mark.parametrize("code, period, case", list(load_cases()))
def test_rule_case(tmp_path, code, period, case):
    config = {"rules": {code: case["thresholds"]}} if "thresholds" in case else None
    [result] = run_rules(pathways_for(tmp_path, case), Period.parse(period), config=config, select=[code])
    assert result.code == code
    assert sorted(result.evidence["ServiceRequestId"]) == sorted(case["counted"])
    provider = case.get("provider", PROVIDER)
    row = result.providers.loc[provider]
    for key in ("numerator", "denominator", "value", "flagged"):
        if key in case:
            assert _same(row[key], case[key]), (key, row[key], case[key])
    if "tests" in case:
        assert row["tests"] == case["tests"]
    evidence = result.evidence.set_index("ServiceRequestId")
    for ref, facts in case.get("facts", {}).items():
        for column, expected in facts.items():
            assert _same(evidence.at[ref, column], expected), (ref, column, evidence.at[ref, column], expected)
    for column, expected in case.get("detail", {}).items():
        assert _same(result.detail.at[provider, column], expected), (column, result.detail.at[provider, column])
