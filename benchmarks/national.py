"""Time every stage of a full audit, reports included, on a synthetic extract of a given size.

    .venv/bin/python benchmarks/national.py --referrals 1800000 --keep /tmp/nat18
    .venv/bin/python benchmarks/national.py --referrals 180000 --json /tmp/180k.json
    .venv/bin/python benchmarks/national.py --referrals 1800000 --layout warehouse --keep /tmp/nat18w

``--layout warehouse`` writes the year as monthly submissions (issue 13: every open referral again
each month, contacts and scores in their month, some months as a Primary and a Refresh, the
history defects planted) in one Parquet file per table, so the audit's selection stage
(``select``: latest submission per provider and month, latest record per key) has real work; its
rows per second are printed beside the other stages'.

Writes a Parquet extract with ``iapt_audit.synth`` (timed: the synth stage; reused when ``--keep``
already holds one), times how long pyarrow alone takes to read the same files (the physical
floor), then runs what ``iapt-audit audit`` runs: ``run_audit`` (read, pathways, data quality,
KPIs, rules, outliers), findings.json and all three audiences' reports in every format. It prints,
per stage, wall time, rows per second and the process's peak resident memory at the stage's end,
and the ratios the performance issue sets targets for (audit over pyarrow read; Great
Expectations over the same checks in plain pandas). For the second it runs the audit again, in a
fresh process so that both meet the same cold allocator, with ``--dq-engine pandas``: every
expectation's failing rows from ``benchmarks/dq.py``'s pandas mask instead of GX, the rest of the
stage (frames, denominators per provider, findings, worklists) unchanged. It compares the two
stages (like for like) and GX's validation runs with the pandas masks alone (the narrow reading),
and stops if the two disagree on any check's failing or checked records.

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
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from iapt_audit.launch import reexecute_tuned

if __name__ == "__main__":  # not when imported (tests/perf): measure as the command runs (iapt_audit/launch.py)
    reexecute_tuned()

import pyarrow as pa  # noqa: E402  (after the re-execution: nothing heavy is loaded twice)
import pyarrow.parquet as pq  # noqa: E402

from iapt_audit.audit import run_audit  # noqa: E402
from iapt_audit.progress import StageTimer  # noqa: E402
from iapt_audit.report.findings import write_findings  # noqa: E402
from iapt_audit.report.writer import write_reports  # noqa: E402
from iapt_audit.synth import generate  # noqa: E402

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
            f"Python {platform.python_version()}, GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')}, "
            f"Arrow pool {pa.default_memory_pool().backend_name}")


def extract_folder(args) -> tuple[Path, float | None]:
    """The extract to audit: reused from --keep when one of the same layout is there, else
    generated (and timed)."""
    folder = args.keep or Path(tempfile.mkdtemp(prefix="iapt-bench-"))
    truth = folder / "truth.json"
    if (folder / "IDS101Referral.parquet").is_file() and truth.is_file() \
            and json.loads(truth.read_text()).get("layout", "snapshot") == args.layout:
        return folder, None
    started = time.perf_counter()
    generate(folder, providers=args.providers, referrals=args.referrals, seed=args.seed, fmt="parquet",
             layout=args.layout)
    return folder, round(time.perf_counter() - started, 2)


def pyarrow_floor(folder: Path) -> float:
    """Seconds pyarrow takes to read every table file of the extract into memory."""
    started = time.perf_counter()
    for path in sorted(folder.glob("IDS*.parquet")):
        pq.read_table(path)
    return round(time.perf_counter() - started, 2)


def audit_stages(folder: Path, out: Path, timer: MeasuringTimer) -> tuple[float, dict, dict]:
    """What ``iapt-audit audit`` does, each part a timed stage; returns the total wall time, the
    data-quality stage's own breakdown (GX import, GX validation runs, ...) and the failing and
    checked records of each suite check (code: [numerator, denominator])."""
    started = time.perf_counter()
    result = run_audit(folder, timer=timer)
    with timer.stage("findings.json"):
        write_findings(result, out)
    with timer.stage("reports (3 audiences x xlsx, html)"):
        write_reports(result, out)
    suite_findings = {f.check.code: [f.numerator, f.denominator] for f in result.data_quality.checks
                      if f.check.engine == "great_expectations"}
    return round(time.perf_counter() - started, 2), dict(result.data_quality.timings), suite_findings


def pandas_validate(runs, parameters: dict, timings: dict | None = None):
    """``gx_runner.validate``'s stand-in for ``--dq-engine pandas``: each expectation's failing rows
    from ``benchmarks/dq.py``'s plain-pandas mask instead of a GX validation; its seconds go where
    GX's validation runs' would (``gx_run``), with no import to pay."""
    from iapt_audit.dq import gx_runner

    started = time.perf_counter()
    outcomes = [gx_runner.ExpectationOutcome(table, expectation, pandas_failures(frame, expectation, parameters))
                for table, frame, expectations in runs for expectation in expectations]
    if timings is not None:
        timings["gx_import"], timings["gx_run"] = 0.0, round(time.perf_counter() - started, 3)
    return outcomes


def gx_against_pandas(args, figures: dict) -> dict:
    """The same audit run again in a fresh process with pandas as the data-quality stage's engine,
    and the two compared: the whole stage (GX: import, frames, validation, denominators, findings)
    against the same stage in pandas (like for like: the same frames, denominators and findings),
    and GX's validation runs alone against the pandas masks alone (the narrow reading). Each side
    runs at the same point of an audit in its own process, so both meet the same cold allocator.
    Stops if the two do not find the same failing and checked records for every check: then they
    are not the same checks."""
    with tempfile.TemporaryDirectory(prefix="iapt-bench-pandas-") as work:
        figures_file = Path(work) / "pandas.json"
        subprocess.run([sys.executable, __file__, "--keep", str(args.keep), "--referrals", str(args.referrals),
                        "--providers", str(args.providers), "--seed", str(args.seed), "--dq-engine", "pandas",
                        "--layout", args.layout,
                        "--json", str(figures_file)], check=True, stdout=subprocess.DEVNULL)
        pandas = json.loads(figures_file.read_text())
    if pandas["suite_findings"] != figures["suite_findings"]:
        differ = sorted(c for c in pandas["suite_findings"].keys() | figures["suite_findings"].keys()
                        if pandas["suite_findings"].get(c) != figures["suite_findings"].get(c))
        raise SystemExit(f"GX and the pandas engine disagree on {', '.join(differ)}: not the same checks")
    gx_stage, pandas_stage = figures["stages"][GX_STAGE]["seconds"], pandas["stages"][GX_STAGE]["seconds"]
    gx_run, masks = figures["dq_timings"]["gx_run"], pandas["dq_timings"]["gx_run"]
    return {"gx_stage_seconds": gx_stage, "pandas_stage_seconds": pandas_stage,
            "gx_over_pandas_stage": round(gx_stage / max(pandas_stage, 1e-9), 2),
            "gx_import_seconds": figures["dq_timings"]["gx_import"], "gx_run_seconds": gx_run,
            "pandas_masks_seconds": masks, "gx_run_over_pandas_masks": round(gx_run / max(masks, 1e-9), 2),
            "pandas_audit_seconds": pandas["audit_seconds"], "pandas_agrees_with_gx": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=180_000)
    parser.add_argument("--providers", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the extract here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--progress", action="store_true",
                        help="print each stage as it ends, also when stderr is not a terminal (a log)")
    parser.add_argument("--layout", choices=("snapshot", "warehouse"), default="snapshot",
                        help="warehouse: the year as monthly submissions (Primary/Refresh), one Parquet file per table")
    parser.add_argument("--no-gx-comparison", action="store_true", help="skip the audit with pandas as DQ engine")
    parser.add_argument("--dq-engine", choices=("gx", "pandas"), default="gx",
                        help="pandas: the suites' checks as plain-pandas masks instead of GX (the comparison's run)")
    args = parser.parse_args()

    folder, synth_seconds = extract_folder(args)
    temporary, args.keep = args.keep is None, folder  # the comparison's run reads the same files
    out = Path(tempfile.mkdtemp(prefix="iapt-bench-out-"))
    figures = {"referrals": args.referrals, "providers": args.providers, "layout": args.layout, "machine": machine(),
               "dq_engine": args.dq_engine, "synth_seconds": synth_seconds,
               "pyarrow_read_seconds": pyarrow_floor(folder)}
    gc.collect()
    if args.dq_engine == "pandas":
        from iapt_audit.dq import gx_runner
        gx_runner.validate = pandas_validate
    timer = MeasuringTimer(show=True if args.progress else None)  # else live only on a terminal
    figures["audit_seconds"], figures["dq_timings"], figures["suite_findings"] = audit_stages(folder, out, timer)
    figures["peak_rss_gb"] = peak_rss_gb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_user_seconds"], figures["cpu_system_seconds"] = round(usage.ru_utime, 1), round(usage.ru_stime, 1)
    figures["stages"] = timer.stages
    read = timer.stages["read and select"]
    figures["rows"] = read["rows"]
    figures["select"] = {"seconds": read["select_seconds"], "cpu_seconds": read["select_cpu_seconds"],
                         "rows": read["rows"], "rows_per_second": round(read["rows"] / max(read["select_seconds"], 1e-9)),
                         "rows_per_cpu_second": round(read["rows"] / max(read["select_cpu_seconds"], 1e-9))}
    figures["audit_over_read"] = round(figures["audit_seconds"] / max(figures["pyarrow_read_seconds"], 1e-9), 1)
    shutil.rmtree(out, ignore_errors=True)
    if args.dq_engine == "gx" and not args.no_gx_comparison:
        figures["dq_gx_vs_pandas"] = gx_against_pandas(args, figures)

    print(f"referrals {args.referrals:,}, {args.layout} layout ({figures['rows']:,} rows in all tables), "
          f"DQ engine {args.dq_engine}: "
          f"audit {figures['audit_seconds']} s, pyarrow read {figures['pyarrow_read_seconds']} s "
          f"({figures['audit_over_read']}x), peak RSS {figures['peak_rss_gb']} GB, CPU {figures['cpu_user_seconds']} s "
          f"user + {figures['cpu_system_seconds']} s system, "
          f"synth {synth_seconds if synth_seconds is not None else 'reused'}")
    print(f"  {'stage':<38} {'seconds':>8} {'cpu s':>8} {'rows/s':>12} {'peak RSS GB':>12}")
    for name, stage in timer.stages.items():
        rate = f"{stage['rows_per_second']:,}" if "rows_per_second" in stage else ""
        print(f"  {name:<38} {stage['seconds']:>8.2f} {stage['cpu_seconds']:>8.2f} {rate:>12} "
              f"{stage['peak_rss_gb']:>12.2f}")
    chosen = figures["select"]
    print(f"  of which selection and the submission-history checks: {chosen['rows']:,} rows in "
          f"{chosen['seconds']:.2f} s ({chosen['cpu_seconds']:.2f} CPU s), {chosen['rows_per_second']:,} rows/s "
          f"({chosen['rows_per_cpu_second']:,} per CPU s)")
    if "dq_gx_vs_pandas" in figures:
        comparison = figures["dq_gx_vs_pandas"]
        print(f"  GX stage {comparison['gx_stage_seconds']} s vs the same stage with pandas as its engine "
              f"{comparison['pandas_stage_seconds']} s: {comparison['gx_over_pandas_stage']}x; GX validation runs "
              f"{comparison['gx_run_seconds']} s (import {comparison['gx_import_seconds']} s apart) vs the pandas "
              f"masks {comparison['pandas_masks_seconds']} s: {comparison['gx_run_over_pandas_masks']}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if temporary:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
