"""The official KPIs for a reporting period, per provider and for all providers together.

Names are NHS Digital's measure names; definitions are iapt-dataset.md §3 ([MM20], [MM21], [AM25]):
counts are referrals, "in the period" is the relevant date inside the period. Rates keep their
numerator and denominator, because a percentage without them cannot be checked:

* recovery and reliable recovery over finished courses minus those not at caseness ([G21] §6.3);
* reliable improvement and deterioration over all finished courses ([G21] §6.5–6.6);
* 6 and 18 weeks: finished courses whose first treatment came within 42 / 126 days of referral;
* first to second treatment over 28 / 90 days: referrals whose second treatment is in the period;
* access attrition (M288) = ended treated once over ended referrals that had treatment;
* every measure counts only referrals NHS Digital uses: where the extract carries
  UsePathway_Flag, referrals it marks false are left out of every count, contacts included
  ([MM20]: each construction requires IDS101Referral.UsePathway_Flag = 'True'; ``pathway``
  keeps the flag as ``UsePathway``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.model import codes
from iapt_audit.period import Period

# the national total's row: a leading blank, which the reader strips from every code, so no
# provider in the data can take its place (a provider coded ALL keeps its own row)
ALL_PROVIDERS = " ALL"


@dataclass(frozen=True)
class Measure:
    name: str
    code: str            # NHS Digital measure ID, where one exists
    numerator: str       # a column of the mask frame
    denominator: str | None = None  # None: a count
    kind: str = "count"  # count | percentage | mean


MEASURES: tuple[Measure, ...] = (
    Measure("Count_ReferralsReceived", "M001", "received"),
    Measure("Count_AccessingServices", "M031", "accessing"),
    Measure("Count_EndedReferrals", "M056", "ended"),
    Measure("Count_EndedBeforeTreatment", "M153", "ended_before_treatment"),
    Measure("Count_EndedTreatedOnce", "M075", "ended_treated_once"),
    Measure("Count_FinishedCourseTreatment", "M076", "finished"),
    Measure("Count_NotAtCaseness", "M179", "not_caseness"),
    Measure("Count_Recovery", "M191", "recovery"),
    Measure("Percentage_Recovery", "M192", "recovery", "caseness_finished", "percentage"),
    Measure("Count_ReliableImprovement", "M185", "reliable_improvement"),
    Measure("Percentage_ReliableImprovement", "M186", "reliable_improvement", "finished", "percentage"),
    Measure("Count_ReliableDeterioration", "M189", "reliable_deterioration"),
    Measure("Percentage_ReliableDeterioration", "M1010", "reliable_deterioration", "finished", "percentage"),
    Measure("Count_ReliableRecovery", "M193", "reliable_recovery"),
    Measure("Percentage_ReliableRecovery", "M195", "reliable_recovery", "caseness_finished", "percentage"),
    Measure("Count_FirstToSecondTreatmentOver28days", "M046", "second_over28"),
    Measure("Count_FirstToSecondTreatmentOver90days", "M047", "second_over90"),
    Measure("Percentage_FirstToSecondTreatmentOver90days", "M126", "second_over90", "second", "percentage"),
    Measure("Percentage_AccessingServices6WeeksFinishedCourseTreatment", "M053", "finished_6wk", "finished",
            "percentage"),
    Measure("Percentage_AccessingServices18WeeksFinishedCourseTreatment", "M055", "finished_18wk", "finished",
            "percentage"),
    Measure("Mean_ApptsFinishedCourseTreatment", "M141", "finished_appts", "finished", "mean"),
    Measure("Count_Appointments", "M082", "appointments"),
    Measure("Count_ApptsDNA", "M084", "appointments_dna"),
    Measure("Count_PairedPHQ", "M201", "paired_phq"),
    Measure("Count_PairedADSMOrGAD", "M198", "paired_adsm"),
    Measure("Percentage_AccessAttrition", "M288", "ended_treated_once", "ended_treated", "percentage"),
)
MEASURE_BY_NAME = {m.name: m for m in MEASURES}
# the national standards the commissioner profile compares against ([G21] §2.6)
STANDARDS = {
    "Percentage_Recovery": 50.0,
    "Percentage_AccessingServices6WeeksFinishedCourseTreatment": 75.0,
    "Percentage_AccessingServices18WeeksFinishedCourseTreatment": 95.0,
}


def ratio(numerator, denominator, scale: float = 1.0):
    """scale × numerator / denominator, NaN where the denominator is not positive (vectorised)."""
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, scale * numerator / denominator, np.nan)


def percentage(numerator, denominator):
    """100 × numerator / denominator, NaN where the denominator is not positive (vectorised)."""
    return ratio(numerator, denominator, 100.0)


def referral_masks(referrals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One boolean (or count) column per numerator/denominator, one row per referral."""
    r = referrals
    ended = period.contains(r["ServDischDate"])
    treated = r["TherapySession_FirstDate"].notna()
    finished = ended & r["CompletedTreatment_Flag"]
    second = period.contains(r["TherapySession_SecondDate"])
    wait = r["Wait_ReferralToFirstTreatment"]
    gap = r["Wait_FirstToSecondTreatment"]
    masks = pd.DataFrame({
        "OrgIDProv": r["OrgIDProv"],
        "received": period.contains(r["ReferralRequestReceivedDate"]),
        "accessing": period.contains(r["TherapySession_FirstDate"]),
        "ended": ended,
        "ended_before_treatment": ended & ~treated,
        "ended_treated": ended & treated,
        "ended_treated_once": ended & (r["TreatmentCareContact_Count"] == 1),
        "finished": finished,
        "not_caseness": finished & r["NotCaseness_Flag"],
        "caseness_finished": finished & ~r["NotCaseness_Flag"],
        "recovery": finished & r["Recovery_Flag"],
        "reliable_improvement": finished & r["ReliableImprovement_Flag"],
        "reliable_deterioration": finished & r["ReliableDeterioration_Flag"],
        "reliable_recovery": finished & r["ReliableRecovery_Flag"],
        "second": second,
        "second_over28": second & (gap > 28),
        "second_over90": second & (gap > 90),
        "finished_6wk": finished & (wait <= 42),
        "finished_18wk": finished & (wait <= 126),
        "finished_appts": r["TreatmentCareContact_Count"].where(finished, 0),
        "paired_phq": finished & r["PHQ9_LastScore"].notna(),
        "paired_adsm": finished & r["ADSM_LastScore"].notna(),
    })
    if "UsePathway" in r and not r["UsePathway"].all():  # left out of every count, provider kept
        unused = ~r["UsePathway"].to_numpy()
        for column in masks.columns.drop("OrgIDProv"):
            masks[column] = masks[column].mask(unused, 0 if column == "finished_appts" else False)
    return masks


