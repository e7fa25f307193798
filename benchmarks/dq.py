"""Time the data-quality stage on a synthetic extract, GX's share of it, and memory.

    .venv/bin/python benchmarks/dq.py --referrals 100000
    .venv/bin/python benchmarks/dq.py --referrals 1000000 --keep /tmp/dq-1m

Generates a Parquet extract with ``iapt_audit.synth`` (20 providers), reads it with identifiers,
derives the pathways (as ``run_audit`` does before the stage, which reuses them), runs
``run_data_quality`` and reports its sub-stages (GX import, GX validation runs, the rest of
the GX part: frame preparation and denominators; cross-table checks; the item table), then
evaluates the *same* suites again in plain pandas (one vectorised mask per expectation, the
failing row positions as the result, the same output GX gives the stage) to show what GX costs
over pandas. Peak resident memory is read after the read, after the stage and at the end. Run one
size per process so peaks do not mix. Results are recorded by hand in benchmarks/RESULTS_dq.md.
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

import numpy as np
import pandas as pd

from iapt_audit.dq import run_data_quality
from iapt_audit.dq.gx_frames import gx_frame
from iapt_audit.dq.gx_runner import referenced_columns
from iapt_audit.dq.suites import load_suites, suite_parameters
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.period import resolve_period
from iapt_audit.synth import generate


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)


def resolve(value, parameters):
    return parameters[value["$PARAMETER"]] if isinstance(value, dict) and "$PARAMETER" in value else value


def pandas_failures(frame: pd.DataFrame, expectation: dict, parameters: dict) -> np.ndarray:
    """The failing row positions of one expectation, computed in plain pandas (the baseline)."""
    kwargs = {k: resolve(v, parameters) for k, v in expectation["kwargs"].items()}
    rows = (frame.eval(kwargs["row_condition"], engine="python").fillna(False).to_numpy(dtype=bool)
            if "row_condition" in kwargs else np.ones(len(frame), dtype=bool))
    kind = expectation["type"]
    if kind == "expect_compound_columns_to_be_unique":
        bad = frame.duplicated(kwargs["column_list"], keep=False).to_numpy()
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
        bad = (a.notna() & b.notna() & ~(a >= b).fillna(True)).to_numpy(dtype=bool)
    else:
        values = frame[kwargs["column"]]
        present = values.notna()
        if kind == "expect_column_values_to_not_be_null":
            bad = ~present
        elif kind == "expect_column_values_to_be_in_set":
            bad = present & ~values.isin(kwargs["value_set"])
        elif kind == "expect_column_values_to_be_between":
            bad = present & ((values < kwargs["min_value"]) | (values > kwargs["max_value"]))
        elif kind == "expect_column_values_to_match_regex":
            bad = present & ~values.astype("string").str.contains(kwargs["regex"]).fillna(False)
        else:
            raise ValueError(f"no pandas baseline for {kind}")
        bad = bad.to_numpy(dtype=bool)
    return np.flatnonzero(rows & bad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--providers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the extract here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="iapt-dq-bench-"))
    figures = {"referrals": args.referrals, "providers": args.providers,
               "machine": f"{platform.machine()}, Python {platform.python_version()}"}
    if not (folder / "IDS101Referral.parquet").is_file():
        started = time.perf_counter()
        generate(folder, providers=args.providers, referrals=args.referrals, seed=args.seed, fmt="parquet")
        figures["synth_seconds"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    extract = read_extract(folder, identifiers=True)
    figures["read_seconds"] = round(time.perf_counter() - started, 2)
    figures["rows"] = {name: len(table) for name, table in extract.tables.items()}
    figures["peak_rss_gb_after_read"] = peak_rss_gb()
    period = resolve_period(None, extract)

    started = time.perf_counter()  # derived apart, so that the stage's own time excludes them
    pathways = derive_pathways(extract)
    figures["pathways_seconds"] = round(time.perf_counter() - started, 2)

    started, cpu = time.perf_counter(), time.process_time()
    result = run_data_quality(extract, period, pathways=lambda: pathways)
    figures["dq_seconds"] = round(time.perf_counter() - started, 2)
    figures["dq_cpu_seconds"] = round(time.process_time() - cpu, 2)
    figures["dq_timings"] = result.timings
    figures["peak_rss_gb_after_dq"] = peak_rss_gb()
    figures["checks"] = len(result.checks)
    figures["failing_checks"] = {f.check.code: f.numerator for f in result.checks if f.numerator}

    suites = {t: s for t, s in load_suites().items() if t in extract.tables}
    parameters = suite_parameters(period.end)
    started = time.perf_counter()
    frames = {t: gx_frame(t, extract.tables[t], referenced_columns(s)) for t, s in suites.items()}
    prepared, cpu = time.perf_counter(), time.process_time()
    baseline = {}
    for table, suite in suites.items():
        for e in suite["expectations"]:
            baseline.setdefault(e["meta"]["code"], []).append(pandas_failures(frames[table], e, parameters))
    figures["pandas_prepare_seconds"] = round(prepared - started, 2)
    figures["pandas_checks_seconds"] = round(time.perf_counter() - prepared, 2)
    figures["pandas_checks_cpu_seconds"] = round(time.process_time() - cpu, 2)
    found = {f.check.code: f.numerator for f in result.checks if f.check.engine == "great_expectations"}
    figures["pandas_agrees_with_gx"] = all(
        len(np.unique(np.concatenate(parts))) == found[code] for code, parts in baseline.items())
    gx_run = result.timings.get("gx_run", 0.0)
    figures["gx_run_over_pandas_checks"] = round(gx_run / max(figures["pandas_checks_seconds"], 1e-9), 2)
    figures["peak_rss_gb_end"] = peak_rss_gb()

    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
