"""``iapt-audit check``: exit codes 0 / 1 / 2, the summary, and what --out writes."""

import json
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from iapt_audit.cli import main

import planted


def run(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


def test_clean_extract_passes_the_gate(clean_extract_path):
    result = run(clean_extract_path, "--period", planted.PERIOD)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_error_level_failure_exits_1_and_writes_outputs(planted_extract_path, tmp_path):
    result = run(planted_extract_path, "--period", planted.PERIOD, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    lines = [line.split() for line in result.output.splitlines() if line.startswith(("error", "warning", "info"))]
    severities = [line[0] for line in lines]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)  # most severe first
    assert ["error", "DQ004", "FAIL", "2", "/"] == lines[[l[1] for l in lines].index("DQ004")][:5]
    document = json.loads((tmp_path / "out" / "dq_findings.json").read_text())
    assert document["has_errors"] is True
    dq001 = next(c for c in document["data_quality"] if c["code"] == "DQ001")
    assert set(dq001) >= {"code", "title", "severity", "table", "column", "numerator", "denominator", "percent",
                          "passed", "records", "records_total", "by_provider", "engine", "denominator_definition"}
    worklist = pd.read_csv(tmp_path / "out" / "dq_worklist.csv", dtype=str)
    assert set(worklist.loc[worklist["code"] == "DQ084", "record_id"]) == {"P-DQ084", "P-DQ084b"}
    assert (tmp_path / "out" / "dq_items.csv").is_file()


def test_outputs_carry_no_patient_identifiers(planted_extract_path, tmp_path):
    run(planted_extract_path, "--period", planted.PERIOD, "--out", tmp_path)
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    for identifier in ("9990000018", "9990000026", "9990000131", "9990000017", "9990000000", "1990-31-31"):
        assert identifier not in text
    assert "(withheld: patient identifier)" in text  # the unreadable birth date, still reported


def test_select_and_ignore(planted_extract_path):
    only_warnings = run(planted_extract_path, "--period", planted.PERIOD, "--select", "DQ005,DQ106")
    assert only_warnings.exit_code == 0, only_warnings.output
    assert "DQ005" in only_warnings.output and "DQ001" not in only_warnings.output
    ignored = run(planted_extract_path, "--period", planted.PERIOD, "--select", "DQ00", "--ignore", "DQ001",
                  "--ignore", "DQ002,DQ003,DQ004,DQ009")
    assert ignored.exit_code == 0, ignored.output
    assert "DQ009" not in ignored.output and "DQ005" in ignored.output


def test_config_can_raise_a_severity(planted_extract_path, tmp_path):
    config = tmp_path / "iapt-audit.toml"
    config.write_text('[data_quality.checks.DQ005]\nseverity = "error"\n')
    result = run(planted_extract_path, "--period", planted.PERIOD, "--select", "DQ005", "--config", config)
    assert result.exit_code == 1, result.output


def test_unreadable_input_exits_2(tmp_path):
    result = run(tmp_path / "no-such-extract")
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_great_expectations_is_imported_only_by_the_stage():
    code = "import sys, iapt_audit.audit, iapt_audit.dq; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
