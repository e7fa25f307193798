"""GM06: discharge at the very contact where scores first dip below caseness, and heaping there."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from iapt_audit.pathway import date_ranks, run_starts
from iapt_audit.rules_engine.base import Measurement, Rule, Threshold
from iapt_audit.rules_engine.facts import cases, finished, last_seen, remembered

HEAP_MEASURES = ("PHQ9", "ADSM")
PHQ_SEEN, PHQ_ABOVE, ADSM_SEEN, ADSM_ABOVE = 1, 2, 4, 8   # bit flags of one (referral, date)


class DischargeAtRecoveryThreshold(Rule):
    """Courses ended at the first contact below caseness, and final scores heaped just under the cut-off.

    What it checks:
    (a) Record level: among recovered finished courses, the share discharged at the first contact
    where every outcome score (PHQ-9 and the referral's ADSM) fell below caseness, with no
    further contact. (b) Provider level: whether final scores heap one point below the caseness
    cut-off (last PHQ-9 = 9, last GAD-7 = 7, or the ADSM's equivalent) compared with the
    neighbouring values.

    Why it matters:
    Recovery (M191/M192) needs the last scores below caseness. Ending treatment the moment a
    patient first scores under the line, or nudging a final score from 10 to 9, turns a course
    into a "recovery" that a second measurement would often not confirm. Honest discharge
    decisions follow the clinical picture and do not stop precisely one point under the line,
    so a heap at the cut-off minus one is the signature.

    How it is measured:
    (a) Denominator: finished courses ended in the period with Recovery_Flag. Numerator: those
    whose first contact date with both PHQ-9 and ADSM recorded and below caseness is also the
    date of their last attended contact. Evidence: that date, first and last PHQ-9 and ADSM
    scores, the ADSM used, treatment contacts, discharge date.
    (b) Among finished courses ended in the period at caseness, count the last scores at the
    heap value h (cut-off − 1 on the "≥ cut-off" scales) and at h − 1 and h + 1, separately for
    PHQ-9 and for the ADSM (pooled over ADSM tools). Test: one-sided exact binomial test of the
    count at h out of the three, against 1/3 — the share h would have if the distribution were
    locally linear (count at h equal to the mean of its neighbours). The reason states k, n,
    the ratio of the count at h to its neighbours' mean, and the p-value.

    Thresholds:
    min_percent: 60 percent of recovered finished courses for (a) (absolute test);
    min_denominator: 20 recovered finished courses before (a) judges a provider;
    heap_p_value: 0.001 p-value, family-wise over the two heaping tests (each is run at
    heap_p_value / 2, Bonferroni);
    heap_min_ratio: 1.5 ratio of the count at h to the mean of its neighbours (effect size, so a
    very large provider is not flagged for a trivial bend in its distribution);
    heap_min_cases: 30 count of last scores in the three-point window before (b) is tested.
    A provider is flagged when (a) passes its absolute test (and, with at least 8 providers, the
    peers' 99.8 % funnel), or when (b) fires.

    Known false positives:
    (a) Services with short, protocol-driven courses that review and end at a planned session
    which happens to be the first below caseness; (b) scales where the distribution is strongly
    concave around the cut-off (the linear null is then anti-conservative), and small providers
    near heap_min_cases.

    References:
    iapt-dataset.md §2.1 (PHQ-9 caseness ≥ 10, GAD-7 ≥ 8; ADSM cut-offs) [G21 §7.4, IAPT Data
    Handbook]; §2.2 ADSM selection [G21 §7.7]; §3 Recovery M191/M192 [G21 §6.3, MM20].
    """

    code = "GM06"
    name = "outcomes.discharge_at_recovery_threshold"
    title = "Discharged at the recovery threshold"
    severity = "critical"
    indicator = "recovered finished courses"
    needs = ("Recovery_Flag", "Caseness_Flag", "PHQ9_LastScore", "ADSM", "ADSM_LastScore", "CompletedTreatment_Flag")
    thresholds = {
        "min_percent": Threshold(60, "percent", "share of recoveries ended at the first contact below caseness"),
        "min_denominator": Threshold(20, "count", "recovered finished courses needed to judge (a)"),
        "heap_p_value": Threshold(0.001, "p-value", "family-wise significance of the heaping tests"),
        "heap_min_ratio": Threshold(1.5, "ratio", "count at the heap value over its neighbours' mean"),
        "heap_min_cases": Threshold(30, "count", "last scores in the three-point window needed for (b)"),
    }

    def measure(self, pathways, period, limits, scales) -> Measurement:
        r = pathways.referrals
        done = finished(r, period)
        cutoffs = sorted((name, s.caseness, s.caseness_op) for name, s in scales.items())
        first_below = remembered(pathways, f"first date all below {cutoffs}",
                                 lambda: _first_date_all_below(pathways, scales))
        last_contact = last_seen(pathways)
        counted = (first_below == last_contact).fillna(False)
        found = cases(r, done & r["Recovery_Flag"], counted, FirstBelowCasenessDate=first_below,
                      LastContactDate=last_contact, PHQ9_FirstScore=r["PHQ9_FirstScore"],
                      PHQ9_LastScore=r["PHQ9_LastScore"], ADSM=r["ADSM"], ADSM_FirstScore=r["ADSM_FirstScore"],
                      ADSM_LastScore=r["ADSM_LastScore"], TreatmentCareContact_Count=r["TreatmentCareContact_Count"],
                      ServDischDate=r["ServDischDate"])
        return Measurement(found, _heaping(r, done & r["Caseness_Flag"], scales))

    def decide(self, table, measurement, limits):
        heap = measurement.providers.reindex(table.index)
        alpha = limits["heap_p_value"] / len(HEAP_MEASURES)
        table = table.copy()
        for org in table.index:  # one row per provider
            notes, fired = [], []
            for measure in HEAP_MEASURES:
                n, k = heap.at[org, f"{measure}_window"], heap.at[org, f"{measure}_at_heap"]
                if not n >= limits["heap_min_cases"]:
                    continue
                p, ratio = heap.at[org, f"{measure}_p_value"], heap.at[org, f"{measure}_ratio"]
                hit = p < alpha and ratio >= limits["heap_min_ratio"]
                notes.append(f"last {measure} at the cut-off minus one in {k:g} of {n:g} scores in the "
                             f"three-point window (ratio to neighbours' mean {ratio:.2f}; one-sided binomial "
                             f"test against 1/3, p = {p:.2g}{', below ' + format(alpha, 'g') if hit else ''})")
                if hit:
                    fired.append(f"heaping_binomial_{measure}")
            if notes:
                table.at[org, "reason"] = table.at[org, "reason"] + "; heaping: " + "; ".join(notes)
            if fired:
                table.at[org, "flagged"] = True
                table.at[org, "tests"] = [*table.at[org, "tests"], *fired]
        return table


def _above_caseness(tool: np.ndarray, score: np.ndarray, names: list[str], scales) -> np.ndarray:
    """Is each score at caseness on its questionnaire (``tool`` codes index ``names``)? False for
    scales without a caseness cut-off."""
    above = np.zeros(len(score), bool)
    for code, name in enumerate(names):  # one pass per questionnaire, not per record
        scale = scales.get(name)
        if scale is None or scale.caseness is None:
            continue
        rows = tool == code
        above[rows] = scale.at_caseness(score[rows])
    return above


def _first_date_all_below(pathways, scales) -> pd.Series:
    """Per referral: the first date on which PHQ-9 and the ADSM were both recorded and all below caseness.

    Why integer keys and bit flags: at national scale (25 million scores) grouping by (referral,
    date) in pandas took seconds; one sort of a single int64 key and a bitwise OR over each run
    of equal keys says the same thing (some PHQ-9, no PHQ-9 at caseness, some ADSM, no ADSM at
    caseness).
    """
    r = pathways.referrals
    scores = pathways.scores
    out = pd.Series(np.full(len(r), np.datetime64("NaT"), dtype="datetime64[ns]"), index=r.index)
    names = list(scores["tool"].cat.categories)
    tool = scores["tool"].cat.codes.to_numpy()
    ref = scores["ref"].to_numpy()
    adsm = pd.Categorical(r["ADSM"].astype(object), categories=names).codes[ref]
    is_phq = tool == (names.index("PHQ9") if "PHQ9" in names else -2)
    relevant = is_phq | ((tool == adsm) & (adsm >= 0))
    if not relevant.any():
        return out
    ref, tool, is_phq = ref[relevant], tool[relevant], is_phq[relevant]
    dates = scores["date"].to_numpy()[relevant]
    above = _above_caseness(tool, scores["PersScore"].to_numpy()[relevant], names, scales)
    flags = np.where(is_phq, PHQ_SEEN | (above * PHQ_ABOVE), ADSM_SEEN | (above * ADSM_ABOVE)).astype(np.int8)
    rank, distinct = date_ranks(dates)
    key = ref.astype(np.int64) * (len(distinct) + 1) + rank
    order = np.argsort(key, kind="stable")
    key, flags = key[order], flags[order]
    starts = np.flatnonzero(run_starts(key))
    chosen = key[starts][np.bitwise_or.reduceat(flags, starts) == PHQ_SEEN | ADSM_SEEN]
    chosen_ref = chosen // (len(distinct) + 1)
    first = run_starts(chosen_ref)  # keys are sorted: each referral's earliest date first
    out.iloc[chosen_ref[first]] = distinct[chosen[first] % (len(distinct) + 1)]
    return out


def heap_value(scale) -> float | None:
    """The highest score not at caseness on an integer scale (PHQ-9: 9, GAD-7: 7); None otherwise."""
    if scale is None or scale.caseness is None or float(scale.caseness) != int(scale.caseness):
        return None
    return scale.caseness - 1 if scale.caseness_op == ">=" else scale.caseness


def _heaping(r: pd.DataFrame, population: pd.Series, scales) -> pd.DataFrame:
    """Per provider and measure: last scores at h − 1, h, h + 1, the binomial p-value and the ratio."""
    rows = r.loc[population.to_numpy()]
    offsets = {"PHQ9": rows["PHQ9_LastScore"] - heap_value(scales["PHQ9"])}
    heaps = {tool: heap_value(scales.get(tool)) for tool in rows["ADSM"].dropna().unique()}
    offsets["ADSM"] = rows["ADSM_LastScore"] - pd.to_numeric(rows["ADSM"].map(heaps), errors="coerce")
    columns = {}
    for measure, offset in offsets.items():
        counts = {o: (offset == o).groupby(rows["OrgIDProv"], observed=True).sum() for o in (-1, 0, 1)}
        frame = pd.DataFrame(counts).astype("int64")
        window = frame.sum(axis=1)
        neighbours = (frame[-1] + frame[1]) / 2
        columns[f"{measure}_below_heap"] = frame[-1]
        columns[f"{measure}_at_heap"] = frame[0]
        columns[f"{measure}_above_heap"] = frame[1]
        columns[f"{measure}_window"] = window
        columns[f"{measure}_ratio"] = frame[0] / neighbours  # inf when only h itself occurs
        columns[f"{measure}_p_value"] = pd.Series(
            [binomtest(int(k), int(n), 1 / 3, alternative="greater").pvalue if n > 0 else np.nan
             for k, n in zip(frame[0], window)], index=frame.index)  # one test per provider
    detail = pd.DataFrame(columns)
    detail.index.name = "OrgIDProv"
    return detail
