"""On the demo extract (``make demo``'s synthetic 12 providers, seed 1): each planted provider's
adjusted headline moves away from its official figure in the direction its pattern predicts
(lower: the pattern inflated the headline), and clean providers' move by little.

"Little" is stated per figure. Access and the group / step-up waits: a clean provider's figure
moves by under 10 % of its access and under 3 percentage points. The second-treatment wait (GM03)
and recovery clear of the cut-offs (GM06) move for every provider, because long first-to-second
gaps (about a fifth of courses nationally) and last scores one point under the line occur in
honest data too: there a clean provider moves by under 25 and 12 points, and the planted provider
by more than twice the most any clean provider moves.
"""

from __future__ import annotations

import json

import pytest

from iapt_audit.adjusted import adjusted_headlines, rules_in_force
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import resolve_period
from iapt_audit.rules_engine import run_rules

generate = pytest.importorskip("iapt_audit.synth.generate").generate
SHOWN = {"GM01": "GM01_AccessWithoutAssessAndTreatEndings", "GM02": "GM02_AccessWithoutSingleSessionLargeGroups",
         "GM03": "GM03_6WeeksToSecondTreatment", "GM04": "GM04_6WeeksToFirstIndividualSession",
         "GM05": "GM05_6WeeksToFirstHighIntensitySession", "GM06": "GM06_RecoveryClearOfCutoffs"}
CLEAN_BOUND = {"GM03": 25.0, "GM04": 3.0, "GM05": 3.0, "GM06": 12.0}  # percentage points


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "extract"
    generate(folder, providers=12, referrals=24000, seed=1, fmt="parquet")
    truth = json.loads((folder / "truth.json").read_text())
    extract = read_extract(folder)
    pathways = derive_pathways(extract)
    period = resolve_period(None, extract)
    table = adjusted_headlines(pathways, period, rules_in_force(run_rules(pathways, period))).table
    planted = {entry["planted"]: org for org, entry in truth["providers"].items() if entry["planted"]}
    clean = [org for org, entry in truth["providers"].items() if entry["planted"] is None]
    return table.set_index(["figure", "OrgIDProv"]), planted, clean


@pytest.mark.parametrize("code", list(SHOWN))
def test_the_planted_provider_moves_the_way_its_pattern_predicts_and_clean_ones_by_little(demo, code):
    table, planted, clean = demo
    rows = table.loc[SHOWN[code]]
    moved = rows["difference"]
    assert moved[planted[code]] < 0
    if code in ("GM01", "GM02"):  # counts: the share of access left out
        share = -moved / rows["official_value"]
        assert (share[clean] < 0.10).all(), share[clean]
        assert share[planted[code]] > 2 * share[clean].max()
    else:
        assert (moved[clean].abs() < CLEAN_BOUND[code]).all(), moved[clean]
        assert -moved[planted[code]] > 2 * moved[clean].abs().max()
    assert (moved <= 0).all()  # leaving a pattern out never raises a headline
