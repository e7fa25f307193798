"""The suites' row conditions: one engine-neutral definition that both engines run.

Spark cannot parse pandas' query syntax (``ServDischDate.notna()``), so the conditions in
``expectations/`` are Great Expectations' engine-neutral ones, from which GX writes the pandas
query and the Spark SQL filter itself. The engine's own denominators (``gx_runner.condition_mask``)
must keep the very rows GX's filter keeps. No Java needed.
"""

from __future__ import annotations

import pandas as pd
import pytest

from iapt_audit.dq.gx_runner import condition_columns, condition_mask
from iapt_audit.dq.suites import load_suites

CONDITIONS = [(table, e["meta"]["code"], e["kwargs"]["row_condition"])
              for table, suite in load_suites().items() for e in suite["expectations"]
              if "row_condition" in e["kwargs"]]


def test_every_condition_is_engine_neutral():
    from great_expectations.expectations.row_conditions import Condition, deserialize_row_condition

    assert {code for _, code, _ in CONDITIONS} == {"DQ005", "DQ029", "DQ052", "DQ084"}
    for table, suite in load_suites().items():
        for expectation in suite["expectations"]:
            assert "condition_parser" not in expectation["kwargs"], (table, expectation["meta"]["code"])
    for _, code, condition in CONDITIONS:
        assert isinstance(deserialize_row_condition(condition), Condition), code


# each column's values: a match, a non-match, and a missing value in the column's own dtype
VALUES = {
    "ServDischDate": pd.Series(pd.to_datetime(["2024-05-01", None, "2024-06-01"])),
    "NHSNumberCheck": pd.Series(["valid", None, "invalid"], dtype="string[pyarrow]"),
    "Attended": pd.Series([True, False, True]),
    "FindSchemeInUse": pd.Series(["01", None, "02"], dtype="str"),
}


@pytest.mark.parametrize("table, code, condition", CONDITIONS, ids=[c for _, c, _ in CONDITIONS])
def test_denominator_rows_are_the_rows_gx_filters_to(table, code, condition):
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.row_conditions import deserialize_row_condition

    frame = pd.DataFrame({column: VALUES[column] for column in condition_columns(condition)})
    kept_by_gx = frame.query(PandasExecutionEngine().condition_to_filter_clause(deserialize_row_condition(condition)))
    assert condition_mask(frame, condition).tolist() == frame.index.isin(kept_by_gx.index).tolist()
    assert condition_mask(frame, condition).tolist() in ([True, False, True], [True, False, False])
