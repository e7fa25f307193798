"""``audit --benchmark`` with the publication of the audited period: findings.json and the reports
carry the reconciliation, the altered provider first; the regulator sees no exact figure."""

from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner

from iapt_audit.cli import main

PERIOD = "2024-04-01:2025-03-31"


@pytest.fixture(scope="module")
def audited(altered_extract, tmp_path_factory):
    folder, published, altered, month = altered_extract
    out = tmp_path_factory.mktemp("publication-out")
    run = CliRunner().invoke(main, ["audit", str(folder), "--out", str(out), "--period", PERIOD,
                                    "--benchmark", str(published)])
    assert run.exit_code == 0, run.output
    return out, altered, month


def test_findings_list_the_altered_provider_first(audited):
    out, altered, month = audited
    publication = json.loads((out / "findings.json").read_text())["publication"]
    assert publication["ran"] and publication["files"] == ["nhs-talking-therapies-monthly-2024-25.csv"]
    first, *rest = publication["providers"]
    assert first["provider"] == altered and not first["adds_up"]
    assert "Count_EndedReferrals" in first["measures_disagreeing"]
    assert all(p["adds_up"] for p in rest) and len(rest) == 3
    off = [f for f in first["figures"] if not f["within_rounding"]]
    assert {"period": month, "measure_id": "M056"}.items() <= next(f for f in off if f["measure_id"] == "M056").items()


def test_regulator_workbook_lists_the_provider_first_without_exact_figures(audited):
    out, altered, _ = audited
    book = openpyxl.load_workbook(out / "regulator.xlsx", read_only=True)
    text = [[c for c in row] for row in book["Publication"].iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(text) if row and row[0] == "Provider")
    assert text[header + 1][0] == altered and text[header + 1][3] == "no"
    figures = [[c for c in row] for row in book["Publication off"].iter_rows(values_only=True)]
    headers = next(row for row in figures if row and row[0] == "Provider")
    assert "Tool (exact)" not in headers and "Tool, rounded as published" in headers
    self_check = openpyxl.load_workbook(out / "self-check.xlsx", read_only=True)
    exact = next(row for row in self_check["Publication off"].iter_rows(values_only=True) if row and row[0] == "Provider")
    assert "Tool (exact)" in exact


def test_without_benchmark_files_the_section_says_why(tmp_path, altered_extract):
    folder = altered_extract[0]
    run = CliRunner().invoke(main, ["audit", str(folder), "--out", str(tmp_path), "--period", PERIOD,
                                    "--audience", "regulator", "--format", "json"])
    assert run.exit_code == 0, run.output
    report = json.loads((tmp_path / "regulator.json").read_text())
    section = next(s for s in report["sections"] if s["id"] == "publication")
    assert "--benchmark" in section["status"]
