"""Time every stage of a full audit, reports included, on a synthetic extract of a given size.

    .venv/bin/python benchmarks/national.py --referrals 1800000 --keep /tmp/nat18
    .venv/bin/python benchmarks/national.py --referrals 180000 --json /tmp/180k.json

Writes a Parquet extract with ``iapt_audit.synth`` (timed: the synth stage; reused when ``--keep``
already holds one), times how long pyarrow alone takes to read the same files (the physical
floor), then runs what ``iapt-audit audit`` runs: ``run_audit`` (read, pathways, data quality,
KPIs, rules, outliers), findings.json and all three audiences' reports in every format. It prints,
per stage, wall time, rows per second and the process's peak resident memory at the stage's end,
and the ratios the performance issue sets targets for (audit over pyarrow read; Great
Expectations over the same checks in plain pandas, measured after the audit so that its memory
does not count in the audit's peak). The pandas side is measured two ways: ``benchmarks/dq.py``'s
frame preparation and masks alone (GX's stage also numbers providers, counts denominators and
builds findings, which that baseline does not), and the audit's own stage with pandas as its
engine instead of GX (like for like: same frames, denominators and findings). It stops if either
disagrees with GX on any check.

Run one size per process, so peaks do not mix; the scaling ratio between two sizes is read off
two runs' JSON. Results are recorded by hand in benchmarks/RESULTS.md with the machine's description.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from iapt_audit.audit import run_audit
from iapt_audit.progress import StageTimer
from iapt_audit.report.findings import write_findings
from iapt_audit.report.writer import write_reports
from iapt_audit.synth import generate

sys.path.insert(0, str(Path(__file__).parent))
from dq import pandas_failures  # noqa: E402  (benchmarks/dq.py: the plain-pandas baseline)

GX_STAGE = "data quality: great expectations"


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)


class MeasuringTimer(StageTimer):
    """The audit's own stage timer, also noting each stage's CPU seconds (all threads; less
    disturbed than wall time by other processes on a shared machine) and the peak resident
    memory at its end."""

    @contextmanager
    def stage(self, name: str, rows: int | None = None):
        cpu = time.process_time()
        with super().stage(name, rows) as record:
            yield record
        self.stages[name]["cpu_seconds"] = round(time.process_time() - cpu, 3)
        self.stages[name]["peak_rss_gb"] = peak_rss_gb()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def extract_folder(args) -> tuple[Path, float | None]:
    """The extract to audit: reused from --keep when it is there, else generated (and timed)."""
    folder = args.keep or Path(tempfile.mkdtemp(prefix="iapt-bench-"))
    if (folder / "IDS101Referral.parquet").is_file():
        return folder, None
    started = time.perf_counter()
    generate(folder, providers=args.providers, referrals=args.referrals, seed=args.seed, fmt="parquet")
    return folder, round(time.perf_counter() - started, 2)


def pyarrow_floor(folder: Path) -> float:
    """Seconds pyarrow takes to read every table file of the extract into memory."""
    started = time.perf_counter()
    for path in sorted(folder.glob("IDS*.parquet")):
        pq.read_table(path)
    return round(time.perf_counter() - started, 2)


def audit_stages(folder: Path, out: Path, timer: MeasuringTimer) -> tuple[float, dict, dict]:
    """What ``iapt-audit audit`` does, each part a timed stage; returns the total wall time, the
    data-quality stage's own breakdown (GX import, GX validation runs, ...) and the failing
    records GX found per check code."""
    started = time.perf_counter()
    result = run_audit(folder, timer=timer)
    with timer.stage("findings.json"):
        write_findings(result, out)
    with timer.stage("reports (3 audiences x xlsx, html)"):
        write_reports(result, out)
    gx_findings = {f.check.code: (f.numerator, f.denominator) for f in result.data_quality.checks
                   if f.check.engine == "great_expectations"}
    return round(time.perf_counter() - started, 2), dict(result.data_quality.timings), gx_findings


def gx_against_pandas(folder: Path, gx_seconds: float, dq_timings: dict, gx_findings: dict) -> dict:
    """The same suites evaluated in plain pandas on the same extract, against GX two ways: the
    whole GX stage (import, frame preparation, validation, findings) over pandas' frame preparation
    and masks; and GX's validation runs alone over the pandas masks alone (``benchmarks/dq.py``'s
    measure, which leaves out the one-off import and the preparation both share). Stops if the
    two do not find the same number of failing records for every check: then they are not the
    same checks."""
    from iapt_audit.dq.gx_frames import gx_frame
    from iapt_audit.dq.gx_runner import referenced_columns
    from iapt_audit.dq.suites import load_suites, suite_parameters
    from iapt_audit.io.extract import read_extract
    from iapt_audit.period import resolve_period

    extract = read_extract(folder, identifiers=True)
    parameters = suite_parameters(resolve_period(None, extract).end)
    suites = {t: s for t, s in load_suites().items() if t in extract.tables}
    started = time.perf_counter()
    frames = {table: gx_frame(table, extract.tables[table], referenced_columns(suite))
              for table, suite in suites.items()}
    prepared = time.perf_counter()
    failing = [(expectation["meta"]["code"], pandas_failures(frames[table], expectation, parameters))
               for table, suite in suites.items() for expectation in suite["expectations"]]
    checked = time.perf_counter()
    by_code: dict[str, list] = {}
    for code, rows in failing:
        by_code.setdefault(code, []).append(rows)
    pandas_failing = {code: len(np.unique(np.concatenate(parts))) for code, parts in by_code.items()}
    gx_failing = {code: numerator for code, (numerator, _) in gx_findings.items()}
    if pandas_failing != gx_failing:
        differ = sorted(c for c in pandas_failing.keys() | gx_failing.keys()
                        if pandas_failing.get(c) != gx_failing.get(c))
        raise SystemExit(f"GX and the pandas baseline disagree on {', '.join(differ)}: not the same checks")
    pandas_seconds, masks_seconds = round(checked - started, 2), round(checked - prepared, 2)
    del frames, failing
    engine_seconds = pandas_engine_stage(extract, parameters, gx_findings)
    return {"gx_stage_seconds": gx_seconds, "pandas_seconds": pandas_seconds,
            "pandas_engine_stage_seconds": engine_seconds,
            "gx_over_pandas_engine_stage": round(gx_seconds / max(engine_seconds, 1e-9), 2),
            "gx_over_pandas": round(gx_seconds / max(pandas_seconds, 1e-9), 2),
            "gx_import_seconds": dq_timings.get("gx_import"), "gx_run_seconds": dq_timings.get("gx_run"),
            "pandas_masks_seconds": masks_seconds,
            "gx_run_over_pandas_masks": round(dq_timings.get("gx_run", 0.0) / max(masks_seconds, 1e-9), 2),
            "pandas_agrees_with_gx": True}


def pandas_engine_stage(extract, parameters: dict, gx_findings: dict) -> float:
    """Seconds the audit's GX stage takes with plain pandas as its engine instead of GX: the same
    frames, denominators, findings and worklists, only each expectation's failing rows computed
    by ``benchmarks/dq.py``'s mask. The like-for-like reading of "the same checks done directly in
    pandas": the stage's output is findings, which a pandas stage would have to build too. Stops
    if any finding's numerator or denominator differs from GX's."""
    from iapt_audit.dq import gx_runner, stage
    from iapt_audit.dq.settings import DQSettings
    from iapt_audit.period import resolve_period

    def pandas_validate(runs, suite_parameters, timings=None):
        return [gx_runner.ExpectationOutcome(table, expectation, pandas_failures(frame, expectation, parameters))
                for table, frame, expectations in runs for expectation in expectations]

    original, gx_runner.validate = gx_runner.validate, pandas_validate
    try:
        started = time.perf_counter()
        findings = [finding for finding, _ in stage._suite_findings(
            extract, resolve_period(None, extract), DQSettings(), 1000, {}, stage._LazyProviders(extract))]
        seconds = round(time.perf_counter() - started, 2)
    finally:
        gx_runner.validate = original
    pandas_findings = {f.check.code: (f.numerator, f.denominator) for f in findings}
    if pandas_findings != gx_findings:
        raise SystemExit("the pandas-engine stage and the GX stage disagree: not the same checks")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=180_000)
    parser.add_argument("--providers", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the extract here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--no-gx-comparison", action="store_true", help="skip the plain-pandas DQ baseline")
    args = parser.parse_args()

    folder, synth_seconds = extract_folder(args)
    out = Path(tempfile.mkdtemp(prefix="iapt-bench-out-"))
    figures = {"referrals": args.referrals, "providers": args.providers, "machine": machine(),
               "synth_seconds": synth_seconds, "pyarrow_read_seconds": pyarrow_floor(folder)}
    gc.collect()
    timer = MeasuringTimer()  # live progress only when stderr is a terminal
    figures["audit_seconds"], dq_timings, gx_findings = audit_stages(folder, out, timer)
    figures["peak_rss_gb"] = peak_rss_gb()
    figures["stages"] = timer.stages
    figures["rows"] = timer.stages["read"]["rows"]
    figures["audit_over_read"] = round(figures["audit_seconds"] / max(figures["pyarrow_read_seconds"], 1e-9), 1)
    if not args.no_gx_comparison:
        figures["dq_gx_vs_pandas"] = gx_against_pandas(folder, timer.stages[GX_STAGE]["seconds"], dq_timings,
                                                       gx_findings)

    print(f"referrals {args.referrals:,} ({figures['rows']:,} rows in all tables): audit {figures['audit_seconds']} s, "
          f"pyarrow read {figures['pyarrow_read_seconds']} s ({figures['audit_over_read']}x), "
          f"peak RSS {figures['peak_rss_gb']} GB, synth {synth_seconds if synth_seconds is not None else 'reused'}")
    print(f"  {'stage':<38} {'seconds':>8} {'cpu s':>8} {'rows/s':>12} {'peak RSS GB':>12}")
    for name, stage in timer.stages.items():
        rate = f"{stage['rows_per_second']:,}" if "rows_per_second" in stage else ""
        print(f"  {name:<38} {stage['seconds']:>8.2f} {stage['cpu_seconds']:>8.2f} {rate:>12} "
              f"{stage['peak_rss_gb']:>12.2f}")
    if "dq_gx_vs_pandas" in figures:
        comparison = figures["dq_gx_vs_pandas"]
        print(f"  GX stage {comparison['gx_stage_seconds']} s vs the same checks in pandas "
              f"{comparison['pandas_seconds']} s: {comparison['gx_over_pandas']}x; GX validation runs "
              f"{comparison['gx_run_seconds']} s (import {comparison['gx_import_seconds']} s apart) vs the "
              f"pandas masks {comparison['pandas_masks_seconds']} s: {comparison['gx_run_over_pandas_masks']}x; the same "
              f"stage with pandas as its engine {comparison['pandas_engine_stage_seconds']} s: "
              f"{comparison['gx_over_pandas_engine_stage']}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
