"""Patient identifiers wherever they were typed: found for data quality, masked in every output.

The identifier items (NHSNumber, PersonBirthDate, Postcode) are dropped before any output is
built, but people type identifiers into other items too: an NHS number as the LocalPatientId, a
postcode in a code, a birth date in a free-text field. Three shapes are identifiers wherever
they appear:

* an **NHS number**: ten digits, alone or grouped 3-3-4 by spaces or dashes, whose tenth digit is
  the modulus-11 check digit of the first nine (``dq.nhs_number``; NHS Digital's NHS number
  standard), and any NHS number the extract's own MPI holds, valid or not;
* a **UK postcode**: outward code (area letters, district digit, optional letter or digit),
  optional space, inward code (a digit and two letters), in either letter case (BS 7666 shape;
  the shape is enough: no list of real postcodes is needed to withhold one);
* a **birth date of the extract's own patients** (IDS001MPI PersonBirthDate), as ISO
  ``yyyy-mm-dd``, day-first ``dd/mm/yyyy`` (also with ``-`` or ``.``) or ``yyyymmdd``. Other dates
  are not identifiers: contact and referral dates are what an audit reports.

A shape counts only standing alone: not inside a longer run of letters or digits (record IDs
such as ``CC0000000012`` are not NHS numbers). ``IdentifierMask`` replaces each with ``WITHHELD``;
the data-quality check DQ113 (``dq.cross_table``) lists the records that hold one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WITHHELD = "(withheld: patient identifier)"
NHS_NUMBER_WEIGHTS = np.arange(10, 1, -1)  # the first nine digits' weights (as dq.nhs_number)
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_NHS = r"\d{3}[ -]?\d{3}[ -]?\d{4}"
_POSTCODE = r"[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}"
_YEAR, _MONTH, _DAY = r"(?:19|20)\d{2}", r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])"
# birth dates are years 1900-2099: a plausible date is a candidate, not every run of 8 digits in an ID
_DATES = (f"{_YEAR}-{_MONTH}-{_DAY}|{_DAY}[/.-]{_MONTH}[/.-]{_YEAR}"
          r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
# Python's pattern (lookarounds), and RE2's for pyarrow (no lookarounds: the edges are matched instead)
# (a date may run on into a time: 1971-02-28T00:00, so only digits may not touch it)
SHAPES = re.compile(f"{_EDGE_BEFORE}(?:(?P<nhs>{_NHS})|(?P<postcode>{_POSTCODE})){_EDGE_AFTER}"
                    f"|(?<!\\d)(?P<date>{_DATES})(?!\\d)")
_RE2_SHAPES = (f"(?:^|[^0-9A-Za-z])(?:{_NHS}|{_POSTCODE})(?:$|[^0-9A-Za-z])"
               f"|(?:^|[^0-9])(?:{_DATES})(?:$|[^0-9])")


def nhs_number_valid(digits: str) -> bool:
    """Ten digits whose last is the modulus-11 check digit of the first nine."""
    values = np.frombuffer(digits.encode("ascii"), dtype=np.uint8).astype(np.int64) - ord("0")
    check = (11 - int(values[:9] @ NHS_NUMBER_WEIGHTS) % 11) % 11
    return check != 10 and check == values[9]


@dataclass(frozen=True)
class IdentifierMask:
    """What counts as an identifier in one extract: the shapes, plus its own patients' values."""

    birth_dates: frozenset = field(default_factory=frozenset)   # ISO yyyy-mm-dd
    nhs_numbers: frozenset = field(default_factory=frozenset)   # digits only, valid or not

    @classmethod
    def of(cls, extract) -> "IdentifierMask":
        """From an extract read with ``identifiers=True`` (without its MPI: shapes only)."""
        mpi = extract.tables.get("IDS001MPI")
        if mpi is None:
            return cls()
        births = (mpi["PersonBirthDate"].dropna().dt.strftime("%Y-%m-%d") if "PersonBirthDate" in mpi
                  else pd.Series([], dtype=str))
        numbers = (mpi["NHSNumber"].dropna().astype(str).str.replace(r"[ -]", "", regex=True) if "NHSNumber" in mpi
                   else pd.Series([], dtype=str))
        return cls(frozenset(births.unique()), frozenset(n for n in numbers.unique() if len(n) == 10 and n.isdigit()))

    def _is_identifier(self, match: re.Match) -> bool:
        if match.group("postcode"):
            return True
        if match.group("nhs"):
            digits = re.sub(r"[ -]", "", match.group("nhs"))
            return digits in self.nhs_numbers or nhs_number_valid(digits)
        return _iso(match.group("date")) in self.birth_dates

    def text(self, value: str) -> str:
        """``value`` with every identifier replaced by ``WITHHELD``."""
        return SHAPES.sub(lambda m: WITHHELD if self._is_identifier(m) else m.group(), value)

    def holds(self, value: str) -> bool:
        return any(self._is_identifier(m) for m in SHAPES.finditer(value))

    def candidates(self, values) -> np.ndarray:
        """Which values may hold an identifier (vectorised, in Arrow's RE2): a superset, so only
        these few go through ``holds`` / ``text`` one by one."""
        if isinstance(values, pd.Series) and isinstance(values.array, pd.arrays.ArrowStringArray):
            array = values.array.__arrow_array__()
        else:
            array = pa.chunked_array([pa.array([v if isinstance(v, str) else None for v in values],
                                               type=pa.large_string())])
        return pc.fill_null(pc.match_substring_regex(array, _RE2_SHAPES), False).to_numpy()

    def series(self, values: pd.Series) -> pd.Series:
        """A text column with its identifiers masked (other values untouched, dtype kept)."""
        if len(values) == 0 or not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            return values
        hit = self.candidates(values)
        if not hit.any():
            return values
        out = values.copy()
        out[hit] = [self.text(str(v)) for v in values[hit].tolist()]
        return out

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Every text column of ``frame`` masked; the column names too."""
        masked = frame.copy()
        for column in masked.columns:
            masked[column] = self.series(masked[column])
        masked.columns = [self.text(c) if isinstance(c, str) else c for c in masked.columns]
        return masked

    def value(self, value):
        """Any JSON-like value (dicts, lists, tuples, strings) with every string masked, keys included."""
        if isinstance(value, str):
            return self.text(value) if SHAPES.search(value) else value
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


def _iso(date: str) -> str:
    """``yyyy-mm-dd`` of a date shape (day-first when it has separators and the year last)."""
    if "-" in date[:5] and len(date) == 10 and date[4] == "-":
        return date
    if date.isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}"
    day, month, year = re.split(r"[/.-]", date)
    return f"{year}-{int(month):02d}-{int(day):02d}"
