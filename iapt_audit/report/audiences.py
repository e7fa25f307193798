"""What each audience sees: the sections of the report, in the order that audience reads them.

* **self-check** — a service before it submits: data quality first (most severe first, with the
  failing records), then its KPIs and its own gaming indicators, with record worklists, and the
  clinician view (``clinician_content``: clinician pseudonyms, in this report only). Exact
  counts: the report stays inside the service.
* **commissioner** — auditing providers: a side-by-side table, then one profile per provider
  (KPIs against the national standards, the attrition funnel, gaming flags with their evidence
  counts, data-quality standing). Disclosure-controlled.
* **regulator** — national review: outlier tables and funnel plots for every measure, flagged
  providers first; gaming flags; and, from ``iapt-audit outliers`` on published files, SPC.
  Disclosure-controlled.

A stage that did not run gets its section with that said plainly, never invented content.
"""

from __future__ import annotations

from pathlib import Path

from iapt_audit import __version__
from iapt_audit.kpis import ALL_PROVIDERS
from iapt_audit.report import (adjusted_content, clinician_content, dq_content, kpi_content, outlier_content,
                               publication_content, reconciliation_content, rules_content, submission_content)
from iapt_audit.report.disclosure import STATEMENT, Figures
from iapt_audit.report.distributions import distribution_blocks
from iapt_audit.report.document import Report, Section

AUDIENCES = ("self-check", "commissioner", "regulator")
TITLES = {
    "self-check": "Pre-submission self-check",
    "commissioner": "Provider audit for commissioners",
    "regulator": "National outlier review",
}
OUTLIERS_NOT_RUN = "Fewer than 8 providers have cases, so no funnel comparison was drawn."


