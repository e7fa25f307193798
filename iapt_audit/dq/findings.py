"""The finding model: one record per data-quality check, whatever engine ran it.

A check's result is always stated as failing records over the records it applies to, with that
denominator written out in words, because a bare percentage hides what "all records" meant (GX's
own ``unexpected_percent`` silently drops missing values). Record identifiers are the table's own
record ID (``model.tables.RECORD_ID``), never an NHS number, birth date or postcode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from iapt_audit.model.tables import RECORD_ID

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
ENGINES = ("great_expectations", "cross_table", "submission_history")
BLANK = " (blank)"  # a missing provider code or record ID; the leading blank, which the reader strips from
# every value, keeps it from colliding with a code or ID in the data (as kpis.ALL_PROVIDERS)
WORKLIST_COLUMNS = ["code", "severity", "table", "column", "OrgIDProv", "record_id", "value", "fix"]


@dataclass(frozen=True)
class Check:
    """What a check is, independent of any data: its code, wording, severity and scope."""

    code: str
    title: str
    severity: str
    table: str
    column: str
    fix: str
    denominator: str
    engine: str

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.code}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if self.engine not in ENGINES:
            raise ValueError(f"{self.code}: engine {self.engine!r} is not one of {', '.join(ENGINES)}")


@dataclass(frozen=True)
class Tolerance:
    """How many failing records a check may have and still pass: within either limit is enough.

    The default (0 records, 0 %) fails on the first failing record; a config file can allow a
    count (``max_count``), a share of the denominator (``max_percent``) or both.
    """

    max_count: int = 0
    max_percent: float = 0.0

    def allows(self, failing: int, percent: float) -> bool:
        return failing <= self.max_count or (self.max_percent > 0 and percent <= self.max_percent)


@dataclass
class Finding:
    """One check's outcome on one extract."""

    check: Check
    numerator: int
    denominator: int
    records: list[str]
    by_provider: dict[str, dict[str, int]]
    passed: bool

    @property
    def percent(self) -> float:
        return round(100.0 * self.numerator / self.denominator, 2) if self.denominator else 0.0

    def as_json(self) -> dict:
        c = self.check
        return {
            "code": c.code, "title": c.title, "severity": c.severity, "table": c.table, "column": c.column,
            "numerator": self.numerator, "denominator": self.denominator, "percent": self.percent,
            "denominator_definition": c.denominator, "passed": self.passed, "records": self.records,
            "records_total": self.numerator, "by_provider": self.by_provider, "engine": c.engine,
            "fix": c.fix,
        }


@dataclass
class DataQualityResult:
    """Everything the data-quality stage found, for the CLI gate, findings.json and the reports."""

    checks: list[Finding]                # every check run, passing ones included, sorted by severity then code
    worklist: pd.DataFrame               # long table of failing records (capped per check)
    item_table: pd.DataFrame             # NHS Digital's valid / other / default / invalid / missing table
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        """Checks with at least one failing record (within tolerance or not)."""
        return [f for f in self.checks if f.numerator]

    @property
    def has_errors(self) -> bool:
        return any(not f.passed and f.check.severity == "error" for f in self.checks)


@dataclass(frozen=True)
class Providers:
    """Each row's provider as an integer code, factorised once per table: counting records per
    provider is then a bincount, not a string group-by, for every one of some 65 checks."""

    codes: np.ndarray
    labels: pd.Index

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "Providers":
        """Factorised as stored (no text copy of the column first); a missing code is "(blank)"."""
        codes, labels = pd.factorize(frame["OrgIDProv"])
        names = [str(label) for label in labels]
        missing = codes < 0
        if missing.any():
            if BLANK not in names:
                names.append(BLANK)
            codes[missing] = names.index(BLANK)
        return cls(codes.astype(np.int64, copy=False), pd.Index(names))

    def count(self, rows: np.ndarray | None) -> pd.Series:
        """Records per provider among ``rows`` (a boolean mask or row positions; ``None``: every row).

        A denominator mask usually holds nearly every row, so it is counted as every row less the
        few left out: a small selection instead of copying millions of provider codes.
        """
        if rows is None:
            return pd.Series(self._all, index=self.labels)
        rows = np.asarray(rows)
        if rows.dtype == bool and len(rows) == len(self.codes):
            left_out = ~rows
            if np.count_nonzero(left_out) < len(rows) // 2:
                counts = self._all - np.bincount(self.codes[left_out], minlength=len(self.labels))
                return pd.Series(counts, index=self.labels)
        return pd.Series(np.bincount(self.codes[rows], minlength=len(self.labels)), index=self.labels)

    @cached_property
    def _all(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.labels))


