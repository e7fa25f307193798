"""Selecting, ignoring, re-grading and tolerating checks."""

import pytest

from iapt_audit.dq import run_data_quality
from iapt_audit.dq.findings import Tolerance
from iapt_audit.dq.settings import DQSettings
from iapt_audit.errors import InputError
from iapt_audit.io.extract import read_extract


def test_prefix_selection():
    settings = DQSettings(select=("DQ0", "DQ101"), ignore=("DQ08",))
    assert settings.wants("DQ005") and settings.wants("DQ101")
    assert not settings.wants("DQ081") and not settings.wants("DQ102")
    assert DQSettings().wants("DQ112")


def test_config_file_values():
    settings = DQSettings.from_config({"data_quality": {
        "ignore": ["DQ09"], "checks": {"DQ010": {"severity": "info", "max_count": 2},
                                       "DQ106": {"max_percent": 5}}}}, select=["DQ1"])
    assert settings.select == ("DQ1",) and settings.ignore == ("DQ09",)
    assert settings.severities == {"DQ010": "info"}
    assert settings.tolerance("DQ010") == Tolerance(max_count=2)
    assert settings.tolerance("DQ106") == Tolerance(max_percent=5.0)
    assert settings.tolerance("DQ001") == Tolerance()


@pytest.mark.parametrize("section", [
    {"checks": {"DQ010": {"severity": "fatal"}}},
    {"checks": {"DQ010": {"limit": 3}}},
    {"checks": {"DQ010": {"max_count": "many"}}},
    {"selct": ["DQ0"]},
])
def test_bad_config_is_an_input_error(section):
    with pytest.raises(InputError):
        DQSettings.from_config({"data_quality": section})


def test_tolerance_limits():
    assert Tolerance().allows(0, 0.0) and not Tolerance().allows(1, 0.1)
    assert Tolerance(max_count=2).allows(2, 50.0) and not Tolerance(max_count=2).allows(3, 1.0)
    assert Tolerance(max_percent=5).allows(9, 4.9) and not Tolerance(max_percent=5).allows(9, 5.1)


def test_overrides_apply_in_a_run(planted_extract_path, period):
    settings = DQSettings.from_config({"data_quality": {"checks": {
        "DQ010": {"max_count": 2}, "DQ009": {"severity": "info"}}}}, select=["DQ009", "DQ010", "DQ102"])
    result = run_data_quality(read_extract(planted_extract_path, identifiers=True), period, settings=settings)
    found = {f.check.code: f for f in result.checks}
    assert set(found) == {"DQ009", "DQ010", "DQ102"}
    assert found["DQ010"].passed and found["DQ010"].numerator == 2      # within its tolerance of 2
    assert found["DQ009"].check.severity == "info" and not found["DQ009"].passed
    assert [f.check.code for f in result.checks] == ["DQ010", "DQ102", "DQ009"]  # errors first, info last
    assert result.has_errors  # DQ102 (orphan contact) still fails at error level
    assert set(result.worklist.loc[result.worklist["code"] == "DQ009", "severity"]) == {"info"}
