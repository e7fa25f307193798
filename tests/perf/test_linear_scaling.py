"""Cost grows linearly with the extract: a CI-sized guard against superlinear regressions.

Two synthetic extracts of the same 20 providers, 12,500 and 50,000 referrals (four times the
records), are audited in this one process with the benchmark's own stages (``run_audit``, then
findings.json and all three reports). No absolute time is asserted, since CI machines differ; each
stage's cost at the larger size over its cost at the smaller must stay within the size ratio
(with a tolerance for noise). Cost is CPU seconds, which other processes on a shared machine
disturb far less than wall time. A warm-up run on a tiny extract first pays the one-off imports
(Great Expectations alone takes ~3 s) so that they do not land in the smaller run.

At these sizes fixed costs (GX's per-expectation overhead, one chart per provider) make the honest
ratios 1 to 4 (2.0 read, 4.2 pathways, 1.3 GX, 2.3 rules, 1.1 reports when written); a join or
per-record loop that went quadratic would put its stage near 16. Stages too quick to time
reliably at the smaller size (under 50 ms) are left out per stage but still count in the total.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iapt_audit.synth import generate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from national import MeasuringTimer, audit_stages  # noqa: E402

SMALL, LARGE = 12_500, 50_000
TOLERANCE = 2.0        # excess over the size ratio allowed for noise on a busy 2-core box (quadratic: 4.0)
TIMEABLE_SECONDS = 0.05


def _stage_costs(tmp_path: Path, referrals: int) -> tuple[dict[str, float], int]:
    """CPU seconds per audit stage, and the rows read from all tables."""
    extract = tmp_path / f"extract-{referrals}"
    generate(extract, providers=20, referrals=referrals, seed=3, fmt="parquet")
    timer = MeasuringTimer(show=False)
    audit_stages(extract, tmp_path / f"out-{referrals}", timer)
    return {name: stage["cpu_seconds"] for name, stage in timer.stages.items()}, timer.stages["read and select"]["rows"]


def test_audit_cost_grows_no_faster_than_the_extract(tmp_path):
    _stage_costs(tmp_path, 2_000)  # warm-up: imports and first-use caches
    small, small_rows = _stage_costs(tmp_path, SMALL)
    large, large_rows = _stage_costs(tmp_path, LARGE)
    size_ratio = large_rows / small_rows
    assert 3.5 < size_ratio < 4.5  # the synthetic writer really made four times the records
    limit = size_ratio * TOLERANCE
    assert sum(large.values()) / sum(small.values()) <= limit, (small, large)
    grew = {name: round(large[name] / small[name], 2) for name in small if small[name] >= TIMEABLE_SECONDS}
    assert {"read and select", "pathways", "rules"} <= set(grew)  # the record-bound stages are really checked
    assert {name: ratio for name, ratio in grew.items() if ratio > limit} == {}, (grew, small, large)