def build_report(result, audience: str, highlight=()) -> Report:
    """The report for ``audience`` (one of ``AUDIENCES``) from an ``AuditResult``; ``highlight``:
    provider codes ringed and labelled on every funnel and SPC chart."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    figures = Figures(disclosed=audience != "self-check")
    build = {"self-check": _self_check, "commissioner": _commissioner, "regulator": _regulator}[audience]
    return Report(audience=audience, title=f"NHS Talking Therapies audit — {TITLES[audience]}",
                  subtitle=_subtitle(result), facts=_facts(result, figures), sections=build(result, figures, tuple(highlight)),
                  disclosure=STATEMENT if figures.disclosed else "")


def _subtitle(result) -> str:
    period = result.period.as_json()
    return f"Reporting period {period['start']} to {period['end']}"


def _facts(result, figures: Figures) -> list[tuple[str, str]]:
    period = result.period.as_json()
    received = figures.count(int(result.kpis.loc[ALL_PROVIDERS, "Count_ReferralsReceived__num"]))
    return [("Reporting period", f"{period['start']} to {period['end']}"),
            ("Extract", Path(result.source).name),
            ("Providers", str(len(result.providers))),
            ("Referrals received", f"{received:,}" if isinstance(received, int) else str(received)),
            *([("National reference", f"England {result.benchmark['year']} ({result.benchmark['source']})")]
              if getattr(result, "benchmark", None) else []),
            ("Tool", f"iapt-audit {__version__}")]


def _orgs(result) -> list[str]:
    return [ALL_PROVIDERS, *result.providers]


# ---- sections shared by audiences ---------------------------------------------------------------

def _dq_section(result, figures: Figures, *, worklists: bool, by_provider: bool) -> Section:
    section = Section("data-quality", "Data quality",
                      intro="Each check states its failing records over the records it applies to.")
    dq = result.data_quality
    if not dq_content.ran(dq):
        section.status = dq_content.NOT_RUN
        return section
    section.blocks.append(dq_content.checks_table(dq, figures, failing_only=True))
    if by_provider:
        section.blocks.append(dq_content.provider_findings_table(dq, figures))
    section.blocks.append(dq_content.checks_table(dq, figures))
    items = dq_content.item_table(dq, figures)
    items.folded = True
    section.blocks.append(items)
    if worklists:
        tables = dq_content.worklists(dq)
        for table in tables:
            table.folded = True
        intro = ("The failing records of each check, by your own record IDs." if tables
                 else "No check has failing records.")
        section.subsections.append(Section("dq-worklists", "Data-quality worklists", intro=intro, blocks=tables))
    return section


def _rules_section(result, figures: Figures, *, worklists: bool) -> Section:
    section = Section("gaming", "Gaming indicators",
                      intro="Patterns the programme warns can make KPIs look better than care was: "
                            "each rule's indicator, the tests that fired and the evidence behind it.")
    if not result.rules:
        section.status = rules_content.NOT_RUN
        return section
    with_reason = not figures.disclosed
    section.blocks += [outlier_content.gaming_test_key(), rules_content.summary_table(result.rules),
                       rules_content.rules_table(result.rules, figures, with_reason=with_reason, flagged_only=True),
                       rules_content.rules_table(result.rules, figures, with_reason=with_reason)]
    if worklists:
        tables = rules_content.worklists(result.rules)
        for table in tables:
            table.folded = True
        section.subsections.append(Section("rule-worklists", "Gaming-rule worklists",
                                           intro="The referrals behind each flagged rule, by ServiceRequestId.",
                                           blocks=tables))
    return section


def _outlier_section(result, figures: Figures, highlight=()) -> Section:
    section = Section("outliers", "Outliers across providers",
                      intro="Each KPI rate and gaming indicator on one funnel plot (a gaming indicator's is the funnel its "
                            "rule decided with; a service audited alone is placed on England's): outside the 99.8% limits "
                            "is better or worse than expected, inside is common cause.")
    entries = result.outliers
    if not entries:
        section.status = OUTLIERS_NOT_RUN
        return section
    titles = kpi_content.LABELS
    section.blocks.append(outlier_content.funnel_summary_table(entries, titles))
    section.blocks.append(outlier_content.outlier_table(entries, figures, titles, flagged_only=True))
    section.blocks += [outlier_content.funnel_chart(e, titles, figures, f"funnel-{e['measure']}", highlight)
                       for e in entries]
    section.blocks += [outlier_content.outlier_table(entries, figures, titles),
                       outlier_content.funnel_chart_table(entries, titles, figures)]
    return section


def _monthly_section(result, highlight=()) -> Section:
    """The audit's own months: each provider's KPI rates and gaming indicators per month on XmR charts."""
    section = Section("monthly-spc", "Monthly SPC of this extract",
                      intro="Each provider's KPI rates and gaming indicators month by month on XmR charts (Making "
                            "Data Count): a change in "
                            "recording or practice shows as a point outside the limits, a run or a trend.")
    spc = getattr(result, "monthly", None)
    if not spc:
        section.status = "The reporting period has fewer than two months, so there is no monthly series to chart."
        return section
    titles = {**kpi_content.LABELS, **{r.code: f"{r.code} {r.rule.title}" for r in result.rules or ()}}
    drawn = outlier_content.spc_charts(spc, titles, highlight=highlight)
    section.blocks += [outlier_content.spc_table(spc, titles, special_only=True), *drawn,
                       outlier_content.spc_table(spc, titles), outlier_content.spc_series_table(spc, titles),
                       outlier_content.spc_chart_table(spc, titles, drawn)]
    return section


def _distribution_section(result, figures: Figures) -> Section:
    return Section("distributions", "Scores and waits",
                   intro="Final scores around the caseness cut-offs and the waits behind the 6- and 18-week "
                         "standards, all providers together.",
                   blocks=distribution_blocks(result.pathways.referrals, result.period, figures, prefix="all"))


# ---- the audiences ------------------------------------------------------------------------------

def _self_check(result, figures: Figures, highlight=()) -> list[Section]:
    orgs = _orgs(result)
    every_kpi = kpi_content.kpi_table(result.kpis, orgs, figures)
    attrition = kpi_content.attrition_table(result.kpis, orgs, figures)
    every_kpi.folded = attrition.folded = True
    blocks = [kpi_content.attrition_chart(attrition, "All providers", "attrition-all"),
              kpi_content.rates_table(result.kpis, ALL_PROVIDERS, figures, id="rates-all")]
    if len(result.providers) > 1:
        blocks.append(_side_by_side(result, figures))
    kpis = Section("kpis", "Key performance indicators",
                   intro="NHS Digital's measures for the period, with numerator and denominator.",
                   blocks=[*blocks, every_kpi, attrition])
    return [_dq_section(result, figures, worklists=True, by_provider=len(result.providers) > 1),
            submission_content.section(result, figures), kpis, _distribution_section(result, figures),
            _rules_section(result, figures, worklists=True), clinician_content.section(result, figures),
            adjusted_content.section(result, figures),
            _outlier_section(result, figures, highlight),
            _monthly_section(result, highlight),
            reconciliation_content.section(result, figures, worklist=True), publication_content.section(result, figures)]


def _side_by_side(result, figures: Figures):
    extra = {}
    if result.rules:
        extra["Gaming flags"] = rules_content.flag_counts(result.rules, result.providers)
    if dq_content.ran(result.data_quality):
        standing = dq_content.provider_standing(result.data_quality, result.providers)
        extra["DQ checks failing (errors)"] = {org: s["critical"] + s["error"] for org, s in standing.items()}
    return kpi_content.side_by_side_table(result.kpis, _orgs(result), figures, extra)


def _commissioner(result, figures: Figures, highlight=()) -> list[Section]:
    orgs = _orgs(result)
    overview = Section("providers", "Providers side by side",
                       intro="Headline measures for every provider against the national standards.",
                       blocks=[_side_by_side(result, figures)])
    kpis = kpi_content.kpi_table(result.kpis, orgs, figures)
    attrition = kpi_content.attrition_table(result.kpis, orgs, figures)
    rules = rules_content.rules_table(result.rules, figures, with_reason=False) if result.rules else None
    dq = result.data_quality
    dq_rows = dq_content.provider_findings_table(dq, figures) if dq_content.ran(dq) else None
    profiles = Section("profiles", "Provider profiles",
                       intro="For each provider: KPIs against the standards, the attrition funnel, gaming "
                             "flags and data-quality standing.")
    for org in result.providers:
        slug = f"profile-{org}"
        profile = Section(slug, f"Provider {org}")
        profile.blocks.append(kpi_content.rates_table(result.kpis, org, figures, id=f"{slug}-rates"))
        profile.blocks.append(kpi_content.attrition_chart(attrition, org, f"{slug}-attrition"))
        if rules is not None:
            profile.blocks.append(rules.where("Provider", org, id=f"{slug}-rules", title="Gaming indicators"))
        if dq_rows is not None:
            profile.blocks.append(dq_rows.where("Provider", org, id=f"{slug}-dq",
                                                title="Data-quality checks with failing records"))
        profiles.subsections.append(profile)
    appendix = Section("tables", "Full tables", intro="Every KPI for every provider, and the attrition steps.",
                       blocks=[kpis, attrition])
    kpis.folded = attrition.folded = True
    return [overview, profiles, _distribution_section(result, figures), _rules_section(result, figures, worklists=False),
            adjusted_content.section(result, figures),
            _dq_section(result, figures, worklists=False, by_provider=True), submission_content.section(result, figures),
            _outlier_section(result, figures, highlight), _monthly_section(result, highlight), appendix]


def _regulator(result, figures: Figures, highlight=()) -> list[Section]:
    overview = Section("providers", "Providers side by side", blocks=[_side_by_side(result, figures)])
    return [_outlier_section(result, figures, highlight), _rules_section(result, figures, worklists=False),
            adjusted_content.section(result, figures), overview,
            _dq_section(result, figures, worklists=False, by_provider=True), submission_content.section(result, figures),
            _monthly_section(result, highlight), reconciliation_content.section(result, figures, worklist=False),
            publication_content.section(result, figures)]
