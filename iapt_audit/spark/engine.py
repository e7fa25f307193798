"""``run_audit_spark``: the audit of ``iapt_audit.audit.run_audit`` on Apache Spark.

Flow (each step's reason is in its module):

1. the extract's tables as Spark DataFrames (``spark.sources``), typed as the pandas reader types
   them; the header's submissions and the reporting period on the driver;
2. a guard on the largest provider: its records must fit one executor;
3. every table packed per provider and, grouped by provider, one pandas function per provider
   (``spark.provider``): selection, the per-provider data-quality checks, pathways, KPIs and rule
   measurements, by the pandas engine's own code;
4. the suites through Great Expectations' Spark data source on each table's latest records
   (``spark.gx_spark``);
5. the providers' results joined on the driver (``spark.combine``), where rule decisions, funnels,
   outliers and the reports run as on the pandas engine.

The result is an ``AuditResult`` (``findings.json`` identical to the pandas engine's on the same
extract) or, for ``check``, a ``DataQualityResult``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import pandas as pd

from iapt_audit.dq import DataQualityResult, DQSettings
from iapt_audit.dq.gx_frames import gx_frame
from iapt_audit.dq.suites import load_suites, suite_checks, suite_parameters
from iapt_audit.errors import InputError
from iapt_audit.io.extract import Extract
from iapt_audit.kpis import ALL_PROVIDERS
from iapt_audit.model.tables import SUBMISSION_ID
from iapt_audit.model.thresholds import scales_with_overrides
from iapt_audit import publication
from iapt_audit.adjusted import AdjustedHeadlines
from iapt_audit.audit import AuditResult
from iapt_audit.clinician import ClinicianView
from iapt_audit.pathway import PathwaySettings
from iapt_audit.reconcile import Reconciliation
from iapt_audit.period import Period, resolve_period
from iapt_audit.progress import StageTimer
from iapt_audit.selection import Selection, ordered_submissions
from iapt_audit.spark.combine import Joined, sorted_findings
from iapt_audit.spark.envelope import ENVELOPE_SCHEMA, ROW, envelope_frame, envelopes, opened
from iapt_audit.spark.gx_spark import suite_finding, validate_on_spark
from iapt_audit.spark.provider import ProviderTask, gx_columns, provider_function
from iapt_audit.spark.sources import HEADER, SparkExtract, spark_extract

# A provider's records are audited in one Python worker; at national scale the largest provider
# has about 1.5 % of 40M records. Past this many records of one provider the run stops with advice.
MAX_PROVIDER_RECORDS = 20_000_000
GX_PARTITION_RECORDS = 2_000_000  # records read per partition of the GX frames (``_gx_partitions``)


def run_audit_spark(source, *, spark=None, period: str | None = None, timer: StageTimer | None = None,
                    dq_settings: DQSettings | None = None, config: dict | None = None, select=None, ignore=None,
                    benchmark=None, max_provider_records: int = MAX_PROVIDER_RECORDS):
    """Audit ``source`` on Spark; the same ``AuditResult`` as ``run_audit`` on the same extract.

    ``source``: a mapping of table name to Spark DataFrame or session table name (a Databricks
    notebook's tables), a folder of Parquet or Delta tables, or any extract the pandas reader reads.
    ``spark``: the caller's SparkSession (default: the active one, else a local one). The other
    arguments are ``run_audit``'s.
    Errors: ``InputError`` (bad input, or a provider larger than ``max_provider_records``).
    """
    from iapt_audit.audit import _codes_for, _selectors, provider_outliers
    from iapt_audit.reference import NationalReference

    timer = timer or StageTimer(show=False)
    files = publication.benchmark_files(benchmark)
    published = publication.read_publication(files) if files else None
    if not isinstance(benchmark, NationalReference):
        benchmark = NationalReference.from_files(benchmark) if benchmark else NationalReference.shipped()
    config = config or {}
    select, ignore = _selectors(select, config, "select"), _selectors(ignore, config, "ignore")
    settings = dq_settings or DQSettings.from_config(config, select=_codes_for("DQ", select),
                                                     ignore=_codes_for("DQ", ignore))
    rules_config = {k: v for k, v in config.items() if k != "audit"}
    pathway_settings = PathwaySettings.from_config(config)
    scales = scales_with_overrides(config.get("thresholds"))
    extract, chosen, joined, data_quality = _run(source, spark, period, timer, settings, derive=True,
                                                 scales=scales,
                                                 pathway_settings=pathway_settings, rules_config=rules_config,
                                                 rule_select=_codes_for("GM", select),
                                                 rule_ignore=_codes_for("GM", ignore),
                                                 max_provider_records=max_provider_records,
                                                 published=None if published is None else published[0])
    with timer.stage("kpis and rules: joining providers"):
        kpis = joined.kpi_table()
        rules = joined.rule_results(chosen, rules_config, _codes_for("GM", select), _codes_for("GM", ignore),
                                    benchmark)
    providers = sorted(joined.submitted | (set(kpis.index) - {ALL_PROVIDERS}))
    submissions = Selection(latest=None, distinct=None, submissions=ordered_submissions(extract.submissions),
                            report=joined.selection_report(), notices=extract.notices).as_json()
    result = SparkAuditResult(source=extract.source, period=chosen, providers=providers, kpis=kpis,
                              pathways=joined.pathways(pathway_settings), data_quality=data_quality, rules=rules,
                              timings=timer.stages, submissions=submissions, identifiers=joined.identifiers(),
                              scales=scales, published_files=files,
                              joined_reconciliation=joined.reconciliation(),
                              joined_adjusted=AdjustedHeadlines.joined(joined.extras["adjusted"]),
                              joined_clinicians=ClinicianView.joined(joined.extras["clinicians"]),
                              joined_publication=publication.joined(joined.extras["publication"], published, chosen))
    with timer.stage("outliers", rows=len(providers)):
        result.outliers = provider_outliers(kpis, rules, benchmark)
        result.benchmark = {"year": benchmark.year, "source": benchmark.source}
    result.monthly = joined.monthly_charts()
    return result


@dataclass
class SparkAuditResult(AuditResult):
    """``AuditResult`` whose reconciliation was joined from the providers' (the driver has no
    contacts or NHS Digital fields to reconcile from)."""

    joined_reconciliation: Reconciliation | None = None
    joined_adjusted: AdjustedHeadlines | None = None        # issue 18's three, joined from the providers'
    joined_clinicians: ClinicianView | None = None
    joined_publication: publication.PublicationReconciliation | None = None

    @property
    def reconciliation(self) -> Reconciliation:
        return self.joined_reconciliation

    @property
    def adjusted(self) -> AdjustedHeadlines:
        return self.joined_adjusted

    @property
    def clinicians(self) -> ClinicianView:
        return self.joined_clinicians

    @property
    def publication(self) -> publication.PublicationReconciliation:
        return self.joined_publication


def run_data_quality_spark(source, *, spark=None, period: str | None = None, timer: StageTimer | None = None,
                           settings: DQSettings | None = None, record_cap: int = 1000,
                           max_provider_records: int = MAX_PROVIDER_RECORDS):
    """``iapt-audit check`` on Spark: the data-quality stage only. Returns the
    ``DataQualityResult``, the period it ran for and the ``IdentifierMask`` its outputs apply."""
    _, chosen, joined, data_quality = _run(source, spark, period, timer or StageTimer(show=False),
                                           settings or DQSettings(), derive=False, record_cap=record_cap,
                                           max_provider_records=max_provider_records)
    return data_quality, chosen, joined.identifiers()


def _run(source, spark, period, timer: StageTimer, settings: DQSettings, *, derive: bool, record_cap: int = 1000,
         max_provider_records: int, **derivation):
    try:
        import pyspark  # noqa: F401  (only to say what to install when it is missing)
    except ImportError:
        raise InputError("the Spark engine needs PySpark, which is not installed",
                         fix="pip install 'iapt-audit[spark]' (and Java 17), or use --engine pandas") from None
    from iapt_audit.spark.session import configured, local_session

    with configured(spark if spark is not None else local_session()) as session:
        return _run_on(session, source, period, timer, settings, derive=derive, record_cap=record_cap,
                       max_provider_records=max_provider_records, **derivation)


def _run_on(spark, source, period, timer: StageTimer, settings: DQSettings, *, derive: bool, record_cap: int,
            max_provider_records: int, **derivation):
    from pyspark.sql import functions as F

    with timer.stage("read") as stage:
        extract = spark_extract(source, spark)
        sizes = _provider_sizes(extract)
        stage["rows"] = int(sizes.sum())
    _guard(sizes, max_provider_records)
    chosen = _period(period, extract)
    suites = {table: [copy.deepcopy(e) for e in suite["expectations"] if settings.wants(e["meta"]["code"])]
              for table, suite in load_suites().items() if table in extract.tables}
    suites = {table: expectations for table, expectations in suites.items() if expectations}
    suite_codes = tuple(check.code for check in suite_checks())
    task = ProviderTask(source=extract.source, period=chosen,
                        settings=dataclasses.replace(settings, ignore=tuple(settings.ignore) + suite_codes),
                        suites=suites, dtypes=extract.dtypes, submissions=extract.submissions,
                        unparsed=extract.unparsed, tagged=extract.tagged, record_cap=record_cap, derive=derive,
                        **derivation)
    with timer.stage("per provider: select, check, derive, measure", rows=stage["rows"]):
        # a partition per provider (hashed): a task holds one provider's records, never a share of
        # the whole archive (with the session's few shuffle partitions, a national archive's task
        # held a quarter of it and ran out of JVM heap)
        partitions = max(1, len(sizes))
        packed = None
        for name, frame in extract.tables.items():
            part = frame.repartition(partitions, "OrgIDProv").groupBy("OrgIDProv").applyInPandas(
                _packer(name), ENVELOPE_SCHEMA)
            packed = part if packed is None else packed.unionByName(part)
        staged = packed.repartition(partitions, "OrgIDProv").groupBy("OrgIDProv").applyInPandas(
            provider_function(task), ENVELOPE_SCHEMA)
        staged = _kept(staged)
        joined = Joined()
        per_provider = staged.filter(F.col("kind").isin("result", "error", "failure"))
        for org, rows in _by_provider(per_provider):
            outputs = opened(rows)
            if "error" in outputs:
                raise outputs["error"]
            if "failure" in outputs:
                raise RuntimeError(f"the audit of provider {org} failed in its Spark task:\n{outputs['failure']}")
            joined.add(outputs["result"])
    with timer.stage("data quality: great expectations (spark)", rows=stage["rows"]):
        templates = {table: _gx_template(table, extract, expectations) for table, expectations in suites.items()}
        partitions = _gx_partitions(stage["rows"], len(sizes))
        frames = {table: staged.filter(F.col("kind") == f"gx:{table}").select("part", "payload").coalesce(partitions)
                  .mapInPandas(_unpacker(templates[table]), _ddl(templates[table])) for table in suites}
        failing = validate_on_spark(frames, suites, templates, suite_parameters(chosen.end))
        checks = {check.code: check for check in suite_checks()}
        pairs = []
        for table, expectations in suites.items():
            first = {}  # a check's first expectation names its value column, as in dq.stage
            for expectation in expectations:
                first.setdefault(expectation["meta"]["code"], expectation)
            for code, expectation in first.items():
                pairs.append(suite_finding(checks[code], failing.get(code, templates[table].iloc[0:0]),
                                           joined.totals(code), expectation, settings, record_cap))
    findings, worklist = sorted_findings(pairs + joined.findings(settings, record_cap))
    data_quality = DataQualityResult(checks=findings, worklist=worklist, item_table=joined.item_table(),
                                     timings={})
    return extract, chosen, joined, data_quality


def _kept(staged):
    """The per-provider stage's output computed once and kept on the executors' disks (a local
    checkpoint), so the driver's pass over the results and each table's GX frame read it back
    instead of auditing every provider again.

    Why not ``persist``: a cached DataFrame is stored as column batches of 10,000 rows, so one
    batch held a whole partition's envelopes (hundreds of MB of pickled records per provider) and
    a national archive ran out of JVM heap building it. A checkpoint stores rows as they come,
    written straight to disk where Spark allows it (Spark 4: ``storageLevel``; Spark 3.5 keeps
    what fits in memory and spills the rest). Its blocks are removed by Spark's context cleaner
    once the returned DataFrame is no longer referenced.
    """
    import inspect

    from pyspark import StorageLevel

    if "storageLevel" in inspect.signature(staged.localCheckpoint).parameters:
        return staged.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    return staged.localCheckpoint(eager=True)  # PySpark 3.5


def _gx_partitions(records: int, providers: int) -> int:
    """Partitions of each table's GX frame: one per ``GX_PARTITION_RECORDS`` records read, at
    least 2, at most one per provider (the per-provider stage's partitions, merged without a
    shuffle).

    Why: Great Expectations runs each metric as a Spark job with a task per partition. Left at a
    partition per provider, 120 providers' 14M records spent 234 s in the suites against 128 s for
    24 providers' (benchmarks/RESULTS.md), the difference being tasks, not records.
    """
    return max(1, min(providers, max(2, records // GX_PARTITION_RECORDS)))


def _provider_sizes(extract: SparkExtract) -> pd.Series:
    """Records per provider over every table (one small aggregate per table)."""
    from pyspark.sql import functions as F

    counts = None
    for frame in extract.tables.values():
        part = frame.groupBy("OrgIDProv").agg(F.count(F.lit(1)).alias("records"))
        counts = part if counts is None else counts.unionByName(part)
    rows = counts.groupBy("OrgIDProv").agg(F.sum("records").alias("records")).collect()
    return pd.Series({row["OrgIDProv"]: int(row["records"]) for row in rows}, dtype="int64")


def _guard(sizes: pd.Series, limit: int) -> None:
    """Stop before a provider too large for one worker is shipped to one."""
    if len(sizes) and int(sizes.max()) > limit:
        org = sizes.idxmax()
        raise InputError(f"provider {org} has {int(sizes.max()):,} records, more than the {limit:,} one Spark "
                         f"task audits", column="OrgIDProv",
                         fix="give the executors more memory and raise max_provider_records, or audit fewer months")


def _period(text: str | None, extract: SparkExtract) -> Period:
    """``resolve_period`` as on the pandas engine: the given period, else the latest submissions'
    header period, else the span of referral and contact dates."""
    from pyspark.sql import functions as F

    if text:
        return Period.parse(text)
    tables = {}
    if HEADER in extract.tables:
        header = extract.tables[HEADER].drop(ROW).toPandas()
        subs = ordered_submissions(extract.submissions)
        superseded = set(subs.loc[subs["order"] == -2, SUBMISSION_ID].astype(str))
        if SUBMISSION_ID in header:
            header = header[~header[SUBMISSION_ID].astype("string").isin(superseded).fillna(False)]
        tables[HEADER] = header
    received = extract.tables["IDS101Referral"].agg(F.min("ReferralRequestReceivedDate").alias("start"),
                                                    F.max("ReferralRequestReceivedDate").alias("end")).collect()[0]
    contacts = (extract.tables["IDS201CareContact"].agg(F.max("CareContDate").alias("end")).collect()[0]
                if "IDS201CareContact" in extract.tables else {"end": None})
    tables["IDS101Referral"] = pd.DataFrame({"ReferralRequestReceivedDate": pd.to_datetime(
        [received["start"], received["end"]])})
    tables["IDS201CareContact"] = pd.DataFrame({"CareContDate": pd.to_datetime([contacts["end"]])})
    files = {"IDS101Referral": extract.source}
    return resolve_period(None, Extract(source=extract.source, tables=tables, files=files, first_row={}))


def _packer(name: str):
    def pack(key, frame):  # no type hints: PySpark would try to read a UDF kind from them
        return envelope_frame(envelopes(key[0], name, frame))
    return pack


def _by_provider(frame):
    """The driver's view of per-provider envelope rows, one provider at a time (``toLocalIterator``:
    only one partition's rows are on the driver at once)."""
    current, rows = None, []
    for row in frame.sortWithinPartitions("OrgIDProv").toLocalIterator():
        if rows and row["OrgIDProv"] != current:
            yield current, pd.DataFrame(rows)
            rows = []
        current = row["OrgIDProv"]
        rows.append({"kind": row["kind"], "part": row["part"], "payload": row["payload"]})
    if rows:
        yield current, pd.DataFrame(rows)


