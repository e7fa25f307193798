"""Distributions behind the KPIs: final scores around the caseness cut-offs and waits.

A recovery rate can be met honestly or by nudging final scores just under the cut-off; a 6-week
standard can be met by a quick first appointment and a long wait for the second. Both show in the
distributions, not in the rates, so the report draws them ([G21] §6.3, §6.8–6.9; iapt-dataset.md
"Hidden waits"). Cohorts: final scores of courses finished in the period; referral-to-first-treatment
waits of finished courses (the standards' cohort); first-to-second waits of referrals whose second
treatment is in the period (M046/M047).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.model.thresholds import SCALES
from iapt_audit.report import charts
from iapt_audit.report.disclosure import Figures
from iapt_audit.report.document import Chart, Column, Table

WAIT_BIN_DAYS = 7
FIRST_WAIT_LAST_EDGE = 182    # 26 weeks: past the 18-week standard
SECOND_WAIT_LAST_EDGE = 182
SCORE_TOOLS = ("PHQ9", "GAD7")  # GAD-7 only where it is the referral's ADSM
SCORE_LABEL = {"PHQ9": "PHQ-9", "GAD7": "GAD-7"}


def _finished(referrals: pd.DataFrame, period) -> pd.Series:
    return period.contains(referrals["ServDischDate"]) & referrals["CompletedTreatment_Flag"]


def score_counts(referrals: pd.DataFrame, period, tool: str) -> pd.Series:
    """Count of finished courses by last score on ``tool`` (every whole score of the scale)."""
    scale = SCALES[tool]
    if tool == "PHQ9":
        last = referrals.loc[_finished(referrals, period), "PHQ9_LastScore"]
    else:
        chosen = _finished(referrals, period) & (referrals["ADSM"] == tool)
        last = referrals.loc[chosen, "ADSM_LastScore"]
    last = last.dropna().round().astype("int64")
    return last.value_counts().reindex(range(int(scale.low), int(scale.high) + 1), fill_value=0).sort_index()


def wait_counts(days: pd.Series, last_edge: int) -> tuple[list[int], np.ndarray]:
    """Counts per 7-day bin from 0 to ``last_edge``, the last bin open-ended."""
    edges = list(range(0, last_edge + 1, WAIT_BIN_DAYS))
    clipped = np.minimum(days.dropna().to_numpy(dtype="float64"), last_edge)
    positions = np.searchsorted(edges, clipped, side="right") - 1
    return edges, np.bincount(positions.astype("int64"), minlength=len(edges))


def distribution_blocks(referrals: pd.DataFrame, period, figures: Figures, *, prefix: str) -> list:
    """Charts and their tables: final PHQ-9 and GAD-7 scores, first and second treatment waits."""
    blocks = []
    score_rows = []
    for tool in SCORE_TOOLS:
        counts = score_counts(referrals, period, tool)
        shown = figures.counts(counts.to_numpy())
        cutoff = SCALES[tool].caseness
        name = SCORE_LABEL[tool]
        score_rows += [[name, int(score), count] for score, count in zip(counts.index, shown)]
        if counts.sum() == 0:
            continue
        svg = charts.score_histogram(f"{prefix}-scores-{tool}", counts.index.tolist(), shown, cutoff=cutoff, tool=name)
        just_under = counts.get(int(cutoff) - 1, 0)
        blocks.append(Chart(f"{prefix}-scores-{tool}", f"Final {name} scores of finished courses", svg,
                            alt=f"Histogram of last {name} scores; {figures.count(int(counts.sum()))} finished "
                                f"courses, {figures.count(int(just_under))} scored {int(cutoff) - 1}, one under "
                                f"the caseness cut-off of {cutoff:g}.",
                            note=f"The highlighted bar is a final score of {int(cutoff) - 1}, one point under "
                                 f"caseness ({cutoff:g}): a heap there is what nudged final scores leave."))
    finished = _finished(referrals, period)
    second = period.contains(referrals["TherapySession_SecondDate"])
    wait_rows = []
    waits = (
        ("first", "Referral to first treatment", referrals.loc[finished, "Wait_ReferralToFirstTreatment"],
         FIRST_WAIT_LAST_EDGE, {"6 weeks": 42, "18 weeks": 126}, "finished courses"),
        ("second", "First to second treatment", referrals.loc[second, "Wait_FirstToSecondTreatment"],
         SECOND_WAIT_LAST_EDGE, {"28 days": 28, "90 days": 90}, "referrals with a second treatment in the period"),
    )
    for key, title, days, last_edge, marks, cohort in waits:
        edges, counts = wait_counts(days, last_edge)
        shown = figures.counts(counts)
        wait_rows += [[title, edge, (f"{edge}+" if i == len(edges) - 1 else f"{edge}–{edge + WAIT_BIN_DAYS - 1}"), n]
                      for i, (edge, n) in enumerate(zip(edges, shown))]
        if counts.sum() == 0:
            continue
        chart_id = f"{prefix}-wait-{key}"
        svg = charts.wait_histogram(chart_id, edges, shown, marks=marks, x_label=f"{title}, days")
        blocks.append(Chart(chart_id, f"Wait from {title.lower()} ({cohort})", svg,
                            alt=f"Histogram of waits in 7-day bins; lines at {', '.join(marks)}.",
                            note=f"{figures.count(int(counts.sum()))} {cohort}; bars are 7-day bins."))
    blocks.append(Table(f"{prefix}-score-distribution", "Final scores of finished courses",
                        [Column("Questionnaire"), Column("Last score", "number"), Column("Referrals", "count")],
                        score_rows, sheet="Score distribution", folded=True))
    blocks.append(Table(f"{prefix}-wait-distribution", "Waits in 7-day bins",
                        [Column("Wait"), Column("From day", "number"), Column("Days"), Column("Referrals", "count")],
                        wait_rows, sheet="Wait distribution", folded=True))
    return blocks
