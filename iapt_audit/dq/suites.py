"""The Great Expectations suites in ``expectations/``: one JSON file per table, GX's own format.

Each expectation's ``meta`` carries the check it belongs to (code, title, severity, fix and the
denominator in words). Several expectations may share one code when together they make one check
(a score below its scale's minimum or above its maximum).

Code lists and dates are not copied into the JSON: value sets and bounds are GX suite parameters
(``{"$PARAMETER": "app_types"}``) filled from ``model.codes`` and the reporting period at run time,
so a code list is corrected in one place and the suites stay valid GX documents.
"""

from __future__ import annotations

import json
from functools import cache

import pandas as pd

from iapt_audit.dq.findings import Check
from iapt_audit.model import codes
from iapt_audit.resources import resource_dir

META_KEYS = ("code", "title", "severity", "fix", "denominator")
EARLIEST_PLAUSIBLE_DATE = pd.Timestamp("2008-01-01")  # the IAPT programme's first sites opened in 2008


@cache
def load_suites() -> dict[str, dict]:
    """Every suite in ``expectations/``, keyed by table name (the file's stem), checked for meta."""
    suites = {}
    for path in sorted(resource_dir("expectations").glob("*.json")):
        suite = json.loads(path.read_text())
        for position, expectation in enumerate(suite["expectations"]):
            missing = [k for k in META_KEYS if k not in expectation.get("meta", {})]
            if missing:
                raise ValueError(f"{path.name}: expectation {position} has no meta {missing[0]!r}")
        suites[path.stem] = suite
    return suites


def expectation_column(expectation: dict) -> str:
    """The data item an expectation is about (the first of a column pair or compound key)."""
    kwargs = expectation["kwargs"]
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return kwargs["column_A"] if kwargs["column_A"] not in ("ScaleLow", "ScaleHigh") else kwargs["column_B"]
    return "+".join(kwargs["column_list"])


def suite_checks() -> list[Check]:
    """One Check per distinct code across all suites, in file order."""
    checks: dict[str, Check] = {}
    for table, suite in load_suites().items():
        for expectation in suite["expectations"]:
            meta = expectation["meta"]
            checks.setdefault(meta["code"], Check(
                code=meta["code"], title=meta["title"], severity=meta["severity"], table=table,
                column=expectation_column(expectation), fix=meta["fix"], denominator=meta["denominator"],
                engine="great_expectations"))
    return list(checks.values())


def suite_parameters(period_end: pd.Timestamp) -> dict:
    """Values for every ``$PARAMETER`` the suites use."""
    return {
        "end_codes": sorted(codes.END_CODES),
        "source_of_referral": sorted(codes.SOURCE_OF_REFERRAL),
        "attend_or_dna": sorted(codes.ATTEND_OR_DNA),
        "app_types": sorted(codes.APP_TYPES),
        "consultation_mechanisms": sorted(codes.CONS_MECHANISM_ANY),
        "therapy_modes": sorted(codes.THERAPY_MODES),
        "psych_med": sorted(set(codes.PSYCH_MED) | codes.PSYCH_MED_DEFAULT),
        "therapy_codes": sorted(codes.THERAPY_CODES),
        "tool_codes": sorted(set(codes.TOOLS) | codes.OTHER_TOOL_CODES),
        "ethnic_category": sorted(codes.ETHNIC_CATEGORY | codes.ETHNIC_CATEGORY_DEFAULT),
        "employ_status": sorted(set(codes.EMPLOY_STATUS) | codes.EMPLOY_STATUS_DEFAULT),
        "ods_code_pattern": codes.ODS_CODE_PATTERN,
        "icd10_pattern": codes.ICD10_PATTERN,
        "earliest_date": EARLIEST_PLAUSIBLE_DATE,
        "period_end": pd.Timestamp(period_end),
    }
