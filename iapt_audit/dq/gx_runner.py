"""Run the suites through Great Expectations for real: GX validators on the pandas tables.

GX is imported inside ``validate`` only (about 2 s), so commands that do not run the
data-quality stage never pay for it. (Importing it in a background thread while the stage
prepares its frames was measured at 1.8M referrals and saved nothing: both are Python holding
the interpreter lock, and the import took 3.3 s instead of 1.7 s.) The context is ephemeral: no
project folder, nothing left on disk. Timings behind these choices: ``benchmarks/RESULTS_dq.md``.

Result format: ``COMPLETE`` with the unexpected values and the index query switched off and no
``unexpected_index_column_names``. GX then returns, per expectation, the list of failing row
labels and nothing else: about ten times faster than asking it for key-column dicts (which it
builds row by row) and small enough at millions of failures (one integer per failing row). Because
every frame has a RangeIndex, the labels are row positions, from which ``findings.evaluate`` takes
the record IDs and providers, so the failing records still come from GX, not from a second pass.
"""

from __future__ import annotations

import logging
import operator
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

CONDITION_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                       ">": operator.gt, ">=": operator.ge}
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False,
                 "exclude_unexpected_values": True, "partial_unexpected_count": 0}


@dataclass
class ExpectationOutcome:
    """One expectation's verdict on one table: the rows that failed."""

    table: str
    expectation: dict
    failing: np.ndarray   # sorted row positions GX reported as unexpected
    error: str | None = None  # why GX could not evaluate it: then ``failing`` means nothing


def _one_by_one(gx, batch, table: str, number: int, expectations: list[dict], parameters: dict):
    """Each expectation of a run alone: its verdict, or the error that stopped GX running it."""
    for position, expectation in enumerate(expectations):
        tagged = {**expectation, "meta": {**expectation["meta"], "position": 0}}
        try:
            [result] = batch.validate(gx.ExpectationSuite(name=f"{table}-{number}-{position}", expectations=[tagged]),
                                      expectation_parameters=parameters, result_format=RESULT_FORMAT).results
        except Exception as err:  # noqa: BLE001 -- whatever GX raised, the check could not run
            yield ExpectationOutcome(table, expectation, np.array([], dtype=np.int64),
                                     error=one_line(err) if str(err).strip() else type(err).__name__)
            continue
        failing = np.sort(np.asarray((result.result or {}).get("unexpected_index_list", []), dtype=np.int64))
        yield ExpectationOutcome(table, expectation, failing, error=could_not_run(result.exception_info))


def one_line(message) -> str:
    """An error message as one short line (GX's run over several, with tracebacks)."""
    return " ".join(str(message or "").split())[:200] or "an unknown error"


def could_not_run(exception_info) -> str | None:
    """The error GX met evaluating an expectation, or None.

    GX reports it at the top of ``exception_info`` ({"raised_exception": True, ...}) or, when a
    metric the expectation needs failed, nested under that metric's ID, with the top level
    absent; its result then lists no unexpected rows, which must not read as a pass.
    """
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return one_line(exception_info.get("exception_message"))
    for nested in exception_info.values():
        message = could_not_run(nested)
        if message:
            return message
    return None


