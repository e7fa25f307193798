"""What the Spark engine audits: the extract's tables as Spark DataFrames, typed as the pandas
reader types them.

Three kinds of source (``spark_extract``):

* DataFrames or table names in the caller's session (a Databricks notebook), keyed by table name
  (``IDS101Referral``; NHS Digital's ``IDS101_Referral`` and any letter case are accepted);
* a folder of Parquet files or folders, or Delta tables, one per table (``IDS101Referral.parquet``,
  ``IDS101Referral/``), read by Spark itself: the way to audit more than one machine holds;
* any other extract the pandas reader accepts (CSV folder, .zip, .xlsx, folder of submissions):
  read by ``io.extract.read_extract``, with its checks and messages, then handed to Spark through
  Arrow. This is for the command line on an extract that one machine can read anyway.

Typing follows ``io.extract``: codes and identifiers as trimmed text with blanks missing, dates
as timestamps (the session runs in UTC), numbers as doubles. Every table gains ``ROW``, its
records' order as read, which orders capped record lists as the pandas engine's file order does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from iapt_audit.errors import InputError
from iapt_audit.io import submissions as submission_table
from iapt_audit.io.extract import NOTICE_COLUMNS, UNPARSED_COLUMNS, folder_notices, read_extract
from iapt_audit.io.files import refuse_near_miss, table_file_name, table_of
from iapt_audit.model.tables import IDENTIFIER_FALLBACKS, SUBMISSION_ID, TABLES
from iapt_audit.spark.envelope import ROW

HEADER = "IDS000Header"
# the dtype the reader gives text read from Parquet: pandas 3's default string, pandas 2's Arrow string
TEXT = "str" if int(pd.__version__.split(".")[0]) >= 3 else "string[pyarrow]"


@dataclass
class SparkExtract:
    """The tables of one extract as Spark DataFrames, and what the driver keeps of it.

    ``dtypes``: each table's pandas dtypes as the pandas reader gives them, restored on every
    provider's frames so that the pandas derivation sees what it sees on the pandas engine.
    ``tagged``: whether records already name their submission (the pandas reader tags them; a
    Spark-native table without ``UniqueSubmissionID`` is tagged per provider, as the reader would).
    """

    source: str
    tables: dict
    dtypes: dict[str, pd.Series]
    submissions: pd.DataFrame
    unparsed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNPARSED_COLUMNS))
    tagged: bool = True
    notices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTICE_COLUMNS))  # Extract.notices


def spark_extract(source, spark) -> SparkExtract:
    """``source`` (a mapping of table name to DataFrame or session table name, a folder of Parquet
    or Delta tables, or an extract the pandas reader reads) as a ``SparkExtract``.

    Errors: ``InputError`` for an unknown table name or a source without IDS101Referral.
    """
    if isinstance(source, SparkExtract):
        return source
    if isinstance(source, Mapping):
        frames = {}
        for name, value in source.items():
            table = table_of(str(name))
            if table is None:
                raise InputError(f"{name!r} is not a table of the IAPT data set", column=str(name),
                                 fix="name each DataFrame by its table, e.g. IDS101Referral")
            frames[table] = spark.table(value) if isinstance(value, str) else value
        return _native("DataFrames", frames, spark)
    path = Path(source)
    native, used = _native_tables(path, spark) if path.is_dir() else ({}, [])
    if native:
        extract = _native(str(path), native, spark)
        extract.notices = folder_notices(path, used)
        return extract
    return from_pandas(read_extract(path, identifiers=True), spark)


def from_pandas(extract, spark) -> SparkExtract:
    """An extract read by the pandas reader, as Spark DataFrames (through Arrow, not row by row)."""
    tables = {}
    for name, frame in extract.tables.items():
        arrow = pa.Table.from_pandas(frame.assign(**{ROW: np.arange(len(frame), dtype=np.int64)}), preserve_index=False)
        tables[name] = _spark_frame(spark, arrow)
    return SparkExtract(source=str(extract.source), tables=tables,
                        dtypes={name: frame.dtypes for name, frame in extract.tables.items()},
                        submissions=extract.submissions, unparsed=extract.unparsed, tagged=True,
                        notices=extract.notices)


def _spark_frame(spark, arrow: pa.Table):
    """A Spark DataFrame of an Arrow table, through Arrow, never row by row: PySpark 4 takes the
    table itself; PySpark 3.5 (Databricks' LTS runtimes) takes only pandas, so it is handed pandas
    with every value as ``object``, missing as None (its Arrow converter predates pandas 3's string
    dtype), and the schema stated. An empty table is always handed over with its schema (nothing to infer it from)."""
    import pyspark

    if len(arrow) and int(pyspark.__version__.split(".")[0]) >= 4:
        return spark.createDataFrame(arrow)
    frame = arrow.to_pandas()
    for column in frame.columns:  # missing as None, which every converter takes as null (not "nan", not NaN)
        if not pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return spark.createDataFrame(frame, schema=_arrow_schema_ddl(arrow.schema))


def _arrow_schema_ddl(schema: pa.Schema) -> str:
    kinds = {pa.types.is_timestamp: "timestamp", pa.types.is_floating: "double", pa.types.is_integer: "bigint",
             pa.types.is_boolean: "boolean"}
    def kind(t):
        return next((name for test, name in kinds.items() if test(t)), "string")
    return ", ".join(f"`{f.name}` {kind(f.type)}" for f in schema)


def _native_tables(folder: Path, spark) -> tuple[dict, list[Path]]:
    """Tables stored as Delta (a folder with ``_delta_log``) or Parquet (a file or folder named for
    its table), read by Spark (empty when the folder holds neither), and the entries read."""
    found, used = {}, []
    for entry in sorted(folder.iterdir()):
        stem = entry.name[:-len(".parquet")] if entry.name.lower().endswith(".parquet") else entry.name
        table = table_of(stem)
        if table is None and entry.is_file() and table_file_name(entry.name) is None:
            refuse_near_miss(entry.name, entry)  # as the pandas reader: IDS999Bogus.parquet is refused
        if table is None or table in found:
            continue
        if entry.is_dir() and (entry / "_delta_log").is_dir():
            found[table] = spark.read.format("delta").load(str(entry))
        elif entry.name.lower().endswith(".parquet") or (entry.is_dir() and any(entry.glob("*.parquet"))):
            found[table] = spark.read.parquet(str(entry))
        else:
            continue
        used.append(entry)
    return found, used


def _native(source: str, frames: dict, spark) -> SparkExtract:
    """Spark-native tables typed as the reader types them; the header's submissions on the driver."""
    from pyspark.sql import functions as F

    if "IDS101Referral" not in frames:
        raise InputError("there is no IDS101Referral table", file=source, fix="supply the referral table")
    tables, dtypes = {}, {}
    for name, frame in frames.items():
        spec = TABLES[name]
        frame = _canonical_names(frame, spec)
        columns = []
        for column in spec.columns:
            if column not in frame.columns:
                continue
            value = F.col(f"`{column}`")
            if column in spec.date_columns:  # try_cast: a text column's unreadable value is missing, as on pandas
                value = F.expr(f"try_cast(`{column}` AS timestamp)")
            elif column in spec.number_columns:
                value = F.expr(f"try_cast(`{column}` AS double)")
            else:
                text = F.trim(value.cast("string"))
                value = F.when(text == "", None).otherwise(text)
            columns.append(value.alias(column))
        tables[name] = frame.select(*columns, F.monotonically_increasing_id().alias(ROW))
        dtypes[name] = pd.Series({c: _pandas_dtype(c, spec) for c in tables[name].columns if c != ROW}, dtype=object)
    header = tables[HEADER].drop(ROW).toPandas().astype(dict(dtypes[HEADER])) if HEADER in tables else None
    subs = submission_table.header_submissions(header, Path(source) / HEADER, 1)
    if header is not None and (SUBMISSION_ID not in header or header[SUBMISSION_ID].isna().any()):
        rows = [f"{Path(source) / HEADER} row {r}" for r in range(1, len(header) + 1)]
        named = subs.set_index("source")[SUBMISSION_ID]
        header[SUBMISSION_ID] = pd.Series(named.reindex(rows).to_numpy(), dtype="string[pyarrow]")
        dtypes[HEADER] = header.dtypes
        tables[HEADER] = spark.createDataFrame(pa.Table.from_pandas(
            header.assign(**{ROW: np.arange(len(header), dtype=np.int64)}), preserve_index=False))
    return SparkExtract(source=source, tables=tables, dtypes=dtypes, submissions=subs, tagged=False)


def _canonical_names(frame, spec):
    """Columns renamed to the data set's names: any letter case, v2.0/v2.1 aliases, NHS Digital's
    derived identifiers where the provider's own is absent (as ``io.extract`` maps them)."""
    by_folded = {c.lower(): c for c in frame.columns}
    wanted = {**{c.lower(): c for c in spec.columns}, **{a.lower(): c for a, c in spec.aliases.items()}}
    for folded, original in by_folded.items():
        target = wanted.get(folded)
        if target and target != original and target not in frame.columns:
            frame = frame.withColumnRenamed(original, target)
    for item, fallbacks in IDENTIFIER_FALLBACKS.items():
        if item in spec.columns and item not in frame.columns:
            present = [f for f in fallbacks if f in frame.columns]
            if present:
                frame = frame.withColumnRenamed(present[0], item)
    return frame


def _pandas_dtype(column: str, spec) -> str:
    if column in spec.date_columns:
        return "datetime64[ns]"
    if column in spec.number_columns:
        return "float64"
    return "string[pyarrow]" if column == SUBMISSION_ID else TEXT
