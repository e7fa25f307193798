"""GM06's "first date with PHQ-9 and the ADSM both recorded and both below caseness", worked by
hand on a few scores (PHQ-9 caseness ≥ 10, GAD-7 ≥ 8: iapt-dataset.md §2.1), for whole-day dates
and for dates that carry a time of day (ranked by a different path)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from iapt_audit.model.thresholds import SCALES
from iapt_audit.resources import resource_dir
from iapt_audit.rules_engine.catalogue import load_rule_module

# the rule file's module namespace (rule files are loaded by path, not imported by name)
first_date_all_below = load_rule_module(resource_dir("rules") / "GM06_discharge_at_recovery_threshold.py"
                                        ).measure.__globals__["_first_date_all_below"]

SCORES = [  # ref, date, tool, score
    (0, "2024-05-01", "PHQ9", 12), (0, "2024-05-01", "GAD7", 5),    # PHQ-9 at caseness
    (0, "2024-05-08", "PHQ9", 8), (0, "2024-05-08", "GAD7", 6),     # both below: the answer
    (0, "2024-05-15", "PHQ9", 5), (0, "2024-05-15", "GAD7", 3),     # below again, later
    (1, "2024-06-01", "PHQ9", 5),                                   # no ADSM that day
    (1, "2024-06-08", "PHQ9", 5), (1, "2024-06-08", "GAD7", 9),     # GAD-7 at caseness
    (2, "2024-06-01", "PHQ9", 3), (2, "2024-06-01", "GAD7", 2),     # no ADSM chosen for the referral
    (3, "2024-07-02", "SPIN", 10), (3, "2024-07-02", "PHQ9", 4),    # own ADSM (SPIN, caseness ≥ 19)
]
EXPECTED = ["2024-05-08", None, None, "2024-07-02"]


def _pathways(time_of_day: str):
    frame = pd.DataFrame(SCORES, columns=["ref", "date", "tool", "PersScore"])
    frame["date"] = pd.to_datetime(frame["date"] + time_of_day).astype("datetime64[ns]")
    frame["PersScore"] = frame["PersScore"].astype(float)
    frame = frame.sort_values(["ref", "tool", "date"], kind="stable").reset_index(drop=True)
    frame["tool"] = frame["tool"].astype("category")
    referrals = pd.DataFrame({"ADSM": ["GAD7", "GAD7", None, "SPIN"]}, dtype=object)
    return SimpleNamespace(referrals=referrals, scores=frame)


@pytest.mark.parametrize("time_of_day", ["", " 10:30"])
def test_first_date_both_below_caseness(time_of_day):
    found = first_date_all_below(_pathways(time_of_day), SCALES)
    expected = [pd.NaT if d is None else pd.Timestamp(d + time_of_day) for d in EXPECTED]
    assert found.tolist() == expected


def test_no_referral_ever_below_gives_no_dates():
    pathways = _pathways("")
    pathways.scores["PersScore"] = 27.0
    assert first_date_all_below(pathways, SCALES).isna().all()
    assert np.isnat(first_date_all_below(pathways, SCALES).to_numpy()).sum() == 4
