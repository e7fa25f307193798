"""The driver's side of the Spark engine: providers' results joined into the pandas engine's.

Everything per provider is a count, a list or a provider's own row, so joining is summing and
concatenating; what compares providers (a rule's peer funnel and decision, outliers, SPC, the
reports) runs once here, on the joined results, with the pandas engine's own functions.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from iapt_audit.dq.findings import SEVERITY_RANK, WORKLIST_COLUMNS, Finding, first_listed
from iapt_audit.dq.item_table import ALL_PROVIDERS as ITEMS_ALL, CATEGORIES, with_overall
from iapt_audit.dq.settings import DQSettings
from iapt_audit.identifiers import IdentifierMask
from iapt_audit.kpis import ALL_PROVIDERS, MEASURES, ratio
from iapt_audit.pathway import CODE_FORM_COLUMNS, Pathways, PathwaySettings
from iapt_audit.reconcile import Reconciliation
from iapt_audit.rules_engine.base import Measurement
from iapt_audit.rules_engine.catalogue import select_rules
from iapt_audit.rules_engine.flagging import decide
from iapt_audit.rules_engine.runner import RuleResult
from iapt_audit.rules_engine.settings import limits_for, rule_sections


class Joined:
    """Accumulates providers' results one at a time (so the driver holds one provider's raw
    result at once), then gives each joined stage result."""

    def __init__(self):
        self.checks: dict[str, list[tuple[Finding, pd.DataFrame]]] = defaultdict(list)
        self.run_order: dict[str, int] = {}  # the order the stage ran its checks in (its worklist's)
        self.suite_totals: dict[str, list[pd.Series]] = defaultdict(list)
        self.items, self.kpis, self.referrals, self.reports = [], [], [], []
        self.rules: dict[str, list[dict]] = defaultdict(list)
        self.monthly: dict[str, dict] = defaultdict(dict)
        self.reconciliations: list[Reconciliation] = []
        self.code_forms: list[pd.DataFrame] = []
        self.iet_logs = 0
        self.extras: dict[str, list] = defaultdict(list)  # adjusted, clinicians, publication (issue 18)
        self.submitted: set[str] = set()
        self.birth_dates: set = set()
        self.nhs_numbers: set = set()

    def add(self, result: dict) -> None:
        """One provider's ``result`` (see ``spark.provider.audit_provider``)."""
        data_quality = result["data_quality"]
        worklist = data_quality.worklist
        for code in worklist["code"].unique():
            self.run_order.setdefault(code, len(self.run_order))
        for finding in data_quality.checks:
            self.checks[finding.check.code].append((finding, worklist[worklist["code"] == finding.check.code]))
        for code, totals in result["suite_totals"].items():
            self.suite_totals[code].append(totals)
        items = data_quality.item_table
        self.items.append(items.loc[items["OrgIDProv"] != ITEMS_ALL, ["OrgIDProv", "table", "item", *CATEGORIES]])
        self.reports.append(result["report"])
        self.submitted.update(result["submitted"])
        self.birth_dates.update(result["identifiers"].birth_dates)
        self.nhs_numbers.update(result["identifiers"].nhs_numbers)
        if "kpis" in result:
            self.kpis.append(result["kpis"])
            self.referrals.append(result["referrals"])
            for code, measured in result["rules"].items():
                self.rules[code].append(measured)
            for measure, charts in result["monthly"].items():
                self.monthly[measure].update(charts)
            self.reconciliations.append(result["reconciliation"])
            self.code_forms.append(result["code_forms"])
            self.iet_logs += int(result["iet_logs"])
            for key in ("adjusted", "clinicians", "publication"):
                if key in result:
                    self.extras[key].append(result[key])

    def totals(self, code: str) -> pd.Series:
        """A suite check's denominator per provider."""
        parts = [t for t in self.suite_totals[code] if len(t)]
        return pd.concat(parts).groupby(level=0, sort=False).sum() if parts else pd.Series(dtype="int64")

    def findings(self, settings: DQSettings, record_cap: int) -> list[tuple[Finding, pd.DataFrame]]:
        """The per-provider checks (cross-table, submission history) joined across providers.

        Counts are exact sums. The record list is the first ``record_cap`` of the providers' lists
        in ``dq.findings.first_listed``'s order, which is the pandas engine's list: each provider's
        list is its first ``record_cap`` in that total order, so the first of their union are the
        first of the whole extract."""
        joined = []
        last = len(self.run_order)
        for code, parts in sorted(self.checks.items(), key=lambda item: self.run_order.get(item[0], last)):
            check = parts[0][0].check
            numerator = sum(f.numerator for f, _ in parts)
            denominator = sum(f.denominator for f, _ in parts)
            by_provider = dict(sorted(kv for f, _ in parts for kv in f.by_provider.items()))
            worklist = first_listed(pd.concat([w for _, w in parts], ignore_index=True), record_cap)
            finding = Finding(check=check, numerator=numerator, denominator=denominator,
                              records=sorted(set(worklist["record_id"].tolist())), by_provider=by_provider, passed=True)
            finding.passed = settings.tolerance(code).allows(numerator, finding.percent)
            joined.append((finding, worklist))
        return joined

    def item_table(self) -> pd.DataFrame:
        parts = [p for p in self.items if len(p)]
        return with_overall(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame(
            columns=["OrgIDProv", "table", "item", "denominator", *CATEGORIES])

    def selection_report(self) -> pd.DataFrame:
        """Records read, set aside and selected per table, summed over providers (table order kept)."""
        report = pd.concat(self.reports, ignore_index=True)
        return report.groupby("table", sort=False, as_index=False).sum()

    def identifiers(self) -> IdentifierMask:
        return IdentifierMask(frozenset(self.birth_dates), frozenset(self.nhs_numbers))

    def kpi_table(self) -> pd.DataFrame:
        """``kpis.compute_kpis``'s table for all providers: their rows, and the ALL row from the
        summed numerators and denominators (every KPI is a count, a ratio of counts or a mean of
        a count over a count, so the sums are exact)."""
        table = pd.concat(self.kpis).sort_index(kind="stable")
        total = {}
        for m in MEASURES:
            total[f"{m.name}__num"] = num = int(table[f"{m.name}__num"].sum())
            if m.denominator is None:
                total[m.name] = num
                continue
            total[f"{m.name}__den"] = den = int(table[f"{m.name}__den"].sum())
            total[m.name] = float(ratio(num, den, 100.0 if m.kind == "percentage" else 1.0))
        row = pd.DataFrame([total], index=[ALL_PROVIDERS])[table.columns].astype(table.dtypes)
        return pd.concat([table, row])

    def distribution_referrals(self) -> pd.DataFrame:
        return pd.concat(self.referrals, ignore_index=True)

    def pathways(self, settings: PathwaySettings) -> Pathways:
        """The driver's pathways: the referral items the reports and ``derivation_json`` read, the
        code forms read (summed over providers) and the IET logs counted; no contacts or scores."""
        forms = [f for f in self.code_forms if len(f)]
        code_forms = (pd.concat(forms, ignore_index=True).groupby(["table", "column", "form", "code"], sort=False,
                                                                  as_index=False)["rows"].sum()[CODE_FORM_COLUMNS]
                      if forms else pd.DataFrame(columns=CODE_FORM_COLUMNS))
        empty = pd.DataFrame()
        return Pathways(referrals=pd.concat(self.referrals, ignore_index=True), contacts=empty, scores=empty,
                        activities=empty, code_forms=code_forms, iet_logs=self.iet_logs, settings=settings)

    def monthly_charts(self) -> dict:
        """``outliers.monthly_spc``: each provider's charts are its own, so they are only gathered."""
        return {measure: dict(sorted(charts.items())) for measure, charts in self.monthly.items() if charts}

    def reconciliation(self) -> Reconciliation:
        """``reconcile.reconcile`` over all providers: counts summed, provider rows and the
        worklist gathered in reconcile's own order."""
        parts = self.reconciliations
        fields = next((r.fields for r in parts if r.fields), [])
        agreement = pd.concat([r.agreement for r in parts]).groupby(level=0, sort=False).sum() if parts else \
            pd.DataFrame(columns=["compared", "agree", "disagree"])
        by_provider = pd.concat([r.by_provider for r in parts]).sort_index() if parts else \
            pd.DataFrame(columns=["compared", "agree", "disagree"])
        worklist = pd.concat([r.worklist for r in parts], ignore_index=True).sort_values(
            ["OrgIDProv", "ServiceRequestId", "field"], ignore_index=True) if parts else None
        return Reconciliation(fields=fields, referrals=sum(r.referrals for r in parts),
                              left_out=sum(r.left_out for r in parts),
                              agreement=agreement.reindex(fields) if fields else agreement,
                              by_provider=by_provider, worklist=worklist)

    def rule_results(self, period, config: dict, select, ignore, benchmark=None) -> list[RuleResult]:
        """Each rule's decision on the joined measurements, as ``rules_engine.run_rules`` decides
        it: the peer funnel across every provider, then the rule's own adjustment."""
        sections = rule_sections(config)
        providers = pd.Index(sorted(self.submitted_referral_providers()), name="OrgIDProv")
        results = []
        for entry in select_rules(select or None, ignore or None):
            rule = entry.rule()
            limits = limits_for(entry.rule, sections.get(entry.code))
            parts = self.rules.get(entry.code, [])
            rates = pd.concat([p["rates"] for p in parts]) if parts else pd.DataFrame(
                {"numerator": pd.Series(dtype="int64"), "denominator": pd.Series(dtype="int64")})
            rates = rates.groupby(level=0).sum().reindex(providers.union(rates.index), fill_value=0)
            rates.index.name = "OrgIDProv"
            details = [p["detail"] for p in parts if p["detail"] is not None]
            detail = pd.concat(details) if details else None
            evidence = pd.concat([p["evidence"] for p in parts], ignore_index=True)
            table, funnel = decide(rates, limits, f"{entry.rule.code} {entry.rule.name}", entry.rule.indicator,
                                   code=entry.rule.code, benchmark=benchmark)
            table = rule.decide(table, Measurement(evidence, detail), limits)
            results.append(RuleResult(rule=entry.rule, status=entry.status, limits=limits, providers=table,
                                      evidence=evidence, peer_test=funnel, detail=detail))
        return results

    def submitted_referral_providers(self) -> set[str]:
        return {str(org) for frame in self.referrals for org in frame["OrgIDProv"].dropna().unique()}


def sorted_findings(pairs: list[tuple[Finding, pd.DataFrame]]) -> tuple[list[Finding], pd.DataFrame]:
    """Findings most severe first, then by code, and the worklist in the order the checks ran
    (``pairs``' order), both as the pandas stage gives them."""
    worklists = [w for _, w in pairs if len(w)]
    worklist = pd.concat(worklists, ignore_index=True) if worklists else pd.DataFrame(columns=WORKLIST_COLUMNS)
    pairs = sorted(pairs, key=lambda pair: (SEVERITY_RANK[pair[0].check.severity], pair[0].check.code))
    return [f for f, _ in pairs], worklist
