"""The audit pipeline: read -> select -> data quality -> pathways -> KPIs -> rules -> outliers.

Each stage takes the previous stage's object and returns a new one; only ``io`` reads input and
only ``report`` writes output. ``run_audit`` is the Python API behind ``iapt-audit audit``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import time
from dataclasses import dataclass, field

import pandas as pd

from iapt_audit import __version__
from iapt_audit.dq import DataQualityResult, DQSettings, run_data_quality
from iapt_audit.identifiers import IdentifierMask
from iapt_audit.dq.submission_history import SubmissionHistory
from iapt_audit.io.extract import read_extract
from iapt_audit.kpis import ALL_PROVIDERS, MEASURES, compute_kpis, kpis_as_json
from iapt_audit.model.thresholds import scales_with_overrides
from iapt_audit.adjusted import AdjustedHeadlines, adjusted_headlines, rules_in_force
from iapt_audit.clinician import ClinicianSessions, ClinicianView, clinician_sessions, clinician_view
from iapt_audit.pathway import Pathways, PathwaySettings, derive_pathways
from iapt_audit.period import Period, resolve_period
from iapt_audit.publication import PublicationReconciliation, benchmark_files, reconcile_publication
from iapt_audit.progress import StageTimer
from iapt_audit.reconcile import Reconciliation, reconcile
from iapt_audit.rules_engine import run_rules
from iapt_audit.model.tables import TABLES
from iapt_audit.selection import HEADER, Selection, Selector, record_key

SCHEMA_VERSION = 1


@dataclass
class AuditResult:
    """Everything one audit found, for the reports to present."""

    source: str
    period: Period
    providers: list[str]
    kpis: pd.DataFrame
    pathways: Pathways
    data_quality: DataQualityResult | None = None
    rules: list = field(default_factory=list)
    outliers: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    identifiers: IdentifierMask = field(default_factory=IdentifierMask)  # what every output withholds
    submissions: dict = field(default_factory=dict)  # Selection.as_json(): submissions read and set aside
    benchmark: dict = field(default_factory=dict)  # the national reference used: year and source
    monthly: dict = field(default_factory=dict)  # outliers.monthly_spc: each provider's months on XmR charts
    scales: dict | None = None  # questionnaire cut-offs in force (model.thresholds; None: the defaults)
    published_files: list = field(default_factory=list)  # --benchmark files, reconciled in ``publication``
    sessions: ClinicianSessions | None = None  # each session's clinician, for the clinician view

    def findings(self) -> dict:
        """The findings.json document (schema_version 1: extend it, never rename)."""
        providers = {}
        for org in self.providers:
            values, basis = kpis_as_json(self.kpis, org)
            providers[org] = {"kpis": values, "kpi_basis": basis}
        values, basis = kpis_as_json(self.kpis, ALL_PROVIDERS)
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "iapt-audit", "version": __version__},
            "period": self.period.as_json(),
            "providers": providers,
            "total": {"kpis": values, "kpi_basis": basis},
            "data_quality": [f.as_json() for f in self.data_quality.checks] if self.data_quality else [],
            "rules": [r.as_json() if hasattr(r, "as_json") else r for r in self.rules],
            "outliers": self.outliers,
            "benchmark": self.benchmark,
            "monthly_spc": self.monthly,
            "submissions": self.submissions,
            "derivation": self.pathways.derivation_json(),
            "reconciliation": self.reconciliation.as_json(),
            "adjusted_headlines": self.adjusted.as_json(),
            "publication": self.publication.as_json(),
            "clinicians": self.clinicians.as_json(),  # service-internal, as the record evidence above
        }

    @functools.cached_property
    def reconciliation(self) -> Reconciliation:
        """NHS Digital's derived fields against this audit's derivation (``reconcile``)."""
        return reconcile(self.pathways)

    @functools.cached_property
    def adjusted(self) -> AdjustedHeadlines:
        """Gaming-adjusted headlines: sensitivity figures beside the official ones (``adjusted``)."""
        return adjusted_headlines(self.pathways, self.period, rules_in_force(self.rules), self.scales)

    @functools.cached_property
    def publication(self) -> PublicationReconciliation:
        """The tool's figures beside NHS Digital's published ones for the same providers and
        period (``publication``; not ``reconciliation``, which is about record-level derived fields)."""
        return reconcile_publication(self.pathways, self.period, self.published_files)

    @functools.cached_property
    def clinicians(self) -> ClinicianView:
        """The clinician view (``clinician``): for the self-check report only."""
        return clinician_view(self.pathways, self.period, self.sessions, rules_in_force(self.rules), self.scales)


def run_audit(path, *, period: str | None = None, timer: StageTimer | None = None,
              dq_settings: DQSettings | None = None, config: dict | None = None, select=None,
              ignore=None, benchmark=None, engine: str = "pandas") -> AuditResult:
    """Audit the extract at ``path`` for ``period`` ("START:END"; default the header's).

    ``engine``: "pandas" (this process) or "spark" (``iapt_audit.spark.run_audit_spark``, which also
    takes DataFrames and a caller's SparkSession; the same findings on the same extract).

    ``benchmark``: NHS Digital published files (paths) to build England's reference from, or a
    ``reference.NationalReference``; default the reference shipped with the package."""
    from iapt_audit.reference import NationalReference

    if engine == "spark":
        from iapt_audit.spark import run_audit_spark
        return run_audit_spark(path, period=period, timer=timer, dq_settings=dq_settings, config=config,
                               select=select, ignore=ignore, benchmark=benchmark)
    timer = timer or StageTimer(show=False)
    published_files = benchmark_files(benchmark)
    if not isinstance(benchmark, NationalReference):
        benchmark = NationalReference.from_files(benchmark) if benchmark else NationalReference.shipped()
    config = config or {}
    select, ignore = _selectors(select, config, "select"), _selectors(ignore, config, "ignore")
    scales = scales_with_overrides(config.get("thresholds"))
    settings = dq_settings or DQSettings.from_config(config, select=_codes_for("DQ", select),
                                                     ignore=_codes_for("DQ", ignore))
    selection, history = read_and_select(path, timer, settings)
    chosen = resolve_period(period, selection.latest)
    distinct = selection.distinct

    @functools.cache
    def derived_pathways() -> Pathways:
        """Derived once, between the data-quality stage's GX suites and its cross-table checks
        (which read them): after the suites' copies are freed, so the two peaks do not add up."""
        with timer.stage("pathways", rows=len(distinct["IDS201CareContact"])):
            return derive_pathways(distinct, scales, PathwaySettings.from_config(config))

    # data quality needs the NHS number (check digit), so it runs before identifiers are dropped
    data_quality = run_data_quality(selection.latest, chosen, progress=timer, pathways=derived_pathways,
                                    settings=settings, history=history,
                                    linked=selection.distinct)
    submitted = selection.latest.providers
    identifiers = IdentifierMask.of(selection.latest)
    pathways = derived_pathways()
    sessions = clinician_sessions(distinct, pathways)
    submissions = selection.as_json()
    # later stages read only the pathways: release the records (identifiers with them)
    del selection, distinct, history
    gc.collect()
    with timer.stage("kpis", rows=len(pathways.referrals)):
        kpis = compute_kpis(pathways.referrals, pathways.contacts, chosen, providers=submitted)
    with timer.stage("rules", rows=len(pathways.referrals)):
        rules = run_rules(pathways, chosen, config={k: v for k, v in config.items() if k != "audit"},
                          select=_codes_for("GM", select), ignore=_codes_for("GM", ignore), benchmark=benchmark)
    providers = sorted(set(submitted) | (set(kpis.index) - {ALL_PROVIDERS}))
    result = AuditResult(source=str(path), period=chosen, providers=providers, kpis=kpis,
                         pathways=pathways, data_quality=data_quality, rules=rules, timings=timer.stages,
                         submissions=submissions, identifiers=identifiers, scales=scales,
                         published_files=published_files, sessions=sessions)
    with timer.stage("outliers", rows=len(result.providers)):
        result.outliers = provider_outliers(kpis, rules, benchmark)
        result.benchmark = {"year": benchmark.year, "source": benchmark.source}
    with timer.stage("monthly", rows=len(pathways.referrals)):
        from iapt_audit.outliers import monthly_spc
        result.monthly = monthly_spc(pathways, chosen, rules=rules_in_force(rules), scales=scales)
    if published_files:  # read now, so an unreadable file stops the run before any report is written
        with timer.stage("publication", rows=len(result.providers)):
            result.publication  # noqa: B018 (a cached property: computed here, reused by the reports)
    return result


def read_and_select(path, timer: StageTimer, settings: DQSettings) -> tuple[Selection, list]:
    """Read the extract (identifiers kept for the NHS number check) and select its latest
    submissions and records (``iapt_audit.selection``), each table as soon as it is read, with the
    submission-history checks beside it (``SelectStage``). Returns the selection and those
    verdicts. They interleave, so they are timed as one stage, "read and select", whose record
    also holds the selection's own share (``select_seconds``, ``select_cpu_seconds``)."""
    stage = SelectStage(settings.wants)
    with timer.stage("read and select") as timed:
        extract = read_extract(path, identifiers=True, take=stage.take)
        timed["rows"] = sum(extract.rows_read.values())
        chosen = stage.finish(extract)
        timed["select_seconds"], timed["select_cpu_seconds"] = round(stage.seconds, 3), round(stage.cpu_seconds, 3)
    return chosen


class SelectStage:
    """Selection and the submission-history checks, fed one table at a time as the reader hands
    them over (``read_extract``'s ``take``): each table's records as read are keyed once, checked,
    reduced to the records kept, and freed before the next table is read, so a year of monthly
    submissions is never held whole as read (issue 13's memory peak). ``wants(code)``: whether a
    history check runs."""

    def __init__(self, wants=lambda code: True):
        self.wants = wants
        self.selector: Selector | None = None
        self.history: SubmissionHistory | None = None
        self.seconds = self.cpu_seconds = 0.0  # spent here, apart from reading

    def take(self, extract, name: str, table: pd.DataFrame) -> None:
        """One table as read: ``extract.submissions`` must be complete (the reader's order)."""
        with self._counted():
            if self.selector is None:
                self.selector = Selector(extract.submissions)
                self.history = SubmissionHistory(self.selector.submissions, self.wants)
            key = record_key(name, table) if name != HEADER else None
            placed = self.selector.placed(table)
            self.history.take(name, table, key, placed)  # it passes over the header itself
            self.selector.take(name, table, key, placed)

    def finish(self, extract) -> tuple[Selection, list]:
        """The selection and the history verdicts, once every record table was taken; the header,
        still in ``extract.tables``, is taken here."""
        if HEADER in extract.tables:
            self.take(extract, HEADER, extract.tables.pop(HEADER))
        elif self.selector is None:
            self.take(extract, HEADER, pd.DataFrame())
        with self._counted():
            return self.selector.selection(extract), self.history.verdicts()

    @contextlib.contextmanager
    def _counted(self):
        """Add the block's wall and CPU seconds to this stage's own."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu

    @classmethod
    def of_extract(cls, extract, wants=lambda code: True) -> tuple[Selection, list]:
        """An extract read whole (``extract`` is not modified): what ``read_and_select`` gives."""
        stage = cls(wants)
        whole = dataclasses.replace(extract, tables=dict(extract.tables))
        for name in [name for name in TABLES if name in whole.tables and name != HEADER]:
            stage.take(whole, name, whole.tables.pop(name))
        return stage.finish(whole)


def _selectors(given, config: dict, key: str) -> tuple[str, ...]:
    """``--select``/``--ignore`` (repeated or comma-separated), else the config's ``[audit]`` list."""
    values = given or config.get("audit", {}).get(key, ())
    return tuple(part.strip().upper() for value in values for part in str(value).split(",") if part.strip())


def _codes_for(prefix: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The selectors that concern one stage (DQ checks or GM rules): ``--select GM03`` leaves the
    data-quality checks as they are, ``--select DQ0`` the rules."""
    return tuple(code for code in codes if code.startswith(prefix))


def provider_outliers(kpis: pd.DataFrame, rules: list, benchmark=None) -> list[dict]:
    """One funnel per indicator: every KPI rate compared across the extract's providers (when
    there are enough), and every gaming indicator on the very funnel its rule decided with
    (``rules_engine.flagging``). With fewer than 8 providers, each KPI and indicator with a
    published counterpart is placed on England's funnel from ``benchmark``."""
    from iapt_audit.outliers import compare_providers

    providers = kpis.drop(index=ALL_PROVIDERS)
    frames = {m.name: pd.DataFrame({"provider": providers.index.astype(str),
                                    "numerator": providers[f"{m.name}__num"].to_numpy(),
                                    "denominator": providers[f"{m.name}__den"].to_numpy()})
              for m in MEASURES if m.kind == "percentage"}
    entries = []
    for name, frame in frames.items():
        entry = compare_providers(name, frame)
        if entry is None and benchmark is not None:
            entry = benchmark.judge(name, frame[frame["denominator"] > 0])
        entries.append(entry)
    for rule in rules:  # the funnel that decided the rule, peers' or England's
        entry = rule.peer_test
        if entry is not None:
            entry["official_name"] = f"{rule.code} {rule.rule.title}"
            entry["measure"] = rule.code
        entries.append(entry)
    return [entry for entry in entries if entry is not None]