def contact_masks(contacts: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Care contacts in the period, and the DNAs among them (M082, M084)."""
    in_period = period.contains(contacts["CareContDate"])
    return pd.DataFrame({
        "OrgIDProv": contacts["OrgIDProv"],
        "appointments": in_period,
        "appointments_dna": in_period & (contacts["AttendOrDNACode"] == codes.DNA),
    })


def compute_kpis(referrals: pd.DataFrame, contacts: pd.DataFrame, period: Period, providers=()) -> pd.DataFrame:
    """Sum the masks by provider; return a frame indexed by provider (plus ALL) with
    ``<measure>``, ``<measure>__num`` and ``<measure>__den`` columns. ``providers``: codes to list
    even with nothing to count (a provider that submitted a header and no referrals)."""
    if "UsePathway" in contacts and not contacts["UsePathway"].all():  # the contact's referral's flag
        contacts = contacts[contacts["UsePathway"].to_numpy()]
    sums = referral_masks(referrals, period).groupby("OrgIDProv", observed=True).sum()
    sums = sums.join(contact_masks(contacts, period).groupby("OrgIDProv", observed=True).sum(), how="outer")
    sums = sums.reindex(sums.index.union(pd.Index(list(providers), dtype=sums.index.dtype)), fill_value=0).fillna(0)
    sums.loc[ALL_PROVIDERS] = sums.sum()
    out = {}
    for m in MEASURES:
        num = sums[m.numerator].astype("int64")
        out[f"{m.name}__num"] = num
        if m.denominator is None:
            out[m.name] = num
            continue
        den = sums[m.denominator].astype("int64")
        out[f"{m.name}__den"] = den
        out[m.name] = pd.Series(ratio(num, den, 100.0 if m.kind == "percentage" else 1.0), index=sums.index)
    return pd.DataFrame(out)


def kpis_as_json(table: pd.DataFrame, provider: str) -> tuple[dict, dict]:
    """(values, basis) for one provider: values rounded for reading, basis = numerator/denominator."""
    row = table.loc[provider]
    values, basis = {}, {}
    for m in MEASURES:
        value = row[m.name]
        if m.denominator is None:
            values[m.name] = int(value)
            continue
        values[m.name] = None if pd.isna(value) else round(float(value), 2)
        basis[m.name] = {"numerator": int(row[f"{m.name}__num"]), "denominator": int(row[f"{m.name}__den"]),
                         "measure_id": m.code}
    return values, basis
