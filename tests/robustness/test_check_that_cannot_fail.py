"""A check that cannot fail (issue 15 kind 11): an expectation Great Expectations could not evaluate
is an error in the findings and the exit code, never "no failing rows"."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from iapt_audit.cli import main
from iapt_audit.dq import gx_runner, run_data_quality, stage
from iapt_audit.io.extract import read_extract
from iapt_audit.period import Period

PERIOD = "2024-04-01:2025-03-31"
CASES = pd.io.common.Path(__file__).resolve().parents[2] / ".." / "shared" / "cases" / "readers"


def _extract():
    path = CASES / "iso_datetime_with_offset"
    if not path.exists():
        pytest.skip("shared cases not found")
    return path


# broken on purpose, as a wrong parameter in a suite or the config would break them (variants)
BROKEN = [("ods_code_pattern", "(unclosed", {"DQ012", "DQ013"}),       # a regex GX cannot compile
          ("earliest_date", "not a date", {"DQ010", "DQ011", "DQ032", "DQ066"})]  # bounds of the wrong type


@pytest.mark.parametrize("parameter, value, codes", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_expectation_is_an_error_never_a_pass(monkeypatch, parameter, value, codes):
    real = stage.suite_parameters
    monkeypatch.setattr(stage, "suite_parameters", lambda end: {**real(end), parameter: value})
    result = run_data_quality(read_extract(_extract(), identifiers=True), Period.parse(PERIOD))
    broken = {f.check.code: f for f in result.checks if f.check.code in codes}
    assert set(broken) == codes
    for finding in broken.values():
        assert finding.passed is False and finding.check.severity == "error"
        assert "could not run" in finding.check.title
        assert finding.as_json()["passed"] is False
    assert result.has_errors
    others = [f for f in result.checks if f.check.code not in codes]
    assert all("could not run" not in f.check.title for f in others)


def test_the_check_command_exits_1_on_a_check_that_could_not_run(monkeypatch):
    real = stage.suite_parameters
    clean = CliRunner().invoke(main, ["check", str(_extract()), "--period", PERIOD])
    assert clean.exit_code == 0, clean.output
    monkeypatch.setattr(stage, "suite_parameters", lambda end: {**real(end), "ods_code_pattern": "(unclosed"})
    broken = CliRunner().invoke(main, ["check", str(_extract()), "--period", PERIOD])
    assert broken.exit_code == 1, broken.output
    assert "DQ012  FAIL" in broken.output and "could not run" in broken.output


def test_gx_nests_the_error_under_the_metric_and_the_runner_finds_it():
    frame = pd.DataFrame({"A": pd.Series(["x", "y", None], dtype="string[pyarrow]")})
    expectations = [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "A", "regex": "(unclosed"},
         "meta": {"code": "DQ900"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "A", "min_value": 0, "max_value": 5},
         "meta": {"code": "DQ901"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "Z", "value_set": ["x"]},
         "meta": {"code": "DQ902"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "A", "value_set": ["x"]},
         "meta": {"code": "DQ903"}},
    ]
    outcomes = {o.expectation["meta"]["code"]: o for o in gx_runner.validate([("T", frame, expectations)], {})}
    assert "regular expression" in outcomes["DQ900"].error.lower() or "unclosed" in outcomes["DQ900"].error
    assert outcomes["DQ901"].error and outcomes["DQ902"].error and "Z" in outcomes["DQ902"].error
    assert outcomes["DQ903"].error is None and outcomes["DQ903"].failing.tolist() == [1]  # a real verdict


messages = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@st.composite
def nested_info(draw):
    """exception_info as GX writes it: the top level, or one level per metric, the error anywhere."""
    message = draw(messages)
    leaf = {"raised_exception": True, "exception_message": message, "exception_traceback": "..."}
    depth = draw(st.integers(0, 3))
    info = leaf
    for level in range(depth):
        siblings = {f"MetricConfigurationID(other_{level}_{i})": {"raised_exception": False}
                    for i in range(draw(st.integers(0, 2)))}
        info = {**siblings, f"MetricConfigurationID(metric_{level})": info}
    return info, message


@settings(max_examples=60, deadline=None)
@given(case=nested_info())
def test_an_error_at_any_depth_of_exception_info_is_found(case):
    info, message = case
    assert gx_runner.could_not_run(info) == (" ".join(message.split())[:200] or "an unknown error")
    assert gx_runner.could_not_run({"raised_exception": False, "exception_message": None}) is None
    assert gx_runner.could_not_run(None) is None
