"""``iapt-audit synth`` on the command line: it writes the extract; bad options are usage errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from iapt_audit.cli import main


def run(*args):
    return CliRunner().invoke(main, ["synth", *args])


def test_synth_writes_the_extract_and_reports_it(tmp_path):
    out = tmp_path / "x"
    result = run("--out", str(out), "--providers", "9", "--referrals", "1800", "--seed", "4",
                 "--format", "csv.gz", "--period", "2023-04-01:2024-03-31")
    assert result.exit_code == 0, result.output
    assert "IDS101Referral 1,800" in result.output
    assert "GM08" in result.output
    assert len(list(out.glob("IDS*.csv.gz"))) == 9
    truth = json.loads((out / "truth.json").read_text())
    assert truth["period"] == {"start": "2023-04-01", "end": "2024-03-31", "referrals_from_days_before_start": 183}
    assert [p["planted"] for p in truth["providers"].values()][:8] == \
        ["GM01", "GM02", "GM03", "GM04", "GM05", "GM06", "GM08", None]


def test_fewer_than_eight_providers_plant_nothing_by_default(tmp_path):
    result = run("--out", str(tmp_path / "x"), "--providers", "3", "--referrals", "600")
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "x" / "truth.json").read_text())
    assert all(p["planted"] is None for p in truth["providers"].values())


@pytest.mark.parametrize("args, message", [
    (["--plant", "GM99"], "unknown pattern"),
    (["--period", "2024-04-01"], "START:END"),
    (["--period", "2025-04-01:2024-04-01"], "must end after"),
    (["--format", "xlsx"], "xlsx"),
    (["--providers", "0"], "--providers"),
    (["--referrals", "10"], "at least 50 per provider"),
])
def test_bad_options_are_usage_errors(tmp_path, args, message):
    result = run("--out", str(tmp_path / "x"), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_synth_writes_monthly_submissions_with_nhs_digital_names(tmp_path):
    out = tmp_path / "x"
    result = run("--out", str(out), "--providers", "4", "--referrals", "400", "--layout", "warehouse",
                 "--nhsd-names", "--no-history-defects")
    assert result.exit_code == 0, result.output
    assert "monthly submissions, 2023-10-01 to 2025-03-01" in result.output
    assert "history defects" not in result.output
    assert (out / "IDS101_Referral.csv").read_text().startswith("OrgID_Provider,")
    truth = json.loads((out / "truth.json").read_text())
    assert truth["layout"] == "warehouse" and truth["submissions"]["history_defects"] == {}


def test_synth_plants_history_defects_in_submissions_by_default(tmp_path):
    out = tmp_path / "x"
    result = run("--out", str(out), "--providers", "4", "--referrals", "400", "--layout", "submissions")
    assert result.exit_code == 0, result.output
    assert "history defects: missing_month" in result.output
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["submissions"]["history_defects"]) == 4
    assert len(list(out.glob("submission-*"))) == truth["submissions"]["submissions"]


def test_an_unknown_layout_is_a_usage_error(tmp_path):
    result = run("--out", str(tmp_path / "x"), "--layout", "monthly")
    assert result.exit_code == 2 and "monthly" in result.output
    assert not (tmp_path / "x").exists()
