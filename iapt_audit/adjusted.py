"""Gaming-adjusted headlines: what a headline measure would be without the pattern a rule looks for.

These are **sensitivity figures**, not official measures. Each one sits beside the official figure
it shadows (the same KPI ``kpis`` computes, same cohort, same period) and differs from it in one
stated way: the provider's *excess* of the referrals that show the rule's pattern, over what the
rule tolerates or expects, is left out of the count, or its wait is timed to the session the
pattern hid. They answer a commissioner's question, "how much of this headline is real?", and are
always labelled as sensitivity figures with their definitions; no report or findings entry
presents them as NHS Digital measures.

One principle, one helper (``_excess``): per provider, the rule's own absolute test says how much
of the pattern it tolerates, tolerated = floor(min_percent / 100 × the rule's cohort within the
figure's cohort), and only excess = max(0, pattern − tolerated) referrals are removed or
re-timed, chosen in a stated order (the rule's evidence order, longest gap first, for waits; then
ServiceRequestId; never row order). GM06's figure takes its tolerated number from the heap's
locally linear null instead (its min_percent belongs to part (a), a share of recoveries, not of
heaped scores).

The figures (issue 18; rule definitions in ``rules/GM0x_*.py``, measures [MM20] via ``kpis``):

* **GM01** access (M031, referrals whose first treatment is in the period) less the provider's
  excess of ended referrals whose only treatment session was one AppType 03 "assessment and
  treatment" contact. Cohort: the accessing referrals that have ended (ServDischDate recorded),
  the rule's own cohort (ended treated referrals) within M031's; tolerated: GM01's min_percent
  (25) of it; which ones, by ServiceRequestId (the count does not depend on it);
* **GM02** the same, for ended referrals whose only treatment session was one group session
  (CareContPatientTherMode 3) of more than GM02's ``large_group_participants``; tolerated: GM02's
  min_percent (10) of the same cohort;
* **GM03** the 6- and 18-week waits (M053, M055: finished courses whose wait is within 42 / 126
  days) re-timed to the second treatment (TherapySession_SecondDate) for the provider's excess of
  hidden waits. Cohort: the finished courses (each has a second treatment); hidden: the
  first-to-second gap exceeded GM03's ``over_days``; tolerated: min_percent (30) of the cohort;
  the longest gaps are re-timed first;
* **GM04** the same waits timed to the first individual treatment contact (mode 1). Cohort: the
  finished courses whose first treatment was a group session and that had an individual treatment
  contact (GM04's cohort within the finished courses); hidden: the individual contact came more
  than GM04's ``over_days`` after the group session; tolerated: min_percent (30) of the cohort;
* **GM05** the same waits timed to the first high-intensity session (HighIntensityTherapy_FirstDate).
  Cohort: the finished courses stepped up after low-intensity treatment, within the referral (gap
  from LowIntensityTherapy_LastDate before the HI start) or, for a stepped-up re-referral
  (SourceOfReferralIAPT N1), from the same patient's latest earlier referral at the provider that
  had low-intensity treatment (then timed from that referral's received date); hidden: gap over
  GM05's ``over_days``; tolerated: min_percent (30) of the cohort;
* **GM06** recovery (M192, over finished courses at caseness) less the provider's excess of
  recoveries ending at the heap value h, one point under each caseness cut-off (PHQ-9 9, GAD-7 7:
  GM06's ``heap_value``). With GM06's own counts (``_heaping``: last scores at h − 1, h, h + 1
  among finished courses at caseness, per provider, PHQ-9 and the ADSM apart) and its locally
  linear null (the count at h expected to be the mean of its neighbours), excess_m = max(0,
  c_h − (c_h−1 + c_h+1) / 2); removed_m = floor(excess_m × recovered_at_h / c_h), the recoveries
  at h in the excess's share ("at least this many are more than a smooth distribution expects");
  removed = min(recoveries at either heap value, removed_PHQ9 + removed_ADSM), by ServiceRequestId.

Why the excess, not every referral with the pattern: the per-referral pattern is common in honest
data. Nationally 23.7 % of finished courses waited over 90 days between their first and second
treatment in 2024-25 (15.3 % to 23.7 % since 2019-20; iapt-dataset.md §5); honest services end
some referrals after one assessment-and-treatment contact, start some courses in a group, step
some patients up late; and honest last scores are spread smoothly around the cut-off (GM06's
null). Removing every such referral moved clean providers' figures on demo-sized synthetic runs
(12 providers, seed 1) by up to 25 points (GM03), 12 (GM06), 2.9 (GM04, GM05) and 9.8 % of
access (GM01); the gaming is the
provider-level excess the rule measures, so only that is removed, and a clean provider's figure
moves by little while a planted one's moves by much.

Why the rule's cohort *within the figure's*: a figure can only change referrals inside the
measure it shadows (a course still waiting for its second treatment, counted by GM03's rule, has
nothing to re-time to; GM01's rule counts endings in the period, the figure referrals accessing
in it). Applying the rule's share to all of the figure's cohort instead would tolerate far more
than the rule does where the rule's cohort is a small part of it (GM04's group starters and
GM05's step-ups are a few percent of finished courses), and the planted provider's pattern would
vanish under the tolerance.

Why the rule's own threshold defines "the pattern" for GM04 and GM05: every course's later session
comes after its first, so timing every wait to it would lower every provider's figure; the
sensitivity figure re-times only the waits the rule calls hidden.

Figures are sums of per-referral masks by provider (vectorised, as ``kpis``); every step,
tolerated counts included, is per provider, so providers computed apart (Spark) sum to the same
totals. Referrals NHS Digital leaves out (UsePathway_Flag false) are left out of both sides.
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


TOLERATED = ("GM{code} tolerates up to {{share:g}} % of {of} (its min_percent), rounded down, so only the "
             "{what} beyond that number per provider {verb}. {why}")
COMMON_SINGLE = "Single-session endings occur in honest data too, so only the excess over the rule's share counts."
COMMON_WAIT = "Long gaps occur in honest data too, so only the excess over the rule's share counts."


def _access_figure(code: str, name: str, pattern: str, session: str) -> Figure:
    """GM01's or GM02's access figure: M031 less the excess of endings after ``session`` alone."""
    return Figure(code, f"{code}_AccessWithout{name}", ACCESS, f"Access without the excess of {pattern}",
                  "As M031 (first treatment in the period), leaving out the provider's excess of referrals whose only "
                  f"treatment session was {session} and which have ended, among its accessing referrals that have "
                  "ended. " + TOLERATED.format(code=code[2:], of="them", what="endings (by ServiceRequestId)",
                                               verb="are left out", why=COMMON_SINGLE), "lower")


FIGURES: tuple[Figure, ...] = (
    _access_figure("GM01", "AssessAndTreatEndings", "single assess-and-treat endings",
                   "one AppType 03 assessment-and-treatment contact"),
    _access_figure("GM02", "SingleSessionLargeGroups", "single-session large groups",
                   "one group session of more than {large} participants"),
    *(_wait_figures("GM03", "SecondTreatment", "second treatment for the provider's excess of hidden waits")),
    *(_wait_figures("GM04", "FirstIndividualSession",
                    "first individual session after a group for the provider's excess of hidden waits")),
    *(_wait_figures("GM05", "FirstHighIntensitySession",
                    "first high-intensity session after low intensity for the provider's excess of hidden waits")),
    Figure("GM06", "GM06_RecoveryWithoutHeapExcess", RECOVERY,
           "Recovery without the excess of last scores one under the cut-off",
           "As M192 (recovered over finished courses at caseness), less the provider's excess of recoveries whose "
           "last score is at the heap value one point under the caseness cut-off (PHQ-9 {phq}, GAD-7 {gad}; each ADSM's "
           "cut-off minus one). Per provider, for PHQ-9 and the ADSM apart, among finished courses at "
           "caseness: excess = count at the heap value minus the mean of the counts one above and one below "
           "(GM06's locally linear null), at least 0; removed = floor(excess × recoveries at the heap value / "
           "count at the heap value); at most the recoveries at either heap value are removed. Last scores one "
           "under the line are common in honest data, so only the excess over the smooth distribution counts. "
           "(GM06's min_percent is for its part (a), discharge at the first contact below caseness, a share of "
           "recoveries, not of heaped scores, so this figure keeps the heap's own null.)",
           "lower"),
)
FIGURE_BY_NAME = {f.name: f for f in FIGURES}
WAIT_TEXT = {
    "GM03": "for the provider's excess of hidden waits the wait is timed from referral to the second treatment. "
            "A course's wait is hidden when its first-to-second treatment gap exceeded {over:g} days. "
            + TOLERATED.format(code="03", of="the finished courses", what="hidden courses, longest gaps first,",
                               verb="are re-timed",
                               why="Long gaps are common in honest data (over 90 days in 23.7 % of finished "
                                   "courses in England in 2024-25), so only the excess over the rule's share "
                                   "counts."),
    "GM04": "for the provider's excess of hidden waits the wait is timed from referral to the first individual "
            "treatment contact. Among the finished courses whose first treatment was a group session and that had "
            "an individual treatment contact, the wait is hidden when the individual contact came more than "
            "{over:g} days after the group session (GM04's pattern). "
            + TOLERATED.format(code="04", of="those courses", what="hidden courses, longest gaps first,",
                               verb="are re-timed", why=COMMON_WAIT),
    "GM05": "for the provider's excess of hidden waits the wait is timed from the first referral to the first "
            "high-intensity session. Among the finished courses stepped up to high intensity after low-intensity "
            "treatment, in the referral or an earlier one of the same patient for an N1 re-referral, the wait is "
            "hidden when the high-intensity session came more than {over:g} days after the last low-intensity "
            "treatment (GM05's pattern). "
            + TOLERATED.format(code="05", of="those courses", what="hidden courses, longest gaps first,",
                               verb="are re-timed", why=COMMON_WAIT),
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
    timings = {"GM03": lambda: _to_second_treatment(r), "GM04": lambda: _to_first_individual(pathways, first),
               "GM05": lambda: _to_high_intensity(r)}
    waits: dict[str, pd.Series] = {}
    frames, described = [], []
    for figure in chosen:
        limit = limits[figure.code]
        if figure.official == ACCESS:
            numerator = official["accessing"] & ~_single_session_excess(r, official["accessing"], first, figure.code,
                                                                        limit)
            denominator = None
            text = figure.definition.format(large=limit.get("large_group_participants", 0),
                                            share=limit["min_percent"])
        elif figure.official == RECOVERY:
            numerator = official["recovery"] & ~_recovery_heap_excess(r, period, official["recovery"], used, scales,
                                                                      rules["GM06"][0])
            denominator = official["caseness_finished"]
            heap_value = rule_function(rules["GM06"][0], "heap_value")
            text = figure.definition.format(**{key: _number_text(heap_value(scales.get(tool)))
                                               for key, tool in (("phq", "PHQ9"), ("gad", "GAD7"))})
        else:
            if figure.code not in waits:  # the 6- and 18-week figures share one wait
                waits[figure.code] = _retimed_wait(r, official["finished"], timings[figure.code](), limit)
            band = SIX_WEEKS if figure.official == WAIT_6 else EIGHTEEN_WEEKS
            numerator = official["finished"] & (waits[figure.code] <= band)
            denominator = official["finished"]
            text = figure.definition.format(wait=WAIT_TEXT[figure.code].format(
                over=limit["over_days"], share=limit["min_percent"]))
        described.append(Figure(figure.code, figure.name, figure.official, figure.label, text, figure.expected))
        frames.append(_summed(figure, r["OrgIDProv"], official, numerator & used, denominator))
    return AdjustedHeadlines(pd.concat(frames, ignore_index=True)[COLUMNS], described)


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


def _tolerated(r: pd.DataFrame, population, min_percent: float) -> pd.Series:
    """Per provider (OrgIDProv index): how many referrals of ``population`` a rule's ``min_percent``
    tolerates, floor(min_percent / 100 × count), the rule's own absolute test turned into a count."""
    counts = pd.Series(np.asarray(population, dtype=bool)).groupby(r["OrgIDProv"].to_numpy()).sum()
    return np.floor(min_percent * counts / 100.0)


