"""The Arrow key look-up and sort that replaced pandas merges and sorts in the pathway stage keep
pandas' meaning: first match, missing keys never match, stable order with missing values last."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.pathway import key_positions, sorted_by

KEY = ["OrgIDProv", "ServiceRequestId"]


def _frame(rows):
    return pd.DataFrame(rows, columns=KEY).astype("string[pyarrow]")


def test_key_positions_first_match_and_misses():
    parent = _frame([("RA1", "R1"), ("RA1", "R2"), ("RB2", "R1"), ("RA1", "R2")])  # R2 at RA1 twice
    child = _frame([("RB2", "R1"), ("RA1", "R2"), ("RA1", "R9"), ("RC3", "R1"), (None, "R1"), ("RA1", None)])
    assert key_positions(child, parent, KEY).tolist() == [2, 1, -1, -1, -1, -1]


def test_key_parts_are_not_confused_by_concatenation():
    parent = _frame([("RA", "1R2"), ("RA1", "R2")])
    child = _frame([("RA1", "R2"), ("RA", "1R2")])
    assert key_positions(child, parent, KEY).tolist() == [1, 0]


def test_a_missing_key_part_never_matches_a_missing_parent_key():
    parent = _frame([(None, "R1"), ("RA1", None)])
    child = _frame([(None, "R1"), ("RA1", None)])
    assert key_positions(child, parent, KEY).tolist() == [-1, -1]


def test_sorted_by_is_stable_with_missing_last_and_categories_in_their_order():
    frame = pd.DataFrame({
        "id": ["c", "a", "b", "d", "e", "f"],
        "ref": [1, 0, 1, 0, 1, 0],
        "date": pd.to_datetime(["2024-05-02", None, "2024-05-01", "2024-05-01", "2024-05-02", "2024-05-01"]),
        "tool": pd.Categorical(["GAD7", "PHQ9", "PHQ9", "GAD7", "GAD7", None], categories=["PHQ9", "GAD7"]),
    }).set_index("id")
    assert sorted_by(frame, ["ref", "date"]).index.tolist() == ["d", "f", "a", "b", "c", "e"]
    assert sorted_by(frame, ["tool", "ref"]).index.tolist() == ["a", "b", "d", "c", "e", "f"]
    expected = frame.sort_values(["ref", "date"], kind="stable").index.tolist()
    assert sorted_by(frame, ["ref", "date"]).index.tolist() == expected
    assert np.array_equal(sorted_by(frame, ["ref"])["ref"].to_numpy(), [0, 0, 0, 1, 1, 1])


def test_an_identifier_first_seen_in_another_scope_still_finds_its_own():
    # the identifier look-up alone would stop at row 0 (no provider) or row 1 (another provider)
    parent = _frame([(None, "R1"), ("RB2", "R1"), ("RA1", "R1"), ("RA1", "R1")])
    child = _frame([("RA1", "R1"), ("RB2", "R1"), ("RC3", "R1")])
    assert key_positions(child, parent, KEY).tolist() == [2, 1, -1]
