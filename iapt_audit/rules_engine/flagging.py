"""Which providers a rule flags, and which stated test fired — the same decision for every rule.

A provider is flagged when both hold:

1. **Absolute test** ("absolute"): its indicator is at or above the rule's ``min_percent`` and its
   denominator is at least ``min_denominator`` (fewer cases cannot support a finding).
2. **Peer test** ("funnel_high"), run only when at least ``MIN_PROVIDERS`` providers have cases:
   the provider lies above the 99.8 % upper limit, at its own denominator, of a funnel fitted to
   its peers with ``iapt_audit.stats.funnel.Funnel`` (FunnelPlotR's additive over-dispersion
   adjustment, provider-comparison.md §1). With fewer providers there are not enough peers to
   estimate the spread, the absolute test decides alone and the reason says so.

Who the peers are. Gaming indicators live in two regimes, and a funnel fitted to *all*
providers fails in the first. Where a pattern is rare among honest providers (most near 0 %),
two or three gaming providers out of twelve are more than the 10 % winsorising trims: their
z-scores inflate the dispersion ratio φ, τ² widens the funnel until it flags nobody (the
``test_flagging`` cases show the all-provider funnel missing them). Where a pattern is common
everywhere (about 20 % of courses wait over 90 days for a second treatment nationally), honest
variation is genuinely over-dispersed and the adjustment must stay. So the funnel is fitted to
the **reference providers** — those with cases that do *not* pass the absolute test — centred on
their median rate, and each provider is judged against the limits at its denominator: in the
rare regime the reference is the honest near-zero majority and φ stays small; in the common
regime the reference keeps the honest spread below the threshold and τ² allows for it. When
fewer than ``MIN_REFERENCE`` providers stay below the threshold (the pattern is over the
threshold almost everywhere), the funnel is fitted to all providers with cases instead, and the
summary says which reference was used.

The price: the reference is cut off at the threshold, so its spread is somewhat understated when
the threshold sits inside the honest distribution. On NHS Digital's 2024-25 provider data for
first-to-second treatment over 90 days (145 providers, median 23 %), a 30 % threshold flags 27
providers this way against 2 for an all-provider funnel; at 50 %, 7. Set ``min_percent`` above
where honest providers sit, as the rules' defaults do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.stats.funnel import Funnel

MIN_PROVIDERS = 8
MIN_REFERENCE = 5
LEVEL = 99.8


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
    funnel = _peer_funnel(compared) if len(compared) >= MIN_PROVIDERS else None
    if funnel is None:
        table["peer"] = None
        table["peer_upper"] = np.nan
    else:
        fitted, _ = funnel
        _, upper = fitted.limits(table["denominator"].clip(lower=1).to_numpy(), LEVEL)
        table["peer_upper"] = np.where(table["denominator"] > 0, 100.0 * upper, np.nan)
        table["peer"] = (table["value"] > table["peer_upper"]).astype(object)
    peer_ok = table["peer"].map(lambda fired: fired is None or bool(fired))
    table["flagged"] = table["absolute"] & peer_ok
    table["tests"] = [_tests(row) for row in table[["absolute", "peer", "flagged"]].itertuples()]
    summary = _summary(*funnel, measure) if funnel else None
    table["reason"] = _reasons(table, limits, indicator, summary, len(compared))
    return table, summary


def _peer_funnel(compared: pd.DataFrame) -> tuple[Funnel, str]:
    """The funnel of the reference providers (below the absolute threshold), else of all."""
    reference, which = compared[~compared["absolute"]], "providers below the absolute threshold"
    if len(reference) < MIN_REFERENCE:
        reference, which = compared, "all providers (too few below the absolute threshold)"
    target = float(np.median(reference["numerator"] / reference["denominator"]))
    fitted = Funnel(reference["numerator"], reference["denominator"], reference.index, method="additive",
                    target=target)
    return fitted, which


def _tests(row) -> list[str]:
    if not row.flagged:
        return []
    return ["absolute"] + (["funnel_high"] if row.peer else [])


def _reasons(table: pd.DataFrame, limits: dict[str, float], indicator: str, summary: dict | None,
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
        if summary is None:
            reasons.append(f"{above}; peer test not run ({n_compared} providers with cases, "
                           f"needs {MIN_PROVIDERS})")
        elif row["peer"]:
            reasons.append(f"{above} and above its peers' {LEVEL}% funnel limit of "
                           f"{row['peer_upper']:.1f}% ({_funnel_words(summary)})")
        else:
            reasons.append(f"{above}, but within its peers' {LEVEL}% funnel (upper limit "
                           f"{row['peer_upper']:.1f}%, {_funnel_words(summary)}): not flagged")
    return reasons


def _funnel_words(summary: dict) -> str:
    adjusted = ", over-dispersion adjusted" if summary["adjusted"] else ""
    return (f"additive limits{adjusted}, fitted to {summary['n_reference']} {summary['reference']}, "
            f"target = their median {100 * summary['target']:.1f}%")


def _summary(fitted: Funnel, reference: str, measure: str) -> dict:
    return {"test": "funnel_high", "measure": measure, "method": fitted.method, "level": LEVEL,
            "reference": reference, "n_reference": int(len(fitted.numerator)),
            "reference_providers": [str(p) for p in fitted.numerator.index],
            "target": fitted.target, "target_is": "median rate of the reference providers",
            "phi": fitted.phi, "tau2": fitted.tau2, "adjusted": fitted.adjusted}
