"""GM06's part (b) per clinician: one clinician of six whose courses all end one point under the
cut-offs is flagged on GM06 by the heap test, and no other clinician on anything.

A hand-built provider (RX1, 2024-25), every course finished in the period and at caseness (first
PHQ-9 15, GAD-7 12; descriptor F41.1, so the ADSM is GAD-7), three treatment contacts, all of a
course's sessions with one clinician:

* H (the heap): 32 courses, PHQ-9 15 → 8 → 9, GAD-7 12 → 6 → 7. Every last score is at the heap
  value (PHQ-9 9, GAD-7 7): the three-point window holds 32 (≥ heap_min_cases 30), all 32 at the
  heap value; ratio to the neighbours' mean infinite (≥ 1.5); one-sided binomial p = (1/3)^32 ≈
  5e-16, below 0.001 / 2. The first contact below caseness is the second, not the last, so part
  (a) counts none of H's courses.
* W (wide): 42 honest courses whose last PHQ-9 cycles 8, 9, 10 (14 each) and last GAD-7 6, 7, 8:
  tested (window 42) but not heaped (14 of 42 at the heap value; ratio 1.0, p ≈ 0.5).
* A, B, C, D: 10 honest courses each, last PHQ-9 3 to 12 and GAD-7 2 to 11 (window 3: not tested).

Part (a): no course of anyone ends at its first contact below caseness (the middle scores, PHQ-9
5 and GAD-7 4 for the honest, 8 and 6 for H, are all below), so every GM06 numerator is 0 and the
funnel flags no one; H is flagged by the heap alone. Part (a)'s denominators are the recovered
courses (last PHQ-9 under 10 and GAD-7 under 8): H 32; W 28 (the 14 ending 10/8 are not); A-D 6
each (PHQ-9 3-9 and GAD-7 2-7 hold together for the first six, i = 0..5).
"""

from __future__ import annotations

import json

import pytest

from builders import course, merge, write_extract
from iapt_audit.audit import run_audit

YEAR = "2024-04-01:2025-03-31"
HEADER = {"OrgIDProv": "RX1", "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}
DATES = ["2024-05-01", "2024-05-15", "2024-05-29"]


def _tables() -> dict:
    courses, who = [], {}
    def add(clinician, n, phq_last, gad_last, middle):
        for i in range(n):
            ref = f"{clinician}{i:02d}"
            courses.append(course(ref, DATES, phq=[15, middle[0], phq_last(i)], gad=[12, middle[1], gad_last(i)],
                                  discharged="2024-05-30"))
            who[ref] = clinician
    add("H", 32, lambda i: 9, lambda i: 7, (8, 6))
    add("W", 42, lambda i: 8 + i % 3, lambda i: 6 + i % 3, (5, 4))
    for clinician in "ABCD":
        add(clinician, 10, lambda i: 3 + i, lambda i: 2 + i, (5, 4))
    tables = merge(*courses)
    for row in tables["IDS202CareActivity"]:
        row["CarePersLocalId"] = who[row["CareActId"].split("-")[0]]
    return tables


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_audit(write_extract(tmp_path_factory.mktemp("heap") / "extract", _tables(), HEADER), period=YEAR)


def test_the_heaping_clinician_is_flagged_on_gm06_by_the_heap_and_no_other(result):
    view = result.clinicians.as_json()
    json.dumps(view, allow_nan=False)
    team = view["providers"]["RX1"]
    assert sorted(team) == ["A", "B", "C", "D", "H", "W"]
    worse = {(who, measure) for who, entry in team.items() for measure, judged in entry["indicators"].items()
             if judged["verdict"] == "worse than expected"}
    assert worse == {("H", "GM06")}
    gm06 = {who: entry["indicators"]["GM06"] for who, entry in team.items()}
    assert {who: (g["numerator"], g["denominator"]) for who, g in gm06.items()} == {
        "H": (0, 32), "W": (0, 28), "A": (0, 6), "B": (0, 6), "C": (0, 6), "D": (0, 6)}
    assert gm06["H"]["flag"] is None  # not off the funnel of part (a) ...
    assert gm06["H"]["heap"].startswith("heaping: last PHQ9 at the cut-off minus one in 32 of 32 scores")
    assert "last ADSM at the cut-off minus one in 32 of 32" in gm06["H"]["heap"]  # ... but by the heap, both
    assert all(g["heap"] is None for who, g in gm06.items() if who != "H")


def test_the_self_check_says_the_heap_test_flagged_the_clinician(result):
    from iapt_audit.report.audiences import build_report
    report = build_report(result, "self-check")
    section = next(s for s in report.sections if s.id == "clinicians")
    flagged = next(b for b in section.blocks if b.id == "clinicians-flagged")
    assert [(row[1], row[2], row[6]) for row in flagged.rows] == [("H", "GM06", "worse than expected")]
    assert flagged.rows[0][7].startswith("heaping: last PHQ9")
    assert not [b for b in section.blocks if b.id.startswith("clinician-funnel")]  # no funnel flag: no chart
