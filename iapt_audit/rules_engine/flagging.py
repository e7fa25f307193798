"""Which providers a rule flags, and which stated test fired — the same decision for every rule.

A provider is flagged when both hold:

1. **Absolute test** ("absolute"): its indicator is at or above the rule's ``min_percent`` and its
   denominator is at least ``min_denominator`` (fewer cases cannot support a finding).
2. **Peer test** ("funnel_high"), run only when at least ``MIN_PROVIDERS`` providers have cases:
   the provider is a high outlier on the 99.8 % funnel of ``iapt_audit.outliers.compare_providers``
   (FunnelPlotR's additive over-dispersion adjustment, provider-comparison.md §1). With fewer
   providers there are not enough peers to estimate the spread, the absolute test decides alone
   and the reason says so.

The funnel's target is the **median provider rate**, not the pooled rate. Gaming indicators live
in two regimes. Where a pattern is rare among honest providers (most near 0 %), the few gaming
providers pull the pooled rate up, every honest provider then sits far below it, the dispersion
ratio φ measures that gap rather than honest variation, and the widened funnel flags nobody.
Where a pattern is common everywhere (about 20 % of courses wait over 90 days for a second
treatment nationally), honest variation is genuinely over-dispersed and the adjustment must stay.
Centred on the median, φ measures the spread of the honest majority in both regimes;
``compare_providers`` additionally falls back to unadjusted limits when most providers are at
exactly zero and says so (its ``fallback``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.outliers import FLAG_LEVEL, compare_providers

MIN_PROVIDERS = 8


def decide(rates: pd.DataFrame, limits: dict[str, float], measure: str, indicator: str) -> tuple[pd.DataFrame, dict | None]:
    """Per provider (index of ``rates``, columns numerator and denominator): the decision.

    Returns the table with ``value`` (percent), ``absolute``, ``peer`` (True/False, or None when
    the peer test did not run), ``peer_upper`` (percent), ``flagged``, ``tests`` (list of the tests
    that fired) and ``reason``, and the funnel summary (None when the peer test did not run).
    """
    table = rates[["numerator", "denominator"]].astype("int64").copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["value"] = np.where(table["denominator"] > 0, 100.0 * table["numerator"] / table["denominator"], np.nan)
    enough = table["denominator"] >= limits["min_denominator"]
    table["absolute"] = enough & (table["value"] >= limits["min_percent"])

    compared = table[table["denominator"] > 0]
    funnel = None
    if len(compared) >= MIN_PROVIDERS:
        frame = pd.DataFrame({"provider": compared.index, "numerator": compared["numerator"].to_numpy(),
                              "denominator": compared["denominator"].to_numpy()})
        target = float(np.median(compared["numerator"] / compared["denominator"]))
        funnel = compare_providers(measure, frame, target=target, min_providers=MIN_PROVIDERS)
    if funnel is None:
        table["peer"] = None
        table["peer_upper"] = np.nan
    else:
        entries = funnel["providers"]
        table["peer"] = [entries[p]["flag"] == "high" if p in entries else False for p in table.index]
        table["peer_upper"] = [100.0 * entries[p]["upper"] if p in entries else np.nan for p in table.index]
    peer_ok = table["peer"].map(lambda fired: fired is None or bool(fired))
    table["flagged"] = table["absolute"] & peer_ok
    table["tests"] = [_tests(row) for row in table[["absolute", "peer", "flagged"]].itertuples()]
    table["reason"] = _reasons(table, limits, indicator, funnel, len(compared))
    return table, _summary(funnel)


def _tests(row) -> list[str]:
    if not row.flagged:
        return []
    return ["absolute"] + (["funnel_high"] if row.peer else [])


def _reasons(table: pd.DataFrame, limits: dict[str, float], indicator: str, funnel: dict | None,
             n_compared: int) -> list[str]:
    """One sentence per provider saying what was measured and which test passed or failed."""
    reasons = []
    for org, row in table.iterrows():  # one row per provider, not per record
        if row["denominator"] == 0:
            reasons.append(f"no {indicator}")
            continue
        share = f"{row['value']:.1f}% ({row['numerator']}/{row['denominator']}) of {indicator}"
        if row["denominator"] < limits["min_denominator"]:
            reasons.append(f"{share}: too few cases to judge (fewer than {limits['min_denominator']:g})")
            continue
        if not row["absolute"]:
            reasons.append(f"{share}, below the {limits['min_percent']:g}% threshold")
            continue
        above = f"{share}, at or above the {limits['min_percent']:g}% threshold"
        if funnel is None:
            reasons.append(f"{above}; peer test not run ({n_compared} providers with cases, "
                           f"needs {MIN_PROVIDERS})")
        elif row["peer"]:
            reasons.append(f"{above} and above its peers' {FLAG_LEVEL}% funnel limit of "
                           f"{row['peer_upper']:.1f}% ({_funnel_words(funnel)})")
        else:
            reasons.append(f"{above}, but within its peers' {FLAG_LEVEL}% funnel (upper limit "
                           f"{row['peer_upper']:.1f}%, {_funnel_words(funnel)}): not flagged")
    return reasons


def _funnel_words(funnel: dict) -> str:
    method = funnel["method"] + (" limits, over-dispersion adjusted" if funnel["adjusted"] else " limits")
    if funnel["fallback"]:
        method += f", {funnel['fallback']['test']} fallback to unadjusted"
    return f"{method}, target = peer median {100 * funnel['target']:.1f}%, {funnel['n_providers']} providers"


def _summary(funnel: dict | None) -> dict | None:
    if funnel is None:
        return None
    keep = ("method", "target", "phi", "tau2", "adjusted", "level", "n_providers", "fallback")
    return {"test": "funnel_high", "target_is": "median provider rate", **{k: funnel[k] for k in keep}}