def referenced_columns(suite: dict) -> set[str]:
    """Every column a suite's expectations read, their row conditions' included."""
    names = set()
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        names.update(kwargs.get("column_list", []))
        names.update(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
        if "row_condition" in kwargs:
            names.update(condition_columns(kwargs["row_condition"]))
    return names


def condition_columns(condition: dict) -> set[str]:
    """The columns a row condition reads.

    Row conditions are GX's engine-neutral ones, written as JSON (``{"type": "nullity", "column":
    {"name": ...}, "is_null": false}``, ``{"type": "comparison", ..., "operator": "==",
    "parameter": "01"}``, ``"and"``/``"or"`` of ``conditions``): GX turns each into a pandas query or
    a Spark SQL filter itself, so both engines run the one definition in ``expectations/``.
    """
    if "conditions" in condition:
        return set().union(*(condition_columns(part) for part in condition["conditions"]))
    return {condition["column"]["name"]}


def condition_mask(frame: pd.DataFrame, condition: dict) -> np.ndarray:
    """The rows of ``frame`` a row condition keeps, as GX's filter does (a missing value passes no
    comparison): the denominator of a conditional check."""
    kind = condition["type"]
    if kind in ("and", "or"):
        parts = [condition_mask(frame, part) for part in condition["conditions"]]
        return np.logical_and.reduce(parts) if kind == "and" else np.logical_or.reduce(parts)
    column = frame[condition["column"]["name"]]
    if kind == "nullity":
        return (column.isna() if condition["is_null"] else column.notna()).to_numpy(dtype=bool)
    compare = CONDITION_OPERATORS[condition["operator"]]
    return compare(column, condition["parameter"]).fillna(False).to_numpy(dtype=bool)


def applicable_rows(frame: pd.DataFrame, expectation: dict) -> np.ndarray | None:
    """The rows an expectation judges, as GX does: its row condition, and non-missing values
    except for completeness checks (whose whole point is the missing ones) and compound keys.

    ``None`` means every row, which is what most checks judge: their denominator is then the
    table's own count per provider, with no mask built and counted.
    """
    kwargs = expectation["kwargs"]
    mask = None
    if "row_condition" in kwargs:
        mask = condition_mask(frame, kwargs["row_condition"])
    if expectation["type"] in ("expect_column_values_to_not_be_null", "expect_compound_columns_to_be_unique"):
        return mask
    for key in ("column", "column_A", "column_B"):
        if key in kwargs:
            present = frame[kwargs[key]].notna().to_numpy()
            mask = present if mask is None else mask & present
    return mask


def suite_totals(frame: pd.DataFrame, expectations: list[dict], providers) -> pd.Series:
    """One check's denominator per provider (``findings.Providers`` of ``frame``): the rows any of
    its expectations judges. Both engines count it from a pandas frame of the table, so a check's
    denominator never depends on which engine ran the expectations."""
    rows = [applicable_rows(frame, expectation) for expectation in expectations]
    return providers.count(None if any(r is None for r in rows) else np.logical_or.reduce(rows))


def batches(table: str, frame: pd.DataFrame, expectations: list[dict]) -> list[tuple[str, pd.DataFrame, list[dict]]]:
    """Split one table's expectations into GX runs, one per distinct set of columns read, each on a
    frame of just those columns.

    Why: to list a column check's failing rows GX filters the *whole* frame it was given, twice
    (non-missing values, then the failing ones), and applies a row condition the same way; on
    millions of pyarrow strings that copying cost more than the checks. On a frame of only the
    columns an expectation reads there is nothing else to copy. Column selection keeps the
    RangeIndex, so the row labels GX returns are still positions in the table.
    """
    groups: dict[tuple[str, ...], list[dict]] = {}
    for expectation in expectations:
        named = referenced_columns({"expectations": [expectation]})
        groups.setdefault(tuple(c for c in frame.columns if c in named), []).append(expectation)
    return [(table, frame[list(columns)], chosen) for columns, chosen in groups.items()]


def validate(runs: list[tuple[str, pd.DataFrame, list[dict]]], parameters: dict,
             timings: dict | None = None) -> list[ExpectationOutcome]:
    """Run each (table, frame, expectations) through GX; return one outcome per expectation.

    ``timings`` (if given) receives ``gx_import`` and ``gx_run``: seconds spent importing GX and
    in GX after it (context, suites, validation runs, reading their results), so benchmarks can
    tell GX's share of the stage.
    """
    started = time.perf_counter()
    import great_expectations as gx  # lazily: only the data-quality stage pays the import
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under 1 GB by hashing all of its values, only to label
    # the batch in metadata nobody reads here. On 4.3M pyarrow-string contacts that hash took
    # 8 of 9 s of a run (benchmarks/RESULTS_dq.md), so it is switched off.
    pandas_execution_engine.HASH_THRESHOLD = 0

    imported = time.perf_counter()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    whole_frame = (context.data_sources.add_pandas("extract").add_dataframe_asset("tables")
                   .add_batch_definition_whole_dataframe("whole_table"))
    outcomes = []
    for number, (table, frame, expectations) in enumerate(runs):
        tagged = [{**e, "meta": {**e["meta"], "position": i}} for i, e in enumerate(expectations)]
        # Batch.validate, not a stored ValidationDefinition: the same validator, without adding a
        # suite and a definition to the context's stores and serialising every result into the
        # results store for each of some 45 runs (about 15 ms a run, whatever the table's size).
        batch = whole_frame.get_batch(batch_parameters={"dataframe": frame})
        try:
            results = batch.validate(gx.ExpectationSuite(name=f"{table}-{number}", expectations=tagged),
                                     expectation_parameters=parameters, result_format=RESULT_FORMAT).results
        except Exception:  # noqa: BLE001 -- GX raises many types; each expectation is retried alone below
            results = None
        if results is None:  # one expectation GX refused to build or run: find it, keep the others' verdicts
            outcomes.extend(_one_by_one(gx, batch, table, number, expectations, parameters))
            continue
        for result in results:
            expectation = expectations[result.expectation_config.meta["position"]]
            error = could_not_run(result.exception_info)
            failing = np.sort(np.asarray((result.result or {}).get("unexpected_index_list", []), dtype=np.int64))
            outcomes.append(ExpectationOutcome(table=table, expectation=expectation, failing=failing, error=error))
    if timings is not None:
        timings["gx_import"] = round(imported - started, 3)
        timings["gx_run"] = round(time.perf_counter() - imported, 3)
    return outcomes
