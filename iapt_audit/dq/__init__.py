"""Data quality of an extract: completeness, validity and consistency, with stable DQ codes.

Public API::

    run_data_quality(extract, period, *, record_cap=1000, progress=None, settings=None, pathways=None)
        (pathways: a callable giving the derived pathways, called once, after the GX suites)
        -> DataQualityResult  (.checks, .findings, .worklist, .item_table, .has_errors)
    all_checks() -> list[Check]          # the catalogue, for `--select` help and documentation
    DQSettings.from_config(config, select=..., ignore=...)

Single-table checks are Great Expectations suites in ``expectations/`` (GX is imported only when
the stage runs); cross-table checks are vectorised pandas in ``cross_table``; the NHS Digital
valid / other / default / invalid / missing table is ``item_table``.
"""

from iapt_audit.dq.findings import Check, DataQualityResult, Finding, Tolerance
from iapt_audit.dq.settings import DQSettings
from iapt_audit.dq.stage import all_checks, run_data_quality

__all__ = ["Check", "DataQualityResult", "DQSettings", "Finding", "Tolerance", "all_checks", "run_data_quality"]
