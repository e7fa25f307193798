"""The clinician view: where in a team a pattern comes from, for use inside the service only.

Clinicians are the ``CarePersLocalId`` on care activities (IDS202) and on internet-enabled therapy
logs (IDS205): the provider's own local pseudonyms. They appear only in the self-check report and
findings.json, never in a commissioner or regulator output.

Attribution (the clinician of the contact or session that makes the case):

* a care contact's clinician is the ``CarePersLocalId`` of its care activities; where one contact's
  activities name several, the lowest identifier is taken (a rule, not row order);
* an IET log is a session of its own ``CarePersLocalId``, counted as ``pathway`` counts logs
  (DurationIntEnabledTher > 0, EndDateIntEnabledTherLog in the referral's window);
* **caseload**: referrals with a treatment session (contact or log) of the clinician in the period;
* **finished courses, recovery, reliable improvement, mean sessions** (as ``kpis``: [MM20] M076,
  M192, M186, M141) and the gaming indicators **GM06** and **GM08**: the clinician of the course's
  last treatment session (the clinician who ended it; a log dated after the last contact wins);
* **GM01, GM02, GM07** (single-session endings): the clinician of the first treatment contact,
  the one session the case consists of;
* GM03–GM05 (waits) are the service's queue, not a clinician's practice, so they are not
  attributed.

Each measure is compared across a provider's clinicians on a funnel (``stats.funnel.Funnel``,
clinicians as the units, FunnelPlotR's additive method, 99.8 % limits; each clinician judged
against the funnel of the others, ``_judged`` says why) with the direction and verdict words of
``stats.direction``; a gaming indicator flags only high values, as for providers.

GM06 is judged as the rule judges a provider: worse than expected when part (a) (discharge at the
first contact below caseness, a share of recoveries) is high on the team's funnel, or when part
(b), the heap test of last PHQ-9 / ADSM scores one point under the cut-off, fires on the
clinician's own finished courses at caseness (each the clinician's of its last treatment
session). Part (b) uses the rule's own functions and thresholds (``_heap_hits``) and needs no
team: a heap is judged against the smooth distribution the rule expects, not against colleagues.
A provider with fewer than ``MIN_CLINICIANS`` clinicians with cases gets no funnel for a measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iapt_audit.adjusted import rule_function
from iapt_audit.kpis import referral_masks
from iapt_audit.model.thresholds import SCALES
from iapt_audit.pathway import CONTACT_KEY, IET_TABLE, iet_sessions, key_positions
from iapt_audit.outliers import FLAG_LEVEL
from iapt_audit.rules_engine.facts import finished
from iapt_audit.stats.direction import WORSE, direction_of, verdict
from iapt_audit.stats.funnel import TRIM, Z_LEVEL

MIN_CLINICIANS = 5
FIRST_CONTACT_RULES = ("GM01", "GM02", "GM07")
LAST_SESSION_RULES = ("GM06", "GM08")
INTERNAL_ONLY = ("Clinicians are the service's own local pseudonyms (CarePersLocalId). This view is for use "
                 "inside the service: it never appears in commissioner or regulator outputs.")
CONSTRUCTION = ("each clinician against the funnel of the provider's other clinicians (leave-one-out), "
                "FunnelPlotR's additive method, 99.8% limits at the clinician's own denominator")
#: the clinician measures that are rates: name -> (numerator column, denominator column)
RATES = {"Percentage_Recovery": ("recovery", "caseness_finished"),
         "Percentage_ReliableImprovement": ("reliable_improvement", "finished")}


@dataclass
class ClinicianSessions:
    """Who delivered each session: ``contact`` aligned to ``Pathways.contacts`` (a position in
    ``names``, -1 where no activity names a clinician) and ``iet`` (ref, date, clinician) for IET logs."""

    names: np.ndarray
    contact: np.ndarray
    iet: pd.DataFrame

    @classmethod
    def none(cls) -> "ClinicianSessions":
        return cls(np.array([], dtype=object), np.zeros(0, np.int64),
                   pd.DataFrame({"ref": [], "date": [], "clinician": []}))


def clinician_sessions(extract, pathways) -> ClinicianSessions:
    """Read each session's clinician from the extract (IDS202, IDS205) for ``pathways``' contacts."""
    activities = extract["IDS202CareActivity"]
    logs = extract.tables.get(IET_TABLE)
    texts = [activities["CarePersLocalId"] if "CarePersLocalId" in activities else pd.Series([], dtype=object)]
    if logs is not None and "CarePersLocalId" in logs:
        texts.append(logs["CarePersLocalId"])
    names = np.unique(pd.concat([t.dropna().astype(str).str.strip() for t in texts]).to_numpy(dtype=object))
    names = names[names != ""]
    contact = np.full(len(pathways.contacts), -1, np.int64)
    if len(names) and "CarePersLocalId" in activities:
        position = key_positions(activities, pathways.contacts, CONTACT_KEY)
        code = _codes(activities["CarePersLocalId"], names)
        keep = (position >= 0) & (code >= 0)
        position, code = position[keep], code[keep]
        order = np.lexsort((code, position))  # per contact the lowest identifier first
        position, code = position[order], code[order]
        first = np.r_[True, position[1:] != position[:-1]] if len(position) else np.zeros(0, bool)
        contact[position[first]] = code[first]
    return ClinicianSessions(names, contact, _iet(logs, pathways.referrals, names))


def _codes(values: pd.Series, names: np.ndarray) -> np.ndarray:
    """Each value's position in ``names`` (sorted, distinct), -1 where blank or absent."""
    text = values.astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    return pd.Index(names).get_indexer(text).astype(np.int64)


