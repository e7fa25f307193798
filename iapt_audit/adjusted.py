"""Gaming-adjusted headlines: what a headline measure would be without the pattern a rule looks for.

These are **sensitivity figures**, not official measures. Each one sits beside the official figure
it shadows (the same KPI ``kpis`` computes, same cohort, same period) and differs from it in one
stated way: the referrals that show the rule's pattern are left out of the count, or their wait is
timed to the session the pattern hid. They answer a commissioner's question, "how much of this
headline is real?", and are always labelled as sensitivity figures with their definitions; no
report or findings entry presents them as NHS Digital measures.

The figures (issue 18; rule definitions in ``rules/GM0x_*.py``, measures [MM20] via ``kpis``):

* **GM01** access (M031, referrals whose first treatment is in the period) without the referrals
  whose only treatment session was one AppType 03 "assessment and treatment" contact and which
  have ended (ServDischDate recorded);
* **GM02** access (M031) without the referrals whose only treatment session was one group session
  (CareContPatientTherMode 3) of more than GM02's ``large_group_participants`` and which have ended;
* **GM03** the 6- and 18-week waits (M053, M055: finished courses whose wait is within 42 / 126
  days) with the wait timed to the second treatment (TherapySession_SecondDate) wherever the first
  to second treatment gap exceeded GM03's ``over_days`` (the hidden wait the rule counts); other
  courses keep their official wait;
* **GM04** the same waits timed to the first individual treatment contact (mode 1) for courses whose
  first treatment was a group session and whose individual therapy began more than GM04's
  ``over_days`` after it;
* **GM05** the same waits timed to the first high-intensity session (HighIntensityTherapy_FirstDate)
  for courses stepped up more than GM05's ``over_days`` after their low-intensity treatment: within
  the referral (from LowIntensityTherapy_LastDate before the HI start) or, for a stepped-up
  re-referral (SourceOfReferralIAPT N1), timed from the received date of the same patient's latest
  earlier referral at the provider that had low-intensity treatment;
* **GM06** recovery (M192, over finished courses at caseness) counting only recoveries whose last
  PHQ-9 and last ADSM score are each more than ``RECOVERY_MARGIN`` points below their caseness
  cut-off (PHQ-9 at most 8, GAD-7 at most 6 with the default margin of 1: a course ended at the
  first score under the line, 9 or 7, is not counted).

Why the rule's own threshold defines "the pattern" for the waits: every course's second session
comes after its first, so timing every wait to the second session would lower every provider's
figure; the sensitivity figure re-times only the waits the rule calls hidden, so a clean provider's
adjusted and official figures differ by little and a planted provider's by much.

Figures are sums of per-referral masks by provider (vectorised, as ``kpis``); referrals NHS Digital
leaves out (UsePathway_Flag false) are left out of both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.kpis import ALL_PROVIDERS, MEASURE_BY_NAME, ratio, referral_masks
from iapt_audit.model import codes
from iapt_audit.model.thresholds import SCALES
from iapt_audit.rules_engine.facts import days, nth_treatment

LABEL = "Sensitivity figure, not an official measure"
RECOVERY_MARGIN = 1.0  # points below the caseness cut-off a last score must clear (GM06's figure)
SIX_WEEKS, EIGHTEEN_WEEKS = 42, 126  # days: the standards' bands ([MM20] M053, M055)
ACCESS = "Count_AccessingServices"
WAIT_6 = "Percentage_AccessingServices6WeeksFinishedCourseTreatment"
WAIT_18 = "Percentage_AccessingServices18WeeksFinishedCourseTreatment"
RECOVERY = "Percentage_Recovery"
COLUMNS = ["code", "figure", "OrgIDProv", "official_numerator", "official_denominator", "adjusted_numerator",
           "adjusted_denominator", "official_value", "adjusted_value", "difference"]


@dataclass(frozen=True)
class Figure:
    """One sensitivity figure: the rule whose pattern it removes, the official measure it shadows."""

    code: str        # the rule (GM01 …)
    name: str        # this figure's own name (never an NHS Digital measure name)
    official: str    # the NHS Digital measure it sits beside (``kpis`` name)
    label: str
    definition: str
    expected: str    # which way the pattern moved the official figure: the adjusted one is "lower"

    @property
    def measure_id(self) -> str:
        return MEASURE_BY_NAME[self.official].code

    @property
    def kind(self) -> str:
        return MEASURE_BY_NAME[self.official].kind


def _wait_figures(code: str, to: str, how: str) -> tuple[Figure, Figure]:
    return tuple(Figure(code, f"{code}_{weeks}WeeksTo{to}", official,
                        f"Finished courses starting treatment within {weeks} weeks, timed to the {how}",
                        f"As {MEASURE_BY_NAME[official].code}, but {{wait}}", "lower")
                 for weeks, official in ((6, WAIT_6), (18, WAIT_18)))


FIGURES: tuple[Figure, ...] = (
    Figure("GM01", "GM01_AccessWithoutAssessAndTreatEndings", ACCESS,
           "Access without single assess-and-treat endings",
           "As M031 (first treatment in the period), leaving out referrals whose only treatment session was one "
           "AppType 03 assessment-and-treatment contact and which have ended.", "lower"),
    Figure("GM02", "GM02_AccessWithoutSingleSessionLargeGroups", ACCESS,
           "Access without single-session large groups",
           "As M031 (first treatment in the period), leaving out referrals whose only treatment session was one "
           "group session of more than {large} participants and which have ended.", "lower"),
    *(_wait_figures("GM03", "SecondTreatment", "second treatment where the first-to-second gap was hidden")),
    *(_wait_figures("GM04", "FirstIndividualSession", "first individual session after a group")),
    *(_wait_figures("GM05", "FirstHighIntensitySession", "first high-intensity session after low intensity")),
    Figure("GM06", "GM06_RecoveryClearOfCutoffs", RECOVERY,
           "Recovery counting only last scores clear of the cut-offs",
           "As M192 (recovered over finished courses at caseness), counting a recovery only when its last PHQ-9 and "
           "last ADSM score are each more than {margin:g} point(s) below the caseness cut-off.", "lower"),
)
FIGURE_BY_NAME = {f.name: f for f in FIGURES}
WAIT_TEXT = {
    "GM03": "where the gap from the first to the second treatment exceeded {over:g} days (GM03's pattern) the "
            "wait is timed from referral to the second treatment.",
    "GM04": "where the first treatment was a group session and the first individual treatment came more than "
            "{over:g} days later (GM04's pattern) the wait is timed from referral to that individual session.",
    "GM05": "where the first high-intensity session came more than {over:g} days after low-intensity treatment, in "
            "the referral or an earlier one of the same patient for an N1 re-referral (GM05's pattern), the wait "
            "is timed from the first referral to that high-intensity session.",
}


@dataclass
class AdjustedHeadlines:
    """The figures computed: ``table`` one row per figure and provider (plus ``ALL_PROVIDERS``),
    columns ``COLUMNS`` (values in percent for rates, counts for access; denominators NaN for
    counts); ``figures`` the definitions with the thresholds in force filled in."""

    table: pd.DataFrame
    figures: list[Figure]
    margin: float = RECOVERY_MARGIN

    @classmethod
    def joined(cls, parts: list["AdjustedHeadlines"]) -> "AdjustedHeadlines":
        """Providers' figures computed apart (Spark, one task per provider) as one: their rows, and
        the all-providers rows summed again."""
        parts = [p for p in parts if p.figures]
        if not parts:
            return cls(pd.DataFrame(columns=COLUMNS), [])
        rows = pd.concat([p.table for p in parts], ignore_index=True)
        table = pd.concat([_valued(group, group["code"].iloc[0], name)
                           for name, group in rows.groupby("figure", sort=False)], ignore_index=True)
        order = {f.name: i for i, f in enumerate(parts[0].figures)}
        table = table.sort_values(["figure", "OrgIDProv"], key=lambda c: c.map(order) if c.name == "figure" else c,
                                  kind="stable", ignore_index=True)
        return cls(table[COLUMNS], parts[0].figures, parts[0].margin)

    def as_json(self) -> list[dict]:
        """findings.json ``adjusted_headlines``: one entry per figure, labelled as a sensitivity figure."""
        out = []
        for figure in self.figures:
            rows = self.table[self.table["figure"] == figure.name].set_index("OrgIDProv")
            entry = {"code": figure.code, "figure": figure.name, "label": figure.label, "status": LABEL,
                     "definition": figure.definition, "official_measure": figure.official,
                     "official_measure_id": figure.measure_id, "kind": figure.kind,
                     "expected_change": figure.expected, "providers": {}, "total": None}
            for org, row in rows.iterrows():
                values = {key: _plain(row[key]) for key in COLUMNS[3:]}
                if org == ALL_PROVIDERS:
                    entry["total"] = values
                else:
                    entry["providers"][str(org)] = values
            out.append(entry)
        return out


def rules_in_force(results) -> dict[str, tuple[type, dict]]:
    """code -> (rule class, thresholds in force) of the rules that ran (``RuleResult`` list)."""
    return {result.code: (result.rule, result.limits) for result in results if hasattr(result, "limits")}


def adjusted_headlines(pathways, period, rules: dict, scales=None, margin: float = RECOVERY_MARGIN) -> AdjustedHeadlines:
    """The sensitivity figures of every rule that ran (``rules``: ``rules_in_force``) for
    ``period``, per provider and for all ``pathways``' providers together; see the module docstring."""
    scales = scales or SCALES
    limits = {code: rule_limits for code, (_, rule_limits) in rules.items()}
    chosen = [f for f in FIGURES if f.code in limits]
    if not chosen:
        return AdjustedHeadlines(pd.DataFrame(columns=COLUMNS), [], margin)
    r = pathways.referrals
    official = referral_masks(r, period)
    used = r["UsePathway"].to_numpy() if "UsePathway" in r else np.ones(len(r), bool)
    first = nth_treatment(pathways, 1)
    waits = {"GM03": lambda: _second_treatment_wait(r, limits["GM03"]),
             "GM04": lambda: _individual_wait(pathways, first, limits["GM04"]),
             "GM05": lambda: _step_up_wait(r, limits["GM05"])}
    frames, described = [], []
    for figure in chosen:
        limit = limits[figure.code]
        if figure.official == ACCESS:
            pattern = _single_session_ending(r, first, figure.code, limit)
            numerator = official["accessing"] & ~pattern
            denominator = None
            text = figure.definition.format(large=limit.get("large_group_participants", 0))
        elif figure.official == RECOVERY:
            numerator = official["recovery"] & _clear_of_cutoffs(r, scales, margin)
            denominator = official["caseness_finished"]
            text = figure.definition.format(margin=margin)
        else:
            wait = waits[figure.code]()
            band = SIX_WEEKS if figure.official == WAIT_6 else EIGHTEEN_WEEKS
            numerator = official["finished"] & (wait <= band)
            denominator = official["finished"]
            text = figure.definition.format(wait=WAIT_TEXT[figure.code].format(over=limit["over_days"]))
        described.append(Figure(figure.code, figure.name, figure.official, figure.label, text, figure.expected))
        frames.append(_summed(figure, r["OrgIDProv"], official, numerator & used, denominator))
    return AdjustedHeadlines(pd.concat(frames, ignore_index=True)[COLUMNS], described, margin)


