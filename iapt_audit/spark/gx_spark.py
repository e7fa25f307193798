"""The data-quality suites on Spark, through Great Expectations' own Spark data source.

The suites are the files in ``expectations/``, unchanged: their row conditions are GX's
engine-neutral conditions, which GX itself turns into Spark SQL filters here and pandas queries on
the pandas engine. Each table's GX frame (``dq.gx_frames.gx_frame``, built per provider by
``spark.provider``) is one Spark DataFrame, validated once with every selected expectation of the
table.

Failing records: ``COMPLETE`` results with ``unexpected_index_column_names`` naming the record's
position as read (``ROW``), its provider and its record ID (``model.tables.RECORD_ID``). Without
index columns GX's Spark source returns no failing rows at all, and no error. The failing rows of
a check are then turned into a finding by the same ``dq.findings.evaluate`` the pandas engine
uses, in ROW order, so the capped record list is the one the pandas engine lists. Driver memory
grows with the number of failing records (one small dict each), not with the table.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
import pandas as pd

from iapt_audit.dq.findings import Check, Finding, Providers, evaluate
from iapt_audit.dq.settings import DQSettings
from iapt_audit.model.tables import RECORD_ID
from iapt_audit.spark.envelope import ROW


def validate_on_spark(frames: dict, suites: dict[str, list[dict]], templates: dict[str, pd.DataFrame],
                      parameters: dict) -> dict[str, pd.DataFrame]:
    """Run each table's ``suites`` expectations on its Spark DataFrame in ``frames``.

    Returns, per check code, its failing rows (ROW, OrgIDProv, record ID and the columns the
    expectation read), typed like ``templates[table]`` (the pandas GX frame's dtypes) and in ROW
    order. Raises RuntimeError when GX could not run an expectation, naming it and the table.
    """
    import great_expectations as gx  # lazily: only the data-quality stage pays the import
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    whole_frame = (context.data_sources.add_spark("extract").add_dataframe_asset("tables")
                   .add_batch_definition_whole_dataframe("whole_table"))
    failing: dict[str, list[dict]] = defaultdict(list)
    tables_of: dict[str, str] = {}
    for table, expectations in suites.items():
        if table not in frames:
            continue
        frame = frames[table].persist()
        result_format = {"result_format": "COMPLETE", "return_unexpected_index_query": False,
                         "unexpected_index_column_names": [ROW, "OrgIDProv", RECORD_ID[table]],
                         "partial_unexpected_count": 0}
        tagged = [{**e, "meta": {**e["meta"], "position": i}} for i, e in enumerate(expectations)]
        batch = whole_frame.get_batch(batch_parameters={"dataframe": frame})
        run = batch.validate(gx.ExpectationSuite(name=table, expectations=tagged), expectation_parameters=parameters,
                             result_format=result_format)
        for result in run.results:
            meta = result.expectation_config.meta
            if result.exception_info and result.exception_info.get("raised_exception"):
                raise RuntimeError(f"Great Expectations could not run {meta['code']} on {table} (Spark): "
                                   f"{result.exception_info['exception_message']}")
            failing[meta["code"]].extend(result.result.get("unexpected_index_list") or [])
            tables_of[meta["code"]] = table
        frame.unpersist()
    out = {}
    for code, table in tables_of.items():
        template = templates[table]
        rows = pd.DataFrame(failing[code])
        rows = rows[[c for c in template.columns if c in rows]] if len(rows) else template.iloc[0:0]
        rows = rows.drop_duplicates(ROW).sort_values(ROW, kind="stable").reset_index(drop=True)
        out[code] = rows.astype({c: template[c].dtype for c in rows.columns if rows[c].dtype != template[c].dtype})
    return out


def suite_finding(check: Check, rows: pd.DataFrame, totals: pd.Series, expectation: dict, settings: DQSettings,
                  record_cap: int) -> tuple[Finding, pd.DataFrame]:
    """A suite check's finding from its failing rows (in ROW order) and its denominators per
    provider, through ``dq.findings.evaluate`` as on the pandas engine."""
    kwargs = expectation["kwargs"]
    value_column = kwargs["column_list"][-1] if "column_list" in kwargs else None
    return evaluate(settings.applied(check), rows, Providers.of(rows), totals, np.arange(len(rows)),
                    tolerance=settings.tolerance(check.code), record_cap=record_cap, value_column=value_column)