def _excess(r: pd.DataFrame, pattern, tolerated: pd.Series, longest=None) -> np.ndarray:
    """The referrals of ``pattern`` (a mask aligned to ``r``) beyond each provider's ``tolerated``
    number of them (per OrgIDProv; absent = 0): per provider, the first max(0, count − tolerated)
    in a stated order, ``longest`` descending where given (the rule's evidence order: longest gap
    first), then ServiceRequestId; never row order. The one definition of "only the excess"
    every figure uses (module docstring)."""
    pattern = np.asarray(pattern, dtype=bool)
    at = np.flatnonzero(pattern)
    candidates = pd.DataFrame({"OrgIDProv": r["OrgIDProv"].to_numpy(dtype=object)[at],
                               "order": 0.0 if longest is None else -np.asarray(longest, dtype="float64")[at],
                               "ServiceRequestId": r["ServiceRequestId"].to_numpy()[at].astype(str), "at": at})
    candidates = candidates.sort_values(["OrgIDProv", "order", "ServiceRequestId"], kind="stable")
    by_org = candidates.groupby("OrgIDProv", sort=False)["at"]
    rank = by_org.cumcount().to_numpy()
    excess = by_org.transform("size").to_numpy() - tolerated.reindex(candidates["OrgIDProv"]).fillna(0).to_numpy()
    out = np.zeros(len(r), dtype=bool)
    out[candidates["at"].to_numpy()[rank < excess]] = True
    return out


