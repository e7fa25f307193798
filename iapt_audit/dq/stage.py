"""The data-quality stage: GX suites, cross-table checks and the item table, as one result.

Runs on the extract as read (with identifiers, for the NHS number check) and before pathways are
trusted: it is both the service's pre-submission gate (``iapt-audit check``) and the
commissioner's first look before any KPI.
"""

from __future__ import annotations

import copy
import gc
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from iapt_audit.dq import cross_table, gx_runner
from iapt_audit.dq.findings import (SEVERITY_RANK, WORKLIST_COLUMNS, Check, DataQualityResult, Finding, Providers,
                                    evaluate)
from iapt_audit.dq.gx_frames import gx_frame
from iapt_audit.dq.item_table import item_table
from iapt_audit.dq.settings import DQSettings
from iapt_audit.dq.submission_history import HISTORY_CHECKS
from iapt_audit.dq.suites import load_suites, suite_checks, suite_parameters
from iapt_audit.io.extract import Extract
from iapt_audit.pathway import Pathways
from iapt_audit.period import Period
from iapt_audit.progress import StageTimer


def all_checks() -> list[Check]:
    """Every check the stage can run (suites, cross-table and submission history), in code order."""
    return sorted(suite_checks() + [check for check, _ in cross_table.CROSS_TABLE_CHECKS]
                  + [check for check in HISTORY_CHECKS], key=lambda c: c.code)


def run_data_quality(extract: Extract, period: Period, *, record_cap: int = 1000, progress: StageTimer | None = None,
                     settings: DQSettings | None = None, pathways: Callable[[], Pathways] | None = None,
                     history: list[tuple[Check, cross_table.Verdict]] = (),
                     linked: Extract | None = None) -> DataQualityResult:
    """Run every selected check on ``extract`` (``Selection.latest``) for ``period``.

    ``linked``: the extract with one record per key (``Selection.distinct``; default ``extract``),
    on which the cross-table checks follow records to their parents: a contact listed twice in one
    submission is one contact there, and its repeat is the uniqueness check's finding alone.
    ``history``: the submission-history verdicts (``dq.submission_history.SubmissionHistory.verdicts``), run
    on the records as read before selection released them; they are evaluated here with the rest.

    ``pathways`` gives the derived pathways, which two cross-table checks read (finished
    courses). It is called between the GX suites and the cross-table checks, after the suites'
    working copies are collected, so that an audit can derive its pathways there, once: its peak
    memory is then the larger of the two stages', not their sum. Without it the pathways are
    derived here, and only if a check that needs them is selected.
    """
    settings = settings or DQSettings()
    timer = progress or StageTimer(show=False)
    findings: list[Finding] = []
    worklists: list[pd.DataFrame] = []
    timings: dict[str, float] = {}
    table_providers = _LazyProviders(extract)

    with timer.stage("data quality: great expectations", rows=sum(len(t) for t in extract.tables.values())) as gx:
        for finding, worklist in _suite_findings(extract, period, settings, record_cap, timings, table_providers):
            findings.append(finding)
            worklists.append(worklist)
    timings["great_expectations"] = gx["seconds"]
    gc.collect()  # GX's batches hold the frames they validated in reference cycles

    given = pathways() if pathways else None
    with timer.stage("data quality: cross-table") as cross:
        linked = extract if linked is None else linked
        linked_providers = table_providers if linked is extract else _LazyProviders(linked)
        inputs = cross_table.Inputs(linked, period, given)
        for check, run in cross_table.CROSS_TABLE_CHECKS:
            if not settings.wants(check.code):
                continue
            verdict = run(inputs)
            providers = (linked_providers[check.table] if verdict.aligned else Providers.of(verdict.frame))
            totals = verdict.totals if verdict.totals is not None else providers.count(verdict.applies)
            finding, worklist = evaluate(settings.applied(check), verdict.frame, providers, totals, verdict.failing,
                                         tolerance=settings.tolerance(check.code), record_cap=record_cap,
                                         value_column=verdict.value_column)
            findings.append(finding)
            worklists.append(worklist)
    timings["cross_table"] = cross["seconds"]

    for check, verdict in history:
        finding, worklist = evaluate(settings.applied(check), verdict.frame, Providers.of(verdict.frame),
                                     verdict.totals, verdict.failing, tolerance=settings.tolerance(check.code),
                                     record_cap=record_cap, value_column=verdict.value_column)
        findings.append(finding)
        worklists.append(worklist)

    with timer.stage("data quality: item table") as items_stage:
        items = item_table(extract)
    timings["item_table"] = items_stage["seconds"]

    findings.sort(key=lambda f: (SEVERITY_RANK[f.check.severity], f.check.code))
    worklist = pd.concat([w for w in worklists if len(w)], ignore_index=True) if any(len(w) for w in worklists) \
        else pd.DataFrame(columns=WORKLIST_COLUMNS)
    return DataQualityResult(checks=findings, worklist=worklist, item_table=items, timings=timings)


