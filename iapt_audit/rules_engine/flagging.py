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

One funnel per indicator: the funnel that decides (``compare_providers`` fitted to the reference
providers, every provider judged against it) is returned whole and is the one the reports draw,
so a chart can never show a flagged provider inside its limits.

A service audited alone (fewer than ``MIN_PROVIDERS`` providers) has no peers; where the rule
has a published counterpart (GM03: M047 over 90 days; GM07: M075/M288 ended after one treatment)
it is judged on England's funnel from the national reference (``iapt_audit.reference``) instead
of the bare threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


MIN_PROVIDERS = 8
MIN_REFERENCE = 5
LEVEL = 99.8


def decide(rates: pd.DataFrame, limits: dict[str, float], measure: str, indicator: str, *,
           code: str | None = None, benchmark=None) -> tuple[pd.DataFrame, dict | None]:
    """Per provider (index of ``rates``, columns numerator and denominator): the decision.

    Returns the table with ``value`` (percent), ``absolute``, ``peer`` (True/False, or None when
    the peer test did not run), ``peer_upper`` (percent), ``flagged``, ``tests`` (list of the tests
    that fired) and ``reason``, and the funnel that decided (a ``compare_providers`` entry with the
    peer-test fields; None when the peer test did not run). With fewer than ``MIN_PROVIDERS``
    providers, a rule ``code`` with a published counterpart is judged on England's funnel from
    ``benchmark`` (``iapt_audit.reference.NationalReference``) instead.
    """
    table = rates[["numerator", "denominator"]].astype("int64").copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["value"] = np.where(table["denominator"] > 0, 100.0 * table["numerator"] / table["denominator"], np.nan)
    enough = table["denominator"] >= limits["min_denominator"]
    table["absolute"] = enough & (table["value"] >= limits["min_percent"])

    compared = table[table["denominator"] > 0]
    if len(compared) >= MIN_PROVIDERS:
        entry = _peer_entry(compared, measure)
    elif benchmark is not None and code is not None and len(compared):
        entry = benchmark.judge(code, _frame(compared), flag_low=False, label=measure)
    else:
        entry = None
    if entry is None:
        table["peer"] = None
        table["peer_upper"] = np.nan
    else:
        judged = entry["providers"]
        upper = pd.Series({org: p["upper"] for org, p in judged.items()}, dtype="float64")
        table["peer_upper"] = 100.0 * upper.reindex(table.index.astype(str)).to_numpy()
        table["peer"] = (table["value"] > table["peer_upper"]).where(table["denominator"] > 0, False).astype(object)
    peer_ok = table["peer"].map(lambda fired: fired is None or bool(fired))
    table["flagged"] = table["absolute"] & peer_ok
    table["tests"] = [_tests(row) for row in table[["absolute", "peer", "flagged"]].itertuples()]
    table["reason"] = _reasons(table, limits, indicator, entry, len(compared))
    return table, entry


def _frame(compared: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"provider": compared.index.astype(str), "numerator": compared["numerator"].to_numpy(),
                         "denominator": compared["denominator"].to_numpy()})


def _peer_entry(compared: pd.DataFrame, measure: str) -> dict:
    """The funnel of the reference providers (below the absolute threshold), else of all, with
    every provider judged against it: the funnel that decides and the one the reports draw."""
    from iapt_audit.outliers import compare_providers

    reference, which = compared[~compared["absolute"]], "providers below the absolute threshold"
    if len(reference) < MIN_REFERENCE:
        reference, which = compared, "all providers (too few below the absolute threshold)"
    entry = compare_providers(measure, _frame(compared), target="median", min_providers=2, rare_zero_share=None,
                              flag_low=False, fit_on=reference.index.astype(str),
                              construction=f"99.8% additive limits fitted to {len(reference)} {which}, "
                                           "target = their median rate")
    entry.update({"test": "funnel_high", "reference": which, "n_reference": int(len(reference)),
                  "reference_providers": [str(p) for p in reference.index],
                  "target_is": "median rate of the reference providers"})
    return entry


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
            reasons.append(f"{above} and above {_whose(summary)} {LEVEL}% funnel limit of "
                           f"{row['peer_upper']:.1f}% ({_funnel_words(summary)})")
        else:
            reasons.append(f"{above}, but within {_whose(summary)} {LEVEL}% funnel (upper limit "
                           f"{row['peer_upper']:.1f}%, {_funnel_words(summary)}): not flagged")
    return reasons


def _whose(summary: dict) -> str:
    return "England's" if summary.get("national") else "its peers'"


def _funnel_words(summary: dict) -> str:
    return summary["construction"]
