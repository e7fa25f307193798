"""Fixtures of the publication tests (``publication_fixture`` says what they hold)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from publication_fixture import ALTERED, YEAR, generate, publish


@pytest.fixture(scope="session")
def altered_extract(tmp_path_factory):
    """(extract folder, published file, altered provider, altered month "YYYY-MM")."""
    folder = tmp_path_factory.mktemp("published") / "extract"
    generate(folder, providers=4, referrals=3000, seed=5, fmt="parquet", plant="none")
    published = folder.parent / "nhs-talking-therapies-monthly-2024-25.csv"
    publish(derive_pathways(read_extract(folder)), published)
    referrals = pd.read_parquet(folder / "IDS101Referral.parquet")
    altered = sorted(referrals["OrgIDProv"].unique())[1]
    discharged = pd.to_datetime(referrals["ServDischDate"])
    month = discharged[(referrals["OrgIDProv"] == altered).to_numpy()].dt.to_period("M").value_counts()
    month = month[[p for p in month.index if YEAR.start <= p.start_time <= YEAR.end]].idxmax()
    reopened = np.flatnonzero((referrals["OrgIDProv"] == altered).to_numpy()
                              & (discharged.dt.to_period("M") == month).to_numpy())[:ALTERED]
    referrals.loc[reopened, ["ServDischDate", "EndCode"]] = None
    referrals.to_parquet(folder / "IDS101Referral.parquet", index=False)
    return folder, published, altered, str(month)


