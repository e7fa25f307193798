"""The Spark engine's cost per record, its peak memory by process, and the pandas engine beside it.

    .venv/bin/python benchmarks/spark_scale.py --referrals 400000 --providers 24 --driver-memory 4g
    .venv/bin/python benchmarks/spark_scale.py --referrals 400000 --providers 120 --driver-memory 4g
    .venv/bin/python benchmarks/spark_scale.py --referrals 5400000 --providers 120 --driver-memory 4g \\
        --period 2022-04-01:2025-03-31 --keep /data/archive3y   # the archive run (benchmarks/RESULTS.md)

Writes (or reuses, with ``--keep``) a synthetic warehouse archive: every provider's monthly
submissions as Parquet (``iapt_audit.synth``, layout "warehouse": each open referral again every
month, Primary and Refresh submissions, the history defects planted), over ``--period``. Then, each
in a fresh process so peaks do not mix, it runs:

* the Spark engine (``run_audit_spark``) in local mode with ``--driver-memory`` of JVM heap, reading
  the Parquet files with Spark itself, and
* the pandas engine (``run_audit``) on the same files (unless ``--skip-pandas``),

sampling every 0.5 s the resident memory of the Python driver, of the JVM (driver and, in local
mode, executors) and of Spark's Python workers, and prints wall seconds, seconds per million
records read, stage timings and each peak. A pandas run that dies (out of memory) is reported with
its exit status (-9: ended by the kernel's out-of-memory killer; the pandas process marks itself as
its first choice, ``oom_score_adj`` 1000, so nothing else on the machine is ended): that is the
outcome the archive run records. Each engine's findings.json is written beside the archive
(``<archive>.<engine>.findings.json``); the report names the sections in which the two engines'
differ (none expected) and, per provider synth planted a gaming pattern in, whether its rule
flagged it. Results are recorded by hand in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

RUNNER = r"""
import json, sys, time
engine, source, memory, written = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
started = time.perf_counter()
if engine == "spark":
    from iapt_audit.spark.session import local_session
    from iapt_audit.spark import run_audit_spark
    spark = local_session(memory=memory)
    result = run_audit_spark(source, spark=spark)
else:
    try:  # on Linux, the first process the kernel ends when memory runs out: never another engineer's
        open("/proc/self/oom_score_adj", "w").write("1000")
    except OSError:
        pass
    from iapt_audit.audit import run_audit
    result = run_audit(source)
seconds = time.perf_counter() - started
findings = result.findings()  # what the reports read: part of the run, timed apart
open(written, "w").write(json.dumps(findings, default=str))
print(json.dumps({"seconds": seconds, "findings_seconds": time.perf_counter() - started - seconds,
                  "stages": result.timings, "providers": len(result.providers)}, default=str))
"""


def measured(engine: str, source: Path, memory: str) -> dict:
    """Run one engine in a fresh process; peak RSS (GiB) of the driver, the JVM and the workers.
    Its standard error goes to ``<source>.<engine>.log`` (a failed run's reason is its last line),
    its findings.json document to ``<source>.<engine>.findings.json``."""
    log = open(f"{source}.{engine}.log", "w")
    process = subprocess.Popen([sys.executable, "-c", RUNNER, engine, str(source), memory,
                                f"{source}.{engine}.findings.json"],
                               stdout=subprocess.PIPE, stderr=log, text=True)
    peaks = {"python_driver": 0, "jvm": 0, "python_workers": 0, "all": 0}
    done = threading.Event()

    def sample():
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                sizes = {"python_driver": 0, "jvm": 0, "python_workers": 0}
                for p in tree:
                    rss = p.memory_info().rss
                    kind = ("python_driver" if p.pid == root.pid else
                            "jvm" if "java" in p.name() else "python_workers")
                    sizes[kind] += rss
                for kind, size in sizes.items():
                    peaks[kind] = max(peaks[kind], size)
                peaks["all"] = max(peaks["all"], sum(sizes.values()))
            except psutil.Error:
                pass
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    log.close()
    outcome = {"engine": engine, "exit_status": process.returncode,
               "wall_seconds": round(time.perf_counter() - started, 1),
               "peak_gib": {k: round(v / 2 ** 30, 2) for k, v in peaks.items()}}
    if process.returncode == 0:
        outcome.update(json.loads(out.strip().splitlines()[-1]))
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=20000)
    parser.add_argument("--providers", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--period", default="2024-04-01:2025-03-31")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--keep", type=Path, help="folder for the archive (reused if it holds one)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from iapt_audit.synth import generate

    folder = args.keep or Path(f"/tmp/spark-archive-{args.referrals}-{args.providers}-{args.period.replace(':', '_')}")
    if not (folder / "IDS101Referral.parquet").exists():
        generate(folder, providers=args.providers, referrals=args.referrals, seed=args.seed, fmt="parquet",
                 layout="warehouse", period=tuple(args.period.split(":")))
    import pyarrow.parquet as pq
    records = sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("IDS*.parquet"))
    report = {"referrals": args.referrals, "providers": args.providers, "records": records, "runs": []}
    for engine in ("spark",) + (() if args.skip_pandas else ("pandas",)):
        run = measured(engine, folder, args.driver_memory)
        if run["exit_status"] == 0:
            run["seconds_per_million_records"] = round(run["seconds"] / records * 1e6, 1)
            run["planted_rules_flagged"] = planted_flagged(folder, Path(f"{folder}.{engine}.findings.json"))
        report["runs"].append(run)
        print(json.dumps(run, default=str), flush=True)
    if all(run["exit_status"] == 0 for run in report["runs"]) and len(report["runs"]) == 2:
        report["findings_sections_that_differ"] = differing_sections(folder)
        print(json.dumps({"findings_sections_that_differ": report["findings_sections_that_differ"]}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


def planted_flagged(folder: Path, findings: Path) -> dict[str, bool]:
    """For each provider synth planted a gaming pattern in (``truth.json``), whether the audit
    flagged that provider on that rule: a check on the run's findings that does not come from the
    code under test."""
    truth = json.loads((folder / "truth.json").read_text())["providers"]
    rules = {rule["code"]: rule["providers"] for rule in json.loads(findings.read_text())["rules"]}
    return {f"{org} {p['planted']}": bool(rules.get(p["planted"], {}).get(org, {}).get("flagged"))
            for org, p in truth.items() if p.get("planted")}


def differing_sections(folder: Path) -> list[str]:
    """The findings.json sections in which the two engines' documents differ (none expected)."""
    spark, pandas = (json.loads(Path(f"{folder}.{engine}.findings.json").read_text()) for engine in ("spark", "pandas"))
    return sorted(section for section in set(spark) | set(pandas) if spark.get(section) != pandas.get(section))


if __name__ == "__main__":
    main()
