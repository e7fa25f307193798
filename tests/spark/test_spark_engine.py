"""The Spark engine against the pandas engine, in Spark local mode (one session for all: see conftest).

Parity: the same extract audited by both engines gives the same findings.json. The extract is a
warehouse archive of monthly submissions (8 providers, gaming patterns and submission-history
defects planted by ``synth``), so selection, the submission-history checks, the per-provider
derivation and the peer funnels across providers all run on Spark; the command line is used for
both engines, so ``--engine spark`` itself is tested. Then the Databricks-style use (a session and
its DataFrames or table names handed in), ``check --engine spark`` on the data-quality tests'
hand-worked extract, and the guard on the largest provider.

All tests are in this one module so that pytest-xdist (``--dist loadfile``) runs them in one
worker, on one SparkSession.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from iapt_audit.audit import run_audit
from iapt_audit.cli import main
from iapt_audit.errors import InputError
from iapt_audit.spark import run_audit_spark

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dq"))
import planted  # noqa: E402  the data-quality tests' hand-built extract and its hand-worked failures


@pytest.fixture(scope="module")
def audits(spark, synthetic_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    runner = CliRunner()
    for engine in ("pandas", "spark"):
        result = runner.invoke(main, ["audit", str(synthetic_warehouse), "--out", str(out / engine), "--engine", engine,
                                     "--format", "json"])
        assert result.exit_code == 0, result.output + repr(result.exception)
    return {engine: json.loads((out / engine / "findings.json").read_text()) for engine in ("pandas", "spark")}, out


def test_findings_are_identical(audits):
    findings, _ = audits
    pandas, spark = findings["pandas"], findings["spark"]
    assert sorted(spark) == sorted(pandas)
    for section in pandas:  # one section at a time, so a failure names the section that differs
        assert spark[section] == pandas[section], section


def test_the_parity_is_not_vacuous(audits):
    """The compared findings hold what the extract was built with: every provider, selected
    submissions, failing data-quality records and gaming flags (truth from synth, not the code)."""
    findings, _ = audits
    spark = findings["spark"]
    assert sorted(spark["providers"]) == sorted(["REK", "RJM", "RAD", "RVJ", "RKV", "RNP", "RH1", "RUK"])
    submissions = spark["submissions"]
    assert submissions["submissions_read"] == 183 and 0 < submissions["submissions_selected"] < 183
    failing = {f["code"]: f for f in spark["data_quality"] if f["numerator"]}
    assert failing, "the planted submission-history defects must fail checks"
    assert any("SR00000885" in f["records"] for f in failing.values())  # synth's broken-continuity referral
    flagged = {r["code"]: [org for org, p in r["providers"].items() if p["flagged"]] for r in spark["rules"]}
    assert "REK" in flagged["GM01"]  # synth planted GM01 at REK


def test_reports_are_written_by_both_engines(audits):
    _, out = audits
    written = {engine: sorted(p.name for p in (out / engine).iterdir()) for engine in ("pandas", "spark")}
    assert written["spark"] == written["pandas"] and "findings.json" in written["spark"]


# a few checks and every rule: the API's parity on DataFrames without paying for every GX suite on
# Spark a second time (the parity test above runs them all)
SELECT = ("DQ00", "DQ05", "GM")


def _json(result) -> dict:
    return json.loads(json.dumps(result.findings(), default=str))


def test_dataframes_and_table_names_in_the_callers_session(spark, synthetic_warehouse):
    """Tables given as DataFrames and as names of tables in the session (NHS Digital's
    ``IDS101_Referral`` spelling among them) audit as the pandas engine audits the files."""
    frames = {}
    for path in sorted(synthetic_warehouse.glob("IDS*.parquet")):
        frame = spark.read.parquet(str(path))
        if path.stem in ("IDS101Referral", "IDS201CareContact"):
            name = path.stem.replace("IDS101", "ids101_").replace("IDS201", "ids201_")
            frame.createOrReplaceTempView(name)
            frames[name] = name
        else:
            frames[path.stem] = frame
    on_spark = _json(run_audit_spark(frames, spark=spark, select=SELECT))
    on_pandas = _json(run_audit(synthetic_warehouse, select=SELECT))
    # DataFrames come from no folder, so nothing in one went unread; the files' folder holds synth's truth
    assert on_spark["submissions"].pop("reader_notices") == []
    assert "truth.json" in on_pandas["submissions"].pop("reader_notices")[0]["message"]
    assert on_spark == on_pandas
    assert {f["code"][:4] for f in on_spark["data_quality"]} == {"DQ00", "DQ05"}
    assert len(on_spark["rules"]) >= 7 and on_spark["total"]["kpis"]["Count_ReferralsReceived"] > 0


def test_check_on_spark_names_failing_records_by_their_record_ids(spark, tmp_path):
    """``iapt-audit check --engine spark``: every suite check lists exactly the records planted to
    fail it (hand-worked in tests/dq/planted.py), by the table's own record ID, as on pandas."""
    folder = planted.write(tmp_path / "planted", planted.defect_tables())
    run = CliRunner().invoke(main, ["check", str(folder), "--engine", "spark", "--period", planted.PERIOD,
                                    "--out", str(tmp_path / "out")])
    assert isinstance(run.exception, SystemExit), run.output + repr(run.exception)
    assert run.exit_code == 1, run.output  # planted error-level defects fail the gate
    document = json.loads((tmp_path / "out" / "dq_findings.json").read_text())
    assert document["period"]["start"] == "2024-04-01"
    found = {f["code"]: set(f["records"]) for f in document["data_quality"]}
    suite_codes = [code for code in planted.EXPECTED if code < "DQ100"]
    assert {code: found.get(code) for code in suite_codes} == {code: planted.EXPECTED[code] for code in suite_codes}
    for finding in document["data_quality"]:  # every failing record is counted under its provider
        assert sum(p["failing"] for p in finding["by_provider"].values()) == finding["numerator"]


