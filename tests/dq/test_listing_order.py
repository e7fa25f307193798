"""A finding's capped record list does not depend on row order or on how providers are split.

``dq.findings.evaluate`` lists the first ``record_cap`` failing rows by record ID, then value,
provider, table and column. Hand-worked: two providers submit the same referral ID with the same
value (a tie on ID and value), and the cap falls inside that tie, so only the provider breaks it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.dq.findings import Check, Providers, Tolerance, evaluate, first_listed

CHECK = Check(code="DQ900", title="test", severity="error", table="IDS101Referral", column="ServDischDate",
              fix="fix", denominator="all referrals", engine="cross_table")

ROWS = pd.DataFrame({
    "OrgIDProv": ["RY2", "RX1", "RY2", "RX1", "RY2"],
    "ServiceRequestId": ["SR3", "SR3", "SR1", "SR9", "SR2"],
    "ServDischDate": ["2024-05-01", "2024-05-01", "2024-06-01", "2024-04-01", None],
}).astype("string")


def listed(frame: pd.DataFrame, cap: int) -> pd.DataFrame:
    providers = Providers.of(frame)
    totals = providers.count(None)
    _, worklist = evaluate(CHECK, frame, providers, totals, np.arange(len(frame)), tolerance=Tolerance(),
                           record_cap=cap)
    return worklist[["OrgIDProv", "record_id", "value"]]


def test_the_first_records_by_id_then_value_then_provider():
    # SR1 < SR2 < SR3 (RX1) < SR3 (RY2) < SR9; SR2's blank value lists as ""
    assert listed(ROWS, 4).values.tolist() == [["RY2", "SR1", "2024-06-01"], ["RY2", "SR2", ""],
                                               ["RX1", "SR3", "2024-05-01"], ["RY2", "SR3", "2024-05-01"]]


def test_reversed_rows_list_the_same_records():
    assert listed(ROWS.iloc[::-1].reset_index(drop=True), 3).equals(listed(ROWS, 3))


def test_providers_cut_apart_and_joined_list_what_the_whole_lists():
    """What the Spark engine does: each provider's list cut at the cap, then the union cut again."""
    cap = 3
    parts = [listed(ROWS[ROWS["OrgIDProv"] == org].reset_index(drop=True), cap) for org in ("RY2", "RX1")]
    joined = first_listed(pd.concat(parts, ignore_index=True).assign(table=CHECK.table, column=CHECK.column), cap)
    assert joined[["OrgIDProv", "record_id", "value"]].equals(listed(ROWS, cap))
