"""Questionnaire thresholds: the single table of scales, caseness cut-offs and reliable change.

Figures are iapt-dataset.md §2.1 (G21 §7.4). Caseness is "score >= cut-off" for PHQ-9 (10) and
GAD-7 (8), the convention of NHS code and the IAPT Data Handbook; the same >= is used for the
other ADSMs and for reliable change (a change of at least 6 on PHQ-9, 4 on GAD-7). Where the
reference states a strict inequality (Mobility Inventory caseness "> 2.3", PDSS reliable change
"> 5") that is kept. The exact inequality in NHS Digital's derivation code is UNVERIFIED, so
every operator and value can be overridden in the config file's ``[thresholds.<TOOL>]`` table.

v2.1's anxiety-disorder-specific measures, and what no source gives (iapt-dataset.md §2.1: "their
caseness/RCI values (other than the two above) UNVERIFIED"), so the tool never invents them:

* IBS-SSS (irritable bowel, K58): caseness >= 75 [G21 §7.4]; reliable change — none given, so no
  reliable change is judged on it;
* PHQ-15 (medically unexplained symptoms, 723916001): caseness >= 10 [G21 §7.4]; reliable change
  — none given;
* BIQ (body dysmorphic disorder, 83482000): neither caseness nor reliable change given; its
  scores are read (range checked loosely) but never decide caseness, recovery or change;
* CFQ (chronic fatigue syndrome, G93.3): no CodedAssToolType code and no cut-offs; see
  ``model.codes.ADSM_BY_DESCRIPTOR``.

A measure with no cut-off contributes nothing to caseness or recovery: such a referral's outcome
rests on PHQ-9 alone, where NHS Digital's would also use the ADSM. Set the missing values in
``[thresholds.BIQ]`` etc. once a source gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from iapt_audit.errors import InputError


@dataclass(frozen=True)
class Scale:
    tool: str
    low: float
    high: float
    caseness: float | None = None
    caseness_op: str = ">="
    reliable_change: float | None = None
    reliable_change_op: str = ">="

    def at_caseness(self, score):
        """Vectorised: is a score (or a Series of them) at caseness?"""
        return score > self.caseness if self.caseness_op == ">" else score >= self.caseness

    def reliable(self, change):
        """Vectorised: is a change in score (absolute value given) reliable?"""
        if self.reliable_change_op == ">":
            return change > self.reliable_change
        return change >= self.reliable_change


SCALES: dict[str, Scale] = {s.tool: s for s in (
    Scale("PHQ9", 0, 27, 10, ">=", 6),
    Scale("GAD7", 0, 21, 8, ">=", 4),
    Scale("MI_Alone", 1, 5, 2.3, ">", 0.73),
    Scale("MI_Accompanied", 1, 5),
    Scale("SPIN", 0, 68, 19, ">=", 10),
    Scale("PDSS", 0, 28, 8, ">=", 5, ">"),
    Scale("PCL5", 0, 80, 32, ">=", 10),
    Scale("OCI", 0, 168, 40, ">=", 32),
    Scale("HAI", 0, 54, 18, ">=", 4),
    Scale("IBS_SSS", 0, 500, 75, ">="),
    Scale("PHQ15", 0, 30, 10, ">="),
    Scale("BIQ", 0, 100),  # thresholds UNVERIFIED: range checked loosely, no caseness
    Scale("WSAS_Work", 0, 9),  # 9 = not applicable (not in work) [V15]
    Scale("WSAS_HomeManagement", 0, 8),
    Scale("WSAS_SocialLeisure", 0, 8),
    Scale("WSAS_PrivateLeisure", 0, 8),
    Scale("WSAS_Relationships", 0, 8),
)}


def scales_with_overrides(overrides: dict | None) -> dict[str, Scale]:
    """Apply ``{tool: {field: value}}`` from the config file to the default table."""
    scales = dict(SCALES)
    settable = {f.name for f in fields(Scale)} - {"tool"}
    for tool, values in (overrides or {}).items():
        if tool not in scales:
            raise InputError(f"unknown questionnaire [thresholds.{tool}]", fix=f"use one of {', '.join(scales)}")
        unknown = set(values) - settable
        if unknown:
            raise InputError(f"unknown key {sorted(unknown)[0]!r} in [thresholds.{tool}]",
                             fix=f"use {', '.join(sorted(settable))}")
        for op in ("caseness_op", "reliable_change_op"):
            if values.get(op, ">=") not in (">=", ">"):
                raise InputError(f"{op} for {tool} must be \">=\" or \">\"", fix='write e.g. caseness_op = ">="')
        scales[tool] = replace(scales[tool], **values)
    return scales