def test_capped_record_lists_are_the_same_when_checks_fail_more_records_than_the_cap(spark, synthetic_warehouse,
                                                                                   tmp_path):
    """Past ``--record-cap`` a finding lists only the first records; joined from per-provider
    lists on Spark they must still be the pandas engine's (at 14M records the cross-table checks
    failed over 1,000 records, and the joined lists once took providers in code order). The
    per-provider checks only (DQ1, DQ2): the suites' lists are cut on the whole on both engines."""
    cap = 2
    documents = {}
    for engine in ("pandas", "spark"):
        run = CliRunner().invoke(main, ["check", str(synthetic_warehouse), "--engine", engine, "--record-cap",
                                        str(cap), "--select", "DQ1,DQ2", "--out", str(tmp_path / engine)])
        assert run.exit_code in (0, 1), run.output + repr(run.exception)
        documents[engine] = json.loads((tmp_path / engine / "dq_findings.json").read_text())["data_quality"]
    over_the_cap = [f for f in documents["pandas"] if f["numerator"] > cap
                    and sum(p["failing"] > 0 for p in f["by_provider"].values()) > 1]
    assert over_the_cap, "the comparison needs a check failing records of several providers, beyond the cap"
    assert documents["spark"] == documents["pandas"]


def test_unreadable_dates_in_a_parquet_text_column_are_read_as_on_pandas(spark, synthetic_warehouse, tmp_path):
    """A Parquet table whose date column is text, with values that are not dates: Spark's cast
    (ANSI) once stopped the run with a Java stack trace, where the pandas engine reads them as
    missing and its checks count them. Both engines must give the same findings."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "extract"
    shutil.copytree(synthetic_warehouse, folder)
    referrals = pq.read_table(folder / "IDS101Referral.parquet")
    dates = referrals["ReferralRequestReceivedDate"].cast(pa.string()).to_pylist()
    dates[:3] = ["not-a-date"] * 3
    column = referrals.schema.get_field_index("ReferralRequestReceivedDate")
    pq.write_table(referrals.set_column(column, "ReferralRequestReceivedDate", pa.array(dates, pa.string())),
                   folder / "IDS101Referral.parquet")
    documents = {}
    for engine in ("pandas", "spark"):
        run = CliRunner().invoke(main, ["check", str(folder), "--engine", engine, "--select", "DQ0,DQ1",
                                        "--out", str(tmp_path / engine)])
        assert run.exit_code in (0, 1), run.output + repr(run.exception)
        documents[engine] = json.loads((tmp_path / engine / "dq_findings.json").read_text())["data_quality"]
    assert documents["spark"] == documents["pandas"]


def test_a_file_named_like_a_table_but_not_one_is_refused_as_on_pandas(spark, synthetic_warehouse, tmp_path):
    import shutil

    folder = tmp_path / "extract"
    shutil.copytree(synthetic_warehouse, folder)
    shutil.copy(folder / "IDS101Referral.parquet", folder / "IDS999Bogus.parquet")
    run = CliRunner().invoke(main, ["check", str(folder), "--engine", "spark", "--out", str(tmp_path / "out")])
    assert run.exit_code == 2, run.output
    assert "IDS999Bogus.parquet looks like a table of the data set but is not named as one" in run.output
    assert not (tmp_path / "out").exists()


def test_a_provider_too_large_for_one_task_is_refused(spark, synthetic_warehouse):
    with pytest.raises(InputError, match=r"provider \w+ has [\d,]+ records, more than the 100"):
        run_audit_spark(synthetic_warehouse, spark=spark, max_provider_records=100)


def test_pyspark_35s_way_in_gives_the_same_frame_as_arrow(spark, monkeypatch):
    """PySpark 3.5 cannot take an Arrow table, so ``_spark_frame`` hands it pandas with the schema
    stated; both ways in give the same rows and types (dates, numbers, text, blanks)."""
    import pyarrow as pa
    import pyspark

    from iapt_audit.spark.sources import _spark_frame

    arrow = pa.table({"OrgIDProv": ["RX1", None, "RX2"], "score": [1.5, None, 3.0],
                      "when": pa.array([0, 86_400_000_000, None], pa.timestamp("us")), "__row": [0, 1, 2]})
    direct = _spark_frame(spark, arrow)
    monkeypatch.setattr(pyspark, "__version__", "3.5.9")
    through_pandas = _spark_frame(spark, arrow)
    assert through_pandas.dtypes == direct.dtypes == [("OrgIDProv", "string"), ("score", "double"),
                                                      ("when", "timestamp"), ("__row", "bigint")]
    assert sorted(through_pandas.collect(), key=lambda r: r["__row"]) == \
        sorted(direct.collect(), key=lambda r: r["__row"])
    assert [r["OrgIDProv"] for r in sorted(direct.collect(), key=lambda r: r["__row"])] == ["RX1", None, "RX2"]
