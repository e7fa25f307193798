"""`iapt-audit outliers` end to end on NHS Digital's 2019-20 annual file."""

import json
import re

import pytest
from click.testing import CliRunner

from iapt_audit.cli import main


@pytest.fixture(scope="module")
def run_2019_20(published, tmp_path_factory):
    out = tmp_path_factory.mktemp("outliers")
    source = published / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"
    result = CliRunner().invoke(main, ["outliers", str(source), "--measure", "recovery", "--out", str(out)])
    return result, json.loads((out / "outliers.json").read_text())


def test_reports_phi_tau2_and_fewer_flags_after_adjustment(run_2019_20):
    result, written = run_2019_20
    assert result.exit_code == 0, result.output
    (funnel,) = written["funnels"]
    # the printed φ and τ² are the ones written, and the README's 171 providers are compared
    assert f"phi {funnel['phi']:.3f}  tau2 {funnel['tau2']:.6f}" in result.output
    assert "recovery 2019-20: 171 organisations" in result.output
    assert funnel["phi"] > 1 and funnel["tau2"] > 0
    flagged = re.search(r"flagged: (\d+) adjusted \((\d+) high, (\d+) low\) vs (\d+) unadjusted", result.output)
    adjusted, unadjusted = int(flagged.group(1)), int(flagged.group(4))
    print(f"2019-20 recovery: {adjusted} flagged adjusted vs {unadjusted} unadjusted")
    # README: a plain binomial 99.8 % funnel flags dozens; the over-dispersion adjustment far fewer
    assert unadjusted >= 24 and adjusted < unadjusted / 2


def test_printed_providers_are_the_flagged_ones(run_2019_20):
    result, written = run_2019_20
    (funnel,) = written["funnels"]
    flagged = {code for code, p in funnel["providers"].items() if p["flag"]}
    printed = set(re.findall(r"^\s+(?:better|worse) than expected\s+(\S+)", result.output, flags=re.M))
    assert printed <= flagged and len(printed) == min(len(flagged), 10)
    for code in printed:
        assert funnel["providers"][code]["name"][:45] in result.output   # names are cut at 45


def test_json_carries_what_a_report_needs(run_2019_20):
    _, written = run_2019_20
    (funnel,) = written["funnels"]
    assert {"measure", "method", "target", "phi", "tau2", "providers", "chart", "period"} <= set(funnel)
    assert len(funnel["chart"]) > 20
    assert "rounded to the nearest 5" in written["notes"][0]


def test_bad_path_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["outliers", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output and "Traceback" not in result.output
