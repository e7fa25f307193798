"""The publication tests' shared extract (``conftest.altered_extract`` builds it): a small synthetic
extract, its own "publication" written in NHS Digital's monthly long layout, then one provider's
records altered after publication.

The "publication" is written from the unaltered extract's own monthly counts, with NHS Digital's
disclosure rules applied by this file's own arithmetic (counts under 5 as "*", others to the
nearest 5; percentages from unrounded counts, to whole points, "*" when either count is under
5). Then one provider's records are altered: 10 referrals discharged in one month lose their
discharge (reopened after submission).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from iapt_audit.kpis import ALL_PROVIDERS, compute_kpis
from iapt_audit.period import Period

generate = pytest.importorskip("iapt_audit.synth.generate").generate
YEAR = Period.parse("2024-04-01:2025-03-31")
ALTERED = 10
# published items -> (kpis numerator column, denominator column) the test publishes
ITEMS = {"M001": ("Count_ReferralsReceived", None), "M031": ("Count_AccessingServices", None),
         "M056": ("Count_EndedReferrals", None), "M076": ("Count_FinishedCourseTreatment", None),
         "M191": ("Count_Recovery", None), "M179": ("Count_NotAtCaseness", None),
         "M192": ("Percentage_Recovery__num", "Percentage_Recovery__den"),
         "M053": ("Percentage_AccessingServices6WeeksFinishedCourseTreatment__num",
                  "Percentage_AccessingServices6WeeksFinishedCourseTreatment__den")}


def _published_count(n: int) -> str:
    return "*" if n < 5 else str(5 * math.floor(n / 5 + 0.5))


def _published_percent(n: int, d: int) -> str:
    if d <= 0:
        return "NULL"
    return "*" if n < 5 or d < 5 else str(math.floor(100 * n / d + 0.5))


def publish(pathways, path) -> None:
    rows = []
    for month in pd.period_range(YEAR.start, YEAR.end, freq="M"):
        start, end = month.start_time, month.end_time.normalize()
        kpis = compute_kpis(pathways.referrals, pathways.contacts, Period(start, end)).drop(index=ALL_PROVIDERS)
        for org, values in kpis.iterrows():
            for code, (num, den) in ITEMS.items():
                value = (_published_count(int(values[num])) if den is None
                         else _published_percent(int(values[num]), int(values[den])))
                rows.append([f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}", "Provider", "all", "all SubICBs", org,
                             f"Provider {org}", code, num.split("__")[0], value])
    pd.DataFrame(rows, columns=["REPORTING_PERIOD_START", "REPORTING_PERIOD_END", "GROUP_TYPE", "ORG_CODE1",
                                "ORG_NAME1", "ORG_CODE2", "ORG_NAME2", "MEASURE_ID", "MEASURE_NAME",
                                "MEASURE_VALUE_SUPPRESSED"]).to_csv(path, index=False)
