"""The shared derivation cases (../shared/cases/derivation, values from its README) audited as a
user would: each right value there is asserted here."""

from __future__ import annotations

import pytest

from extracts import audit, case


def totals(name: str):
    result = audit(case(name))
    findings = result.findings()
    return result, findings, findings["total"]["kpis"], findings["total"]["kpi_basis"]


def recovery(basis) -> tuple[int, int]:
    return basis["Percentage_Recovery"]["numerator"], basis["Percentage_Recovery"]["denominator"]


def test_control_pathway_finishes_recovers_and_improves():
    _, _, k, basis = totals("control")
    assert k["Count_FinishedCourseTreatment"] == 1
    assert recovery(basis) == (1, 1)
    assert k["Count_ReliableImprovement"] == 1


def test_unpadded_app_types_are_read_as_codes_and_still_reported():
    # [TT] PDT 2.10 accepts '2', ' 2', '2 ' for 02: access and finished courses are not lost
    result, findings, k, basis = totals("apptype_unpadded")
    assert k["Count_AccessingServices"] == 1
    assert k["Count_FinishedCourseTreatment"] == 1
    assert recovery(basis) == (1, 1)
    # the data-quality checks still report the three non-standard AppType values
    app_checks = [f for f in findings["data_quality"]
                  if f["table"] == "IDS201CareContact" and f["column"] == "AppType" and f["numerator"]]
    assert app_checks and app_checks[0]["numerator"] == 3 and not app_checks[0]["passed"]
    # and findings.json says how many values were read from another form: "1" once, "2" twice
    forms = {(f["form"], f["code"]): f["rows"] for f in findings["derivation"]["code_forms"]}
    assert forms == {("1", "01"): 1, ("2", "02"): 2}
    assert findings["derivation"]["code_form_values"] == 3


def test_internet_enabled_therapy_logs_are_treatment_sessions():
    # one face-to-face treatment and two IET logs: 3 sessions ([TT] IET Step 1, [MM21] M108/M348)
    result, findings, k, basis = totals("iet_logs")
    assert k["Count_FinishedCourseTreatment"] == 1
    assert recovery(basis) == (1, 1)
    assert k["Count_EndedTreatedOnce"] == 0
    row = result.pathways.referrals.set_index("ServiceRequestId").loc["SR1"]
    assert row["TreatmentCareContact_Count"] == 3 and row["InternetEnabledTherapy_Count"] == 2
    assert findings["derivation"]["iet_logs_counted"] == 2


def test_unpaired_course_below_caseness_leaves_the_recovery_denominator():
    _, _, k, basis = totals("unpaired_not_caseness")
    assert k["Count_NotAtCaseness"] == 1
    assert recovery(basis) == (1, 1)
    assert k["Percentage_Recovery"] == 100.0


def test_underscored_table_names_read_as_the_same_tables():
    _, findings, k, basis = totals("underscored_table_names")
    _, _, control, control_basis = totals("control")
    assert (k, basis) == (control, control_basis)
    assert recovery(basis) == (1, 1)


def test_orgid_provider_column_is_read_and_both_header_providers_audited():
    _, findings, k, _ = totals("orgid_provider_column")
    assert k["Count_FinishedCourseTreatment"] == 1
    assert sorted(findings["providers"]) == ["RTY", "RX5"]
