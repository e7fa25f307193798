"""Tables from DataFrames: every value plain Python, missing values blank, identifiers dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.report.document import Table


def test_a_frame_becomes_rows_of_plain_values():
    frame = pd.DataFrame({
        "ServiceRequestId": pd.Series(["R1", None, "R3"], dtype="string"),
        "Provider": pd.Categorical(["P1", "P2", "P1"]),
        "Sessions": np.array([3, 0, 12], dtype="int64"),
        "Score": [4.5, np.nan, 10.0],
        "Seen": pd.to_datetime(["2024-05-01 00:00", None, "2025-03-31 14:30"]),
        "Paired": [True, False, True],
        "Visits": pd.array([1, None, 2], dtype="Int64"),
        "NHSNumber": ["9990000018", "9990000026", "9990000034"],
    })
    table = Table.from_frame(frame, id="t", title="T")
    assert table.headers == ["ServiceRequestId", "Provider", "Sessions", "Score", "Seen", "Paired", "Visits"]
    assert [c.kind for c in table.columns] == ["text", "text", "count", "number", "date", "text", "count"]
    assert table.rows == [["R1", "P1", 3, 4.5, "2024-05-01", True, 1],
                          [None, "P2", 0, None, None, False, None],
                          ["R3", "P1", 12, 10.0, "2025-03-31", True, 2]]
    assert [type(v) for v in table.rows[0]] == [str, str, int, float, str, bool, int]