def _summed(figure: Figure, org: pd.Series, official: pd.DataFrame, numerator, denominator) -> pd.DataFrame:
    """Official and adjusted numerator/denominator summed per provider and over the extract."""
    measure = MEASURE_BY_NAME[figure.official]
    parts = {"official_numerator": official[measure.numerator],
             "adjusted_numerator": np.asarray(numerator, dtype=bool)}
    if measure.denominator is not None:
        parts["official_denominator"] = official[measure.denominator]
        parts["adjusted_denominator"] = np.asarray(denominator, dtype=bool)
    sums = pd.DataFrame(parts, index=org.index).astype("int64").groupby(org.to_numpy(), observed=True).sum()
    if measure.denominator is None:
        sums["official_denominator"] = np.nan
        sums["adjusted_denominator"] = np.nan
    sums.index.name = "OrgIDProv"
    return _valued(sums.reset_index(), figure.code, figure.name)


def _valued(rows: pd.DataFrame, code: str, name: str) -> pd.DataFrame:
    """One figure's provider rows with the all-providers row (sums) and the values and differences."""
    rows = rows[rows["OrgIDProv"] != ALL_PROVIDERS].set_index("OrgIDProv")
    counts = ["official_numerator", "official_denominator", "adjusted_numerator", "adjusted_denominator"]
    total = pd.DataFrame([rows[counts].sum().to_dict()], index=[ALL_PROVIDERS])
    sums = pd.concat([rows[counts], total]).assign(code=code, figure=name)
    if FIGURE_BY_NAME[name].kind == "count":
        sums[["official_denominator", "adjusted_denominator"]] = np.nan
        sums["official_value"] = sums["official_numerator"].astype("float64")
        sums["adjusted_value"] = sums["adjusted_numerator"].astype("float64")
    else:
        sums["official_value"] = ratio(sums["official_numerator"], sums["official_denominator"], 100.0)
        sums["adjusted_value"] = ratio(sums["adjusted_numerator"], sums["adjusted_denominator"], 100.0)
    sums["difference"] = sums["adjusted_value"] - sums["official_value"]
    sums.index.name = "OrgIDProv"
    return sums.reset_index()


