"""The audit pipeline: read -> data quality -> pathways -> KPIs -> rules -> outliers.

Each stage takes the previous stage's object and returns a new one; only ``io`` reads input and
only ``report`` writes output. ``run_audit`` is the Python API behind ``iapt-audit audit``.
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass, field

import pandas as pd

from iapt_audit import __version__
from iapt_audit.dq import DataQualityResult, DQSettings, run_data_quality
from iapt_audit.io.extract import read_extract
from iapt_audit.kpis import ALL_PROVIDERS, MEASURES, compute_kpis, kpis_as_json
from iapt_audit.model.thresholds import scales_with_overrides
from iapt_audit.pathway import Pathways, derive_pathways
from iapt_audit.period import Period, resolve_period
from iapt_audit.progress import StageTimer
from iapt_audit.rules_engine import run_rules

SCHEMA_VERSION = 1


@dataclass
class AuditResult:
    """Everything one audit found, for the reports to present."""

    source: str
    period: Period
    providers: list[str]
    kpis: pd.DataFrame
    pathways: Pathways
    data_quality: DataQualityResult | None = None
    rules: list = field(default_factory=list)
    outliers: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    def findings(self) -> dict:
        """The findings.json document (schema_version 1: extend it, never rename)."""
        providers = {}
        for org in self.providers:
            values, basis = kpis_as_json(self.kpis, org)
            providers[org] = {"kpis": values, "kpi_basis": basis}
        values, basis = kpis_as_json(self.kpis, ALL_PROVIDERS)
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "iapt-audit", "version": __version__},
            "period": self.period.as_json(),
            "providers": providers,
            "total": {"kpis": values, "kpi_basis": basis},
            "data_quality": [f.as_json() for f in self.data_quality.checks] if self.data_quality else [],
            "rules": [r.as_json() if hasattr(r, "as_json") else r for r in self.rules],
            "outliers": self.outliers,
        }


def run_audit(path, *, period: str | None = None, timer: StageTimer | None = None,
              dq_settings: DQSettings | None = None, config: dict | None = None, select=None,
              ignore=None) -> AuditResult:
    """Audit the extract at ``path`` for ``period`` ("START:END"; default the header's)."""
    timer = timer or StageTimer(show=False)
    with timer.stage("read") as stage:
        extract = read_extract(path, identifiers=True)
        stage["rows"] = sum(extract.rows_read.values())
    chosen = resolve_period(period, extract)
    config = config or {}
    select, ignore = _selectors(select, config, "select"), _selectors(ignore, config, "ignore")
    scales = scales_with_overrides(config.get("thresholds"))

    @functools.cache
    def derived_pathways() -> Pathways:
        """Derived once, between the data-quality stage's GX suites and its cross-table checks
        (which read them): after the suites' copies are freed, so the two peaks do not add up."""
        with timer.stage("pathways", rows=len(extract["IDS201CareContact"])):
            return derive_pathways(extract, scales)

    # data quality needs the NHS number (check digit), so it runs before identifiers are dropped
    settings = dq_settings or DQSettings.from_config(config, select=_codes_for("DQ", select),
                                                     ignore=_codes_for("DQ", ignore))
    data_quality = run_data_quality(extract, chosen, progress=timer, pathways=derived_pathways,
                                    settings=settings)
    submitted = extract.providers
    pathways = derived_pathways()
    # later stages read only the pathways: release the raw tables (identifiers with them)
    del extract
    gc.collect()
    with timer.stage("kpis", rows=len(pathways.referrals)):
        kpis = compute_kpis(pathways.referrals, pathways.contacts, chosen)
    with timer.stage("rules", rows=len(pathways.referrals)):
        rules = run_rules(pathways, chosen, config={k: v for k, v in config.items() if k != "audit"},
                          select=_codes_for("GM", select), ignore=_codes_for("GM", ignore))
    providers = sorted(set(submitted) | (set(kpis.index) - {ALL_PROVIDERS}))
    result = AuditResult(source=str(path), period=chosen, providers=providers, kpis=kpis,
                         pathways=pathways, data_quality=data_quality, rules=rules, timings=timer.stages)
    with timer.stage("outliers", rows=len(result.providers)):
        result.outliers = provider_outliers(kpis, rules)
    return result


def _selectors(given, config: dict, key: str) -> tuple[str, ...]:
    """``--select``/``--ignore`` (repeated or comma-separated), else the config's ``[audit]`` list."""
    values = given or config.get("audit", {}).get(key, ())
    return tuple(part.strip().upper() for value in values for part in str(value).split(",") if part.strip())


def _codes_for(prefix: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The selectors that concern one stage (DQ checks or GM rules): ``--select GM03`` leaves the
    data-quality checks as they are, ``--select DQ0`` the rules."""
    return tuple(code for code in codes if code.startswith(prefix))


def provider_outliers(kpis: pd.DataFrame, rules: list) -> list[dict]:
    """Funnel comparison across the extract's providers (when there are enough) of every KPI rate
    and every gaming indicator. The rules' own flags use a peer funnel of their own (see
    ``rules_engine.flagging``); these entries are the plain comparison a regulator reads."""
    from iapt_audit.outliers import compare_providers

    providers = kpis.drop(index=ALL_PROVIDERS)
    frames = {m.name: pd.DataFrame({"provider": providers.index,
                                    "numerator": providers[f"{m.name}__num"].to_numpy(),
                                    "denominator": providers[f"{m.name}__den"].to_numpy()})
              for m in MEASURES if m.kind == "percentage"}
    entries = [compare_providers(name, frame) for name, frame in frames.items()]
    for rule in rules:  # a gaming indicator is a concern only when high
        table = rule.providers
        frame = pd.DataFrame({"provider": table.index.astype(str), "numerator": table["numerator"].to_numpy(),
                              "denominator": table["denominator"].to_numpy()})
        entry = compare_providers(rule.code, frame, flag_low=False)
        if entry is not None:
            entry["official_name"] = f"{rule.code} {rule.rule.title}"
        entries.append(entry)
    return [entry for entry in entries if entry is not None]