def _single_session_excess(r: pd.DataFrame, accessing, first: pd.DataFrame, code: str, limits: dict) -> np.ndarray:
    """GM01 / GM02: the referrals to leave out of access (M031's ``accessing``).

    Population (the rule's cohort, ended treated referrals, within the figure's): accessing
    referrals that have ended (ServDischDate recorded). Pattern: those whose only treatment
    session was one AppType 03 contact (GM01) or one group session of more than
    ``large_group_participants`` (GM02). Left out: the pattern beyond floor(min_percent / 100 ×
    population) per provider, by ServiceRequestId (which of them does not change the count)."""
    ended = np.asarray(accessing, dtype=bool) & r["ServDischDate"].notna().to_numpy()
    once = ended & (r["TreatmentCareContact_Count"] == 1).fillna(False).to_numpy()
    if code == "GM01":
        shape = first["AppType"] == codes.ASSESS_AND_TREAT
    else:
        large = pd.to_numeric(first["NumGroupTherParticipants"], errors="coerce") > limits["large_group_participants"]
        shape = (first["CareContPatientTherMode"] == codes.GROUP_MODE) & large
    pattern = once & shape.fillna(False).to_numpy(dtype=bool)
    return _excess(r, pattern, _tolerated(r, ended, limits["min_percent"]))