def _single_session_ending(r: pd.DataFrame, first: pd.DataFrame, code: str, limits: dict) -> pd.Series:
    """Ended referrals whose only treatment session was GM01's (one AppType 03 contact) or GM02's
    (one group session of more than ``large_group_participants``)."""
    once = (r["TreatmentCareContact_Count"] == 1) & r["ServDischDate"].notna()
    if code == "GM01":
        return (once & (first["AppType"] == codes.ASSESS_AND_TREAT)).fillna(False)
    group = first["CareContPatientTherMode"] == codes.GROUP_MODE
    large = pd.to_numeric(first["NumGroupTherParticipants"], errors="coerce") > limits["large_group_participants"]
    return (once & group & large).fillna(False)


def _second_treatment_wait(r: pd.DataFrame, limits: dict) -> pd.Series:
    """GM03: the wait to the second treatment where the first-to-second gap exceeded over_days."""
    hidden = (r["Wait_FirstToSecondTreatment"] > limits["over_days"]).fillna(False)
    to_second = days(r["TherapySession_SecondDate"] - r["ReferralRequestReceivedDate"])
    return r["Wait_ReferralToFirstTreatment"].where(~hidden, to_second)


def _individual_wait(pathways, first: pd.DataFrame, limits: dict) -> pd.Series:
    """GM04: the wait to the first individual treatment contact for courses that started in a
    group and waited over over_days for it."""
    r, contacts = pathways.referrals, pathways.contacts
    individual = contacts["treatment"].to_numpy() & (contacts["CareContPatientTherMode"] == codes.INDIVIDUAL_MODE
                                                     ).fillna(False).to_numpy()
    first_individual = pd.Series(contacts["CareContDate"].to_numpy()[individual]).groupby(
        contacts["ref"].to_numpy()[individual]).min().reindex(r.index)
    group_start = (first["CareContPatientTherMode"] == codes.GROUP_MODE).fillna(False)
    hidden = group_start & (days(first_individual - first["CareContDate"]) > limits["over_days"]).fillna(False)
    return r["Wait_ReferralToFirstTreatment"].where(~hidden, days(first_individual - r["ReferralRequestReceivedDate"]))


