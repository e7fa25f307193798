"""Every check, a passing case (the clean extract) and a failing case (its planted defect), by record ID."""

import pytest

from iapt_audit.dq import all_checks

import planted

CODES = sorted(planted.EXPECTED)


def by_code(result):
    return {f.check.code: f for f in result.checks}


def test_every_check_has_a_planted_case():
    """The submission-history checks need several submissions: their planted cases are the
    monthly story in tests/monthly/test_selection.py."""
    assert {c.code for c in all_checks() if c.engine != "submission_history"} == set(planted.EXPECTED)


@pytest.mark.parametrize("code", CODES)
def test_check_fails_exactly_the_planted_records(planted_result, code):
    finding = by_code(planted_result)[code]
    assert set(finding.records) == planted.EXPECTED[code]
    assert not finding.passed


@pytest.mark.parametrize("code", CODES)
def test_check_passes_on_the_clean_extract(clean_result, code):
    finding = by_code(clean_result)[code]
    assert finding.numerator == 0 and finding.passed
    assert finding.records == []


def test_clean_extract_exercises_every_check(clean_result):
    """A pass only means something if the check applied to some records."""
    idle = {f.check.code for f in clean_result.checks if f.denominator == 0}
    assert idle == set()


def test_counts_numerator_and_denominator(planted_result):
    found = by_code(planted_result)
    # two rows share ServiceRequestId R-DQ004: both are counted, the ID listed once
    assert found["DQ004"].numerator == 2 and found["DQ004"].records == ["R-DQ004"]
    # DQ005 applies to discharged referrals only: count them by hand from planted.py
    discharged = [r for r in planted.defect_tables()["IDS101Referral"] if r["ServDischDate"]]
    assert found["DQ005"].denominator == len(discharged)
    # the referral-level PHQ-9 above 27 and the GAD-7 below 0 are one check over scores with a known range
    assert found["DQ064"].numerator == 2


def test_by_provider_splits_exactly(planted_result):
    found = by_code(planted_result)["DQ012"]
    assert found.by_provider["RX1X"] == {"failing": 1, "total": 1}
    assert found.by_provider["RX1"]["failing"] == 0


def test_record_cap_keeps_counts_complete(planted_extract_path, period):
    from iapt_audit.dq import run_data_quality
    from iapt_audit.dq.settings import DQSettings
    from iapt_audit.io.extract import read_extract

    result = run_data_quality(read_extract(planted_extract_path, identifiers=True), period, record_cap=1,
                              settings=DQSettings(select=("DQ010", "DQ106")))
    found = by_code(result)
    assert set(found) == {"DQ010", "DQ106"}
    assert found["DQ010"].numerator == 2 and len(found["DQ010"].records) == 1
    assert found["DQ106"].as_json()["records_total"] == 2


def test_items_absent_from_the_files_count_as_missing(tmp_path, period):
    """Optional items a service did not export at all: conditions on them select nothing, and
    completeness checks on them fail every record they apply to."""
    import pandas as pd

    from iapt_audit.dq import run_data_quality
    from iapt_audit.dq.settings import DQSettings
    from iapt_audit.io.extract import read_extract

    tables = {
        "IDS101Referral": {"ServiceRequestId": ["R1"], "ReferralRequestReceivedDate": ["2024-04-01"]},
        "IDS201CareContact": {"CareContactId": ["C1", "C2"], "ServiceRequestId": ["R1", "R1"],
                              "CareContDate": ["2024-05-01", "2024-05-02"], "AttendOrDNACode": ["5", "3"],
                              "AppType": ["01", "01"]},
        "IDS202CareActivity": {"CareActId": [], "CareContactId": []},
        "IDS603PresentingComplaints": {"ServiceRequestId": ["R1"], "PresComp": ["F4"]},
        "IDS606CodedScoreAssessmentRefer": {"ServiceRequestId": [], "CodedAssToolType": [], "PersScore": [],
                                            "AssToolCompDate": []},
        "IDS607CodedScoreAssessmentAct": {"CareActId": [], "CodedAssToolType": [], "PersScore": []},
    }
    for name, columns in tables.items():
        rows = len(next(iter(columns.values())))
        pd.DataFrame({"OrgIDProv": ["RX1"] * rows, **columns}).to_csv(tmp_path / f"{name}.csv", index=False)
    result = run_data_quality(read_extract(tmp_path), period, settings=DQSettings(select=("DQ029", "DQ052")))
    found = by_code(result)
    assert found["DQ052"].denominator == 0 and found["DQ052"].passed   # no FindSchemeInUse: no ICD-10 rows
    assert found["DQ029"].records == ["C1"]                            # C1 attended, no ConsMechanism column


@pytest.mark.parametrize("code, record, column, value", [
    ("DQ107", "C-DQ107", "AppType", "02"),                      # the treatment contact's type, planted "02"
    ("DQ109", "R-DQ109", "LastActivityDate", "2024-06-01"),     # no contacts: receipt is the last activity
    ("DQ101", "C-DQ101", "CareContDate", "2024-07-01"),         # value and check share the column
])
def test_worklist_names_the_column_its_value_comes_from(planted_result, code, record, column, value):
    rows = planted_result.worklist
    row = rows[(rows["code"] == code) & (rows["record_id"] == record)]
    assert row[["column", "value"]].values.tolist() == [[column, value]]
