"""Gaming-rule tables from ``AuditResult.rules`` (a list of ``rules_engine.runner.RuleResult``).

One row per rule × provider with the indicator, its numerator and denominator and which stated
test fired; worklists of the referrals behind each flagged rule for the service itself. The
outside audiences do not get the engine's "reason" sentence, because it quotes exact counts.
"""

from __future__ import annotations

import pandas as pd

from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Column, Table

NOT_RUN = "The gaming-rules stage did not run for this audit, so no rule results are shown."
RANK = {"critical": 0, "error": 0, "warning": 1, "info": 2}


def _ordered(rules: list) -> list:
    return sorted(rules, key=lambda r: (RANK.get(r.rule.severity, 3), r.code))


def summary_table(rules: list) -> Table:
    """One row per rule: what it looks for and which providers it flags."""
    rows = [[r.code, r.rule.title, r.rule.severity, len(r.flagged), ", ".join(r.flagged) or None,
             int((r.providers["denominator"] > 0).sum())] for r in _ordered(rules)]
    columns = [Column("Code"), Column("Rule"), Column("Severity"), Column("Providers flagged", "count"),
               Column("Flagged"), Column("Providers with cases", "count")]
    return Table("rules-summary", "Rules at a glance", columns, rows)


def rules_table(rules: list, figures: Figures, *, with_reason: bool, flagged_only: bool = False) -> Table:
    """One row per rule × provider, flagged rows first within each rule.

    The full table is the "Rules" sheet (folded in the web page); ``flagged_only`` gives the
    flagged rows the page leads with.
    """
    rows = []
    for result in _ordered(rules):
        table = result.providers.sort_values("flagged", ascending=False, kind="stable")
        if flagged_only:
            table = table[table["flagged"]]
        evidence = result.evidence["OrgIDProv"].value_counts()
        for org, row in table.iterrows():  # one row per provider
            num, den = int(row["numerator"]), int(row["denominator"])
            upper = row["peer_upper"]
            line = [result.code, result.rule.title, result.rule.severity, str(org),
                    "Flagged" if row["flagged"] else "Not flagged", figures.percent(num, den),
                    figures.count(num), figures.count(den), None if pd.isna(upper) else round(float(upper), 1),
                    ", ".join(row["tests"]) or None]
            if with_reason:
                line += [row["reason"], int(evidence.get(org, 0))]
            rows.append(line)
    columns = [Column("Code"), Column("Rule"), Column("Severity"), Column("Provider"), Column("Result"),
               Column("Indicator (%)", "percent"), Column("Numerator", "count"), Column("Denominator", "count"),
               Column("Peer upper limit (%)", "percent"), Column("Tests fired")]
    if with_reason:
        columns += [Column("Reason"), Column("Evidence records", "count")]
    note = ("A provider is flagged when its indicator is at or above the rule's threshold with enough cases "
            "and, where there are enough providers, above its peers' 99.8% funnel limit.")
    if flagged_only:
        return Table("rules-flagged", "Flagged providers", columns, rows, note=note)
    return Table("rules", "Every rule for every provider", columns, rows, note=note, sheet="Rules", folded=True)


def flag_counts(rules: list, orgs: list[str]) -> dict[str, int]:
    """How many rules flag each provider."""
    counts = dict.fromkeys(orgs, 0)
    for result in rules:
        for org in result.flagged:
            if org in counts:
                counts[org] += 1
    return counts


def worklists(rules: list) -> list[Table]:
    """For each rule that flags a provider: the counted referrals of the flagged providers."""
    tables = []
    for result in _ordered(rules):
        flagged = result.flagged
        if not flagged:
            continue
        evidence = result.evidence[result.evidence["OrgIDProv"].isin(flagged)]
        evidence = evidence.rename(columns={"OrgIDProv": "Provider"})
        tables.append(Table.from_frame(evidence, id=f"worklist-{result.code}",
                                       title=f"{result.code}: {result.rule.title}",
                                       note=f"Referrals counted by {result.code} at the flagged providers "
                                            f"({', '.join(flagged)}).",
                                       sheet=f"WL {result.code}"[:31]))
    return tables
