"""The "Clinicians within each provider" section of the self-check report (``clinician``).

Only the self-check audience builds it: clinician identifiers are the service's local pseudonyms
and never reach a commissioner or regulator output (``audiences`` never calls this module for
them; ``tests/clinician`` searches those files). Exact counts, as the rest of the self-check.
"""

from __future__ import annotations

from iapt_audit.clinician import CONSTRUCTION, FIRST_CONTACT_RULES, INTERNAL_ONLY, LAST_SESSION_RULES
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Column, Section, Table
from iapt_audit.stats.direction import COMMON

NOT_RUN = "No care activity names a clinician (CarePersLocalId), so there is no clinician view."
INTRO = (f"{INTERNAL_ONLY} Where in the team a pattern comes from: each clinician's caseload, outcomes and the "
         f"gaming indicators a clinician's own sessions make, judged {CONSTRUCTION}. Finished courses, recovery, "
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
    section.blocks += [_flagged(view), _clinicians(view)]
    return section


def _flagged(view) -> Table:
    flagged = view.flagged()
    rows = [[r.OrgIDProv, r.clinician, r.measure, int(r.numerator), int(r.denominator), round(float(r.value), 1),
             r.verdict] for r in flagged.itertuples(index=False)]
    columns = [Column("Provider"), Column("Clinician"), Column("Measure"), Column("Numerator", "count"),
               Column("Denominator", "count"), Column("Value (%)", "percent"), Column("Verdict")]
    return Table("clinicians-flagged", "Clinicians worse than expected against the rest of their team", columns, rows,
                 note="None." if not rows else "A prompt to look at the records together, not a judgement of a "
                                               "person: see each rule's known false positives.",
                 sheet="Clinicians flagged")


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
