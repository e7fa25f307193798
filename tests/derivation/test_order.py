"""Order (issue 14 item 5): first and last by date, then time (CareContTime, AssToolCompTime), then
identifier, as NHS England's SQL orders them; and a property test: shuffling the rows of every
table leaves findings.json byte-identical."""

from __future__ import annotations

import pytest

from extracts import audit, merge, pathway, shuffled_copy, write
from iapt_audit.io.extract import read_extract
from iapt_audit.pathway import derive_pathways
from iapt_audit.report.findings import findings_text
from iapt_audit.synth import generate


def tied_tables():
    """Referrals whose outcome depends on how same-day scores and contacts are ordered.

    LATE_WINS: the last day has a 15:00 contact (PHQ-9 9, GAD-7 7: recovered) listed before a
    09:00 contact (PHQ-9 14: not recovered); by time the 15:00 one is last -> recovered.
    ID_WINS: two contacts at the same time on the last day; by CareContactId "B" is last -> not
    recovered, although "A" (recovered scores) is listed after it.
    REFERRAL_SCORE: a referral-level PHQ-9 at 08:00 on the first day before the activity score
    at 10:00: the 08:00 score (20) is the first.
    """
    late = pathway("LATE_WINS", [
        {"date": "2024-04-10", "phq": 15, "gad": 12},
        {"id": "L2", "date": "2024-05-20", "time": "15:00:00", "phq": 9, "gad": 7},
        {"id": "L1", "date": "2024-05-20", "time": "09:00:00", "phq": 14, "gad": 10}])
    ids = pathway("ID_WINS", [
        {"date": "2024-04-10", "phq": 15, "gad": 12},
        {"id": "B", "date": "2024-05-20", "time": "11:00", "phq": 14, "gad": 10},
        {"id": "A", "date": "2024-05-20", "time": "11:00", "phq": 9, "gad": 7}])
    referral_score = pathway("REFERRAL_SCORE", [
        {"date": "2024-04-10", "time": "10:00:00", "phq": 12, "gad": 12},
        {"date": "2024-05-20", "phq": 5, "gad": 4}],
        scores=[{"CodedAssToolType": "720433000", "PersScore": 20, "AssToolCompDate": "2024-04-10",
                 "AssToolCompTime": "08:00:00"}])
    logs = {"IDS205InternetTherLog": [
        {"ServiceRequestId": ref, "StartDateIntEnabledTherLog": "2024-04-12", "EndDateIntEnabledTherLog": end,
         "IntEnabledTherProg": "SilverCloud", "DurationIntEnabledTher": "30", "CarePersLocalId": "T1"}
        for ref, end in (("ID_WINS", "2024-04-20"), ("ID_WINS", "2024-04-20"), ("LATE_WINS", "2024-05-01"))]}
    return merge(late, ids, referral_score, logs)


def test_same_day_scores_are_ordered_by_time_then_identifier(tmp_path):
    pathways = derive_pathways(read_extract(write(tmp_path / "x", tied_tables())))
    rows = pathways.referrals.set_index("ServiceRequestId")
    assert rows.loc["LATE_WINS", "PHQ9_LastScore"] == 9 and rows.loc["LATE_WINS", "Recovery_Flag"]
    assert rows.loc["ID_WINS", "PHQ9_LastScore"] == 14 and not rows.loc["ID_WINS", "Recovery_Flag"]
    assert rows.loc["REFERRAL_SCORE", "PHQ9_FirstScore"] == 20
    contacts = pathways.contacts
    late = contacts[contacts["ServiceRequestId"] == "LATE_WINS"]
    assert late["CareContactId"].tolist()[1:] == ["L1", "L2"]  # 09:00 before 15:00
    assert late["treatment_number"].tolist() == [1, 2, 3]


def test_referrals_come_in_provider_and_identifier_order(tmp_path):
    tables = merge(pathway("Z9", [{"date": "2024-04-10"}]), pathway("A1", [{"date": "2024-04-10"}]))
    referrals = derive_pathways(read_extract(write(tmp_path / "x", tables))).referrals
    assert referrals["ServiceRequestId"].tolist() == ["A1", "Z9"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small synthetic extract: 3 providers, 300 referrals, planted gaming patterns."""
    folder = tmp_path_factory.mktemp("synth") / "x"
    generate(folder, providers=3, referrals=300, seed=4)
    for extra in ("truth.json", "truth_records.parquet"):
        (folder / extra).unlink(missing_ok=True)
    return folder


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffling_every_table_leaves_findings_json_byte_identical(tmp_path, synthetic, seed):
    base = findings_text(audit(synthetic))
    shuffled = shuffled_copy(synthetic, tmp_path / f"shuffled{seed}", seed)
    assert findings_text(audit(shuffled)) == base


def test_shuffling_the_tied_referrals_leaves_findings_json_byte_identical(tmp_path):
    folder = write(tmp_path / "tied", tied_tables())
    base = findings_text(audit(folder))
    for seed in (5, 6):
        assert findings_text(audit(shuffled_copy(folder, tmp_path / f"s{seed}", seed))) == base
