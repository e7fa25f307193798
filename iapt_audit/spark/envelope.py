"""Envelopes: any pandas frame or Python object carried through Spark as pickled binary rows.

Why: Spark's grouped pandas functions take one DataFrame (``applyInPandas``) or two
(``cogroup``), but a provider's audit reads nine tables of different shapes. Each table is packed
per provider into rows of one fixed schema (provider, kind, part, payload); the union of all
tables' rows, grouped by provider, hands one function every table of one provider, with pandas
dtypes exactly as packed. Payloads are cut into parts of at most ``PART_ROWS`` rows so no row
nears Spark's 2 GB limit on a binary value.
"""

from __future__ import annotations

import pickle
from collections import defaultdict

import pandas as pd

ENVELOPE_SCHEMA = "OrgIDProv string, kind string, part int, payload binary"
PART_ROWS = 250_000
ROW = "__row"  # each record's position in its table as read: file order, for capped record lists


def envelopes(org, kind: str, value) -> list[dict]:
    """``value`` (a frame, cut into parts, or any picklable object) as envelope rows."""
    if isinstance(value, pd.DataFrame) and len(value) > PART_ROWS:
        parts = [value.iloc[start:start + PART_ROWS] for start in range(0, len(value), PART_ROWS)]
    else:
        parts = [value]
    return [{"OrgIDProv": org, "kind": kind, "part": number,
             "payload": pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)} for number, part in enumerate(parts)]


def envelope_frame(rows: list[dict]) -> pd.DataFrame:
    """Envelope rows as the frame a grouped pandas function returns (text as ``object``: PySpark's
    Arrow conversion of pandas 3 string columns in grouped results is not reliable)."""
    frame = pd.DataFrame(rows, columns=["OrgIDProv", "kind", "part", "payload"])
    return frame.astype({"OrgIDProv": object, "kind": object, "part": "int32", "payload": object})


def opened(frame: pd.DataFrame) -> dict[str, object]:
    """Envelope rows back to their values by kind; a frame's parts are concatenated in order."""
    parts: dict[str, list] = defaultdict(list)
    for kind, part, payload in sorted(zip(frame["kind"], frame["part"], frame["payload"]), key=lambda r: r[:2]):
        parts[kind].append(pickle.loads(payload))
    return {kind: (pd.concat(values, ignore_index=True) if isinstance(values[0], pd.DataFrame) and len(values) > 1
                   else values[0]) for kind, values in parts.items()}
