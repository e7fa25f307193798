"""The audit carries the data-quality result and writes every check into findings.json."""

from iapt_audit.audit import run_audit
from iapt_audit.dq.submission_history import HISTORY_CHECKS

import planted


def test_findings_json_lists_every_check(planted_extract_path):
    result = run_audit(planted_extract_path, period=planted.PERIOD)
    entries = {entry["code"]: entry for entry in result.findings()["data_quality"]}
    history = {check.code for check in HISTORY_CHECKS}  # run on every audit; a snapshot passes them
    assert set(entries) == set(planted.EXPECTED) | history
    assert all(entries[code]["numerator"] == 0 for code in history)
    assert entries["DQ109"]["records"] == ["R-DQ011", "R-DQ109"]
    assert entries["DQ001"]["passed"] is False and entries["DQ001"]["records_total"] == 1
    assert "NHSNumber" not in result.pathways.referrals.columns


def test_pathways_are_derived_once_between_the_suites_and_the_cross_table_checks(planted_extract_path, monkeypatch):
    """The order that keeps the two memory peaks apart: GX's copies are gone before the
    pathways exist, and the finished-course checks (DQ110, DQ111) read the audit's own pathways."""
    import iapt_audit.audit as audit_module

    calls = []
    derive = audit_module.derive_pathways
    monkeypatch.setattr(audit_module, "derive_pathways", lambda *a, **k: calls.append(1) or derive(*a, **k))
    result = run_audit(planted_extract_path, period=planted.PERIOD)
    assert calls == [1]
    assert list(result.timings)[:4] == ["read and select", "data quality: great expectations", "pathways",
                                        "data quality: cross-table"]
    found = {f.check.code: f for f in result.data_quality.checks}
    assert set(found["DQ110"].records) == planted.EXPECTED["DQ110"]
    assert set(found["DQ111"].records) == planted.EXPECTED["DQ111"]
