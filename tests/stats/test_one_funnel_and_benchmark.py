"""One funnel per indicator (the rule's deciding funnel is the one drawn) and England's funnel
for a service audited alone (the shipped national reference)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iapt_audit.audit import run_audit
from iapt_audit.reference import NationalReference, RULE_COUNTERPARTS
from iapt_audit.rules_engine.flagging import decide
from iapt_audit.synth import generate

GM03_LIMITS = {"min_percent": 30, "min_denominator": 20}


@pytest.fixture(scope="module")
def demo_findings(tmp_path_factory):
    """The demo's synthetic extract (12 providers with planted gaming), audited once."""
    folder = tmp_path_factory.mktemp("demo") / "extract"
    generate(folder, providers=12, referrals=12000, seed=1)
    return json.loads(json.dumps(run_audit(folder).findings()))


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """One service audited alone; GM03's threshold lowered to 20% so that its absolute test fires
    and only England's funnel can keep it from a critical flag."""
    folder = tmp_path_factory.mktemp("one") / "extract"
    generate(folder, providers=1, referrals=3000, seed=2)
    config = {"rules": {"GM03": {"min_percent": 20}}}
    return json.loads(json.dumps(run_audit(folder, config=config).findings()))


def test_every_flagged_provider_lies_outside_the_funnel_drawn_for_its_indicator(demo_findings):
    drawn = {entry["measure"]: entry for entry in demo_findings["outliers"]}
    flagged_any = 0
    for rule in demo_findings["rules"]:
        for org, provider in rule["providers"].items():
            if not provider["flagged"] or rule["peer_test"] is None:
                continue
            flagged_any += 1
            point = drawn[rule["code"]]["providers"][org]
            assert point["value"] > point["upper"], (rule["code"], org)
            assert point["flag"] == "high" and point["verdict"] == "worse than expected"
            # the chart's curve at this provider's denominator is that same limit
            curve = pd.DataFrame(drawn[rule["code"]]["chart"])
            below = curve[curve["N"] <= point["denominator"]]["upper998"].iloc[-1]
            above = curve[curve["N"] >= point["denominator"]]["upper998"].iloc[0]
            assert min(below, above) - 1e-9 <= point["upper"] <= max(below, above) + 1e-9
    assert flagged_any >= 8   # the demo plants at least one provider per rule


def test_the_rule_entry_states_how_its_funnel_was_built(demo_findings):
    entry = next(e for e in demo_findings["outliers"] if e["measure"] == "GM01")
    assert entry["construction"].startswith("99.8% additive limits fitted to ")
    assert "target = their median rate" in entry["construction"]
    assert entry["n_fitted"] == entry["n_reference"] < entry["n_providers"] == 12


def test_shipped_reference_names_its_year_and_covers_the_published_measures():
    reference = NationalReference.shipped()
    assert reference.year == "2025-26"
    measures = set(reference.table["measure"])
    assert {"recovery", "wait_6_weeks", "first_to_second_over_90_days", "ended_treated_once"} <= measures
    assert set(RULE_COUNTERPARTS.values()) <= measures
    # England's recovery, summed from the twelve monthly files, is around the published ~48-50%
    assert 0.45 < reference.england("recovery")["value"] < 0.55
    assert len(reference.providers("recovery")) > 100


def test_a_service_alone_is_placed_on_englands_funnel_for_every_published_measure(alone):
    national = {e["measure"]: e for e in alone["outliers"] if e.get("national")}
    assert {"Percentage_Recovery", "Percentage_ReliableImprovement", "Percentage_ReliableDeterioration",
            "Percentage_ReliableRecovery", "Percentage_FirstToSecondTreatmentOver90days",
            "Percentage_AccessingServices6WeeksFinishedCourseTreatment",
            "Percentage_AccessingServices18WeeksFinishedCourseTreatment",
            "Percentage_AccessAttrition", "GM03", "GM07"} <= set(national)
    for entry in national.values():
        assert entry["reference_year"] == "2025-26"
        assert len(entry["national_points"]) > 100
        (point,) = entry["providers"].values()
        assert point["lower"] <= point["upper"]
    assert alone["benchmark"]["year"] == "2025-26"


def test_no_critical_gm03_flag_for_a_service_inside_englands_distribution(alone):
    gm03 = next(r for r in alone["rules"] if r["code"] == "GM03")
    (provider,) = gm03["providers"].values()
    assert provider["value"] >= 20                        # the (lowered) absolute test fires
    assert provider["tests"] == [] and not provider["flagged"]
    assert "within England's 99.8% funnel" in provider["reason"]


def test_decide_uses_englands_funnel_for_a_service_alone():
    reference = NationalReference.shipped()
    national = reference.providers("first_to_second_over_90_days")
    rates = national["numerator"] / national["denominator"]
    typical = float(rates.quantile(0.6))                   # inside England's distribution, over 20%
    extreme = 0.95
    frame = pd.DataFrame({"numerator": [round(typical * 1000), 950], "denominator": [1000, 1000]},
                         index=pd.Index(["TYP", "EXT"], name="OrgIDProv"))
    table, entry = decide(frame, {"min_percent": 20, "min_denominator": 20}, "GM03 waits", "referrals",
                          code="GM03", benchmark=reference)
    assert entry["national"] and entry["reference_year"] == reference.year
    assert typical > 0.2 and not table.loc["TYP", "flagged"]
    assert extreme * 100 > table.loc["EXT", "peer_upper"] and table.loc["EXT", "flagged"]
    # without a reference the same service is judged on the bare threshold alone
    bare, none = decide(frame, {"min_percent": 20, "min_denominator": 20}, "GM03 waits", "referrals")
    assert none is None and bare.loc["TYP", "flagged"]


def test_benchmark_files_replace_the_shipped_reference(tmp_path):
    """``audit --benchmark`` with NHS Digital's 2024-25 annual file, and ``--highlight``."""
    from pathlib import Path

    from click.testing import CliRunner

    from iapt_audit.cli import main

    annual = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "published" / "annual"
              / "psych-ther-ann-rep-csv-2024-25-main2.csv.gz")
    if not annual.is_file():
        pytest.skip(f"published NHS data not found at {annual.resolve()} (CI puts shared/ beside the clone)")
    reference = NationalReference.from_files([annual])
    assert reference.year == "2024-25"
    # the annual file has no first-to-second over 28 days or one-treatment endings: no counterpart
    assert reference.measure_for("GM07") is None and reference.measure_for("GM03") is not None
    generate(tmp_path / "x", providers=1, referrals=1500, seed=4)
    (code,) = json.loads((tmp_path / "x" / "truth.json").read_text())["providers"]
    run = CliRunner().invoke(main, ["audit", str(tmp_path / "x"), "--out", str(tmp_path / "out"), "--benchmark",
                                    str(annual), "--highlight", code.lower(), "--format", "html", "--audience",
                                    "commissioner"])
    assert run.exit_code == 0, run.output
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert findings["benchmark"]["year"] == "2024-25"
    assert "England's funnel 2024-25" in run.output
    page = (tmp_path / "out" / "commissioner.html").read_text(encoding="utf-8")
    assert "England 2024-25" in page
    assert list(findings["providers"]) == [code]
    labels = page.count(f">{code}</text>")
    flagged = sum(p["flag"] is not None for e in findings["outliers"] for p in e["providers"].values())
    assert labels >= len(findings["outliers"]) > flagged   # labelled on every funnel, not only where flagged
