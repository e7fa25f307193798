"""Cost grows linearly with the extract: a CI-sized guard against quadratic regressions.

Two synthetic extracts of the same 20 providers, 12,500 and 50,000 referrals (four times the
records), are audited in this one process with the benchmark's own stages (``run_audit``, then
findings.json and all three reports). No absolute time is asserted, since CI machines differ; the
ratio of the two runs' cost must stay near the ratio of their sizes. Cost is CPU seconds summed
over stages, which other processes on a shared machine disturb far less than wall time. A warm-up
run on a tiny extract first pays the one-off imports (Great Expectations alone takes ~3 s) so they
do not flatter the larger run. Fixed per-run costs make the honest ratio a little under 4; a join
or loop that went quadratic would push it towards 16.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iapt_audit.synth import generate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from national import MeasuringTimer, audit_stages  # noqa: E402

SMALL, LARGE = 12_500, 50_000
TOLERANCE = 1.5  # allowed excess over the size ratio: timer noise and cache effects, not growth
REPORT_STAGES = ("findings.json", "reports (3 audiences x xlsx, html)")


def _cost(tmp_path: Path, referrals: int) -> tuple[float, float, int]:
    """CPU seconds of the data stages and of the report stages, and the rows read."""
    extract = tmp_path / f"extract-{referrals}"
    generate(extract, providers=20, referrals=referrals, seed=3, fmt="parquet")
    timer = MeasuringTimer(show=False)
    audit_stages(extract, tmp_path / f"out-{referrals}", timer)
    data = sum(s["cpu_seconds"] for name, s in timer.stages.items() if name not in REPORT_STAGES)
    reports = sum(timer.stages[name]["cpu_seconds"] for name in REPORT_STAGES)
    return data, reports, timer.stages["read"]["rows"]


def test_audit_cost_grows_no_faster_than_the_extract(tmp_path):
    _cost(tmp_path, 2_000)  # warm-up: imports and first-use caches
    small_data, small_reports, small_rows = _cost(tmp_path, SMALL)
    large_data, large_reports, large_rows = _cost(tmp_path, LARGE)
    size_ratio = large_rows / small_rows
    assert 3.5 < size_ratio < 4.5  # the synthetic writer really made four times the records
    assert large_data / small_data <= size_ratio * TOLERANCE, (small_data, large_data)
    assert large_reports / small_reports <= size_ratio * TOLERANCE, (small_reports, large_reports)
