"""Gaming-adjusted headlines: what a headline measure would be without the pattern a rule looks for.

These are **sensitivity figures**, not official measures. Each one sits beside the official figure
it shadows (the same KPI ``kpis`` computes, same cohort, same period) and differs from it in one
stated way: the referrals that show the rule's pattern (for GM03 and GM06, the provider's excess of
them over what the rule tolerates or expects) are left out of the count, or their wait is timed to
the session the pattern hid. They answer a commissioner's question, "how much of this
headline is real?", and are always labelled as sensitivity figures with their definitions; no
report or findings entry presents them as NHS Digital measures.

The figures (issue 18; rule definitions in ``rules/GM0x_*.py``, measures [MM20] via ``kpis``):

* **GM01** access (M031, referrals whose first treatment is in the period) without the referrals
  whose only treatment session was one AppType 03 "assessment and treatment" contact and which
  have ended (ServDischDate recorded);
* **GM02** access (M031) without the referrals whose only treatment session was one group session
  (CareContPatientTherMode 3) of more than GM02's ``large_group_participants`` and which have ended;
* **GM03** the 6- and 18-week waits (M053, M055: finished courses whose wait is within 42 / 126
  days) with the wait re-timed to the second treatment (TherapySession_SecondDate) for the
  provider's *excess* of hidden waits only. Among the provider's finished courses in the period
  ("the cohort"), those whose first-to-second gap exceeded GM03's ``over_days`` are hidden; GM03
  tolerates a share of them up to its ``min_percent``, so tolerated = floor(min_percent / 100 ×
  cohort) and excess = max(0, hidden − tolerated). The ``excess`` hidden courses with the longest
  gaps (ties by ServiceRequestId) are re-timed; every other course keeps its official wait;
* **GM04** the same waits timed to the first individual treatment contact (mode 1) for courses whose
  first treatment was a group session and whose individual therapy began more than GM04's
  ``over_days`` after it;
* **GM05** the same waits timed to the first high-intensity session (HighIntensityTherapy_FirstDate)
  for courses stepped up more than GM05's ``over_days`` after their low-intensity treatment: within
  the referral (from LowIntensityTherapy_LastDate before the HI start) or, for a stepped-up
  re-referral (SourceOfReferralIAPT N1), timed from the received date of the same patient's latest
  earlier referral at the provider that had low-intensity treatment;
* **GM06** recovery (M192, over finished courses at caseness) less the provider's *excess* of
  recoveries ending at the heap value h, one point under each caseness cut-off (PHQ-9 9, GAD-7 7:
  GM06's ``heap_value``). With GM06's own counts (``_heaping``: last scores at h − 1, h, h + 1
  among finished courses at caseness, per provider, PHQ-9 and the ADSM apart) and its locally
  linear null (the count at h expected to be the mean of its neighbours), excess_m = max(0,
  c_h − (c_h−1 + c_h+1) / 2); removed_m = floor(excess_m × recovered_at_h / c_h), the recoveries
  at h in the excess's share ("at least this many are more than a smooth distribution expects");
  removed = min(recoveries at either heap value, removed_PHQ9 + removed_ADSM).

Why the excess, not every course with the pattern (GM03, GM06): the per-referral pattern is
common in honest data. Nationally 23.7 % of finished courses waited over 90 days between their
first and second treatment in 2024-25 (15.3 % to 23.7 % since 2019-20; iapt-dataset.md §5), and
honest last scores are spread smoothly around the cut-off (GM06's null), so many honest
recoveries end one point under the line too. Re-timing every long gap,
or dropping every recovery one under the line, moved clean providers' figures by up to 25 and 12
points on the demo; the gaming is the provider-level excess the rule measures, so only that is
removed, and a clean provider's figure moves by little while a planted one's moves by much.

Why GM03's figure uses finished courses although the rule's cohort differs: the rule counts
referrals with a second treatment in the period plus those still waiting for one; the figure
shadows M053/M055, whose cohort is finished courses ended in the period, and a course still
waiting has no second treatment to re-time to. Applying the rule's tolerated share to the
figure's own cohort keeps the re-timed courses inside the measure they change.

Why the rule's own threshold defines "the pattern" for GM04 and GM05: every course's later session
comes after its first, so timing every wait to it would lower every provider's figure; the
sensitivity figure re-times only the waits the rule calls hidden.

Figures are sums of per-referral masks by provider (vectorised, as ``kpis``), GM06's less a
per-provider count; every step is per provider, so providers computed apart (Spark) sum to the
same totals. Referrals NHS Digital leaves out (UsePathway_Flag false) are left out of both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.kpis import ALL_PROVIDERS, MEASURE_BY_NAME, ratio, referral_masks
from iapt_audit.model import codes
from iapt_audit.model.thresholds import SCALES
from iapt_audit.rules_engine.facts import days, finished, nth_treatment

LABEL = "Sensitivity figure, not an official measure"
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
    *(_wait_figures("GM03", "SecondTreatment", "second treatment for the provider's excess of hidden waits")),
    *(_wait_figures("GM04", "FirstIndividualSession", "first individual session after a group")),
    *(_wait_figures("GM05", "FirstHighIntensitySession", "first high-intensity session after low intensity")),
    Figure("GM06", "GM06_RecoveryWithoutHeapExcess", RECOVERY,
           "Recovery without the excess of last scores one under the cut-off",
           "As M192 (recovered over finished courses at caseness), less the provider's excess of recoveries whose "
           "last score is at the heap value one point under the caseness cut-off (PHQ-9 {phq}, GAD-7 {gad}; each ADSM's "
           "cut-off minus one). Per provider, for PHQ-9 and the ADSM apart, among finished courses at "
           "caseness: excess = count at the heap value minus the mean of the counts one above and one below "
           "(GM06's locally linear null), at least 0; removed = floor(excess × recoveries at the heap value / "
           "count at the heap value); at most the recoveries at either heap value are removed. Last scores one "
           "under the line are common in honest data, so only the excess over the smooth distribution counts.",
           "lower"),
)
FIGURE_BY_NAME = {f.name: f for f in FIGURES}
WAIT_TEXT = {
    "GM03": "for the provider's excess of hidden waits the wait is timed from referral to the second treatment. "
            "A course's wait is hidden when its first-to-second treatment gap exceeded {over:g} days; GM03 tolerates "
            "up to {share:g} % of the finished courses (rounded down), so only the hidden courses beyond that "
            "number, longest gaps first, are re-timed. Long gaps are common in honest data (over 90 days in "
            "23.7 % of finished courses in England in 2024-25), so only the excess over the rule's share counts.",
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
        return cls(table[COLUMNS], parts[0].figures)

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


def adjusted_headlines(pathways, period, rules: dict, scales=None) -> AdjustedHeadlines:
    """The sensitivity figures of every rule that ran (``rules``: ``rules_in_force``, code -> (rule
    class, thresholds in force)) for ``period``, per provider and for all ``pathways``' providers
    together; see the module docstring."""
    scales = scales or SCALES
    limits = {code: rule_limits for code, (_, rule_limits) in rules.items()}
    chosen = [f for f in FIGURES if f.code in limits]
    if not chosen:
        return AdjustedHeadlines(pd.DataFrame(columns=COLUMNS), [])
    r = pathways.referrals
    official = referral_masks(r, period)
    used = r["UsePathway"].to_numpy() if "UsePathway" in r else np.ones(len(r), bool)
    first = nth_treatment(pathways, 1)
    wait_of = {"GM03": lambda: _second_treatment_wait(r, official["finished"], limits["GM03"]),
               "GM04": lambda: _individual_wait(pathways, first, limits["GM04"]),
               "GM05": lambda: _step_up_wait(r, limits["GM05"])}
    waits: dict[str, pd.Series] = {}
    frames, described = [], []
    for figure in chosen:
        limit = limits[figure.code]
        less = None
        if figure.official == ACCESS:
            pattern = _single_session_ending(r, first, figure.code, limit)
            numerator = official["accessing"] & ~pattern
            denominator = None
            text = figure.definition.format(large=limit.get("large_group_participants", 0))
        elif figure.official == RECOVERY:
            numerator = official["recovery"]
            denominator = official["caseness_finished"]
            less = _recovery_heap_excess(r, period, official["recovery"], used, scales, rules["GM06"][0])
            heap_value = _rule_function(rules["GM06"][0], "heap_value")
            text = figure.definition.format(**{key: _number_text(heap_value(scales.get(tool)))
                                               for key, tool in (("phq", "PHQ9"), ("gad", "GAD7"))})
        else:
            if figure.code not in waits:  # the 6- and 18-week figures share one wait
                waits[figure.code] = wait_of[figure.code]()
            wait = waits[figure.code]
            band = SIX_WEEKS if figure.official == WAIT_6 else EIGHTEEN_WEEKS
            numerator = official["finished"] & (wait <= band)
            denominator = official["finished"]
            text = figure.definition.format(wait=WAIT_TEXT[figure.code].format(
                over=limit["over_days"], share=limit.get("min_percent", 0)))
        described.append(Figure(figure.code, figure.name, figure.official, figure.label, text, figure.expected))
        frames.append(_summed(figure, r["OrgIDProv"], official, numerator & used, denominator, less))
    return AdjustedHeadlines(pd.concat(frames, ignore_index=True)[COLUMNS], described)


def _summed(figure: Figure, org: pd.Series, official: pd.DataFrame, numerator, denominator,
            less: pd.Series | None = None) -> pd.DataFrame:
    """Official and adjusted numerator/denominator summed per provider and over the extract;
    ``less`` (per provider) is taken off the adjusted numerator."""
    measure = MEASURE_BY_NAME[figure.official]
    parts = {"official_numerator": official[measure.numerator],
             "adjusted_numerator": np.asarray(numerator, dtype=bool)}
    if measure.denominator is not None:
        parts["official_denominator"] = official[measure.denominator]
        parts["adjusted_denominator"] = np.asarray(denominator, dtype=bool)
    sums = pd.DataFrame(parts, index=org.index).astype("int64").groupby(org.to_numpy(), observed=True).sum()
    if less is not None:
        sums["adjusted_numerator"] -= less.reindex(sums.index, fill_value=0).to_numpy(dtype="int64")
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


def _second_treatment_wait(r: pd.DataFrame, cohort: pd.Series, limits: dict) -> pd.Series:
    """GM03: the wait to the second treatment for each provider's excess of hidden waits.

    ``cohort``: the figure's finished courses. Hidden: first-to-second gap over ``over_days``.
    Per provider, tolerated = floor(min_percent × cohort / 100) and excess = max(0, hidden −
    tolerated); the ``excess`` hidden courses with the longest gaps (ties by ServiceRequestId,
    never row order, as GM03 orders its evidence) are re-timed, the rest keep the official wait."""
    gap = r["Wait_FirstToSecondTreatment"]
    cohort = np.asarray(cohort, dtype=bool)
    hidden = cohort & (gap > limits["over_days"]).fillna(False).to_numpy()
    org = r["OrgIDProv"].to_numpy()
    counts = pd.DataFrame({"cohort": cohort, "hidden": hidden}).groupby(org).sum()
    tolerated = np.floor(limits["min_percent"] * counts["cohort"] / 100.0)
    excess = (counts["hidden"] - tolerated).clip(lower=0)
    candidates = pd.DataFrame({"OrgIDProv": org[hidden], "gap": gap.to_numpy()[hidden],
                               "ServiceRequestId": r["ServiceRequestId"].to_numpy()[hidden]},
                              index=r.index[hidden]).astype({"OrgIDProv": object, "ServiceRequestId": str})
    candidates = candidates.sort_values(["OrgIDProv", "gap", "ServiceRequestId"], ascending=[True, False, True],
                                        kind="stable")
    rank = candidates.groupby("OrgIDProv", sort=False).cumcount().to_numpy()
    retimed = r.index.isin(candidates.index[rank < excess.reindex(candidates["OrgIDProv"]).to_numpy()])
    to_second = days(r["TherapySession_SecondDate"] - r["ReferralRequestReceivedDate"])
    return r["Wait_ReferralToFirstTreatment"].where(~retimed, to_second)


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


def _rule_function(rule: type, name: str):
    """A function of a rule's own module (``rules/`` files are loaded by path, not imported as a
    package, so the loaded rule class is the way in): one definition of the rule's arithmetic."""
    return rule.measure.__globals__[name]


