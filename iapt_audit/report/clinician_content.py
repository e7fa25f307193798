"""The "Clinicians within each provider" section of the self-check report (``clinician``).

Only the self-check audience builds it: clinician identifiers are the service's local pseudonyms
and never reach a commissioner or regulator output (``audiences`` never calls this module for
them; ``tests/clinician`` searches those files). Exact counts, as the rest of the self-check.

Each provider and measure where a clinician is worse than expected gets a funnel plot (issue 18:
"compared within the provider on a funnel"), drawn by the providers' own funnel code
(``outliers.compare_providers`` builds the entry, ``outlier_content.funnel_chart`` draws it) with
clinicians as the points. The curves are the funnel of the team's clinicians with no flag on the
measure (with one flagged clinician, exactly the leave-one-out funnel that clinician was judged
against); each point's colour, verdict and hover limits are the view's own leave-one-out judgement
(``clinician.leave_one_out_limits``), so the chart and the tables never disagree.
"""

from __future__ import annotations

import pandas as pd

from iapt_audit.clinician import (CONSTRUCTION, FIRST_CONTACT_RULES, INTERNAL_ONLY, LAST_SESSION_RULES,
                                  leave_one_out_limits)
from iapt_audit.outliers import compare_providers
from iapt_audit.report import kpi_content, outlier_content
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Chart, Column, Section, Table
from iapt_audit.stats.direction import COMMON, direction_of, verdict

NOT_RUN = "No care activity names a clinician (CarePersLocalId), so there is no clinician view."
INTRO = (f"{INTERNAL_ONLY} Where in the team a pattern comes from: each clinician's caseload, outcomes and the "
         f"gaming indicators a clinician's own sessions make, judged {CONSTRUCTION}; GM06 also, as the rule "
         "does for providers, by its heap test of last scores one under the cut-off (part (b)) on each clinician's "
         "own finished courses. Finished courses, recovery, "
         f"reliable improvement and {', '.join(LAST_SESSION_RULES)} belong to the clinician of the last treatment "
         f"session; {', '.join(FIRST_CONTACT_RULES)} to the clinician of the first treatment contact; waits are "
         "the service's, not a clinician's.")


def section(result, figures: Figures) -> Section:
    """The self-check section; ``figures`` must be exact (it is never built for other audiences)."""
    if figures.disclosed:
        raise ValueError("the clinician view is for the self-check report only")
    view = result.clinicians
    section = Section("clinicians", "Clinicians within each provider (for use inside the service)", intro=INTRO)
    if not view.ran:
        section.status = NOT_RUN
        return section
    titles = {**kpi_content.LABELS, **{r.code: f"{r.code} {r.rule.title}" for r in result.rules or ()}}
    section.blocks += [_flagged(view), *_team_funnels(view, titles, figures), _clinicians(view)]
    return section


def _flagged(view) -> Table:
    flagged = view.flagged()
    rows = [[r.OrgIDProv, r.clinician, r.measure, int(r.numerator), int(r.denominator), round(float(r.value), 1),
             r.verdict, _why(r)] for r in flagged.itertuples(index=False)]
    columns = [Column("Provider"), Column("Clinician"), Column("Measure"), Column("Numerator", "count"),
               Column("Denominator", "count"), Column("Value (%)", "percent"), Column("Verdict"), Column("Why")]
    return Table("clinicians-flagged", "Clinicians worse than expected against the rest of their team", columns, rows,
                 note="None." if not rows else "A prompt to look at the records together, not a judgement of a "
                                               "person: see each rule's known false positives.",
                 sheet="Clinicians flagged")


def _why(row) -> str:
    """Which test made a flagged clinician: the team's funnel, and for GM06 the heap test (part (b))."""
    parts = [f"{row.flag} on the funnel of the rest of the team"] if isinstance(row.flag, str) else []
    heap = getattr(row, "heap", None)
    return "; ".join(parts + ([heap] if isinstance(heap, str) else []))


