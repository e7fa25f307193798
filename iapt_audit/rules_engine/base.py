"""What a gaming rule is: a class with a stable code, its thresholds (with units) and one measurement.

Modelled on sqlfluff's rules: one rule per module in ``rules/``, the code, name, title and default
severity are class attributes, and the class docstring *is* the user documentation, written in
fixed sections (``DOC_SECTIONS``) so that ``iapt-audit rules GM03`` can print it and a meta-test
can check it. A rule only measures: it turns ``Pathways`` into one row per referral in its
denominator (``Measurement.cases``) with a ``counted`` column and the facts that made each one
count. Deciding which providers are flagged is the engine's job (``flagging``), the same for every
rule, so that all rules answer to one stated test; a rule adds to that decision only through
``decide`` (GM06's heaping test, GM08's recovery condition).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

DOC_SECTIONS = ("What it checks", "Why it matters", "How it is measured", "Thresholds",
                "Known false positives", "References")
SEVERITIES = ("critical", "warning", "info")
UNITS = ("percent", "days", "count", "participants", "ratio", "p-value")
CODE_PATTERN = re.compile(r"GM\d{2}")
NAME_PATTERN = re.compile(r"[a-z]+(\.[a-z0-9_]+)+")


@dataclass(frozen=True)
class Threshold:
    """A default threshold: its value, its unit (one of ``UNITS``) and what it bounds."""

    value: float
    unit: str
    meaning: str

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit {self.unit!r} is not one of {', '.join(UNITS)}")


@dataclass
class Measurement:
    """What a rule measured.

    ``cases``: one row per referral in the indicator's denominator, with ``OrgIDProv``,
    ``ServiceRequestId``, a boolean ``counted`` (the numerator) and the facts behind it (dates,
    gaps in days, scores, contact types), in the order the evidence should be read (worst first). ``providers``: optional per-provider statistics that the
    rule's ``decide`` uses and the findings show under ``detail`` (index ``OrgIDProv``).
    """

    cases: pd.DataFrame
    providers: pd.DataFrame | None = None


class Rule:
    """Base class of every gaming rule; subclasses live one per module in ``rules/``."""

    code: ClassVar[str]
    name: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[str] = "warning"
    indicator: ClassVar[str]                 # what the value (a percentage) is a share of, in words
    needs: ClassVar[tuple[str, ...]] = ()    # Pathways.referrals columns the rule reads
    thresholds: ClassVar[dict[str, Threshold]] = {}

    def measure(self, pathways, period, limits: dict[str, float], scales) -> Measurement:
        """Return the rule's cases for ``period``; ``limits`` are the thresholds in force."""
        raise NotImplementedError

    def decide(self, table: pd.DataFrame, measurement: Measurement, limits: dict[str, float]) -> pd.DataFrame:
        """Adjust the engine's per-provider decision (columns flagged, tests, reason); default: keep it."""
        return table

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its titled sections (title -> text)."""
        return parse_sections(cls.__doc__ or "")


def parse_sections(doc: str) -> dict[str, str]:
    """Split a docstring into sections headed by a line ``Title:`` (``DOC_SECTIONS`` titles)."""
    lines = [line.strip() for line in doc.strip().splitlines()]
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        heading = line[:-1] if line.endswith(":") else None
        if heading in DOC_SECTIONS:
            current = heading
            sections[current] = []
        else:
            sections[current].append(line)
    return {title: "\n".join(text).strip() for title, text in sections.items()}
