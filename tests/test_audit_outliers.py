"""The audit compares every KPI rate across providers with a funnel when there are enough of them."""

from __future__ import annotations

from builders import course, merge, write_extract
from iapt_audit.audit import run_audit


def provider_courses(org: str, recovered: int, total: int) -> dict:
    parts = []
    for i in range(total):
        last = (3, 2) if i < recovered else (14, 11)
        parts.append(course(f"{org}-{i}", ["2024-05-01", "2024-05-08"], phq=[15, last[0]], gad=[12, last[1]],
                            discharged="2024-05-09"))
    tables = merge(*parts)
    for row in [r for rows in tables.values() for r in rows]:
        row["OrgIDProv"] = org
    return tables


def test_a_provider_with_no_recoveries_is_a_low_outlier_among_nine(tmp_path):
    peers = [provider_courses(f"R{i}", recovered=20 + (i % 3), total=40) for i in range(8)]
    tables = merge(*peers, provider_courses("RBAD", recovered=0, total=40))
    findings = run_audit(write_extract(tmp_path / "x", tables), period="2024-04-01:2025-03-31").findings()
    recovery = next(o for o in findings["outliers"] if o["measure"] == "Percentage_Recovery")
    assert recovery["providers"]["RBAD"]["flag"] == "low"
    assert recovery["providers"]["RBAD"]["numerator"] == 0 and recovery["providers"]["RBAD"]["denominator"] == 40
    assert [org for org, p in recovery["providers"].items() if p["flag"]] == ["RBAD"]
    # pooled target: (8 peers' 20+21+22+20+21+22+20+21 recoveries) / 360 finished at caseness
    assert abs(recovery["target"] - 167 / 360) < 1e-9


def test_too_few_providers_are_placed_on_englands_funnel_instead(tmp_path):
    tables = merge(*[provider_courses(f"R{i}", recovered=2, total=4) for i in range(3)])
    findings = run_audit(write_extract(tmp_path / "x", tables), period="2024-04-01:2025-03-31").findings()
    assert findings["outliers"] and all(o.get("national") for o in findings["outliers"])
    recovery = next(o for o in findings["outliers"] if o["measure"] == "Percentage_Recovery")
    assert set(recovery["providers"]) == {"R0", "R1", "R2"}
    assert recovery["reference_year"] == findings["benchmark"]["year"]


def test_gaming_indicators_are_compared_and_only_high_values_flagged(tmp_path):
    """A synthetic extract with one planted provider per pattern: the GM01 indicator's funnel entry
    carries the rule's own counts, and flags its planted provider high and nobody low."""
    import json

    from iapt_audit.synth import generate

    generate(tmp_path / "x", providers=12, referrals=12000, seed=2)
    planted = {p["planted"]: org for org, p in json.loads((tmp_path / "x" / "truth.json").read_text())["providers"].items()
               if p["planted"]}
    result = run_audit(tmp_path / "x")
    findings = result.findings()
    entry = next(o for o in findings["outliers"] if o["measure"] == "GM01")
    rule = next(r for r in findings["rules"] if r["code"] == "GM01")
    for org, provider in entry["providers"].items():
        assert (provider["numerator"], provider["denominator"]) == \
            (rule["providers"][org]["numerator"], rule["providers"][org]["denominator"])
    assert entry["providers"][planted["GM01"]]["flag"] == "high"
    assert entry["official_name"].startswith("GM01 Entered treatment on one assessment-and-treatment contact")
    assert all(p["flag"] != "low" for o in findings["outliers"] if o["measure"].startswith("GM")
               for p in o["providers"].values())