def _team_funnels(view, titles: dict[str, str], figures: Figures) -> list[Chart]:
    """One funnel plot per provider and measure with a clinician worse than expected on the funnel
    (a clinician flagged on GM06 by the heap test alone is in the flagged table, not off a funnel)."""
    indicators = view.indicators
    charts = []
    flagged = view.flagged()
    on_funnel = flagged[flagged["flag"].notna().to_numpy()]
    for org, measure in on_funnel[["OrgIDProv", "measure"]].drop_duplicates().itertuples(index=False):
        team = indicators[(indicators["OrgIDProv"] == org).to_numpy() & (indicators["measure"] == measure).to_numpy()]
        charts.append(_team_funnel(org, measure, team.reset_index(drop=True), titles, figures))
    return charts


def _team_funnel(org: str, measure: str, team: pd.DataFrame, titles: dict[str, str], figures: Figures) -> Chart:
    """The team's funnel for one measure, clinicians as the points (module docstring)."""
    frame = pd.DataFrame({"provider": team["clinician"].astype(str), "numerator": team["numerator"],
                          "denominator": team["denominator"]})
    flags = [f if isinstance(f, str) else None for f in team["flag"]]
    rest = [str(c) for c, f in zip(team["clinician"], flags) if f is None]
    fitted = (f"the funnel of {org}'s {len(rest)} clinicians without a flag on the measure" if len(rest) >= 2
              else f"the funnel of all {len(team)} of {org}'s clinicians")
    entry = compare_providers(measure, frame, min_providers=2, rare_zero_share=None,
                              fit_on=rest if len(rest) >= 2 else None,
                              flag_low=not measure.startswith("GM"), direction=direction_of(measure),
                              construction=f"Curves: {fitted} (99.8% and 95% limits); each point's verdict and hover "
                                           f"limits: {CONSTRUCTION}")
    lower, upper = leave_one_out_limits(team["numerator"].to_numpy(float), team["denominator"].to_numpy(float))
    for i, (clinician, flag) in enumerate(zip(team["clinician"], flags)):  # the funnel's own verdict
        entry["providers"][str(clinician)].update(lower=float(lower[i]), upper=float(upper[i]), flag=flag,
                                                  verdict=verdict(flag, direction_of(measure)))
    chart = outlier_content.funnel_chart(entry, titles, figures, f"clinician-funnel-{org}-{measure}")
    flagged = [str(c) for c, f in zip(team["clinician"], flags) if f is not None]
    chart.title = f"{chart.title}: {org}'s clinicians"
    chart.alt = (f"Funnel plot of {titles.get(measure, measure)} for {len(team)} clinicians of {org}; target "
                 f"{100 * entry['target']:.1f}% (the curves' clinicians); outside the limits: {', '.join(flagged) or 'none'}.")
    return chart


def _clinicians(view) -> Table:
    indicators = view.indicators.set_index(["OrgIDProv", "clinician", "measure"])
    measures = sorted(set(view.indicators["measure"])) if len(view.indicators) else []
    rows = []
    for r in view.clinicians.itertuples(index=False):
        mean = round(r.sessions / r.finished, 1) if r.finished else None
        row = [r.OrgIDProv, r.clinician, int(r.caseload), int(r.finished),
               _percent(r.recovery, r.caseness_finished), _percent(r.reliable_improvement, r.finished), mean]
        notable = []
        for measure in measures:
            key = (r.OrgIDProv, r.clinician, measure)
            found = indicators.loc[key] if key in indicators.index else None
            if found is not None and measure.startswith("GM"):
                row.append(round(float(found["value"]), 1))
            elif measure.startswith("GM"):
                row.append(None)
            if found is not None and isinstance(found["verdict"], str) and found["verdict"] != COMMON:
                notable.append(f"{measure}: {found['verdict']}")
        row.append("; ".join(notable))
        rows.append(row)
    columns = [Column("Provider"), Column("Clinician"), Column("Caseload", "count"), Column("Finished courses", "count"),
               Column("Recovery (%)", "percent"), Column("Reliable improvement (%)", "percent"),
               Column("Mean treatment sessions", "number"),
               *[Column(f"{m} (%)", "percent") for m in measures if m.startswith("GM")], Column("Verdicts")]
    return Table("clinicians", "Every clinician", columns, rows, sheet="Clinicians", folded=True,
                 note="Caseload: referrals with a treatment session of the clinician in the period.")


def _percent(numerator, denominator):
    return round(100.0 * numerator / denominator, 1) if denominator else None
