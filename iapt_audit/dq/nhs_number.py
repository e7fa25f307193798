"""NHS number check digit (modulus 11), vectorised.

The tenth digit of an NHS number is a check digit: weight the first nine digits 10, 9, ... 2, sum,
take the remainder on division by 11 and subtract it from 11 (11 becomes 0; 10 means the number
is invalid). A number that fails cannot be traced, so the person's pathway may not link.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS = np.arange(10, 1, -1)


def nhs_number_valid(numbers: pd.Series) -> pd.Series:
    """True / False per NHS number (spaces allowed between groups), missing where there is none."""
    text = numbers.astype("string").str.replace(" ", "", regex=False)
    shaped = text.str.fullmatch(r"[0-9]{10}").fillna(False).to_numpy(dtype=bool)
    valid = np.zeros(len(text), dtype=bool)
    if shaped.any():
        raw = "".join(text[shaped].tolist()).encode("ascii")
        digits = (np.frombuffer(raw, dtype=np.uint8) - ord("0")).reshape(-1, 10).astype(np.int64)
        check = (11 - (digits[:, :9] @ WEIGHTS) % 11) % 11
        valid[shaped] = (check != 10) & (check == digits[:, 9])
    return pd.Series(valid, index=numbers.index, dtype="boolean").mask(text.isna())
