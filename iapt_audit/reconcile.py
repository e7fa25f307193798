"""Reconcile the tool's derivation with NHS Digital's own derived fields, referral by referral.

NHS Digital's post-deadline extracts and warehouse views carry, on IDS101Referral, the fields its
own derivation produced (``model.tables.NHS_DIGITAL_DERIVED``; iapt-dataset.md §1.4, [G21] §5.2)
and every published measure is counted from them. Where an extract carries them, each is compared
with the tool's derivation of the same field (``pathway``) for every referral NHS Digital uses:
agreement per field and per provider, and a worklist of the disagreeing referrals with both
values side by side. A disagreement is where the published figures and the records part ways.

Comparison rules, per field kind:

* date — equal calendar dates, or both missing;
* number (counts, scores) — equal values, or both missing;
* flag — NHS Digital's value is true only when it reads as true ('True', 1, Y: ``codes.FLAG_FORMS``),
  as its SQL counts ``Flag = 'True'``; a blank is false. The worklist shows the value as given.

UsePathway_Flag is not compared: it is honoured. Referrals it marks false are left out of the
measures (``kpis``) and of this comparison, and counted (``left_out``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.dq.findings import BLANK
from iapt_audit.pathway import Pathways, nhs_flag

# NHS Digital's field -> (the tool's column, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "Assessment_FirstDate": ("Assessment_FirstDate", "date"),
    "TherapySession_FirstDate": ("TherapySession_FirstDate", "date"),
    "TherapySession_SecondDate": ("TherapySession_SecondDate", "date"),
    "TreatmentCareContact_Count": ("TreatmentCareContact_Count", "number"),
    "InternetEnabledTherapy_Count": ("InternetEnabledTherapy_Count", "number"),
    "CompletedTreatment_Flag": ("CompletedTreatment_Flag", "flag"),
    "Caseness_Flag": ("Caseness_Flag", "flag"),
    "NotCaseness_Flag": ("NotCaseness_Flag", "flag"),
    "Recovery_Flag": ("Recovery_Flag", "flag"),
    "ReliableImprovement_Flag": ("ReliableImprovement_Flag", "flag"),
    "ReliableDeterioration_Flag": ("ReliableDeterioration_Flag", "flag"),
    "PHQ9_FirstScore": ("PHQ9_FirstScore", "number"),
    "PHQ9_LastScore": ("PHQ9_LastScore", "number"),
    "GAD_FirstScore": ("GAD7_FirstScore", "number"),
    "GAD_LastScore": ("GAD7_LastScore", "number"),
}
HONOURED = "UsePathway_Flag"
WORKLIST_CAP = 100  # disagreeing referral-fields listed in findings.json; the self-check workbook has all
WORKLIST_COLUMNS = ["OrgIDProv", "ServiceRequestId", "field", "nhs_digital", "iapt_audit"]
AGREEMENT_COLUMNS = ["compared", "agree", "disagree"]


@dataclass
class Reconciliation:
    """The comparison of one audit's derivation with NHS Digital's derived fields."""

    fields: list[str]              # NHS Digital fields the extract carries and that were compared
    referrals: int                 # referrals compared (those NHS Digital uses)
    left_out: int                  # referrals UsePathway_Flag marks false
    agreement: pd.DataFrame        # index field: compared, agree, disagree
    by_provider: pd.DataFrame      # index (OrgIDProv, field): compared, agree, disagree
    worklist: pd.DataFrame         # WORKLIST_COLUMNS, every disagreement, sorted

    @property
    def ran(self) -> bool:
        return bool(self.fields)

    def as_json(self, cap: int = WORKLIST_CAP) -> dict:
        """The findings.json ``reconciliation`` entry (record IDs only in the capped worklist)."""
        def counts(row) -> dict:
            compared, agree = int(row["compared"]), int(row["agree"])
            return {"compared": compared, "agree": agree, "disagree": compared - agree,
                    "percent_agree": round(100.0 * agree / compared, 2) if compared else None}

        providers: dict = {}
        for (org, name), row in self.by_provider.iterrows():  # providers x fields: small
            providers.setdefault(str(org), {})[name] = counts(row)
        return {
            "fields": self.fields, "referrals_compared": self.referrals, "use_pathway_false": self.left_out,
            "agreement": {name: counts(row) for name, row in self.agreement.iterrows()},
            "by_provider": providers,
            "worklist": self.worklist.head(cap).to_dict("records"), "worklist_total": len(self.worklist),
        }


def reconcile(pathways: Pathways) -> Reconciliation:
    """Compare NHS Digital's derived fields (``pathways.nhs_digital``) with the tool's own."""
    r, nhs = pathways.referrals, pathways.nhs_digital
    left_out = int((~r["UsePathway"]).sum())
    names = [name for name in FIELDS if name in nhs]
    used = r["UsePathway"].to_numpy()
    orgs = r["OrgIDProv"].astype("string").fillna(BLANK).to_numpy()[used]
    ids = r["ServiceRequestId"].astype("string").to_numpy()[used]
    agreement, by_provider, worklist = {}, [], []
    for name in names:
        column, kind = FIELDS[name]
        given, derived = nhs[name][used], r[column][used]
        agree = _agree(given, derived, kind)
        agreement[name] = (len(agree), int(agree.sum()))
        per = pd.DataFrame({"OrgIDProv": orgs, "agree": agree}).groupby("OrgIDProv")["agree"].agg(["size", "sum"])
        by_provider.append(pd.DataFrame({"OrgIDProv": per.index, "field": name, "compared": per["size"].to_numpy(),
                                         "agree": per["sum"].to_numpy()}))
        wrong = np.flatnonzero(~agree)
        if len(wrong):
            worklist.append(pd.DataFrame({"OrgIDProv": orgs[wrong], "ServiceRequestId": ids[wrong], "field": name,
                                          "nhs_digital": _shown(given.iloc[wrong], kind, raw=True),
                                          "iapt_audit": _shown(derived.iloc[wrong], kind, raw=False)}))
    table = pd.DataFrame.from_dict(agreement, orient="index", columns=["compared", "agree"]) if agreement \
        else pd.DataFrame(columns=["compared", "agree"])
    table["disagree"] = table["compared"] - table["agree"]
    providers = (pd.concat(by_provider, ignore_index=True) if by_provider
                 else pd.DataFrame(columns=["OrgIDProv", "field", "compared", "agree"]))
    providers["disagree"] = providers["compared"] - providers["agree"]
    providers = providers.sort_values(["OrgIDProv", "field"]).set_index(["OrgIDProv", "field"])
    work = (pd.concat(worklist, ignore_index=True).sort_values(["OrgIDProv", "ServiceRequestId", "field"],
                                                               ignore_index=True)
            if worklist else pd.DataFrame(columns=WORKLIST_COLUMNS))
    return Reconciliation(fields=names, referrals=int(used.sum()), left_out=left_out,
                          agreement=table[AGREEMENT_COLUMNS], by_provider=providers[AGREEMENT_COLUMNS],
                          worklist=work[WORKLIST_COLUMNS])


def _agree(given: pd.Series, derived: pd.Series, kind: str) -> np.ndarray:
    """Per referral: does NHS Digital's value equal the tool's (both missing counts as equal)?"""
    if kind == "flag":
        return nhs_flag(given).fillna(False).to_numpy(dtype=bool) == derived.fillna(False).to_numpy(dtype=bool)
    if kind == "date":
        a = pd.to_datetime(given).dt.normalize().to_numpy()
        b = pd.to_datetime(derived).dt.normalize().to_numpy()
        return (a == b) | (np.isnat(a) & np.isnat(b))
    a = pd.to_numeric(given, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    b = pd.to_numeric(derived, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _shown(values: pd.Series, kind: str, *, raw: bool) -> list[str]:
    """Values as the worklist shows them: ISO dates, whole numbers without ".0", flags as given
    (NHS Digital's) or True/False (the tool's); a missing value is blank."""
    if kind == "date":
        return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("").tolist()
    if kind == "flag":
        if raw:
            return values.astype("string").fillna("").tolist()
        return np.where(values.fillna(False).to_numpy(dtype=bool), "True", "False").tolist()
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").reset_index(drop=True)
    text = numbers.astype(str)
    whole = numbers.notna() & (numbers == numbers.round())
    text[whole] = numbers[whole].astype("int64").astype(str)
    text[numbers.isna()] = ""
    return text.tolist()
