"""England's national reference: each published measure's provider counts for one year.

Why: a service audited alone has no peers to compare with, and a bare threshold misjudges it
(30 % of first-to-second waits over 90 days is reached by about 40 % of England's providers). NHS
Digital publishes every provider's counts, so a single service can be placed on England's
funnel: the funnel (FunnelPlotR's additive over-dispersion method, provider-comparison.md §1)
fitted to every English provider of the year, against which the service's own rate is judged at
its own denominator.

The package ships ``national.csv`` (one row per measure × provider plus England's totals,
built by ``python -m iapt_audit.reference.build`` from NHS Digital's monthly files of the latest
complete financial year; ``national.json`` records the year, the files and how it was built).
``audit --benchmark FILE...`` builds the same from published annual or monthly files given by
the user (``NationalReference.from_files``).

Published counterparts of the audit's own measures: every KPI whose NHS Digital name a
published measure carries (``io.published.MEASURES[..].official``), and two gaming indicators:
GM03 (first-to-second treatment over 90 days: M047 over M184) and GM07 (ended after one
treatment: M075 over M056 − M153, published as M288). The counterparts are close, not identical:
GM03 also counts referrals still waiting for a second treatment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from iapt_audit.io.published import ENGLAND, MEASURES, read_published

HERE = Path(__file__).resolve().parent
SHIPPED = HERE / "national.csv"
COLUMNS = ["measure", "org_code", "org_name", "numerator", "denominator", "months"]
#: gaming rule -> the published measure that counts the same pattern
RULE_COUNTERPARTS = {"GM03": "first_to_second_over_90_days", "GM07": "ended_treated_once"}
OFFICIAL = {m.official: m.name for m in MEASURES.values()}


@dataclass
class NationalReference:
    """Provider counts per published measure for one year (``table``: ``COLUMNS``, England's
    row under org_code "England") and where they came from (``year``, ``source``)."""

    table: pd.DataFrame
    year: str
    source: str

    @classmethod
    def shipped(cls) -> "NationalReference":
        """The reference that ships with the package (the default of ``audit``)."""
        about = json.loads(SHIPPED.with_suffix(".json").read_text(encoding="utf-8"))
        table = pd.read_csv(SHIPPED, dtype={"org_code": "string", "org_name": "string", "measure": "string"})
        return cls(table, about["year"], about["source"])

    @classmethod
    def from_files(cls, paths) -> "NationalReference":
        """A reference from NHS Digital's published annual or monthly files (``--benchmark``):
        each provider's counts summed over every period given. InputError for unreadable files."""
        data = read_published(paths)
        periods = sorted(data["period"].unique())
        table = summed(data)
        year = periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
        return cls(table, year, "files given with --benchmark: " + ", ".join(Path(str(p)).name for p in paths))

    def measure_for(self, name: str) -> str | None:
        """The published measure behind an audit measure (NHS Digital name) or a rule code."""
        published = RULE_COUNTERPARTS.get(name) or OFFICIAL.get(name) or (name if name in MEASURES else None)
        if published is None or not (self.table["measure"] == published).any():
            return None
        return published

    def providers(self, measure: str) -> pd.DataFrame:
        rows = self.table[(self.table["measure"] == measure) & (self.table["org_code"] != ENGLAND)]
        return rows[(rows["denominator"] > 0) & (rows["numerator"] <= rows["denominator"])]

    def england(self, measure: str) -> dict | None:
        row = self.table[(self.table["measure"] == measure) & (self.table["org_code"] == ENGLAND)]
        if row.empty or not row["denominator"].iloc[0] > 0:
            return None
        num, den = float(row["numerator"].iloc[0]), float(row["denominator"].iloc[0])
        return {"value": num / den, "numerator": num, "denominator": den}

    def judge(self, name: str, frame: pd.DataFrame, *, flag_low: bool = True, direction: str | None = None,
              label: str | None = None) -> dict | None:
        """``frame``'s providers (provider, numerator, denominator) on England's funnel for the
        counterpart of ``name`` (audit measure name or rule code); None when there is none.

        The entry is ``outliers.compare_providers``'s, its ``providers`` only the audited ones;
        England's providers are in ``national_points`` (for the chart) and the distribution of
        their rates in ``national``."""
        from iapt_audit.outliers import compare_providers

        measure = self.measure_for(name)
        if measure is None:
            return None
        national = self.providers(measure)
        codes = "England:" + national["org_code"].astype(str)
        both = pd.concat([pd.DataFrame({"provider": codes, "numerator": national["numerator"],
                                        "denominator": national["denominator"]}),
                          frame[["provider", "numerator", "denominator"]].astype({"provider": str})],
                         ignore_index=True)
        entry = compare_providers(label or name, both, min_providers=2, flag_low=flag_low, fit_on=codes,
                                  direction=direction)
        if entry is None:
            return None
        mine = {code: p for code, p in entry["providers"].items() if not code.startswith("England:")}
        rates = national["numerator"] / national["denominator"]
        entry.update({
            "providers": mine, "n_providers": len(mine), "national": True,
            "national_points": [{"code": c.split(":", 1)[1], "name": n, "value": v, "denominator": d}
                                for c, n, v, d in zip(codes, national["org_name"], rates, national["denominator"])],
            "national_distribution": {"measure": measure, "year": self.year, "providers": int(len(national)),
                                      **{f"p{q}": float(rates.quantile(q / 100)) for q in (10, 25, 50, 75, 90)}},
            "england": self.england(measure), "reference_year": self.year, "reference_source": self.source,
            "construction": f"England's funnel {self.year}: {entry['construction']} (NHS Digital published "
                            f"counts, {len(national)} providers)",
            "test": "funnel_high", "reference": f"England's providers {self.year}",
            "n_reference": int(len(national)), "target_is": "England's pooled rate"})
        entry["flag_counts"]["high"] = sum(p["flag"] == "high" for p in mine.values())
        entry["flag_counts"]["low"] = sum(p["flag"] == "low" for p in mine.values())
        return entry


def summed(data: pd.DataFrame) -> pd.DataFrame:
    """``read_published`` rows -> each organisation's counts summed over its periods (a month
    with either count suppressed is left out of both), England and providers only."""
    rows = data[data["org_type"].isin([ENGLAND, "Provider"])].dropna(subset=["numerator", "denominator"])
    grouped = rows.groupby(["measure", "org_code"], sort=True)
    table = grouped.agg(org_name=("org_name", "last"), numerator=("numerator", "sum"),
                        denominator=("denominator", "sum"), months=("period", "nunique")).reset_index()
    return table[COLUMNS]