def _gx_template(table: str, extract: SparkExtract, expectations: list[dict]) -> pd.DataFrame:
    """An empty GX frame of ``table`` with the pandas dtypes every provider's GX frame has."""
    from iapt_audit.dq import gx_runner

    dtypes = extract.dtypes[table]
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})
    frame = gx_frame(table, empty, gx_runner.referenced_columns({"expectations": expectations}))
    return gx_columns(table, frame, expectations).assign(**{ROW: pd.Series(dtype="int64")})


def _unpacker(template: pd.DataFrame):
    """``mapInPandas`` function: envelope rows of GX frames back to records, text as ``object``."""
    text = [c for c in template.columns if pd.api.types.is_string_dtype(template[c].dtype)]

    def unpack(batches):
        for batch in batches:
            for payload in batch["payload"]:
                frame = opened(pd.DataFrame({"kind": ["frame"], "part": [0], "payload": [payload]}))["frame"]
                frame = frame[list(template.columns)]
                yield frame.astype({c: object for c in text}).where(frame.notna(), None) if text else frame
    return unpack


def _ddl(template: pd.DataFrame) -> str:
    """A Spark schema for a pandas frame of the engine's dtypes."""
    def kind(dtype) -> str:
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "timestamp"
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_float_dtype(dtype):
            return "double"
        if pd.api.types.is_integer_dtype(dtype):
            return "bigint"
        return "string"
    return ", ".join(f"`{c}` {kind(template[c].dtype)}" for c in template.columns)
