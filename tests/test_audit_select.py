"""--select / --ignore on the audit reach the stage whose codes they name, and only that stage."""

from __future__ import annotations

from builders import course, write_extract
from iapt_audit.audit import run_audit

YEAR = "2024-04-01:2025-03-31"


def run(tmp_path, **options):
    folder = write_extract(tmp_path / "x", course("R1", ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2]))
    findings = run_audit(folder, period=YEAR, **options).findings()
    return {r["code"] for r in findings["rules"]}, {c["code"] for c in findings["data_quality"]}


def test_selecting_a_rule_leaves_every_data_quality_check(tmp_path):
    all_rules, all_checks = run(tmp_path / "a")
    rules, checks = run(tmp_path / "b", select=["GM03"])
    assert rules == {"GM03"} and checks == all_checks and len(all_rules) == 8


def test_ignoring_data_quality_codes_leaves_the_rules(tmp_path):
    all_rules, all_checks = run(tmp_path / "a")
    rules, checks = run(tmp_path / "b", ignore=["DQ0"])
    assert rules == all_rules
    assert checks == {c for c in all_checks if not c.startswith("DQ0")} and checks != all_checks
