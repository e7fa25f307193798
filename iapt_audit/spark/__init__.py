"""The Spark engine: the same audit where the data already is (``iapt-audit audit --engine spark``).

Install with ``pip install 'iapt-audit[spark]'`` (PySpark; Java 17). ``run_audit_spark`` takes a
SparkSession and DataFrames, session table names, Parquet or Delta folders, or any extract the
pandas reader reads; see ``spark.engine`` for the flow and README "Auditing on Spark".
"""

from iapt_audit.spark.engine import run_audit_spark, run_data_quality_spark

__all__ = ["run_audit_spark", "run_data_quality_spark"]
