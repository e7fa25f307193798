"""A local Spark session for the command line and the tests, and the settings every session needs.

On a cluster (a Databricks notebook) the caller's own session is used as it is; only
``run_audit_spark(..., spark=None)`` from the command line starts one here, in local mode, with
bounded driver memory. Why these settings:

* ``PYSPARK_PYTHON`` names this interpreter, so the Python workers that run the per-provider
  pandas functions import the same ``iapt_audit`` and libraries as the driver;
* the session time zone is UTC, so the extract's dates (time-zone-less) come back unchanged from
  Spark's timestamps;
* Arrow carries data between the JVM and pandas (``createDataFrame`` from a pandas 3 frame falls
  back to row-by-row conversion without it), and few shuffle partitions suit local mode.
"""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager

from iapt_audit.errors import InputError

DRIVER_MEMORY = "2g"


def local_session(*, memory: str = DRIVER_MEMORY, cores: int = 2):
    """A ``local[cores]`` SparkSession with ``memory`` of driver heap (executors run in the driver
    in local mode, so this bounds the whole JVM); the active session if one is already running."""
    if not java_available():
        raise InputError("the Spark engine needs Java (17), and none was found",
                         fix="install a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless) "
                             "or set JAVA_HOME, or use --engine pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    spark = (SparkSession.builder.master(f"local[{cores}]").appName("iapt-audit")
             .config("spark.driver.memory", memory)
             .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
             .config("spark.default.parallelism", str(max(2, cores * 2)))
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.adaptive.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.execution.arrow.pyspark.fallback.enabled": "false"}


@contextmanager
def configured(spark):
    """The settings the engine relies on (UTC, Arrow) for the length of a run, on any session; a
    caller's own values are put back afterwards, so a notebook's later queries are unaffected."""
    before = {key: spark.conf.get(key, None) for key in SETTINGS}
    for key, value in SETTINGS.items():
        spark.conf.set(key, value)
    try:
        yield spark
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def java_available() -> bool:
    """Whether a Java runtime can be found, as Spark looks for one (JAVA_HOME, else PATH)."""
    home = os.environ.get("JAVA_HOME")
    return bool(home and os.path.exists(os.path.join(home, "bin", "java"))) or shutil.which("java") is not None
