"""A hand-built extract whose KPIs are worked out by hand, for the report tests.

Provider RX1 is the hand-worked cohort of tests/test_kpis.py (6 referrals: recovery
1 of 2 at caseness = 50 %, 6 and 18 weeks 2 of 3 finished); providers P01..P09 each have
``i + 3`` recovered and 5 not recovered finished courses, all at caseness and seen within 14 days,
so provider Pi's recovery rate is (i + 3) / (i + 8) and, with 10 providers, funnels are drawn.
"""

from __future__ import annotations

from builders import course, hand_worked_cohort, merge

YEAR = "2024-04-01:2025-03-31"
PEERS = [f"P{i:02d}" for i in range(1, 10)]


def rx1_cohort() -> dict:
    """Provider RX1: the hand-worked cohort of tests/test_kpis.py."""
    return hand_worked_cohort()


def on_provider(tables: dict, org: str) -> dict:
    for rows in tables.values():
        for row in rows:
            row["OrgIDProv"] = org
    return tables


def peer(org: str, recovered: int, not_recovered: int) -> dict:
    parts = []
    for k in range(recovered):
        parts.append(course(f"{org}-R{k}", ["2024-06-10", "2024-06-24", "2024-07-08"], phq=[15, 9, 5],
                            gad=[12, 8, 4], received="2024-06-01", discharged="2024-07-09"))
    for k in range(not_recovered):
        parts.append(course(f"{org}-N{k}", ["2024-06-10", "2024-06-24"], phq=[15, 14], gad=[12, 11],
                            received="2024-06-01", discharged="2024-06-25"))
    return on_provider(merge(*parts), org)


def cohort_tables() -> dict:
    return merge(rx1_cohort(), *[peer(org, i + 3, 5) for i, org in enumerate(PEERS, start=1)])