def _recovery_heap_excess(r: pd.DataFrame, period, recovered, used, scales, rule: type) -> pd.Series:
    """GM06: per provider, the recoveries to take off M192's numerator (module docstring).

    GM06's ``_heaping`` counts last scores at h − 1, h, h + 1 (``heap_value``) per provider and
    measure; run once over finished courses at caseness (the rule's population) and once over the
    recovered courses (recovered_at_h). Integer arithmetic: 2 × excess = max(0, 2c_h − c_h−1 −
    c_h+1), so removed = (2 × excess × recovered_at_h) // (2c_h)."""
    heaping, heap_value = _rule_function(rule, "_heaping"), _rule_function(rule, "heap_value")
    recovered = pd.Series(np.asarray(recovered, dtype=bool) & used, index=r.index)
    at_caseness = heaping(r, finished(r, period) & r["Caseness_Flag"] & used, scales)
    at_heap_recovered = heaping(r, recovered, scales).reindex(at_caseness.index, fill_value=0)
    removed = pd.Series(0, index=at_caseness.index, dtype="int64")
    for measure in ("PHQ9", "ADSM"):  # GM06's two heaping tests
        at = at_caseness[f"{measure}_at_heap"].to_numpy(dtype="int64")
        twice_excess = np.maximum(0, 2 * at - at_caseness[f"{measure}_below_heap"].to_numpy(dtype="int64")
                                  - at_caseness[f"{measure}_above_heap"].to_numpy(dtype="int64"))
        removed += twice_excess * at_heap_recovered[f"{measure}_at_heap"].to_numpy(dtype="int64") // np.maximum(2 * at, 1)
    heaps = r["ADSM"].map({tool: heap_value(scales.get(tool)) for tool in r["ADSM"].dropna().unique()})
    either = recovered & ((r["PHQ9_LastScore"] == heap_value(scales["PHQ9"]))
                          | (r["ADSM_LastScore"] == pd.to_numeric(heaps, errors="coerce"))).fillna(False)
    at_either = either.groupby(r["OrgIDProv"].to_numpy()).sum().reindex(removed.index, fill_value=0)
    return np.minimum(removed, at_either)


def _number_text(value) -> str:
    """A threshold in a definition: "none" where the scale has none."""
    return "none" if value is None else f"{value:g}"


def _plain(value):
    """JSON-ready: NaN -> None, whole floats of counts -> int."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value
