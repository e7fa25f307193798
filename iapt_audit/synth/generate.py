"""Generate a synthetic multi-provider extract, chunk by chunk, straight to disk.

Why chunks: a national-scale extract (1.8 million referrals, about 9 million contacts and 25
million scores) must fit in a few GB. Referrals are numbered in provider order and generated
100,000 at a time; each chunk has its own random generator seeded from (seed, chunk number), so
the output depends only on the arguments and is byte-identical run to run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from iapt_audit.synth import calibration, gaming, ids
from iapt_audit.synth.contacts import build_contacts
from iapt_audit.synth.pathways import draw_plan
from iapt_audit.synth.people import patients
from iapt_audit.synth.providers import draw_providers
from iapt_audit.synth.layouts import check_layout, open_layout
from iapt_audit.synth.records import SCHEMAS, ChunkArrays, chunk_tables, header_table
from iapt_audit.synth.scores import assessment_scores, session_scores
from iapt_audit.synth.submission_plan import month_number, plan_submissions
from iapt_audit.synth.timeline import schedule

CHUNK_REFERRALS = 100_000
DEFAULT_PERIOD = ("2024-04-01", "2025-03-31")
MIN_REFERRALS_PER_PROVIDER = 50
TRUTH_FILE, TRUTH_RECORDS_FILE = "truth.json", "truth_records.parquet"
EPOCH = np.datetime64("1970-01-01", "D")


def parse_period(period: tuple[str, str]) -> tuple[int, int]:
    """(start, end) ISO dates -> days since 1970-01-01; the end must follow the start."""
    try:
        start, end = (int((np.datetime64(d, "D") - EPOCH).astype(int)) for d in period)
    except ValueError:
        raise ValueError(f"period dates must be ISO YYYY-MM-DD, not {period!r}") from None
    if end <= start:
        raise ValueError(f"the period must end after it starts, not {period[0]}:{period[1]}")
    return start, end


def generate(out, providers: int = 12, referrals: int = 24000, seed: int = 1, fmt: str = "csv",
             plant: str = "auto", period: tuple[str, str] = DEFAULT_PERIOD,
             progress: Callable[[int, int], None] | None = None, layout: str = "snapshot",
             nhsd_names: bool = False, history_defects: bool = True) -> dict:
    """Write a synthetic extract to the folder ``out`` and return a summary (row counts per table).

    ``plant`` is "auto", "none" or a comma list of patterns (see ``gaming``); ``progress`` is
    called with (referrals done, referrals in all) after each chunk. ``layout`` is "snapshot"
    (every record once), "warehouse" or "submissions" (monthly submissions, ``layouts``), for
    every provider and month from the month of the earliest referral (``LEAD_DAYS`` before the
    period) to the period's last; ``history_defects`` plants the submission-history defects in
    the monthly layouts (``submission_plan``); ``nhsd_names`` writes NHS Digital's file and
    provider column names. The same arguments give the same bytes. Invalid arguments raise
    ValueError.
    """
    started = time.perf_counter()
    out = Path(out)
    check_layout(layout, fmt)
    if providers < 1:
        raise ValueError("there must be at least one provider")
    if referrals < MIN_REFERRALS_PER_PROVIDER * providers:
        raise ValueError(f"{referrals} referrals are too few for {providers} providers "
                         f"(at least {MIN_REFERRALS_PER_PROVIDER} each)")
    start_day, end_day = parse_period(period)
    plants = gaming.parse_plant(plant, providers)

    setup = np.random.default_rng([seed, 0])
    provs = draw_providers(setup, providers, referrals, plants)
    nhs_numbers = setup.permutation(ids.valid_test_nhs_numbers())
    touched_ids, touched_patterns = [], []
    contact_offset = activity_offset = 0
    monthly = None if layout == "snapshot" else plan_submissions(
        list(provs.codes), int(month_number(start_day - calibration.LEAD_DAYS)), int(month_number(end_day)),
        np.random.default_rng([seed, 2]), history_defects)
    provider_ends = np.cumsum(provs.referrals)
    with open_layout(out, layout, fmt, SCHEMAS, nhsd_names=nhsd_names, plan=monthly,
                     header=header_table(provs, start_day, end_day)) as sink:
        for chunk, first in enumerate(range(0, referrals, CHUNK_REFERRALS)):
            rng = np.random.default_rng([seed, 1, chunk])
            gidx = np.arange(first, min(first + CHUNK_REFERRALS, referrals))
            plan = draw_plan(rng, gidx, provs, start_day, end_day)
            touched = gaming.apply_plants(plan, rng, plants)
            sched = schedule(plan, rng, end_day)
            contacts = build_contacts(plan, sched, rng, provs.rates["dna"], end_day)
            arrays = ChunkArrays(plan, sched, contacts, session_scores(plan, sched, rng),
                                 assessment_scores(plan, sched, rng), patients(plan, rng, nhs_numbers),
                                 contact_offset, activity_offset)
            sink.write(chunk_tables(arrays, provs), np.random.default_rng([seed, 3, chunk]))
            sink.providers_done(int(np.searchsorted(provider_ends, gidx[-1] + 1, side="right")))
            contact_offset += len(contacts)
            activity_offset += int(contacts.has_activity.sum())
            for pattern, mask in touched.items():
                touched_ids.append(gidx[mask])
                touched_patterns.append(np.full(int(mask.sum()), pattern))
            if progress:
                progress(int(gidx[-1]) + 1, referrals)
    rows = sink.rows

    truth = _truth(seed, referrals, provs, period, touched_ids)
    summary = {"out": str(out), "format": fmt, "seed": seed, "referrals": referrals,
               "providers": list(provs.codes), "planted": {c: p for c, p in zip(provs.codes, plants) if p},
               "rows": rows}
    if monthly is not None:
        truth["layout"] = summary["layout"] = layout
        truth["submissions"] = summary["submissions"] = monthly.describe()
    (out / TRUTH_FILE).write_text(json.dumps(truth, indent=2) + "\n")
    _write_truth_records(out / TRUTH_RECORDS_FILE, provs, touched_ids, touched_patterns)
    return {**summary, "seconds": round(time.perf_counter() - started, 2)}


def _truth(seed, referrals, provs, period, touched_ids) -> dict:
    touched = np.concatenate(touched_ids) if touched_ids else np.array([], np.int64)
    touched_by_provider = np.bincount(provs.of_referrals(touched), minlength=len(provs.codes))
    return {
        "seed": seed,
        "referrals": referrals,
        "providers": {code: {"planted": pattern, "referrals": int(n), "touched": int(t)}
                      for code, pattern, n, t in zip(provs.codes, provs.plants, provs.referrals,
                                                     touched_by_provider)},
        "period": {"start": period[0], "end": period[1],
                   "referrals_from_days_before_start": calibration.LEAD_DAYS},
        "parameters": {
            "national": {name: value for name, (value, _spread, _source) in calibration.RATES.items()},
            "provider_rates": {code: {name: round(float(values[i]), 4) for name, values in provs.rates.items()}
                               for i, code in enumerate(provs.codes)},
            "plant_share": calibration.PLANT_SHARE,
            "chunk_referrals": CHUNK_REFERRALS,
        },
        "truth_records": TRUTH_RECORDS_FILE,
    }


def _write_truth_records(path, provs, touched_ids, touched_patterns) -> None:
    """The ServiceRequestIds each plant touched, for record-level recall of the rules."""
    index = np.concatenate(touched_ids) if touched_ids else np.array([], np.int64)
    patterns = np.concatenate(touched_patterns) if touched_patterns else np.array([], str)
    order = np.lexsort((index, patterns))
    table = pa.table({
        "OrgIDProv": pa.array(provs.codes, pa.string()).take(pa.array(provs.of_referrals(index[order]))),
        "pattern": pa.array(patterns[order], pa.string()),
        "ServiceRequestId": ids.service_request_ids(index[order] + 1),
    })
    pq.write_table(table, path)
