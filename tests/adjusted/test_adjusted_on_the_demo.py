"""On the demo extract (``make demo``'s synthetic 12 providers, 24,000 referrals, seed 1): each
planted provider's adjusted headline moves away from its official figure in the direction its
pattern predicts (lower: the pattern inflated the headline), and clean providers' move by little.

Every figure removes or re-times only the provider's excess of its pattern over what the rule
tolerates (GM01–GM05: the rule's min_percent share of its cohort within the figure's) or expects
(GM06: the locally linear null at the heap value), so "little" is one bound for all: a clean
provider's access moves by under 1 % of itself, its waits and recovery by under 1 percentage
point. The planted provider moves by more than twice the most any clean provider moves, on both
the 6- and the 18-week figure of a wait. (Planted providers are not among the clean: the GM04
provider's long wait from a group to individual therapy is also a long first-to-second gap, so
its GM03 figure moves too.)
"""

from __future__ import annotations

import json

import pytest

from iapt_audit.adjusted import FIGURES, adjusted_headlines, rules_in_force
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import resolve_period
from iapt_audit.rules_engine import run_rules

generate = pytest.importorskip("iapt_audit.synth.generate").generate
CLEAN_BOUND = 1.0  # percent of access (counts) or percentage points (rates)


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


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f.name)
def test_the_planted_provider_moves_the_way_its_pattern_predicts_and_clean_ones_by_little(demo, figure):
    table, planted, clean = demo
    rows = table.loc[figure.name]
    moved = -rows["difference"]  # the pattern raised the headline: the adjusted figure is lower
    if figure.kind == "count":  # access: the share of itself left out, in percent
        moved = 100 * moved / rows["official_value"]
    assert len(clean) >= 4
    assert (moved[clean] < CLEAN_BOUND).all(), moved[clean]
    assert moved[planted[figure.code]] > 2 * moved[clean].max()
    assert moved[planted[figure.code]] > CLEAN_BOUND
    assert (moved >= 0).all()  # leaving a pattern out never raises a headline