def evaluate(check: Check, frame: pd.DataFrame, providers: Providers, totals: pd.Series, failing: np.ndarray, *,
             tolerance: Tolerance, record_cap: int, value_column: str | None = None) -> tuple[Finding, pd.DataFrame]:
    """Turn a check's failing row positions in ``frame`` into a Finding and its worklist rows.

    ``totals`` is the denominator per provider (``providers.count(applies)``); ``failing`` the sorted row
    positions that failed. Per-provider counts are exact; the record list and the worklist keep
    the first ``record_cap`` failing rows by record ID (then value), never by file order. A check spanning
    tables (its table is not in ``RECORD_ID``), or whose frame names its records itself (a
    ``record_id`` column: the submission-history checks), reads ``record_id``, ``table`` and
    ``column`` from the frame's own columns of those names.

    A worklist row's ``column`` names the column its ``value`` was read from: the check's own
    column, or ``value_column`` when the telling value is elsewhere (DQ109 shows the referral's
    last activity date, not its blank discharge date). The finding keeps the check's column.
    """
    failing = np.asarray(failing, dtype=np.int64)
    fails = providers.count(failing).reindex(totals.index, fill_value=0)
    listed = (totals.to_numpy() > 0) | (fails.to_numpy() > 0)
    by_provider = {str(org): {"failing": int(f), "total": int(t)} for org, f, t in
                   sorted(zip(totals.index[listed], fails.to_numpy()[listed], totals.to_numpy()[listed]))}
    spanning = check.table not in RECORD_ID or "record_id" in frame.columns
    column = value_column if value_column is not None and value_column in frame else check.column
    failing_rows = pd.DataFrame({
        "record_id": _take(frame["record_id" if spanning else RECORD_ID[check.table]], failing)
        .astype("string").fillna(BLANK).to_numpy(),
        "value": (_take(frame[column], failing).astype("string").fillna("").to_numpy() if column in frame
                  else ""),
        "OrgIDProv": providers.labels.to_numpy()[providers.codes[failing]],
        "table": _take(frame["table"], failing).to_numpy() if spanning else check.table,
        "column": _take(frame["column"], failing).to_numpy() if spanning else column})
    listed = first_listed(failing_rows, record_cap)
    numerator, denominator = len(failing), int(totals.sum())
    finding = Finding(check=check, numerator=numerator, denominator=denominator,
                      records=sorted(set(listed["record_id"].tolist())), by_provider=by_provider, passed=True)
    finding.passed = tolerance.allows(numerator, finding.percent)
    worklist = listed.assign(code=check.code, severity=check.severity, fix=check.fix)[WORKLIST_COLUMNS]
    return finding, worklist


LISTING_ORDER = ["record_id", "value", "OrgIDProv", "table", "column"]


def first_listed(rows: pd.DataFrame, record_cap: int) -> pd.DataFrame:
    """The failing rows a finding lists: the first ``record_cap`` in ``LISTING_ORDER`` (record ID,
    then value, provider, table and column), renumbered from 0.

    Why this order and not file order: the same records in another row order, or audited one
    provider at a time and joined (the Spark engine), must give the same lists, so that
    findings.json is byte-identical whatever the input's order or engine. The order is total over
    what a worklist row shows, so the first ``record_cap`` of the union of per-provider lists, each
    cut this way, are the first of the whole.
    """
    return rows.sort_values(LISTING_ORDER, kind="stable").head(record_cap).reset_index(drop=True)


def _take(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """``column.iloc[positions]`` (sorted positions), one Arrow chunk at a time for text columns.

    Why: pandas' take on a text column of many Arrow chunks (71 for 8M contacts) costs about
    10 ms however few rows it takes; per chunk it is under 1 ms, and a finding takes two columns
    for each of some 65 checks.
    """
    if not isinstance(column.array, pd.arrays.ArrowStringArray):
        return column.iloc[positions]
    chunked = column.array.__arrow_array__()
    lengths = np.array([len(chunk) for chunk in chunked.chunks], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    chunk_of = np.searchsorted(starts, positions, side="right") - 1
    parts = [chunked.chunk(c).take(pa.array(positions[chunk_of == c] - starts[c])) for c in np.unique(chunk_of)]
    return pd.Series(pa.chunked_array(parts, type=chunked.type), dtype=column.dtype)