class _LazyProviders(dict):
    """Provider codes per extract table, factorised on first use."""

    def __init__(self, extract: Extract):
        super().__init__()
        self.extract = extract

    def __missing__(self, table: str) -> Providers:
        self[table] = Providers.of(self.extract.tables[table])
        return self[table]


def _suite_findings(extract: Extract, period: Period, settings: DQSettings, record_cap: int, timings: dict,
                    table_providers: _LazyProviders):
    """Run the selected expectations of every table present through GX; one finding per code.

    A check's denominator needs no GX verdict: it is counted from the frame, per provider.
    """
    checks = {check.code: check for check in suite_checks()}
    chosen = {table: [e for e in suite["expectations"] if settings.wants(e["meta"]["code"])]
              for table, suite in load_suites().items() if table in extract.tables}
    chosen = {table: copy.deepcopy(expectations) for table, expectations in chosen.items() if expectations}
    if not chosen:
        return
    frames = {table: gx_frame(table, extract.tables[table], gx_runner.referenced_columns({"expectations": exps}))
              for table, exps in chosen.items()}
    by_code: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for table, expectations in chosen.items():
        for expectation in expectations:
            by_code[expectation["meta"]["code"]].append((table, expectation))
    totals = {}
    for code, parts in by_code.items():
        table = parts[0][0]
        totals[code] = gx_runner.suite_totals(frames[table], [e for _, e in parts], table_providers[table])

    runs = [run for table, expectations in chosen.items()
            for run in gx_runner.batches(table, frames[table], expectations)]
    # The compound-key checks hash millions of identifiers. Run back to back (and last), each reuses
    # the memory the previous one just released instead of paging in fresh memory: GX's runs took
    # 1.1-2.2 s less at 1.8M referrals (benchmarks/RESULTS_dq.md). Verdicts do not depend on order.
    runs.sort(key=lambda run: any(e["type"] == "expect_compound_columns_to_be_unique" for e in run[2]))
    failing_by_code: dict[str, list[np.ndarray]] = defaultdict(list)
    errors: dict[str, str] = {}
    for outcome in gx_runner.validate(runs, suite_parameters(period.end), timings):
        failing_by_code[outcome.expectation["meta"]["code"]].append(outcome.failing)
        if outcome.error:
            errors.setdefault(outcome.expectation["meta"]["code"], outcome.error)
    for code, parts in by_code.items():
        table, expectation = parts[0]
        failing = np.unique(np.concatenate(failing_by_code[code]))
        kwargs = expectation["kwargs"]
        value_column = kwargs["column_list"][-1] if "column_list" in kwargs else None
        check = settings.applied(checks[code])
        if code in errors:  # a check that could not run is an error, never a pass
            check = replace(check, severity="error", title=f"{check.title} (could not run: {errors[code]})")
        finding, worklist = evaluate(check, frames[table], table_providers[table], totals[code], failing,
                                     tolerance=settings.tolerance(code), record_cap=record_cap,
                                     value_column=value_column)
        if code in errors:
            finding.passed = False
        yield finding, worklist
