"""NHS Digital's data-quality table: Valid / Other / Default / Invalid / Missing for every item.

[DQM] ("IAPT v2.0 DQ metadata.xlsx", every field in the data set): the denominator is all records
in the item's table; Missing = null; Default = the NHS Data Dictionary default value; Invalid = an
"invalid value" or "not specified format" error; Valid = denominator − (default + invalid +
missing).

*Other* is not a column of that workbook. Following the issue, it splits NHS Digital's Valid: a
value that is accepted but says little — a code from an earlier version of the data set (v1.5 end
codes) or the list's own "other" code (98). So here valid + other = NHS Digital's Valid.

How each item is judged (``ITEM_RULES``): against its code list (``model.codes``), a format
(ODS codes, ICD-10, NHS number check digit) or, for dates and numbers, whether the value parsed
(``Extract.unparsed``); any other item is valid when present. Counts are per provider, plus an
``ALL`` row per item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iapt_audit.dq.nhs_number import nhs_number_valid
from iapt_audit.io.extract import Extract
from iapt_audit.kpis import ALL_PROVIDERS  # the one national key, which no provider code can equal
from iapt_audit.model import codes
from iapt_audit.model.tables import TABLES

CATEGORIES = ("valid", "other", "default", "invalid", "missing")
VALID, OTHER, DEFAULT, INVALID, MISSING = range(5)


@dataclass(frozen=True)
class ItemRule:
    valid: frozenset = frozenset()
    other: frozenset = frozenset()
    default: frozenset = frozenset()
    pattern: str | None = None
    nhs_number: bool = False


def _codes(valid, other=(), default=()) -> ItemRule:
    return ItemRule(valid=frozenset(valid), other=frozenset(other), default=frozenset(default))


_ODS = ItemRule(pattern=codes.ODS_CODE_PATTERN)
_THERAPY_OTHER = {"1026111000000108", "1026131000000100"}  # "other low / high intensity"
ITEM_RULES: dict[tuple[str, str], ItemRule] = {
    ("IDS101Referral", "EndCode"): _codes(codes.END_CODES, codes.END_CODES_LEGACY),
    ("IDS101Referral", "SourceOfReferralIAPT"): _codes(codes.SOURCE_OF_REFERRAL - {"M6"}, {"M6"}),
    ("IDS201CareContact", "AttendOrDNACode"): _codes(codes.ATTEND_OR_DNA),
    ("IDS201CareContact", "AppType"): _codes(set(codes.APP_TYPES) - {"98"}, {"98"}),
    ("IDS201CareContact", "ConsMechanism"): _codes(codes.CONS_MECHANISM_ANY - {"98"}, {"98"}),
    ("IDS201CareContact", "CareContPatientTherMode"): _codes(codes.THERAPY_MODES),
    ("IDS201CareContact", "PsychMed"): _codes(codes.PSYCH_MED, (), codes.PSYCH_MED_DEFAULT),
    ("IDS201CareContact", "PlannedCareContIndicator"): _codes(codes.PLANNED_INDICATOR),
    ("IDS202CareActivity", "CodeProcAndProcStatus"): _codes(set(codes.THERAPY_CODES) - _THERAPY_OTHER, _THERAPY_OTHER),
    ("IDS603PresentingComplaints", "PresComp"): ItemRule(
        pattern=f"(?:{codes.ICD10_PATTERN})|(?:{codes.SNOMED_PATTERN})"),
    ("IDS606CodedScoreAssessmentRefer", "CodedAssToolType"): _codes(set(codes.TOOLS) | codes.OTHER_TOOL_CODES),
    ("IDS607CodedScoreAssessmentAct", "CodedAssToolType"): _codes(set(codes.TOOLS) | codes.OTHER_TOOL_CODES),
    ("IDS001MPI", "EthnicCategory"): _codes(codes.ETHNIC_CATEGORY, (), codes.ETHNIC_CATEGORY_DEFAULT),
    ("IDS001MPI", "NHSNumber"): ItemRule(nhs_number=True),
    ("IDS004EmpStatus", "EmployStatus"): _codes(codes.EMPLOY_STATUS, (), codes.EMPLOY_STATUS_DEFAULT),
}
for _table in TABLES:
    ITEM_RULES.setdefault((_table, "OrgIDProv"), _ODS)
ITEM_RULES[("IDS101Referral", "OrgIDComm")] = _ODS


def item_table(extract: Extract) -> pd.DataFrame:
    """One row per (provider, table, item) and per (ALL, table, item), counts and percentages."""
    unparsed = extract.unparsed.groupby(["table", "column"], observed=True)["position"].agg(list)
    parts = []
    for name, table in extract.tables.items():
        providers, labels = pd.factorize(table["OrgIDProv"].astype("string"), use_na_sentinel=False)
        # each row's first cell in a (provider x category) count table, so one item's counts are
        # one bincount of offset + category, not a fresh provider-times-five array per item
        offsets = providers * len(CATEGORIES)
        for item in TABLES[name].data_items:
            if item not in table:
                continue
            failed_rows = np.asarray(unparsed.get((name, item), []), dtype=np.int64)
            rule = ITEM_RULES.get((name, item))
            category = (_categorise_providers(providers, labels, rule, failed_rows) if item == "OrgIDProv"
                        else _categorise(table[item], rule, failed_rows))
            counts = np.bincount(offsets + category, minlength=len(CATEGORIES) * len(labels))
            counts = counts.reshape(-1, len(CATEGORIES))
            frame = pd.DataFrame(counts, columns=list(CATEGORIES))
            frame.insert(0, "OrgIDProv", [str(label) for label in labels])
            frame.insert(1, "table", name)
            frame.insert(2, "item", item)
            parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=["OrgIDProv", "table", "item", "denominator", *CATEGORIES])
    return with_overall(pd.concat(parts, ignore_index=True))


def with_overall(per_provider: pd.DataFrame) -> pd.DataFrame:
    """Per-provider counts (OrgIDProv, table, item, one column per category) with the ALL rows,
    denominators and percentages added: also how the Spark engine joins its providers' tables."""
    overall = per_provider.groupby(["table", "item"], sort=False, as_index=False)[list(CATEGORIES)].sum()
    overall.insert(0, "OrgIDProv", ALL_PROVIDERS)
    result = pd.concat([per_provider, overall], ignore_index=True)
    result.insert(3, "denominator", result[list(CATEGORIES)].sum(axis=1))
    for category in CATEGORIES:
        result[f"{category}_percent"] = (100 * result[category] / result["denominator"].where(
            result["denominator"] > 0)).round(2).fillna(0.0)
    return result.sort_values(["OrgIDProv", "table", "item"], kind="stable").reset_index(drop=True)


