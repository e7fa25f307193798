"""Run the selected rules over the pathways and package each one's result for the reports.

``run_rules`` is the one entry point (the audit's "rules" stage calls it). Every provider of the
extract gets an entry in every rule, with its numerator, denominator, value, decision and the
record-level evidence — the referrals that counted, with the facts that made them count —
capped in ``findings.json`` (``records_total`` says how many there were) and complete in
``RuleResult.evidence`` for the Excel worklists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.model.thresholds import scales_with_overrides
from iapt_audit.rules_engine.base import Measurement, Rule
from iapt_audit.rules_engine.catalogue import select_rules
from iapt_audit.rules_engine.flagging import decide
from iapt_audit.rules_engine.settings import limits_for, rule_sections

RECORDS_CAP = 100
KEY = ["OrgIDProv", "ServiceRequestId"]


@dataclass
class RuleResult:
    """One rule's outcome: the per-provider decision table and the full record-level evidence."""

    rule: type[Rule]
    status: str
    limits: dict[str, float]
    providers: pd.DataFrame       # index OrgIDProv: numerator, denominator, value, flagged, tests, reason, ...
    evidence: pd.DataFrame        # OrgIDProv, ServiceRequestId + the facts, counted referrals only
    peer_test: dict | None        # funnel summary, None when too few providers
    detail: pd.DataFrame | None   # the rule's own per-provider statistics

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def flagged(self) -> list[str]:
        return sorted(self.providers.index[self.providers["flagged"]])

    def as_json(self, records_cap: int = RECORDS_CAP) -> dict:
        """The findings.json ``rules`` entry.

        Evidence and detail rows are converted once for all providers and then handed out by
        provider: per-provider pandas calls cost seconds with 120 providers and 8 rules."""
        rule = self.rule
        totals = self.evidence["OrgIDProv"].value_counts()
        listed = self.evidence.groupby("OrgIDProv", sort=False).head(records_cap)
        records: dict = {}
        for org, record in zip(listed["OrgIDProv"], _records(listed.drop(columns="OrgIDProv"))):
            records.setdefault(org, []).append(record)
        details: dict = {}
        if self.detail is not None:
            for org, row_detail in zip(self.detail.index, self.detail.to_dict("records")):  # keeps each column's type
                details.setdefault(org, {k: _plain(v) for k, v in row_detail.items()})
        providers = {}
        for org, row in self.providers.iterrows():  # one per provider
            entry = {
                "flagged": bool(row["flagged"]), "reason": row["reason"], "tests": list(row["tests"]),
                "numerator": int(row["numerator"]), "denominator": int(row["denominator"]),
                "value": _plain(row["value"]), "peer_outlier": _plain(row["peer"]),
                "peer_upper_limit": _plain(row["peer_upper"]),
                "records": records.get(org, []), "records_total": int(totals.get(org, 0)),
            }
            if org in details:
                entry["detail"] = details[org]
            providers[str(org)] = entry
        return {
            "code": rule.code, "name": rule.name, "title": rule.title, "severity": rule.severity,
            "status": self.status, "unit": "percent", "indicator": rule.indicator,
            "thresholds": {name: {"value": value, "unit": rule.thresholds[name].unit}
                           for name, value in self.limits.items()},
            "peer_test": self.peer_test, "providers": providers,
        }


def run_rules(pathways, period, *, config: dict | None = None, select=None, ignore=None,
              benchmark=None) -> list[RuleResult]:
    """Run every selected rule (default: all stable ones) for ``period``.

    ``config`` is ``iapt_audit.config.load_config()``'s dict: thresholds under ``[rules.<CODE>]``,
    questionnaire cut-offs under ``[thresholds.<TOOL>]``, and ``[audit] select/ignore``, which
    explicit ``select``/``ignore`` arguments replace.
    """
    config = config or {}
    audit = config.get("audit", {})
    select = select if select else audit.get("select")
    ignore = ignore if ignore else audit.get("ignore")
    sections = rule_sections(config)
    scales = scales_with_overrides(config.get("thresholds"))
    providers = pd.Index(sorted(pathways.referrals["OrgIDProv"].dropna().unique()), name="OrgIDProv")
    results = []
    for entry in select_rules(select, ignore):
        rule = entry.rule()
        limits = limits_for(entry.rule, sections.get(entry.code))
        measurement = rule.measure(pathways, period, limits, scales)
        results.append(_result(rule, entry.status, limits, measurement, providers, benchmark))
    return results


def _result(rule: Rule, status: str, limits: dict[str, float], measurement: Measurement,
            providers: pd.Index, benchmark=None) -> RuleResult:
    rule_class = type(rule)
    cases = measurement.cases
    grouped = cases.groupby("OrgIDProv", observed=True)["counted"]
    rates = pd.DataFrame({"numerator": grouped.sum(), "denominator": grouped.size()})
    rates = rates.reindex(providers.union(rates.index), fill_value=0)
    rates.index.name = "OrgIDProv"
    table, funnel = decide(rates, limits, f"{rule_class.code} {rule_class.name}", rule_class.indicator,
                           code=rule_class.code, benchmark=benchmark)
    table = rule.decide(table, measurement, limits)
    evidence = cases.loc[cases["counted"].to_numpy()].drop(columns="counted").reset_index(drop=True)
    return RuleResult(rule=rule_class, status=status, limits=limits, providers=table, evidence=evidence,
                      peer_test=funnel, detail=measurement.providers)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Evidence rows as JSON-ready dicts: dates as ISO days, missing as None."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return [{k: _plain(v) for k, v in row.items()} for row in out.to_dict("records")]


def _plain(value):
    """A JSON-ready scalar: NaN/NA/NaT/inf -> None (JSON has no such numbers), numpy scalars -> Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
