"""A synthetic extract with one clinician of six discharging at the recovery threshold.

The generator plants GM06 (discharge at the first contact below caseness, last PHQ-9 at 9) in one
provider's referrals (``truth_records``). Here that provider's care activities are re-assigned to
six clinicians, a referral's sessions all with one of them: every planted referral to C3, the
others spread evenly over C1–C6 by their ServiceRequestId. So C3 holds all of the pattern and a
sixth of the honest work; C1, C2, C4, C5 and C6 only honest work.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PLANTED = "C3"


def plant_clinician(folder: Path) -> tuple[str, str]:
    """Re-assign the GM06 provider's CarePersLocalId in place; return (provider, planted clinician ID)."""
    truth = pd.read_parquet(folder / "truth_records.parquet")
    touched = truth[truth["pattern"] == "GM06"]
    org = touched["OrgIDProv"].iloc[0]
    contacts = pd.read_parquet(folder / "IDS201CareContact.parquet", columns=["OrgIDProv", "CareContactId",
                                                                              "ServiceRequestId"])
    activities = pd.read_parquet(folder / "IDS202CareActivity.parquet")
    referral = activities.merge(contacts, on=["OrgIDProv", "CareContactId"], how="left")["ServiceRequestId"]
    number = referral.str.extract(r"(\d+)$", expand=False).fillna("0").astype(int)
    clinician = "C" + (1 + number % 6).astype(str)
    clinician = clinician.where(~referral.isin(set(touched["ServiceRequestId"])), PLANTED)
    mine = (activities["OrgIDProv"] == org).to_numpy()
    activities.loc[mine, "CarePersLocalId"] = f"{org}-" + clinician[mine]
    activities.to_parquet(folder / "IDS202CareActivity.parquet", index=False)
    return org, f"{org}-{PLANTED}"
