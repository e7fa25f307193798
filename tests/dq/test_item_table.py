"""NHS Digital's valid / other / default / invalid / missing table, on a hand-counted extract."""

import pandas as pd
import pytest

from builders import write_extract
from iapt_audit.kpis import ALL_PROVIDERS
from iapt_audit.dq.item_table import item_table
from iapt_audit.io.extract import read_extract


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    folder = tmp_path_factory.mktemp("items")
    referrals = [  # EndCode: 46 valid, 42 other (v1.5 code), XX invalid, blank missing ×2
        {"ServiceRequestId": "R1", "ReferralRequestReceivedDate": "2024-04-01", "EndCode": "46", "ServDischDate": "2024-06-01"},
        {"ServiceRequestId": "R2", "ReferralRequestReceivedDate": "2024-04-01", "EndCode": "42", "ServDischDate": "2024-13-45"},
        {"ServiceRequestId": "R3", "ReferralRequestReceivedDate": "2024-04-01", "EndCode": "XX", "ServDischDate": None},
        {"ServiceRequestId": "R4", "ReferralRequestReceivedDate": "2024-04-01", "EndCode": None, "ServDischDate": None},
        {"ServiceRequestId": "R5", "ReferralRequestReceivedDate": "2024-04-01", "EndCode": None, "ServDischDate": None},
    ]
    contacts = [  # PsychMed: 02 valid, ZZ and UU default, 9 invalid; ConsMechanism 98 = other
        {"CareContactId": f"C{i}", "ServiceRequestId": "R1", "CareContDate": "2024-05-01", "PsychMed": med,
         "ConsMechanism": cons}
        for i, (med, cons) in enumerate([("02", "01"), ("ZZ", "98"), ("UU", "11"), ("9", None)])]
    write_extract(folder, {"IDS101Referral": referrals, "IDS201CareContact": contacts})
    pd.DataFrame({"OrgIDProv": "RX1", "LocalPatientId": ["P1", "P2", "P3"],
                  "NHSNumber": ["9990000018", "9990000000", None]}).to_csv(folder / "IDS001MPI.csv", index=False)
    table = item_table(read_extract(folder, identifiers=True))
    return table.set_index(["OrgIDProv", "table", "item"])


def counts(items, table, item, org="RX1"):
    row = items.loc[(org, table, item)]
    return {k: int(row[k]) for k in ("denominator", "valid", "other", "default", "invalid", "missing")}


def test_end_code_categories(items):
    assert counts(items, "IDS101Referral", "EndCode") == {
        "denominator": 5, "valid": 1, "other": 1, "default": 0, "invalid": 1, "missing": 2}


def test_unparsed_date_is_invalid_not_missing(items):
    assert counts(items, "IDS101Referral", "ServDischDate") == {
        "denominator": 5, "valid": 1, "other": 0, "default": 0, "invalid": 1, "missing": 3}


def test_default_and_other_codes(items):
    assert counts(items, "IDS201CareContact", "PsychMed") == {
        "denominator": 4, "valid": 1, "other": 0, "default": 2, "invalid": 1, "missing": 0}
    assert counts(items, "IDS201CareContact", "ConsMechanism") == {
        "denominator": 4, "valid": 2, "other": 1, "default": 0, "invalid": 0, "missing": 1}


def test_nhs_number_check_digit(items):
    assert counts(items, "IDS001MPI", "NHSNumber") == {
        "denominator": 3, "valid": 1, "other": 0, "default": 0, "invalid": 1, "missing": 1}


def test_all_row_and_percentages(items):
    row = items.loc[(ALL_PROVIDERS, "IDS101Referral", "EndCode")]
    assert int(row["denominator"]) == 5
    assert row["missing_percent"] == pytest.approx(40.0)
    assert row["valid_percent"] == pytest.approx(20.0)


def test_provider_code_format_valid_and_invalid(tmp_path):
    # OrgIDProv: RX1 (an ODS code) on two patients, "R-1!" (not one) on a third; judged per distinct code
    write_extract(tmp_path, {"IDS101Referral": [
        {"ServiceRequestId": "R1", "ReferralRequestReceivedDate": "2024-04-01"}]})
    pd.DataFrame({"OrgIDProv": ["RX1", "RX1", "R-1!"], "LocalPatientId": ["P1", "P2", "P3"]}).to_csv(
        tmp_path / "IDS001MPI.csv", index=False)
    table = item_table(read_extract(tmp_path, identifiers=True)).set_index(["OrgIDProv", "table", "item"])
    assert counts(table, "IDS001MPI", "OrgIDProv", org=ALL_PROVIDERS) == {
        "denominator": 3, "valid": 2, "other": 0, "default": 0, "invalid": 1, "missing": 0}
    assert counts(table, "IDS001MPI", "OrgIDProv", org="R-1!")["invalid"] == 1