def _iet(logs, referrals: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    """The IET logs ``pathway`` counts as sessions (``pathway.iet_sessions``), with their clinician."""
    if logs is None or len(logs) == 0 or "CarePersLocalId" not in logs:
        return ClinicianSessions.none().iet
    sessions = iet_sessions(logs, referrals)
    return sessions[["ref", "date"]].assign(clinician=_codes(logs["CarePersLocalId"], names)[sessions["row"].to_numpy()])


@dataclass
class ClinicianView:
    """``clinicians``: one row per provider and clinician (OrgIDProv, clinician, caseload, finished,
    caseness_finished, recovery, reliable_improvement, sessions). ``indicators``: one row per
    provider, clinician and measure (numerator, denominator, value in percent, flag, verdict).
    ``funnels``: one summary per provider and measure judged (provider, measure, clinicians, the
    team's pooled target, construction)."""

    clinicians: pd.DataFrame = field(default_factory=pd.DataFrame)
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    funnels: list = field(default_factory=list)

    @classmethod
    def joined(cls, parts: list["ClinicianView"]) -> "ClinicianView":
        """Providers' views computed apart (Spark): every comparison is within one provider, so
        joining is concatenating, in provider order."""
        parts = [p for p in parts if p.ran]
        if not parts:
            return cls()
        frames = [pd.concat([getattr(p, name) for p in parts], ignore_index=True) for name in ("clinicians", "indicators")]
        clinicians, indicators = (f.sort_values(["OrgIDProv", "clinician"], kind="stable", ignore_index=True)
                                  for f in frames)
        return cls(clinicians, indicators, sorted((f for p in parts for f in p.funnels),
                                                  key=lambda f: (f["provider"], f["measure"])))

    @property
    def ran(self) -> bool:
        return not self.clinicians.empty

    def flagged(self) -> pd.DataFrame:
        """The clinicians whose verdict on some measure is worse than expected."""
        if self.indicators.empty:
            return self.indicators
        return self.indicators[self.indicators["verdict"] == WORSE]

    def as_json(self) -> dict:
        """findings.json ``clinicians`` (service-internal: clinician pseudonyms appear here)."""
        if not self.ran:
            return {"ran": False, "note": "No care activity names a clinician (CarePersLocalId)."}
        out = {"ran": True, "note": INTERNAL_ONLY, "providers": {}}
        for (org, clinician), row in self.clinicians.set_index(["OrgIDProv", "clinician"]).iterrows():
            out["providers"].setdefault(str(org), {})[str(clinician)] = {
                k: _plain(v) for k, v in row.items()} | {"indicators": {}}
        for row in self.indicators.itertuples(index=False):
            entry = {"numerator": int(row.numerator), "denominator": int(row.denominator), "value": _plain(row.value),
                     "flag": _text(row.flag), "verdict": _text(row.verdict)}
            if row.measure == "GM06":
                entry["heap"] = _text(row.heap)  # part (b), the heap test, fired: its reason
            out["providers"][str(row.OrgIDProv)][str(row.clinician)]["indicators"][row.measure] = entry
        return out


def clinician_view(pathways, period, sessions: ClinicianSessions, rules: dict, scales=None) -> ClinicianView:
    """Per clinician within each provider: caseload, outcomes and attributable gaming indicators,
    each compared on the provider's funnel of clinicians (see the module docstring). ``rules``:
    ``adjusted.rules_in_force`` (code -> rule class and thresholds in force)."""
    if sessions is None or len(sessions.names) == 0 or len(sessions.contact) != len(pathways.contacts):
        return ClinicianView()
    r = pathways.referrals
    first, last = _first_and_last(pathways, sessions)
    masks = referral_masks(r, period)
    names = sessions.names
    org = r["OrgIDProv"].to_numpy(dtype=object)
    outcome = pd.DataFrame({"OrgIDProv": org, "clinician": _named(last, names),
                            **{c: masks[c].to_numpy() for c in ("finished", "caseness_finished", "recovery",
                                                                "reliable_improvement")},
                            "sessions": masks["finished_appts"].to_numpy()})
    outcome = outcome[outcome["clinician"].notna()]
    table = outcome.groupby(["OrgIDProv", "clinician"], sort=True).sum().astype("int64")
    table = table.join(_caseload(pathways, sessions, period), how="outer").fillna(0).astype("int64").reset_index()
    rows = [_rate_rows(table, name, numerator, denominator) for name, (numerator, denominator) in RATES.items()]
    for code in (*FIRST_CONTACT_RULES, *LAST_SESSION_RULES):
        if code not in rules:
            continue
        rule, limits = rules[code]
        cases = rule().measure(pathways, period, limits, scales or SCALES).cases
        owner = (first if code in FIRST_CONTACT_RULES else last)[cases.index.to_numpy()]
        frame = pd.DataFrame({"OrgIDProv": cases["OrgIDProv"].to_numpy(dtype=object),
                              "clinician": _named(owner, names), "counted": cases["counted"].to_numpy(dtype=bool)})
        frame = frame[frame["clinician"].notna()]
        summed = frame.groupby(["OrgIDProv", "clinician"], sort=True)["counted"].agg(["sum", "size"])
        rows.append(pd.DataFrame({"OrgIDProv": summed.index.get_level_values(0), "clinician": summed.index.get_level_values(1),
                                  "measure": code, "numerator": summed["sum"].to_numpy(),
                                  "denominator": summed["size"].to_numpy()}))
    indicators, funnels = _judged(pd.concat(rows, ignore_index=True))
    if "GM06" in rules:
        indicators = _with_heap(indicators, _heap_hits(r, period, last, names, *rules["GM06"], scales or SCALES))
    return ClinicianView(table, indicators, funnels)


def _heap_hits(r: pd.DataFrame, period, last: np.ndarray, names: np.ndarray, rule: type, limits: dict,
               scales) -> pd.DataFrame:
    """GM06 part (b) per clinician: the clinicians whose finished courses at caseness (the rule's
    population, each the clinician's of its last treatment session) heap their last PHQ-9 or ADSM
    score one point under the cut-off, by the rule's own counts and test (``_heaping``: the
    one-sided binomial test of the count at the heap value among the three-point window against
    1/3) and its thresholds (``heap_min_cases`` scores in the window, p below ``heap_p_value``
    shared over the measures, count over its neighbours' mean at least ``heap_min_ratio``).
    Rows: OrgIDProv, clinician, heap (the reason, as the rule words it).

    Why a unit key: ``_heaping`` counts per OrgIDProv, so each (provider, clinician) is given one
    integer in that column; only clinicians with at least ``heap_min_cases`` such courses are
    counted (fewer cannot fill the window), which keeps the per-unit binomial tests few."""
    heaping, measures = rule_function(rule, "_heaping"), rule_function(rule, "HEAP_MEASURES")
    org_code, orgs = pd.factorize(r["OrgIDProv"].to_numpy(dtype=object))
    unit = org_code.astype(np.int64) * (len(names) + 1) + last + 1
    population = (finished(r, period) & r["Caseness_Flag"]).to_numpy(dtype=bool) & (last >= 0) & (org_code >= 0)
    courses = pd.Series(unit[population]).value_counts()
    population &= np.isin(unit, courses.index[courses >= limits["heap_min_cases"]].to_numpy())
    empty = pd.DataFrame({"OrgIDProv": [], "clinician": [], "heap": []})
    if not population.any():
        return empty
    frame = r[["PHQ9_LastScore", "ADSM", "ADSM_LastScore"]].assign(OrgIDProv=unit)
    counts = heaping(frame, pd.Series(population, index=r.index), scales)
    alpha = limits["heap_p_value"] / len(measures)
    reasons = []
    for measure in measures:
        n, k = counts[f"{measure}_window"], counts[f"{measure}_at_heap"]
        ratio, p = counts[f"{measure}_ratio"], counts[f"{measure}_p_value"]
        hit = (n >= limits["heap_min_cases"]) & (p < alpha) & (ratio >= limits["heap_min_ratio"])
        reasons.append(pd.Series([f"last {measure} at the cut-off minus one in {a:g} of {b:g} scores in the "
                                  f"three-point window (ratio to neighbours' mean {c:.2f}; one-sided binomial test "
                                  f"against 1/3, p = {d:.2g}, below {alpha:g})"  # per flagged clinician only
                                  for a, b, c, d in zip(k[hit], n[hit], ratio[hit], p[hit])], index=k.index[hit],
                                 dtype=object))
    fired = pd.concat(reasons).groupby(level=0).agg("; ".join)
    if fired.empty:
        return empty
    units = fired.index.to_numpy(dtype=np.int64)
    return pd.DataFrame({"OrgIDProv": orgs[units // (len(names) + 1)], "clinician": names[units % (len(names) + 1) - 1],
                         "heap": "heaping: " + fired.to_numpy(dtype=object)})


def _with_heap(indicators: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """GM06 as the rule decides it for providers: a clinician is worse than expected when part (a)
    is high on the team's funnel or part (b)'s heap test fires (``heap`` says which)."""
    gm06 = (indicators["measure"] == "GM06").to_numpy()
    key = pd.MultiIndex.from_frame(indicators[["OrgIDProv", "clinician"]])
    heap = pd.Series(hits["heap"].to_numpy(dtype=object), index=pd.MultiIndex.from_frame(
        hits[["OrgIDProv", "clinician"]])).reindex(key).to_numpy(dtype=object)
    heap = np.where(gm06, heap, None)
    fired = np.array([isinstance(h, str) for h in heap], dtype=bool)
    return indicators.assign(heap=heap, verdict=np.where(fired, WORSE, indicators["verdict"].to_numpy(dtype=object)))


def _first_and_last(pathways, sessions: ClinicianSessions) -> tuple[np.ndarray, np.ndarray]:
    """Per referral: the clinician of the first treatment contact and of the last treatment session."""
    n = len(pathways.referrals)
    contacts = pathways.contacts
    treatment = contacts["treatment"].to_numpy()
    ref = contacts["ref"].to_numpy()[treatment]
    who = sessions.contact[treatment]
    date = contacts["CareContDate"].to_numpy()[treatment]
    first = np.full(n, -1, np.int64)
    number = contacts["treatment_number"].to_numpy()[treatment]
    first[ref[number == 1]] = who[number == 1]
    # contacts are in (ref, date, time, id) order: the last row of each referral is its last contact
    last, last_date = np.full(n, -1, np.int64), np.full(n, np.datetime64("NaT"), "datetime64[ns]")
    ends = np.r_[ref[1:] != ref[:-1], True] if len(ref) else np.zeros(0, bool)
    last[ref[ends]], last_date[ref[ends]] = who[ends], date[ends]
    iet = sessions.iet.sort_values(["ref", "date"], kind="stable")
    if len(iet):
        iet_ref = iet["ref"].to_numpy()
        ends = np.r_[iet_ref[1:] != iet_ref[:-1], True]
        later = np.isnat(last_date[iet_ref[ends]]) | (iet["date"].to_numpy()[ends] > last_date[iet_ref[ends]])
        last[iet_ref[ends][later]] = iet["clinician"].to_numpy()[ends][later]
    return first, last


def _caseload(pathways, sessions: ClinicianSessions, period) -> pd.Series:
    """Distinct referrals per provider and clinician with a treatment session in the period."""
    contacts = pathways.contacts
    seen = contacts["treatment"].to_numpy() & period.contains(contacts["CareContDate"]).to_numpy()
    ref = np.concatenate([contacts["ref"].to_numpy()[seen], sessions.iet["ref"].to_numpy(dtype=np.int64)[
        period.contains(sessions.iet["date"]).to_numpy()] if len(sessions.iet) else np.zeros(0, np.int64)])
    who = np.concatenate([sessions.contact[seen], sessions.iet["clinician"].to_numpy(dtype=np.int64)[
        period.contains(sessions.iet["date"]).to_numpy()] if len(sessions.iet) else np.zeros(0, np.int64)])
    pairs = pd.DataFrame({"ref": ref, "who": who})
    pairs = pairs[pairs["who"] >= 0].drop_duplicates()
    frame = pd.DataFrame({"OrgIDProv": pathways.referrals["OrgIDProv"].to_numpy(dtype=object)[pairs["ref"].to_numpy()],
                          "clinician": sessions.names[pairs["who"].to_numpy()]})
    return frame.groupby(["OrgIDProv", "clinician"], sort=True).size().rename("caseload")


def _named(codes: np.ndarray, names: np.ndarray) -> np.ndarray:
    return np.where(codes >= 0, names[np.maximum(codes, 0)] if len(names) else None, None)


def _rate_rows(table: pd.DataFrame, name: str, numerator: str, denominator: str) -> pd.DataFrame:
    return pd.DataFrame({"OrgIDProv": table["OrgIDProv"], "clinician": table["clinician"], "measure": name,
                         "numerator": table[numerator], "denominator": table[denominator]})


def _judged(rows: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Each clinician against the funnel of the provider's other clinicians; flag and verdict.

    Why leave-one-out and not one funnel of all the team: with a handful of units, the
    over-dispersion FunnelPlotR estimates (φ, τ²) is dominated by the one clinician being looked
    for, and the pooled target is pulled towards them, so one funnel of six hides a clinician
    holding half the team's cases. Judged against the rest of the team (fitted with the same
    additive method, 99.8 % limits, at the clinician's own denominator), the clinician stands out,
    and an ordinary clinician, judged against a rest that includes an outlier, is not flagged."""
    rows = rows[rows["denominator"] > 0].reset_index(drop=True)
    rows["value"] = 100.0 * rows["numerator"] / rows["denominator"]
    flags = np.full(len(rows), None, dtype=object)
    funnels = []
    for (org, measure), group in rows.groupby(["OrgIDProv", "measure"], sort=True):  # providers × measures
        if len(group) < MIN_CLINICIANS:
            continue
        numerator, denominator = group["numerator"].to_numpy(float), group["denominator"].to_numpy(float)
        lower, upper = leave_one_out_limits(numerator, denominator)
        value = numerator / denominator
        low = (value < lower) & (not measure.startswith("GM"))  # a gaming indicator flags only high values
        flags[group.index.to_numpy()] = np.where(value > upper, "high", np.where(low, "low", None))
        funnels.append({"provider": org, "measure": measure, "units": "clinicians", "n_clinicians": len(group),
                        "level": FLAG_LEVEL, "direction": direction_of(measure), "construction": CONSTRUCTION,
                        "target": float(numerator.sum() / denominator.sum())})
    rows["flag"] = flags
    rows["verdict"] = [verdict(flag, direction_of(measure)) if judged else None
                       for flag, measure, judged in zip(flags, rows["measure"], _judged_mask(rows))]
    return rows, funnels


def leave_one_out_limits(numerator: np.ndarray, denominator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each unit i: the 99.8 % limits at its own denominator of the funnel fitted to the other
    units, as ``stats.funnel.Funnel(others, method="additive").limits`` gives them (FunnelPlotR's
    arcsine, 10 % winsorised z, φ and additive τ², used only when φ > 1), all units at once.

    Why not a ``Funnel`` per unit: a national extract has some twenty thousand teams × measures ×
    clinicians, and each ``Funnel`` costs a millisecond of pandas; here the k × (k − 1) matrix of
    "the others" of one team is one numpy computation (``tests/clinician`` checks it against
    ``Funnel`` itself)."""
    k = len(numerator)
    others = np.array([np.delete(np.arange(k), i) for i in range(k)])  # k × (k − 1) positions
    o, n = numerator[others], denominator[others]
    theta = np.arcsin(np.sqrt(o.sum(axis=1) / n.sum(axis=1)))[:, None]
    z = (np.arcsin(np.sqrt(o / n)) - theta) * 2 * np.sqrt(n)
    low, high = np.quantile(z, [TRIM, 1 - TRIM], axis=1)
    phi = (np.clip(z, low[:, None], high[:, None]) ** 2).mean(axis=1)
    units = k - 1
    w = 4 * n
    spread = w.sum(axis=1) - (w ** 2).sum(axis=1) / w.sum(axis=1)
    tau2 = np.where((phi > 1) & (units * phi >= units - 1), np.maximum(0.0, (units * phi - (units - 1)) / spread), 0.0)
    width = Z_LEVEL[FLAG_LEVEL] * np.sqrt(1 / (4 * denominator) + tau2)
    theta = theta[:, 0]
    return (np.sin(np.clip(theta - width, 0, np.pi / 2)) ** 2, np.sin(np.clip(theta + width, 0, np.pi / 2)) ** 2)


def _judged_mask(rows: pd.DataFrame) -> np.ndarray:
    """Rows whose provider had enough clinicians for the measure to be judged."""
    size = rows.groupby(["OrgIDProv", "measure"])["clinician"].transform("size")
    return (size >= MIN_CLINICIANS).to_numpy()


def _text(value):
    """A flag or verdict, None where there is none (pandas may hold that as NaN)."""
    return value if isinstance(value, str) else None


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value
