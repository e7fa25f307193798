"""Identifiers for synthetic records: NHS numbers, organisation codes, postcodes, record IDs.

Everything a synthetic extract identifies a person by must be obviously not real: NHS numbers
come from the range NHS England reserves for testing (999 000 0000 - 999 999 9999), postcodes
from an area that does not exist ("XX"). Record IDs are built with pyarrow's string kernels
because the national-scale extract has tens of millions of them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEST_RANGE_FIRST9 = (999_000_000, 999_999_999)   # the first nine digits of the reserved range
CHECK_WEIGHTS = np.arange(10, 1, -1)             # modulus 11: weights 10..2 on digits 1..9
ALPHANUMERIC = np.array(list("0123456789ABCDEFGHJKLMNPQRTUVWXY"))


def check_digits(first9: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for each nine-digit stem; 10 means no valid number has that stem."""
    digits = (first9[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits @ CHECK_WEIGHTS) % 11
    return np.where(check == 11, 0, check)


def valid_test_nhs_numbers() -> np.ndarray:
    """Every valid NHS number in the test range (about 909,000), in ascending order."""
    stems = np.arange(TEST_RANGE_FIRST9[0], TEST_RANGE_FIRST9[1] + 1, dtype=np.int64)
    check = check_digits(stems)
    keep = check != 10
    return stems[keep] * 10 + check[keep]


def provider_codes(rng: np.random.Generator, n: int) -> list[str]:
    """ODS-like trust codes, "R" and two alphanumerics, distinct, in the order drawn."""
    pool = np.array([f"R{a}{b}" for a in ALPHANUMERIC[10:] for b in ALPHANUMERIC])
    return rng.choice(pool, size=n, replace=False).tolist()


def commissioner_codes(rng: np.random.Generator, n: int) -> list[str]:
    """ICB-like commissioner codes, "Q" and two letters, one per provider (some shared)."""
    pool = np.array([f"Q{a}{b}" for a in ALPHANUMERIC[10:] for b in ALPHANUMERIC[10:]])
    distinct = rng.choice(pool, size=max(1, (n + 1) // 2), replace=False)
    return rng.choice(distinct, size=n).tolist()


def postcodes(rng: np.random.Generator, n: int) -> pa.Array:
    """Fictitious postcodes in the non-existent "XX" area, e.g. "XX4 7QA"."""
    district = pc.cast(pa.array(rng.integers(1, 100, n)), pa.string())
    sector = pc.cast(pa.array(rng.integers(0, 10, n)), pa.string())
    letters = ALPHANUMERIC[10:]
    unit = pa.array(np.char.add(rng.choice(letters, n), rng.choice(letters, n)).astype(object))
    return pc.binary_join_element_wise("XX", district, " ", sector, unit, "")


def record_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Record IDs like "SR00001234": a prefix and a zero-padded number."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def service_request_ids(numbers: np.ndarray) -> pa.Array:
    return record_ids("SR", numbers, 8)


def patient_ids(numbers: np.ndarray) -> pa.Array:
    return record_ids("P", numbers, 8)


def contact_ids(numbers: np.ndarray) -> pa.Array:
    return record_ids("CC", numbers, 10)


def activity_ids(numbers: np.ndarray) -> pa.Array:
    return record_ids("CA", numbers, 10)
