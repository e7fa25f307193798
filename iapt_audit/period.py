"""The reporting period: parsed from ``--period A:B``, else the header's, else the data's span."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from iapt_audit.errors import InputError


@dataclass(frozen=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def parse(cls, text: str) -> "Period":
        try:
            start, end = (pd.Timestamp(part.strip()) for part in text.split(":"))
        except (ValueError, TypeError):
            raise InputError(f"period {text!r} is not START:END", column="--period",
                             fix="write it as 2024-04-01:2025-03-31") from None
        if end < start:
            raise InputError(f"period {text!r} ends before it starts", column="--period",
                             fix="put the earlier date first")
        return cls(start.normalize(), end.normalize())

    def contains(self, dates: pd.Series) -> pd.Series:
        """Vectorised: which dates fall in the period (both ends included)."""
        return (dates >= self.start) & (dates <= self.end)

    def as_json(self) -> dict:
        return {"start": self.start.strftime("%Y-%m-%d"), "end": self.end.strftime("%Y-%m-%d")}


def resolve_period(text: str | None, extract) -> Period:
    """``--period`` if given, else the header's reporting period, else the span of referral dates."""
    if text:
        return Period.parse(text)
    declared = extract.header_period()
    if declared:
        return Period(declared[0].normalize(), declared[1].normalize())
    received = extract["IDS101Referral"]["ReferralRequestReceivedDate"]
    contacts = extract["IDS201CareContact"]["CareContDate"]
    start, end = received.min(), max(received.max(), contacts.max())
    if pd.isna(start) or pd.isna(end):
        raise InputError("no dated referrals, so no reporting period can be inferred",
                         file=extract.files["IDS101Referral"], column="ReferralRequestReceivedDate",
                         fix="give --period START:END")
    return Period(start.normalize(), end.normalize())
