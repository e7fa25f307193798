"""Meta-tests on the rule catalogue: codes, docs, thresholds and fixture coverage (sqlfluff-style)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from iapt_audit.errors import InputError
from iapt_audit.rules_engine import DOC_SECTIONS, catalogue, select_rules
from iapt_audit.rules_engine.base import CODE_PATTERN, NAME_PATTERN, SEVERITIES
from iapt_audit.rules_engine.catalogue import code_table
from iapt_audit.rules_engine.settings import limits_for

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENTRIES = [e for e in catalogue() if e.rule is not None]
COMMON_THRESHOLDS = {"min_percent", "min_denominator"}


def test_codes_are_unique_well_formed_and_all_in_the_table():
    codes = [e.code for e in catalogue()]
    assert len(codes) == len(set(codes))
    assert all(CODE_PATTERN.fullmatch(code) for code in codes)
    assert set(code_table()) == set(codes)
    assert {e.code for e in ENTRIES} >= {f"GM0{i}" for i in range(1, 9)}  # the fixed codes


def test_names_are_unique_and_dotted():
    names = [e.rule.name for e in ENTRIES]
    assert len(names) == len(set(names))
    assert all(NAME_PATTERN.fullmatch(name) for name in names)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_rule_is_documented_in_every_section(entry):
    rule = entry.rule
    sections = rule.doc_sections()
    for title in DOC_SECTIONS:
        assert len(sections.get(title, "")) > 40, f"{rule.code} lacks a '{title}' section"
    assert rule.severity in SEVERITIES
    assert rule.title and rule.indicator


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_every_threshold_has_a_unit_and_is_documented(entry):
    rule = entry.rule
    assert COMMON_THRESHOLDS <= set(rule.thresholds), "the flagging engine reads these two"
    documented = rule.doc_sections()["Thresholds"]
    for name, threshold in rule.thresholds.items():
        assert f"{name}: {threshold.value:g} " in documented, f"{rule.code}.{name}: undocumented or doc and default differ"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.status == "stable"], ids=lambda e: e.code)
def test_every_stable_rule_has_passing_and_failing_cases(entry):
    path = FIXTURES / f"{entry.code}.yml"
    assert path.is_file(), f"no fixture file {path.name}"
    document = yaml.safe_load(path.read_text())
    assert document["rule"] == entry.code
    failing = [c for c in document["cases"] if c["counted"] or c.get("flagged")]
    passing = [c for c in document["cases"] if not c["counted"] and not c.get("flagged")]
    assert failing and passing
    names = [c["name"] for c in document["cases"]]
    assert len(names) == len(set(names))


def test_select_and_ignore_by_code_and_prefix():
    stable = [e.code for e in catalogue() if e.status == "stable"]
    assert [e.code for e in select_rules()] == stable
    assert [e.code for e in select_rules(["GM03"])] == ["GM03"]
    assert [e.code for e in select_rules("gm0", ignore=["GM05", "GM06,GM07"])] == ["GM01", "GM02", "GM03", "GM04",
                                                                               "GM08"]
    assert select_rules(["DQ"]) == []  # another stage's selector: no rule runs


@pytest.mark.parametrize("selector", ["GM99", "GMX"])
def test_unknown_rule_selector_is_a_user_error(selector):
    with pytest.raises(InputError, match="matches no rule code"):
        select_rules([selector])


def test_threshold_overrides_are_checked():
    rule = next(e.rule for e in ENTRIES if e.code == "GM03")
    assert limits_for(rule, {"over_days": 120})["over_days"] == 120
    with pytest.raises(InputError, match="no threshold 'overdays'"):
        limits_for(rule, {"overdays": 120})
    with pytest.raises(InputError, match="must be a number"):
        limits_for(rule, {"over_days": "ninety"})