def _retimed_wait(r: pd.DataFrame, cohort, timing: pd.DataFrame, limits: dict) -> pd.Series:
    """GM03–GM05: the wait to the first treatment, re-timed to the later session for each
    provider's excess of hidden waits.

    ``timing`` (aligned to ``r``): ``population`` (the rule's cohort: a later session to time to),
    ``gap`` (days, the rule's own gap) and ``later`` (days from referral to the later session).
    Among ``cohort`` (finished courses) in the population, hidden = gap over ``over_days``; the
    hidden courses beyond floor(min_percent / 100 × population), longest gaps first, are
    re-timed; every other course keeps its official wait."""
    population = np.asarray(cohort, dtype=bool) & timing["population"].to_numpy(dtype=bool)
    hidden = population & (timing["gap"] > limits["over_days"]).fillna(False).to_numpy(dtype=bool)
    retimed = _excess(r, hidden, _tolerated(r, population, limits["min_percent"]), timing["gap"].to_numpy())
    return r["Wait_ReferralToFirstTreatment"].where(~retimed, timing["later"])


def _timing(r: pd.DataFrame, population, gap: pd.Series, later_date: pd.Series,
            start: pd.Series | None = None) -> pd.DataFrame:
    """``_retimed_wait``'s ``timing``: the wait to ``later_date`` counted from ``start`` (default
    the referral's received date)."""
    start = r["ReferralRequestReceivedDate"] if start is None else start
    return pd.DataFrame({"population": np.asarray(population, dtype=bool), "gap": gap.to_numpy(),
                         "later": days(later_date - start).to_numpy()}, index=r.index)


