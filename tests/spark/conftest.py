"""One local SparkSession for every Spark test (starting one costs 15-35 s here), with bounded
memory, and the extracts the tests audit with both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from iapt_audit.spark.session import java_available
from iapt_audit.synth import generate

# a multi-provider synthetic extract: 8 providers is the least for which synth plants one gaming
# pattern per provider, so the rules' peer funnels and flags are exercised on both engines
PROVIDERS, REFERRALS, SEED = 8, 1600, 17


@pytest.fixture(scope="session")
def spark():
    if not java_available():
        pytest.skip("Java is not installed: the Spark engine needs a Java 17 runtime (JAVA_HOME or java on PATH)")
    from iapt_audit.spark.session import local_session

    session = local_session(memory="1g", cores=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory) -> Path:
    """A warehouse extract (every provider's monthly submissions, with Refreshes and the planted
    submission-history defects) as Parquet files: read by Spark itself on the Spark engine."""
    folder = tmp_path_factory.mktemp("spark-warehouse") / "extract"
    generate(folder, providers=PROVIDERS, referrals=REFERRALS, seed=SEED, layout="warehouse", fmt="parquet")
    return folder
