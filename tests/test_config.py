"""The config file: questionnaire cut-offs reach the derivation and the KPIs, mistakes are one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from builders import course, write_extract
from iapt_audit.audit import run_audit
from iapt_audit.cli import main
from iapt_audit.config import load_config
from iapt_audit.errors import InputError

YEAR = "2024-04-01:2025-03-31"


def test_a_stricter_caseness_operator_changes_recovery(tmp_path):
    # first PHQ-9 exactly 10 and GAD-7 7: at caseness under ">=", not under ">"
    folder = write_extract(tmp_path / "x", course("R1", ["2024-05-01", "2024-05-08"], phq=[10, 3], gad=[7, 2],
                                                  discharged="2024-05-09"))
    default = run_audit(folder, period=YEAR).findings()["total"]["kpis"]
    strict = run_audit(folder, period=YEAR, config={"thresholds": {"PHQ9": {"caseness_op": ">"}}}).findings()
    assert default["Count_NotAtCaseness"] == 0 and default["Count_Recovery"] == 1
    assert strict["total"]["kpis"]["Count_NotAtCaseness"] == 1 and strict["total"]["kpis"]["Count_Recovery"] == 0


@pytest.mark.parametrize("text, message", [
    ("[thresholds.PHQ10]\ncaseness = 9\n", "unknown questionnaire [thresholds.PHQ10]"),
    ("[thresholds.PHQ9]\ncasenes = 9\n", "unknown key 'casenes' in [thresholds.PHQ9]"),
    ("[thresholds.PHQ9]\ncaseness_op = \"=>\"\n", "caseness_op for PHQ9 must be"),
    ("[nonsense]\n", "unknown section [nonsense]"),
    ("[audit\n", "not valid TOML"),
])
def test_config_mistakes_are_one_line_errors(tmp_path, text, message):
    folder = write_extract(tmp_path / "x", course("R1", ["2024-05-01"]))
    config = tmp_path / "iapt-audit.toml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["audit", str(folder), "--out", str(tmp_path / "out"), "--config", str(config),
                                       "--format", "json"])
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_audit_section_selects_for_both_stages(tmp_path):
    folder = write_extract(tmp_path / "x", course("R1", ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2]))
    config = tmp_path / "c.toml"
    config.write_text('[audit]\nselect = ["GM03", "DQ001"]\n')
    findings = run_audit(folder, period=YEAR, config=load_config(config)).findings()
    assert [r["code"] for r in findings["rules"]] == ["GM03"]
    assert [c["code"] for c in findings["data_quality"]] == ["DQ001"]


def test_missing_config_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "absent.toml")
