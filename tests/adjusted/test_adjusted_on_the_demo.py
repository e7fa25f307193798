"""On the demo extract (``make demo``'s synthetic 12 providers, seed 1): each planted provider's
adjusted headline moves away from its official figure in the direction its pattern predicts
(lower: the pattern inflated the headline), and clean providers' move by little.

"Little" is stated per figure: a clean provider's access moves by under 10 %, its group and
step-up waits (GM04, GM05) by under 3 percentage points, and its second-treatment wait (GM03) and
recovery (GM06) by under 2 points, since those two remove only the provider's excess over what
the rule tolerates (GM03's min_percent share of hidden waits) or expects (GM06's locally linear
null at the heap value). The planted provider moves by more than twice the most any clean
provider moves. (The GM04 provider's GM03 figure moves too: its long wait from a group session to
individual therapy is also a long first-to-second gap. It is planted, so not among the clean.)
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
         "GM05": "GM05_6WeeksToFirstHighIntensitySession", "GM06": "GM06_RecoveryWithoutHeapExcess"}
CLEAN_BOUND = {"GM03": 2.0, "GM04": 3.0, "GM05": 3.0, "GM06": 2.0}  # percentage points


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
