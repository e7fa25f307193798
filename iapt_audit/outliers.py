"""Provider comparison: funnel-plot outliers for any rate, and the analysis of published data.

Two entry points:

- ``compare_providers`` compares one rate across providers with a funnel
  (``stats.funnel.Funnel``) and returns the ``findings.json`` outlier entry. The audit uses it
  for every KPI rate and gaming indicator; it works on any ``provider, numerator, denominator``
  frame.
- ``analyse_published`` reads NHS Digital's published files (``io.published``), draws a funnel
  per measure and year or month, runs XmR SPC on each provider's monthly series, and looks for
  the hidden-waits signature. The ``outliers`` command writes its result as ``outliers.json``.

The rare-pattern regime. A gaming indicator is often 0 % at most providers and high at a few.
Fed by a cluster of zeros, the winsorised z-scores are large (every zero sits far below the
pooled rate that the few high providers pull up), φ is inflated, τ² widens the funnel and
nothing is flagged: the adjustment hides the very pattern the indicator looks for. So when the
requested method adjusts for over-dispersion, φ > 1, and at least ``rare_zero_share`` of the
providers (default half) have a zero numerator, the entry falls back to **unadjusted** limits
(τ² = 0, FunnelPlotR's own "unadjusted" funnel) and says so in ``fallback`` with the test that
fired, the zero share and the φ set aside. Unadjusted limits are the conservative choice a
reader can check by hand; limits re-estimated from "peers" would need a choice of peers the data
cannot justify. In that regime large providers at zero may be flagged "low": for a gaming
indicator only the "high" flags matter.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from iapt_audit.errors import InputError
from iapt_audit.io.published import ENGLAND, MEASURES, measure_named, read_published
from iapt_audit.kpis import ALL_PROVIDERS, STANDARDS, compute_kpis
from iapt_audit.kpis import MEASURES as KPI_MEASURES
from iapt_audit.model.thresholds import SCALES
from iapt_audit.period import Period
from iapt_audit.rules_engine.facts import cut_facts
from iapt_audit.stats.direction import direction_of, verdict
from iapt_audit.stats.funnel import Funnel
from iapt_audit.stats.spc import xmr

FLAG_LEVEL = 99.8
UNASSIGNED = "UNKNOWN"
RARE_ZERO_SHARE = 0.5
ROUNDING_NOTE = (
    "Sub-national counts in NHS Digital's files are rounded to the nearest 5 and small counts are "
    "suppressed ('*', read as missing, never zero). Rates recomputed here from rounded counts differ "
    "from the published provider rates (computed from unrounded counts) by a median of about 0.26 "
    "points (95th percentile 1.0, maximum 10); treat flags near a limit with that tolerance. "
    "England's counts are not rounded.")
SPC_NOTE = (
    "XmR limits on monthly rates assume comparable monthly denominators; where a provider's monthly "
    "volume varies a lot, read the funnel for that month instead.")


def compare_providers(measure: str, frame: pd.DataFrame, *, target: float | str | None = None,
                      min_providers: int = 8, method: str = "additive",
                      rare_zero_share: float | None = RARE_ZERO_SHARE, flag_low: bool = True,
                      fit_on=None, direction: str | None = None, construction: str | None = None) -> dict | None:
    """Funnel comparison of one rate across providers, as a ``findings.json`` outlier entry.

    ``frame`` has columns ``provider, numerator, denominator`` and optionally ``name`` and
    ``published`` (carried into each provider's entry). Providers with a missing count, a zero
    denominator or a negative numerator are left out; a numerator above its denominator (possible only with rounded
    published counts) is left out and listed under ``excluded``. Returns None when fewer than
    ``min_providers`` providers remain. Values are proportions (0–1); flags use the 99.8 % limits
    at each provider's own denominator. ``flag_low=False`` is for indicators where only a high
    value is a concern (gaming indicators): a provider below the lower limit is not flagged.
    """
    missing = {"provider", "numerator", "denominator"} - set(frame.columns)
    if missing:
        raise ValueError(f"compare_providers needs columns {sorted(missing)}")
    rows = frame.dropna(subset=["numerator", "denominator"])
    rows = rows[(rows["denominator"] > 0) & (rows["numerator"] >= 0)]
    rows = rows.assign(provider=rows["provider"].astype(str)).set_index("provider")
    inconsistent = rows["numerator"] > rows["denominator"]
    excluded = sorted(rows.index[inconsistent])
    rows = rows[~inconsistent]
    if rows.index.duplicated().any():
        raise ValueError(f"provider {rows.index[rows.index.duplicated()][0]} appears twice for {measure}")
    if len(rows) < max(min_providers, 2):
        return None

    fitted_rows = rows if fit_on is None else rows[rows.index.isin([str(p) for p in fit_on])]
    if len(fitted_rows) < 2:
        return None
    if isinstance(target, str):
        target = float(np.median(fitted_rows["numerator"] / fitted_rows["denominator"]))

    def funnel(use_method):
        return Funnel(fitted_rows["numerator"], fitted_rows["denominator"], fitted_rows.index, method=use_method,
                      target=target)

    fitted, fallback = funnel(method), None
    zero_share = float((fitted_rows["numerator"] == 0).mean())
    if (rare_zero_share is not None and method != "unadjusted" and fitted.overdispersed
            and zero_share >= rare_zero_share):
        fallback = {"test": "rare_pattern", "zero_share": zero_share, "threshold": rare_zero_share,
                    "phi_set_aside": fitted.phi, "requested_method": method, "limits": "unadjusted",
                    "reason": "most providers are at zero, so phi measures the zeros, not heterogeneity; "
                              "unadjusted limits are used"}
        fitted = funnel("unadjusted")
    unadjusted = fitted if fitted.method == "unadjusted" else funnel("unadjusted")

    table = fitted.judge(rows["numerator"], rows["denominator"], FLAG_LEVEL)
    unadjusted_flags = unadjusted.judge(rows["numerator"], rows["denominator"], FLAG_LEVEL)["flag"]
    if not flag_low:
        table["flag"] = table["flag"].where(table["flag"] != "low", None)
        unadjusted_flags = unadjusted_flags.where(unadjusted_flags != "low", None)
    columns = {c: table[c].astype("float64").tolist() for c in ("value", "lower", "upper")}
    # z is undefined (0/0) only on the natural scale at a target of exactly 0 or 1
    columns["z"] = [z if math.isfinite(z) else None for z in table["z"].astype("float64").tolist()]
    columns["numerator"] = [_number(v) for v in table["numerator"].tolist()]
    columns["denominator"] = [_number(v) for v in table["denominator"].tolist()]
    columns["flag"] = table["flag"].tolist()
    for extra in ("name", "published"):
        if extra in rows:
            columns[extra] = [_plain(v) for v in rows[extra].astype(object).tolist()]
    direction = direction or direction_of(measure)
    columns["verdict"] = [verdict(flag, direction) for flag in columns["flag"]]
    providers = {code: {key: values[i] for key, values in columns.items()}
                 for i, code in enumerate(table.index.tolist())}
    return {
        "measure": measure, "method": fitted.method, "target": fitted.target, "phi": fitted.phi,
        "tau2": fitted.tau2, "adjusted": fitted.adjusted, "level": FLAG_LEVEL, "direction": direction,
        "construction": construction or _construction(fitted, len(fitted_rows), len(rows)),
        "n_providers": len(rows), "n_fitted": len(fitted_rows), "fallback": fallback, "excluded": excluded,
        "flag_counts": {"high": int((table["flag"] == "high").sum()), "low": int((table["flag"] == "low").sum()),
                        "unadjusted": int(unadjusted_flags.notna().sum())},
        "providers": providers,
        "chart": [{k: _number(v) if k == "N" else float(v) for k, v in point.items()}
                  for point in fitted.limits_table(_chart_grid(rows["denominator"])).to_dict("records")],
    }


def _chart_grid(denominators: pd.Series, points: int = 100) -> np.ndarray:
    """A log-spaced grid of N covering every judged provider's denominator."""
    low = max(1.0, float(denominators.min()) / 2)
    return np.unique(np.round(np.geomspace(low, float(denominators.max()) * 1.1, points)))


def _construction(fitted: Funnel, n_fitted: int, n_judged: int) -> str:
    """The funnel's construction in words, for the chart's caption and the workbook."""
    target = f"target {100 * fitted.target:.1f}%"
    limits = {"additive": "additive random-effects limits (FunnelPlotR)",
              "multiplicative": "multiplicative over-dispersion limits (Spiegelhalter)",
              "unadjusted": "unadjusted limits"}[fitted.method]
    if fitted.method != "unadjusted" and not fitted.adjusted:
        limits += ", no over-dispersion found"
    fitted_on = f"fitted to all {n_judged} providers" if n_fitted == n_judged else \
        f"fitted to {n_fitted} of the {n_judged} providers"
    return f"99.8% {limits}, {fitted_on}, {target}"


def analyse_published(paths, measures=None, period=None, org_type: str = "Provider", *,
                      method: str = "additive", min_providers: int = 8, run_length: int = 7, rebase=None) -> dict:
    """Funnels, SPC and the hidden-waits signature on NHS Digital's published files.

    ``measures``: names or M-codes (default all); ``period``: a year ("2019-20") or month
    ("2024-03") or a list of them whose funnels are drawn (default all in the files; SPC always
    charts every month given, since a series needs its history); ``org_type``: which
    organisations to compare (default providers; the annual files also have ICB, CCG, STP,
    regions); ``rebase``: months from which the SPC limits are recalculated.
    """
    data = read_published(paths, measures)
    names = list(dict.fromkeys(measure_named(m).name for m in measures)) if measures else list(MEASURES)
    national = data[data["org_type"] == ENGLAND]
    # the files' "UNKNOWN" commissioner (activity not assigned to one) is not an organisation to judge
    orgs = data[(data["org_type"].str.lower() == org_type.strip().lower())
                & (data["org_code"].str.upper() != UNASSIGNED)]
    if orgs.empty:
        available = ", ".join(sorted(set(data["org_type"]) - {ENGLAND}))
        raise InputError(f"no rows of organisation type {org_type!r} in the files",
                         fix=f"use one of: {available}")
    every_month = orgs[orgs["period_type"] == "month"]  # SPC reads the whole series, not --period
    orgs = _only_periods(orgs, period)

    funnels = []
    for (measure, when), group in orgs.groupby(["measure", "period"], sort=True):
        frame = group.rename(columns={"org_code": "provider", "org_name": "name"})
        entry = compare_providers(measure, frame, min_providers=min_providers, method=method,
                                  direction=MEASURES[measure].improvement)
        if entry is None:
            continue
        entry["period"], entry["period_type"] = when, group["period_type"].iloc[0]
        entry["official_name"] = MEASURES[measure].official
        entry["standard"] = _standard(measure)
        entry["england"] = _england(national, measure, when)
        funnels.append(entry)

    return {
        "org_type": orgs["org_type"].iloc[0],
        "measures": [m for m in names if m in set(orgs["measure"])],
        "periods": sorted(orgs["period"].unique().tolist()),
        "method": method,
        "notes": [ROUNDING_NOTE, SPC_NOTE, *data.attrs.get("notices", [])],  # + what the reader tolerated
        "funnels": funnels,
        "hidden_waits": [found for when, pair in _access_and_second(funnels)
                         for found in hidden_waits(*pair, period=when)],
        "spc": provider_spc(every_month[every_month["measure"].isin(set(orgs["measure"]))],
                            run_length=run_length, rebase=rebase),
    }


def hidden_waits(access: dict, second: dict, *, period: str | None = None) -> list[dict]:
    """Providers that look fine on 6-week access but hide long waits for a second treatment.

    ``access`` and ``second`` are ``compare_providers`` entries for the same period: the 6-week
    wait (finished courses) and first-to-second treatment over 90 days (M047 / M126). The
    signature is a high outlier on the second while the 6-week standard (75 % [G21 §2.6]) is met
    on the first: meeting the access standard with a first appointment and then queueing people
    for the second is the "hidden wait". Being inside the 6-week funnel is not enough (a
    provider can be inside it and miss the standard, which is then no hidden wait but a plain one).
    """
    standard = _standard("wait_6_weeks")
    found = []
    for code, entry in second["providers"].items():
        six = access["providers"].get(code)
        if entry["flag"] != "high" or six is None:
            continue
        if six["value"] >= standard:
            reasons = [f"6-week access meets the {standard:.0%} standard"]
            if six["flag"] is not None:
                reasons.append(f"is {six['verdict']} on the 6-week funnel")
            found.append({
                "period": period, "provider": code, "name": entry.get("name"),
                "first_to_second_over_90_days": {k: entry[k] for k in ("value", "numerator", "denominator",
                                                                        "upper", "flag")},
                "wait_6_weeks": {k: six[k] for k in ("value", "numerator", "denominator", "flag")},
                "why": " and ".join(reasons),
            })
    return found


def _access_and_second(funnels: list[dict]):
    """(period, (6-week entry, over-90-days entry)) for every period that has both funnels."""
    by_key = {(f["measure"], f["period"]): f for f in funnels}
    for (measure, when), second in sorted(by_key.items()):
        access = by_key.get(("wait_6_weeks", when))
        if measure == "first_to_second_over_90_days" and access is not None:
            yield when, (access, second)


def _standard(measure: str) -> float | None:
    """The national standard for a measure as a proportion (kpis.STANDARDS holds percentages)."""
    official = MEASURES[measure].official
    return STANDARDS[official] / 100 if official in STANDARDS else None


def provider_spc(monthly: pd.DataFrame, *, run_length: int = 7, rebase=None) -> dict:
    """XmR per measure and provider over the monthly rates (percent), on a calendar axis.

    The charted value is NHS Digital's published percentage where the measure has one (computed
    from unrounded counts, so closer to the truth than a rate from counts rounded to 5), else the
    rate recomputed from the rounded counts; each chart says which in ``value_source``. Limits
    are clipped to 0–100 %, the national standard (if any) is the target for the assurance, and
    ``rebase`` dates start new limits.
    """
    result = {}
    if monthly.empty:
        return result
    positive = monthly["denominator"].where(monthly["denominator"] > 0)
    recomputed = 100 * monthly["numerator"] / positive
    publishes = monthly["measure"].map(lambda m: bool(MEASURES[m].monthly and MEASURES[m].monthly[2]))
    rates = monthly.assign(rate=recomputed.where(~publishes, monthly["published"]))
    rates = rates.dropna(subset=["rate"]).sort_values("period")
    for measure, per_measure in rates.groupby("measure", sort=True):
        direction = MEASURES[measure].improvement
        standard = _standard(measure)
        source = "published percentage" if publishes[per_measure.index[0]] else "recomputed from rounded counts"
        charts = {}
        for code, series in per_measure.groupby("org_code", sort=True):  # one chart per provider
            if len(series) < 2:
                continue
            chart = xmr(series["rate"].to_numpy(), dates=series["period"].to_numpy(), run_length=run_length,
                        improvement=direction, bounds=(0.0, 100.0),
                        target=None if standard is None else 100 * standard, rebase=rebase).to_dict()
            chart["name"] = series["org_name"].iloc[-1]
            chart["value_source"] = source
            charts[code] = chart
        result[measure] = charts
    return result


def _only_periods(frame: pd.DataFrame, period) -> pd.DataFrame:
    if not period:
        return frame
    wanted = [period] if isinstance(period, str) else list(period)
    available = sorted(frame["period"].unique())
    unknown = [p for p in wanted if p not in available]
    if unknown:
        shown = ", ".join(available if len(available) <= 12 else [*available[:3], "…", *available[-3:]])
        raise InputError(f"period {unknown[0]} is not in the files", fix=f"use one of: {shown}")
    return frame[frame["period"].isin(wanted)]


def _england(national: pd.DataFrame, measure: str, when: str) -> dict | None:
    row = national[(national["measure"] == measure) & (national["period"] == when)]
    if row.empty or not row["denominator"].iloc[0] > 0:
        return None
    row = row.iloc[0]
    return {"value": float(row["numerator"] / row["denominator"]), "numerator": _number(row["numerator"]),
            "denominator": _number(row["denominator"]), "published": _plain(row["published"])}


def _number(value):
    """Counts as int when whole (JSON readers expect 120, not 120.0)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _plain(value):
    """A JSON-ready scalar: NaN/NA -> None, numpy types -> Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


#: the referral dates kpis.referral_masks tests against the period
MONTH_DATES = ("ReferralRequestReceivedDate", "TherapySession_FirstDate", "ServDischDate", "TherapySession_SecondDate")


def _month_numbers(dates: pd.Series) -> np.ndarray:
    """year × 12 + month − 1 per date (−1 where missing), for comparing many dates with a month."""
    return np.where(dates.notna(), dates.dt.year * 12 + dates.dt.month - 1, -1)


def _open_during(pathways, window: Period, contact_in_window: np.ndarray, patient: np.ndarray):
    """``pathways`` cut to the referrals open at some time in ``window`` (received by its end,
    not discharged before its start) or with a contact in it, and every other referral of the
    same patient (``patient``: a number per referral, −1 unknown; GM05 looks for a patient's
    earlier low-intensity referral), each with all its contacts, scores and activities,
    renumbered (``ref`` is a referral's position, which the rules index by). Every rule's
    denominator for the window (ended, second or first individual treatment, step-up or still
    waiting in it) lies among them, so a rule measures the same cases on the cut as on the whole
    extract, reading a fraction of the rows."""
    r = pathways.referrals
    keep = (~(r["ReferralRequestReceivedDate"] > window.end) & ~(r["ServDischDate"] < window.start)).to_numpy(copy=True)
    keep[pathways.contacts["ref"].to_numpy()[contact_in_window]] = True
    known = patient >= 0
    seen = np.zeros(int(patient.max(initial=-1)) + 2, bool)
    seen[patient[keep & known]] = True
    keep |= known & seen[patient]
    position = np.cumsum(keep) - 1

    def cut(frame):
        if "ref" not in frame:
            return frame
        rows = frame[keep[frame["ref"].to_numpy()]]
        return rows.assign(ref=position[rows["ref"].to_numpy()])

    renumbered = pd.RangeIndex(int(keep.sum()), name=r.index.name)
    extra = pathways.nhs_digital
    if len(extra) == len(r):
        extra = extra[keep].set_axis(renumbered)
    referrals = r[keep].set_axis(renumbered)
    return dataclasses.replace(pathways, referrals=referrals, contacts=cut(pathways.contacts),
                               scores=cut(pathways.scores), activities=cut(pathways.activities), nhs_digital=extra,
                               facts=cut_facts(pathways, keep, referrals))


def monthly_spc(pathways, period, *, rules: dict | None = None, scales=None, run_length: int = 7) -> dict:
    """The audit's own months: every KPI rate and gaming indicator of every provider per calendar
    month of ``period`` on an XmR chart ({measure or rule code: {provider: chart}}), so a change in
    coding (assess-and-treat endings jumping after a contract change) shows as a shift or a point
    outside the limits.

    KPIs come from ``kpis.compute_kpis`` run once per month (vectorised sums; a dozen calls for a
    year). ``rules`` (``adjusted.rules_in_force``: code -> (rule class, thresholds in force)) adds
    each gaming indicator: the rule's own ``measure`` on that month as the period, its cases
    counted per provider as the audit's rules stage counts them (numerator: ``counted``,
    denominator: the cases), with the questionnaire ``scales`` in force (None: the defaults).
    A month with no cases in a provider's denominator is a gap. Fewer than 2 months: {}. The
    limits are not recalculated at a sustained shift (``stats.spc``): here the shift is the
    finding, a coding change that must stay special cause.
    """
    months = pd.period_range(period.start, period.end, freq="M")
    if len(months) < 2:
        return {}
    rates = [m for m in KPI_MEASURES if m.kind == "percentage"]
    referrals, contacts = pathways.referrals, pathways.contacts
    # a referral counts in a month only through one of these dates, so each month's KPI pass reads
    # just the referrals with such a date in it (about a third of a year's rows in all, not 12×)
    referral_months = np.column_stack([_month_numbers(referrals[c]) for c in MONTH_DATES])
    contact_months = _month_numbers(contacts["CareContDate"])
    # a number per patient, -1 where LocalPatientId is missing (never linked to another referral)
    patient = referrals.groupby(["OrgIDProv", "LocalPatientId"], observed=True, sort=False).ngroup() \
        .fillna(-1).to_numpy(dtype=np.int64) if rules else None
    frames = []
    for month in months:  # one vectorised KPI pass per month, not a loop over records
        window = Period(max(month.start_time, period.start), min(month.end_time.normalize(), period.end), "month")
        number = month.year * 12 + month.month - 1
        table = compute_kpis(referrals[(referral_months == number).any(axis=1)],
                             contacts[contact_months == number], window).drop(index=ALL_PROVIDERS, errors="ignore")
        for m in rates:
            frames.append(pd.DataFrame({"measure": m.name, "period": str(month), "provider": table.index.astype(str),
                                        "numerator": table[f"{m.name}__num"].to_numpy(),
                                        "denominator": table[f"{m.name}__den"].to_numpy()}))
        # a rule's cases reach outside the month (a second treatment months after the first), so each
        # rule measures, with the month as its period, the whole history of every referral that
        # could be in its denominator: those open during the month or with a contact in it
        open_in_month = _open_during(pathways, window, contact_months == number, patient) if rules else None
        for code, (rule, limits) in (rules or {}).items():
            cases = rule().measure(open_in_month, window, limits, scales or SCALES).cases
            counts = cases.groupby("OrgIDProv", observed=True)["counted"].agg(numerator="sum", denominator="size")
            frames.append(pd.DataFrame({"measure": code, "period": str(month), "provider": counts.index.astype(str),
                                        "numerator": counts["numerator"].to_numpy(),
                                        "denominator": counts["denominator"].to_numpy()}))
    long = pd.concat(frames, ignore_index=True)
    long = long[long["denominator"] > 0]
    result = {}
    for measure, per_measure in long.groupby("measure", sort=False):
        standard = STANDARDS.get(measure)
        charts = {}
        for code, series in per_measure.groupby("provider", sort=True):
            if len(series) < 2:
                continue
            rate = 100.0 * series["numerator"] / series["denominator"]
            chart = xmr(rate.to_numpy(), dates=series["period"].to_numpy(), run_length=run_length,
                        improvement=direction_of(measure), bounds=(0.0, 100.0), target=standard,
                        recalculate_at_shift=False).to_dict()
            chart["numerator"] = [int(v) for v in series["numerator"]]
            chart["denominator"] = [int(v) for v in series["denominator"]]
            chart["value_source"] = "this audit's records"
            charts[code] = chart
        if charts:
            result[measure] = charts
    return result
