"""The audit carries the data-quality result and writes every check into findings.json."""

from iapt_audit.audit import run_audit

import planted


def test_findings_json_lists_every_check(planted_extract_path):
    result = run_audit(planted_extract_path, period=planted.PERIOD)
    entries = {entry["code"]: entry for entry in result.findings()["data_quality"]}
    assert set(entries) == set(planted.EXPECTED)
    assert entries["DQ109"]["records"] == ["R-DQ011", "R-DQ109"]
    assert entries["DQ001"]["passed"] is False and entries["DQ001"]["records_total"] == 1
    assert "NHSNumber" not in result.pathways.referrals.columns
