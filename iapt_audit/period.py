"""The reporting period: parsed from ``--period A:B``, else the header's, else the data's span.

``--period`` dates are read as the extract reader reads dates: ISO ``yyyy-mm-dd``, or UK
day-first ``dd/mm/yyyy`` (also with ``-`` or ``.``), never month-first. Both ends are read the
same way, so ``01/04/2024:31/03/2025`` is April to March. A date that does not exist
(``2024-04-31``) says so, and anything else (a two-digit year, a month name, one number) is
refused rather than guessed. Every command prints the period it used and where it came from
(``Period.describe``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from iapt_audit.errors import InputError

ISO = re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})")
DAY_FIRST = re.compile(r"(?P<day>\d{1,2})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4})")
EXAMPLE = "write it as 2024-04-01:2025-03-31 (or day-first, 01/04/2024:31/03/2025)"


@dataclass(frozen=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp
    source: str = field(default="", compare=False)  # "--period", "the header", "the data"

    @classmethod
    def parse(cls, text: str) -> "Period":
        parts = text.split(":")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise InputError(f"period {text!r} is not START:END", column="--period", fix=EXAMPLE)
        start, end = (_date(part.strip(), text) for part in parts)
        if end < start:
            raise InputError(f"period {text!r} ends before it starts", column="--period",
                             fix="put the earlier date first")
        return cls(start, end, "--period")

    def contains(self, dates: pd.Series) -> pd.Series:
        """Vectorised: which dates fall in the period (both ends included)."""
        return (dates >= self.start) & (dates <= self.end)

    def as_json(self) -> dict:
        return {"start": self.start.strftime("%Y-%m-%d"), "end": self.end.strftime("%Y-%m-%d")}

    def describe(self) -> str:
        """The line every command prints: the period used and where it came from."""
        where = f" (from {self.source})" if self.source else ""
        return f"Reporting period {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}{where}."


def _date(part: str, text: str) -> pd.Timestamp:
    match = ISO.fullmatch(part) or DAY_FIRST.fullmatch(part)
    if match is None:
        raise InputError(f"{part!r} in period {text!r} is not a date in a layout read without guessing",
                         column="--period", fix=EXAMPLE)
    year, month, day = (int(match.group(k)) for k in ("year", "month", "day"))
    try:
        return pd.Timestamp(date(year, month, day))
    except ValueError as err:  # day is out of range for month, month must be in 1..12
        raise InputError(f"{part!r} in period {text!r} is not a date ({err}; dd/mm/yyyy is read day-first)",
                         column="--period", fix=EXAMPLE) from None
    except OverflowError:
        raise InputError(f"{part!r} in period {text!r} is outside the dates an audit can hold",
                         column="--period", fix=EXAMPLE) from None


def resolve_period(text: str | None, extract) -> Period:
    """``--period`` if given, else the header's reporting period, else the span of referral dates."""
    if text:
        return Period.parse(text)
    declared = extract.header_period()
    if declared:
        return Period(declared[0].normalize(), declared[1].normalize(), "the header")
    received = extract["IDS101Referral"]["ReferralRequestReceivedDate"]
    contacts = extract["IDS201CareContact"]["CareContDate"]
    start, end = received.min(), max(received.max(), contacts.max())
    if pd.isna(start) or pd.isna(end):
        raise InputError("no dated referrals, so no reporting period can be inferred",
                         file=extract.files["IDS101Referral"], column="ReferralRequestReceivedDate",
                         fix="give --period START:END")
    return Period(start.normalize(), end.normalize(), "the referral and contact dates")
