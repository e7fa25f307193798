"""The findings.json ``rules`` entry: its shape, the evidence it carries and the record cap."""

from __future__ import annotations

import json

from fixture_tables import pathways_for
from iapt_audit.period import Period
from iapt_audit.rules_engine import run_rules

PERIOD = Period.parse("2024-04-01:2025-03-31")
CASE = {"referrals": [
    {"id": "A1", "provider": "RA1", "discharged": "2024-05-10", "contacts": [{"date": "2024-05-01", "app": "03"}]},
    {"id": "A2", "provider": "RA1", "discharged": "2024-05-10", "contacts": [{"date": "2024-05-02", "app": "03"}]},
    {"id": "B1", "provider": "RB2", "discharged": "2024-06-10",
     "contacts": [{"date": "2024-05-01", "app": "01"}, {"date": "2024-05-08"}, {"date": "2024-05-15"}]},
]}


def test_rules_entry_has_the_issue_shape_and_caps_records(tmp_path):
    config = {"rules": {"GM01": {"min_denominator": 1}}, "audit": {"select": ["GM01", "GM07"]}}
    results = run_rules(pathways_for(tmp_path, CASE), PERIOD, config=config)
    assert [r.code for r in results] == ["GM01", "GM07"]
    entry = results[0].as_json(records_cap=1)
    json.dumps(entry, allow_nan=False)  # JSON-ready: no NaN, no numpy or pandas scalars
    assert {"code", "name", "title", "severity", "providers"} <= set(entry)
    assert set(entry["providers"]) == {"RA1", "RB2"}  # every provider, with or without cases
    ra1, rb2 = entry["providers"]["RA1"], entry["providers"]["RB2"]
    assert {"flagged", "reason", "numerator", "denominator", "value", "records", "records_total"} <= set(ra1)
    assert (ra1["numerator"], ra1["denominator"], ra1["value"], ra1["flagged"]) == (2, 2, 100.0, True)
    assert ra1["records_total"] == 2 and len(ra1["records"]) == 1  # capped, total kept
    assert ra1["records"][0]["ServiceRequestId"] in {"A1", "A2"}
    assert ra1["records"][0]["ServDischDate"] == "2024-05-10"
    assert (rb2["numerator"], rb2["denominator"], rb2["flagged"], rb2["records"]) == (0, 1, False, [])
    assert entry["thresholds"]["min_denominator"] == {"value": 1, "unit": "count"}


def test_explicit_select_replaces_the_config_and_ignore_drops(tmp_path):
    config = {"audit": {"select": ["GM01"]}}
    results = run_rules(pathways_for(tmp_path, CASE), PERIOD, config=config, select=["GM0"], ignore=["GM06"])
    assert [r.code for r in results] == ["GM01", "GM02", "GM03", "GM04", "GM05", "GM07", "GM08"]