def _categorise(values: pd.Series, rule: ItemRule | None, unparsed_positions: np.ndarray) -> np.ndarray:
    """The VODIM category of every value of one item (int8: VALID ... MISSING)."""
    present = values.notna().to_numpy()
    category = np.where(present, np.int8(VALID), np.int8(MISSING))
    category[unparsed_positions] = INVALID  # typed items: NaT / NaN after a failed parse is invalid, not missing
    if rule is None:
        return category
    text = values.astype("string")
    if rule.nhs_number:
        ok = nhs_number_valid(values).fillna(True).to_numpy(dtype=bool)
    elif rule.pattern:
        ok = text.str.fullmatch(rule.pattern).fillna(True).to_numpy(dtype=bool)
    else:
        ok = text.isin(rule.valid | rule.other | rule.default).to_numpy(dtype=bool) | ~present
        for listed, name in ((rule.other, OTHER), (rule.default, DEFAULT)):  # a code in both lists is a default
            if listed:
                category[text.isin(listed).to_numpy(dtype=bool)] = name
    category[present & ~ok] = INVALID
    return category


def _categorise_providers(providers: np.ndarray, labels: pd.Index, rule: ItemRule, unparsed_positions: np.ndarray
                          ) -> np.ndarray:
    """``_categorise`` for the provider code, judged once per distinct code: the table's rows are
    already numbered by provider for the counts, and a regular expression on every row of every
    table (8M care contacts among them) was about a fifth of the item table's time."""
    category = _categorise(pd.Series(labels, dtype="string"), rule, np.zeros(0, np.int64))[providers]
    category[unparsed_positions] = INVALID
    return category
