"""Time every stage of an audit on a synthetic extract of a given size.

    .venv/bin/python benchmarks/national.py --referrals 1800000

Writes a Parquet extract (timed: the synth stage), then runs the audit with its stage timer and
prints, per stage, wall time, rows per second and the process's peak resident memory so far, and
the time pyarrow alone takes to read the same files (the physical floor). Results are recorded by
hand in benchmarks/RESULTS.md with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from iapt_audit.audit import run_audit
from iapt_audit.progress import StageTimer
from iapt_audit.synth import generate


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=180_000)
    parser.add_argument("--providers", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write the extract here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="iapt-bench-"))
    figures = {"referrals": args.referrals, "machine": f"{platform.machine()}, {platform.python_version()}"}
    started = time.perf_counter()
    summary = generate(folder, providers=args.providers, referrals=args.referrals, seed=args.seed, fmt="parquet")
    figures["synth_seconds"] = round(time.perf_counter() - started, 2)
    figures["rows"] = summary.get("rows", {})

    started = time.perf_counter()
    for path in folder.glob("*.parquet"):
        pq.read_table(path)
    figures["pyarrow_read_seconds"] = round(time.perf_counter() - started, 2)

    timer = StageTimer(show=True)
    started = time.perf_counter()
    run_audit(folder, timer=timer)
    figures["audit_seconds"] = round(time.perf_counter() - started, 2)
    figures["stages"] = timer.stages
    figures["peak_rss_gb"] = round(peak_rss_gb(), 2)
    figures["audit_over_read"] = round(figures["audit_seconds"] / max(figures["pyarrow_read_seconds"], 1e-9), 1)

    print(f"referrals {args.referrals:,}: synth {figures['synth_seconds']} s, pyarrow read "
          f"{figures['pyarrow_read_seconds']} s, audit {figures['audit_seconds']} s "
          f"({figures['audit_over_read']}x read), peak RSS {figures['peak_rss_gb']} GB")
    for name, stage in timer.stages.items():
        rate = f"{stage['rows_per_second']:,} rows/s" if "rows_per_second" in stage else ""
        print(f"  {name:<14} {stage['seconds']:>8.2f} s  {rate}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
