"""``iapt-audit audit --audience --format`` writes the chosen reports beside findings.json."""

from __future__ import annotations

from click.testing import CliRunner

from builders import write_extract
from report_cohort import YEAR, rx1_cohort
from iapt_audit.cli import main


def test_audience_and_format_choose_the_files(tmp_path):
    folder = write_extract(tmp_path / "x", rx1_cohort())
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["audit", str(folder), "--out", str(out), "--period", YEAR,
                                    "--audience", "commissioner,self-check", "--format", "html"])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in out.iterdir()) == ["commissioner.html", "findings.json", "self-check.html"]


def test_an_unknown_format_is_a_one_line_usage_error(tmp_path):
    folder = write_extract(tmp_path / "x", rx1_cohort())
    run = CliRunner().invoke(main, ["audit", str(folder), "--out", str(tmp_path / "out"), "--format", "pdf"])
    assert run.exit_code == 2
    assert "pdf: use one or more of xlsx, html, json" in run.output
    assert not (tmp_path / "out").exists()