def _to_second_treatment(r: pd.DataFrame) -> pd.DataFrame:
    """GM03: every course with a second treatment; gap first to second treatment."""
    second = r["TherapySession_SecondDate"]
    return _timing(r, second.notna(), r["Wait_FirstToSecondTreatment"], second)


def _to_first_individual(pathways, first: pd.DataFrame) -> pd.DataFrame:
    """GM04: courses whose first treatment was a group session and that had an individual
    treatment contact (mode 1); gap from the first (group) treatment to the first individual one."""
    r, contacts = pathways.referrals, pathways.contacts
    individual = contacts["treatment"].to_numpy() & (contacts["CareContPatientTherMode"] == codes.INDIVIDUAL_MODE
                                                     ).fillna(False).to_numpy()
    first_individual = pd.Series(contacts["CareContDate"].to_numpy()[individual]).groupby(
        contacts["ref"].to_numpy()[individual]).min().reindex(r.index)
    group_start = (first["CareContPatientTherMode"] == codes.GROUP_MODE).fillna(False)
    return _timing(r, group_start & first_individual.notna(), days(first_individual - first["CareContDate"]),
                   first_individual)


def _to_high_intensity(r: pd.DataFrame) -> pd.DataFrame:
    """GM05: courses stepped up to high intensity after low-intensity treatment, in the referral
    (gap from LowIntensityTherapy_LastDate before the HI start) or, for an N1 re-referral, in the
    same patient's latest earlier referral at the provider (timed from that referral's received
    date)."""
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
    return _timing(r, gap.notna(), gap, high, start)


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


def rule_function(rule: type, name: str):
    """A function of a rule's own module (``rules/`` files are loaded by path, not imported as a
    package, so the loaded rule class is the way in): one definition of the rule's arithmetic."""
    return rule.measure.__globals__[name]


def _recovery_heap_excess(r: pd.DataFrame, period, recovered, used, scales, rule: type) -> np.ndarray:
    """GM06: the recoveries to take off M192's numerator (module docstring): per provider,
    ``removed`` of the recoveries at either heap value (``_excess``, by ServiceRequestId).

    GM06's ``_heaping`` counts last scores at h − 1, h, h + 1 (``heap_value``) per provider and
    measure; run once over finished courses at caseness (the rule's population) and once over the
    recovered courses (recovered_at_h). Integer arithmetic: 2 × excess = max(0, 2c_h − c_h−1 −
    c_h+1), so removed = (2 × excess × recovered_at_h) // (2c_h)."""
    heaping, heap_value = rule_function(rule, "_heaping"), rule_function(rule, "heap_value")
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
    at_either = either.groupby(r["OrgIDProv"].to_numpy()).sum()
    removed = np.minimum(removed.reindex(at_either.index, fill_value=0), at_either)
    return _excess(r, either, at_either - removed)


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
