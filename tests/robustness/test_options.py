"""Command line and config (issue 15 kinds 1 and 9): periods read as the reader reads dates and
printed by every command, config mistakes named by file, section and key, numbers range-checked,
--select matching nothing fails, and hostile paths or vanishing files are one line."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bad_input_cases import CONTACT, PERIOD, base_extract
from iapt_audit.cli import main
from iapt_audit.config import check_config, load_config
from iapt_audit.errors import InputError
from iapt_audit.period import Period

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- --period

def test_the_issue_example_reads_both_ends_day_first():
    period = Period.parse("01/04/2024:31/03/2025")
    assert (period.start, period.end) == (Period.parse("2024-04-01:2025-03-31").start,
                                          Period.parse("2024-04-01:2025-03-31").end)


LAYOUTS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%-d/%-m/%Y"]


@settings(max_examples=80, deadline=None)
@given(start=st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), days=st.integers(0, 800),
       layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)))
def test_any_period_in_accepted_layouts_reads_as_written(start, days, layouts):
    end = start + dt.timedelta(days=days)
    period = Period.parse(f"{start.strftime(layouts[0])}:{end.strftime(layouts[1])}")
    assert (period.start.date(), period.end.date()) == (start, end)
    assert period.describe() == f"Reporting period {start:%Y-%m-%d} to {end:%Y-%m-%d} (from --period)."


@pytest.mark.parametrize("text, message", [
    (":2025-03-31", "not START:END"), ("2024-04-01:", "not START:END"), ("2024-04-01", "not START:END"),
    ("2024-04-01:2025-03-31:x", "not START:END"),
    ("2024-04-31:2025-03-31", "day is out of range for month"), ("2024-02-30:2025-03-31", "day is out of range"),
    ("2024-13-01:2025-03-31", "month must be in 1..12"), ("31/13/2024:31/03/2025", "month must be in 1..12"),
    ("04/31/2024:31/03/2025", "month must be in 1..12"),  # US month-first: refused, not guessed
    ("01/04/24:31/03/25", "layout read without guessing"), ("April 2024:March 2025", "layout read without guessing"),
    ("2024/04/01:2025/03/31", "layout read without guessing"), ("2025-03-31:2024-04-01", "ends before it starts"),
])
def test_wrong_periods_say_what_is_wrong(text, message):
    with pytest.raises(InputError, match=message) as err:
        Period.parse(text)
    assert err.value.column == "--period" and err.value.fix


@pytest.mark.parametrize("command", ["audit", "check"])
def test_every_extract_command_prints_the_period_it_used(tmp_path, command):
    extract = base_extract(tmp_path / "extract")
    given_period = CliRunner().invoke(main, [command, str(extract), "--period", "01/04/2024:31/03/2025",
                                             "--out", str(tmp_path / "a")])
    assert "Reporting period 2024-04-01 to 2025-03-31 (from --period)." in given_period.output
    inferred = CliRunner().invoke(main, [command, str(extract), "--out", str(tmp_path / "b")])
    assert "Reporting period 2024-04-01 to 2024-07-01 (from the referral and contact dates)." in inferred.output


def test_outliers_prints_the_periods_it_compared(tmp_path):
    path = tmp_path / "psych-ther-ann-rep-csv-2020-21-main.csv"
    path.write_text("OrgType,OrgCode,OrgName,VariableType,VariableA,VariableB,Count_FinishedCourseTreatment,"
                    "Count_NotAtCaseness,Count_Recovery\n"
                    + "".join(f"Provider,P{i:02d},P {i},Total,Total,NULL,{100 + i},10,{40 + i}\n" for i in range(9)))
    result = CliRunner().invoke(main, ["outliers", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Periods: 2020-21."


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_check_with_a_code_matching_nothing_fails_as_audit_does(tmp_path, option):
    extract = base_extract(tmp_path / "extract")
    for command in ("check", "audit"):
        args = [command, str(extract), "--period", PERIOD, option, "DQ999"]
        result = CliRunner().invoke(main, args + (["--out", str(tmp_path / command)] if command == "audit" else []))
        assert result.exit_code == 2, result.output
        assert "'DQ999' matches no data-quality check" in result.output and result.output.count("\n") == 1


# ---------------------------------------------------------------------------- the config file

@pytest.mark.parametrize("text, fragments", [
    ("[audit]\nselct = ['GM']\n", ("unknown key 'selct' in [audit]",)),
    ("[rules.GM03]\nover_dayz = 90\n", ("unknown key 'over_dayz' in [rules.GM03]",)),
    ("[rules.GM99]\nx = 1\n", ("unknown rule [rules.GM99]",)),
    ("[thresholds.PHQ9]\ncaseness = nan\n", ("[thresholds.PHQ9] caseness must be a finite number",)),
    ("[thresholds.PHQ9]\ncaseness = inf\n", ("[thresholds.PHQ9] caseness must be a finite number",)),
    ("[thresholds.PHQ9]\ncaseness = 28\n", ("caseness = 28 is out of range (0 to 27)",)),
    ("[thresholds.GAD7]\nreliable_change = -1\n", ("reliable_change = -1 is out of range",)),
    ("[data_quality]\nchecks.DQ999.severity = 'info'\n", ("unknown check [data_quality.checks.DQ999]",)),
    ("[data_quality.checks.DQ001]\nsevrity = 'info'\n", ("unknown key 'sevrity' in [data_quality.checks.DQ001]",)),
    ("[data_quality.checks.DQ001]\nmax_percent = 150\n", ("max_percent = 150 is out of range (0 to 100)",)),
    ("[data_quality.checks.DQ001]\nmax_count = -1\n", ("max_count = -1 is out of range",)),
    ("[data_quality.checks.DQ001]\nmax_count = 2.5\n", ("max_count must be a whole number",)),
    ("[data_quality]\nselekt = ['DQ0']\n", ("unknown key 'selekt' in [data_quality]",)),
    ("[audit]\nselect = 3\n", ("[audit] select must be a list of codes",)),
])
@pytest.mark.parametrize("command", ["check", "audit"])
def test_config_mistakes_name_the_file_section_and_key_for_every_command(tmp_path, text, fragments, command):
    extract = base_extract(tmp_path / "extract")
    config = tmp_path / "settings.toml"
    config.write_text(text)
    args = [command, str(extract), "--period", PERIOD, "--config", str(config)]
    result = CliRunner().invoke(main, args + (["--out", str(tmp_path / "out")] if command == "audit" else []))
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and str(config) in result.output
    for fragment in fragments:
        assert fragment in result.output


def _rule_threshold(unit: str):
    from iapt_audit.rules_engine.catalogue import catalogue

    for entry in catalogue():
        if entry.rule is not None:
            for name, threshold in entry.rule.thresholds.items():
                if threshold.unit == unit:
                    return entry.code, name
    return None


@pytest.mark.parametrize("unit, bad, good", [("percent", 100.5, 100), ("percent", -0.1, 0), ("days", -1, 0),
                                             ("p-value", 1.5, 0.05), ("count", -3, 3)])
def test_rule_thresholds_are_range_checked_by_their_unit(unit, bad, good):
    found = _rule_threshold(unit)
    if found is None:
        pytest.skip(f"no rule threshold in {unit}")
    code, name = found
    with pytest.raises(InputError, match="out of range") as err:
        check_config({"rules": {code: {name: bad}}}, "settings.toml")
    assert f"[rules.{code}] {name}" in err.value.message and err.value.file == "settings.toml"
    check_config({"rules": {code: {name: good}}}, "settings.toml")


def test_a_config_found_in_the_working_folder_is_announced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert load_config() == {}
    assert capsys.readouterr().err == ""
    (tmp_path / "iapt-audit.toml").write_text("[audit]\nignore = ['GM08']\n")
    assert load_config() == {"audit": {"ignore": ["GM08"]}}
    assert f"using settings from {tmp_path / 'iapt-audit.toml'}" in capsys.readouterr().err


# ---------------------------------------------------------------------------- hostile paths, vanishing files

@pytest.mark.parametrize("name", ["ext\x07ract", "ext\nract", "ext\x1b[31mract", "ext\u2028ract"])
def test_a_path_with_control_characters_is_one_escaped_line(tmp_path, name):
    result = CliRunner().invoke(main, ["audit", str(tmp_path / name), "--out", str(tmp_path / "out"),
                                       "--period", PERIOD])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no such file or folder" in result.output
    assert repr(name)[1:-1].replace("\\\\", "\\") in result.output or "\\u2028" in result.output


def test_a_path_that_is_not_utf8_is_one_line_in_any_locale(tmp_path):
    folder = os.fsencode(tmp_path) + b"/extract-\xff\xfe"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    run = subprocess.run([sys.executable, "-m", "iapt_audit", "audit", folder, "--out", str(tmp_path / "out"),
                          "--period", PERIOD], capture_output=True, env=env, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.decode("ascii").strip().splitlines()
    assert len(lines) == 1 and "extract-\\xff\\xfe" in lines[0] and "no such file or folder" in lines[0]


def test_a_table_file_replaced_while_it_is_read_is_one_line(tmp_path, monkeypatch):
    from iapt_audit.io import csvfile

    extract = base_extract(tmp_path / "extract")
    real = csvfile._read

    def vanish(source, include, encoding):
        if source.name == f"{CONTACT}.csv":
            source.unlink()  # another program replaces the export between the header and the records
        return real(source, include, encoding)

    monkeypatch.setattr(csvfile, "_read", vanish)
    result = CliRunner().invoke(main, ["audit", str(extract), "--out", str(tmp_path / "out"), "--period", PERIOD])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"{CONTACT}.csv" in result.output and "disappeared while being read" in result.output


def test_any_file_system_error_in_a_command_is_one_line(tmp_path, monkeypatch):
    import iapt_audit.io.extract as extract_module

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "extract" / "IDS101Referral.csv"))

    monkeypatch.setattr(extract_module, "read_extract", refuse)
    import iapt_audit.audit

    monkeypatch.setattr(iapt_audit.audit, "read_extract", refuse)
    result = CliRunner().invoke(main, ["audit", str(tmp_path), "--out", str(tmp_path / "out"), "--period", PERIOD])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "IDS101Referral.csv: cannot read or write (permission denied)" in result.output