def _step_up_wait(r: pd.DataFrame, limits: dict) -> pd.Series:
    """GM05: the wait to the first high-intensity session for courses stepped up over over_days
    after low intensity (in the referral, or from an earlier referral for an N1 re-referral)."""
    high = r["HighIntensityTherapy_FirstDate"]
    within = (r["LowIntensityTherapy_FirstDate"] < high).fillna(False)
    last_low = r["LowIntensityTherapy_LastDate"].where(r["LowIntensityTherapy_LastDate"] <= high,
                                                       r["LowIntensityTherapy_FirstDate"])
    start = r["ReferralRequestReceivedDate"].where(within)
    gap = days(high - last_low).where(within)
    earlier = _earlier_low_intensity_referral(r)
    across = ~within & earlier["received"].notna() & high.notna()
    start = start.where(~across, earlier["received"])
    gap = gap.where(~across, days(high - earlier["low_last"]))
    hidden = (gap > limits["over_days"]).fillna(False)
    return r["Wait_ReferralToFirstTreatment"].where(~hidden, days(high - start))


def _earlier_low_intensity_referral(r: pd.DataFrame) -> pd.DataFrame:
    """For each N1 (stepped-up) referral: the received date and last LI date of the same patient's
    latest earlier referral at the provider that had low-intensity treatment (one merge of the
    few N1 referrals with the LI referrals, keyed on OrgIDProv + LocalPatientId)."""
    out = pd.DataFrame({"received": pd.Series(pd.NaT, index=r.index, dtype="datetime64[ns]"),
                        "low_last": pd.Series(pd.NaT, index=r.index, dtype="datetime64[ns]")})
    child = r.loc[(r["SourceOfReferralIAPT"] == codes.STEPPED_UP).fillna(False).to_numpy()
                  & r["LocalPatientId"].notna().to_numpy(),
                  ["OrgIDProv", "LocalPatientId", "ReferralRequestReceivedDate"]]
    if child.empty:
        return out
    low = r.loc[r["LowIntensityTherapy_FirstDate"].notna().to_numpy(),
                ["OrgIDProv", "LocalPatientId", "ReferralRequestReceivedDate", "LowIntensityTherapy_LastDate"]]
    pairs = child.reset_index().merge(low, on=["OrgIDProv", "LocalPatientId"], suffixes=("", "_earlier"))
    pairs = pairs[(pairs["ReferralRequestReceivedDate_earlier"] < pairs["ReferralRequestReceivedDate"]).to_numpy()]
    latest = pairs.sort_values(["ref", "ReferralRequestReceivedDate_earlier"], kind="stable").drop_duplicates(
        "ref", keep="last").set_index("ref")
    out.loc[latest.index, "received"] = latest["ReferralRequestReceivedDate_earlier"]
    out.loc[latest.index, "low_last"] = latest["LowIntensityTherapy_LastDate"]
    return out


def _clear_of_cutoffs(r: pd.DataFrame, scales, margin: float) -> np.ndarray:
    """Is each referral's last PHQ-9 and last ADSM score more than ``margin`` points below its
    caseness cut-off? (An ADSM without a cut-off does not decide recovery, so it passes.)"""
    def clear(scale, score):
        return (scale.caseness - score) > margin

    phq = clear(scales["PHQ9"], r["PHQ9_LastScore"].to_numpy())
    tool = r["ADSM"].to_numpy(dtype=object)
    last = r["ADSM_LastScore"].to_numpy()
    adsm = np.ones(len(r), bool)
    for name in pd.unique(tool[pd.notna(tool)]):  # a handful of questionnaires, not records
        scale = scales.get(name)
        if scale is not None and scale.caseness is not None:
            rows = tool == name
            adsm[rows] = clear(scale, last[rows])
    return phq & adsm


def _plain(value):
    """JSON-ready: NaN -> None, whole floats of counts -> int."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value
