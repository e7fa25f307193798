"""Caseness from the first scores, paired or not (issue 14 item 3).

Why: NHS Digital's published 2024-25 England totals ([AM25], ../shared/data/published/annual)
count 670,419 finished courses; the reliable-change categories, which need paired scores, add up
to 661,898 (8,521 unpaired), yet at caseness + not at caseness is 669,482: only 937 finished
courses carry neither flag. So NHS Digital sets the caseness flags for unpaired courses from
their first scores, and the tool must too (the unpaired course below caseness then leaves the
recovery denominator, as in the shared case ``unpaired_not_caseness``).
"""

from __future__ import annotations

import pandas as pd

from extracts import CASES, merge, pathway, write
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways

ANNUAL = CASES.parents[1] / "data" / "published" / "annual" / "psych-ther-ann-rep-csv-2024-25-main2.csv.gz"


def test_published_counts_show_caseness_flags_on_unpaired_courses():
    rows = pd.read_csv(ANNUAL, dtype=str)
    england = rows[(rows["OrgType"] == "England") & (rows["VariableType"] == "Total")].iloc[0]
    n = {k: int(england[k]) for k in ("Count_FinishedCourseTreatment", "Count_AtCaseness", "Count_NotAtCaseness",
                                      "Count_Improvement", "Count_NoReliableChange", "Count_Deterioration")}
    unpaired = n["Count_FinishedCourseTreatment"] - n["Count_Improvement"] - n["Count_NoReliableChange"] \
        - n["Count_Deterioration"]
    neither = n["Count_FinishedCourseTreatment"] - n["Count_AtCaseness"] - n["Count_NotAtCaseness"]
    assert (unpaired, neither) == (8521, 937)
    assert neither < unpaired  # flags are set for most unpaired courses


def derive(tmp_path, tables):
    return derive_pathways(read_extract(write(tmp_path / "x", tables))).referrals.set_index("ServiceRequestId")


def test_first_scores_set_caseness_for_unpaired_courses(tmp_path):
    two = [{"date": "2024-04-20"}, {"date": "2024-05-20"}]
    rows = derive(tmp_path, merge(
        pathway("HIGH_PHQ", [{**two[0], "phq": 12, "gad": 3}, two[1]]),        # one PHQ-9 at caseness
        pathway("HIGH_GAD", [{**two[0], "phq": 4, "gad": 9}, two[1]]),         # one GAD-7 at caseness
        pathway("LOW", [{**two[0], "phq": 9, "gad": 7}, two[1]]),              # both just below
        pathway("PHQ_ONLY_LOW", [{**two[0], "phq": 4}, two[1]]),               # no anxiety score at all
        pathway("NONE", two),                                                  # no scores: neither flag
        pathway("PAIRED_LOW", [{**two[0], "phq": 5, "gad": 3}, {**two[1], "phq": 2, "gad": 1}]),
    ))
    assert rows.loc["HIGH_PHQ", "Caseness_Flag"] and not rows.loc["HIGH_PHQ", "NotCaseness_Flag"]
    assert rows.loc["HIGH_GAD", "Caseness_Flag"]
    assert rows.loc["LOW", "NotCaseness_Flag"] and not rows.loc["LOW", "Caseness_Flag"]
    assert not rows.loc["PHQ_ONLY_LOW", "NotCaseness_Flag"] and not rows.loc["PHQ_ONLY_LOW", "Caseness_Flag"]
    assert not rows.loc["NONE", "NotCaseness_Flag"] and not rows.loc["NONE", "Caseness_Flag"]
    assert rows.loc["PAIRED_LOW", "NotCaseness_Flag"]
    # recovery and reliable change still need paired scores
    assert not rows[["Recovery_Flag", "ReliableImprovement_Flag", "ReliableDeterioration_Flag"]].loc[
        ["HIGH_PHQ", "HIGH_GAD", "LOW"]].to_numpy().any()


def test_unpaired_anxiety_score_follows_the_descriptor_measure(tmp_path):
    # social phobia: one SPIN score (20, at caseness >= 19) and one GAD-7 (3): the SPIN decides
    tables = pathway("SOCIAL", [{"date": "2024-04-20", "phq": 4, "gad": 3}, {"date": "2024-05-20"}],
                     descriptor="F40.1",
                     scores=[{"CodedAssToolType": "445552006", "PersScore": 20, "AssToolCompDate": "2024-04-20"}])
    row = derive(tmp_path, tables).loc["SOCIAL"]
    assert row["Caseness_Flag"] and not row["NotCaseness_Flag"]


def test_v21_measures_without_a_source_decide_nothing(tmp_path):
    """v2.1's ADSMs: IBS-SSS and PHQ-15 have caseness cut-offs in [G21] §7.4; BIQ has none and the
    Chalder Fatigue Questionnaire has neither a code nor cut-offs (model.thresholds): nothing is
    invented, so their outcome rests on PHQ-9 (BIQ) or falls back to GAD-7 (CFQ)."""
    from iapt_audit.model.thresholds import SCALES

    assert SCALES["IBS_SSS"].caseness == 75 and SCALES["PHQ15"].caseness == 10
    assert SCALES["BIQ"].caseness is None and SCALES["BIQ"].reliable_change is None
    assert "CFQ" not in SCALES
    two = [{"date": "2024-04-20", "phq": 5, "gad": 12}, {"date": "2024-05-20", "phq": 4, "gad": 5}]
    body_image = [{"CodedAssToolType": "1128221000000100", "PersScore": v, "AssToolCompDate": d}
                  for v, d in ((80, "2024-04-20"), (20, "2024-05-20"))]
    rows = derive(tmp_path, merge(pathway("FATIGUE", two, descriptor="G93.3"),
                                  pathway("BDD", two, descriptor="83482000", scores=body_image)))
    assert rows.loc["FATIGUE", "DescriptorADSM"] == "CFQ" and rows.loc["FATIGUE", "ADSM"] == "GAD7"
    assert rows.loc["FATIGUE", "Caseness_Flag"] and rows.loc["FATIGUE", "Recovery_Flag"]  # GAD-7 12 -> 5
    assert rows.loc["BDD", "ADSM"] == "BIQ"
    assert not rows.loc["BDD", "Caseness_Flag"] and not rows.loc["BDD", "NotCaseness_Flag"]  # BIQ has no cut-off
