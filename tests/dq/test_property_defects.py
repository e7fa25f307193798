"""Property: a random clean extract has no error-level failure, and every defect planted in it at
random is found on the record it was planted in.

Each defect goes into its own course (referral with its contacts, activities and scores), so two
defects never mask each other; what is asserted is that the planted record is among the check's
failing records (a defect may also, rightly, trip a second check).
"""

from __future__ import annotations

import copy

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import GAD7, PHQ9
from iapt_audit.dq import run_data_quality
from iapt_audit.io.extract import read_extract
from iapt_audit.period import Period

import planted

PERIOD = Period.parse(planted.PERIOD)
START = pd.Timestamp("2024-04-01")
VALID_NHS_NUMBERS = ("9990000018", "9990000026", "9990000131", "9990000050")  # hand-checked, test_nhs_number


def day(offset: int) -> str:
    return (START + pd.Timedelta(days=offset)).strftime("%Y-%m-%d")


@st.composite
def courses(draw):
    """3-12 referrals, each with 2-4 attended CBT sessions scored on PHQ-9 and GAD-7."""
    tables = planted.empty()
    for n in range(draw(st.integers(3, 12))):
        ref, patient = f"R{n:02d}", f"P{n:02d}"
        received = draw(st.integers(0, 200))
        gaps = draw(st.lists(st.integers(1, 30), min_size=2, max_size=4))
        dates = [received + sum(gaps[: i + 1]) for i in range(len(gaps))]
        discharged = day(dates[-1] + 7) if draw(st.booleans()) else None
        tables["IDS101Referral"].append(planted.referral(ref, received=day(received), discharged=discharged,
                                                         LocalPatientId=patient))
        tables["IDS603PresentingComplaints"].append(planted.descriptor(ref, draw(st.sampled_from(["F32.1", "F41.1", "F40.1"]))))
        for i, date in enumerate(dates):
            cid, aid = f"{ref}-C{i}", f"{ref}-A{i}"
            tables["IDS201CareContact"].append(planted.contact(cid, ref, day(date), app="02"))
            tables["IDS202CareActivity"].append(planted.activity(aid, cid))
            tables["IDS607CodedScoreAssessmentAct"] += [planted.score607(aid, PHQ9, draw(st.integers(0, 27))),
                                                        planted.score607(aid, GAD7, draw(st.integers(0, 21)))]
        tables["IDS001MPI"].append({"LocalPatientId": patient, "EthnicCategory": "A",
                                    "NHSNumber": VALID_NHS_NUMBERS[n % len(VALID_NHS_NUMBERS)]})
        tables["IDS004EmpStatus"].append({"LocalPatientId": patient, "EmployStatus": "01"})
    return tables


def rows_of(tables, name, ref, key="ServiceRequestId"):
    return [r for r in tables[name] if str(r.get(key, "")).startswith(ref)]


# Each defect: (check code, function(tables, ref, pick) -> failing record ID)
def blank_received(t, ref, pick):
    rows_of(t, "IDS101Referral", ref)[0]["ReferralRequestReceivedDate"] = None
    return "DQ002", ref


def discharge_before_received(t, ref, pick):
    row = rows_of(t, "IDS101Referral", ref)[0]
    row["ServDischDate"] = (pd.Timestamp(row["ReferralRequestReceivedDate"]) - pd.Timedelta(days=1 + pick)).strftime("%Y-%m-%d")
    return "DQ009", ref


def duplicate_referral_row(t, ref, pick):
    t["IDS101Referral"].append(copy.deepcopy(rows_of(t, "IDS101Referral", ref)[0]))
    return "DQ004", ref


def invalid_end_code(t, ref, pick):
    row = rows_of(t, "IDS101Referral", ref)[0]
    row["ServDischDate"], row["EndCode"] = row["ServDischDate"] or "2025-03-01", ["77", "40", "1"][pick % 3]
    return "DQ006", ref


def invalid_source(t, ref, pick):
    rows_of(t, "IDS101Referral", ref)[0]["SourceOfReferralIAPT"] = ["ZZ", "b1", "99"][pick % 3]
    return "DQ008", ref


def _contact(t, ref, pick):
    contacts = rows_of(t, "IDS201CareContact", ref)
    return contacts[pick % len(contacts)]


def blank_attendance(t, ref, pick):
    row = _contact(t, ref, pick)
    row["AttendOrDNACode"] = None
    return "DQ023", row["CareContactId"]


def invalid_app_type(t, ref, pick):
    row = _contact(t, ref, pick)
    row["AppType"] = ["99", "2", "11"][pick % 3]
    return "DQ027", row["CareContactId"]


def invalid_attendance(t, ref, pick):
    row = _contact(t, ref, pick)
    row["AttendOrDNACode"] = ["1", "8", "05"][pick % 3]
    return "DQ026", row["CareContactId"]


def contact_after_period(t, ref, pick):
    row = _contact(t, ref, pick)
    row["CareContDate"] = day(366 + pick)
    return "DQ032", row["CareContactId"]


def contact_before_received(t, ref, pick):
    referral = rows_of(t, "IDS101Referral", ref)[0]
    row = _contact(t, ref, pick)
    row["CareContDate"] = (pd.Timestamp(referral["ReferralRequestReceivedDate"]) - pd.Timedelta(days=1 + pick)).strftime("%Y-%m-%d")
    return "DQ100", row["CareContactId"]


def orphan_contact(t, ref, pick):
    row = _contact(t, ref, pick)
    row["ServiceRequestId"] = f"GONE-{ref}"
    return "DQ102", row["CareContactId"]


def treatment_without_therapy(t, ref, pick):
    row = _contact(t, ref, pick)
    t["IDS202CareActivity"] = [a for a in t["IDS202CareActivity"] if a["CareContactId"] != row["CareContactId"]]
    return "DQ107", row["CareContactId"]


def unreadable_duration(t, ref, pick):
    row = _contact(t, ref, pick)
    row["ClinContDurOfCareCont"] = ["fifty", "5O", "1,5"][pick % 3]
    return "DQ112", row["CareContactId"]


def invalid_therapy(t, ref, pick):
    activities = rows_of(t, "IDS202CareActivity", ref, key="CareActId")
    row = activities[pick % len(activities)]
    row["CodeProcAndProcStatus"] = ["1", "304891005", "CBT"][pick % 3]
    return "DQ043", row["CareActId"]


def orphan_activity(t, ref, pick):
    activities = rows_of(t, "IDS202CareActivity", ref, key="CareActId")
    row = activities[pick % len(activities)]
    row["CareContactId"] = f"GONE-{ref}"
    return "DQ103", row["CareActId"]


def phq9_out_of_range(t, ref, pick):
    scores = [s for s in rows_of(t, "IDS607CodedScoreAssessmentAct", ref, key="CareActId") if s["CodedAssToolType"] == PHQ9]
    row = scores[pick % len(scores)]
    row["PersScore"] = [28, -1, 270][pick % 3]
    return "DQ074", row["CareActId"]


def unknown_tool(t, ref, pick):
    scores = rows_of(t, "IDS607CodedScoreAssessmentAct", ref, key="CareActId")
    row = scores[pick % len(scores)]
    row["CodedAssToolType"] = ["720433001", "PHQ9", "1"][pick % 3]
    return "DQ073", row["CareActId"]


def bad_nhs_number(t, ref, pick):
    patient = rows_of(t, "IDS101Referral", ref)[0]["LocalPatientId"]
    row = next(p for p in t["IDS001MPI"] if p["LocalPatientId"] == patient)
    number = row["NHSNumber"]
    row["NHSNumber"] = number[:9] + str((int(number[9]) + 1 + pick % 9) % 10)  # any other last digit fails
    return "DQ084", patient


def _employment(t, ref):
    patient = rows_of(t, "IDS101Referral", ref)[0]["LocalPatientId"]
    return patient, next(p for p in t["IDS004EmpStatus"] if p["LocalPatientId"] == patient)


def blank_employment(t, ref, pick):
    patient, row = _employment(t, ref)
    row["EmployStatus"] = None
    return "DQ090", patient


def invalid_employment(t, ref, pick):
    patient, row = _employment(t, ref)
    row["EmployStatus"] = ["09", "Z", "1"][pick % 3]
    return "DQ091", patient


DEFECTS = [blank_received, discharge_before_received, duplicate_referral_row, invalid_end_code, invalid_source,
           blank_attendance, invalid_app_type, invalid_attendance, contact_after_period, contact_before_received,
           orphan_contact, treatment_without_therapy, unreadable_duration, invalid_therapy, orphan_activity,
           phq9_out_of_range, unknown_tool, bad_nhs_number, blank_employment, invalid_employment]


def validate(tables, folder):
    return run_data_quality(read_extract(planted.write(folder, tables), identifiers=True), PERIOD)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clean=courses(), data=st.data())
def test_clean_passes_and_every_planted_defect_is_found(clean, data, tmp_path_factory):
    result = validate(clean, tmp_path_factory.mktemp("clean"))
    assert [f.check.code for f in result.checks if f.check.severity == "error" and not f.passed] == []

    refs = sorted({r["ServiceRequestId"] for r in clean["IDS101Referral"]})
    kinds = data.draw(st.lists(st.sampled_from(DEFECTS), min_size=1, max_size=len(refs)), label="defects")
    damaged = copy.deepcopy(clean)
    planted_defects = [kind(damaged, ref, data.draw(st.integers(0, 8), label=f"{kind.__name__} pick"))
                       for kind, ref in zip(kinds, refs)]
    found = {f.check.code: set(f.records) for f in validate(damaged, tmp_path_factory.mktemp("damaged")).checks}
    missed = [(code, record) for code, record in planted_defects if record not in found[code]]
    assert missed == []


def test_every_defect_kind_targets_a_distinct_check():
    """Each kind plants a different check, so the property test covers len(DEFECTS) checks."""
    codes = [kind(_fixed_courses(), "R00", 0)[0] for kind in DEFECTS]
    assert len(set(codes)) == len(DEFECTS)


def _fixed_courses():
    t = planted.empty()
    t["IDS101Referral"].append(planted.referral("R00", received="2024-05-01", discharged="2024-07-01",
                                                LocalPatientId="P00"))
    for i, date in enumerate(["2024-05-10", "2024-05-20"]):
        t["IDS201CareContact"].append(planted.contact(f"R00-C{i}", "R00", date, app="02"))
        t["IDS202CareActivity"].append(planted.activity(f"R00-A{i}", f"R00-C{i}"))
        t["IDS607CodedScoreAssessmentAct"] += [planted.score607(f"R00-A{i}", PHQ9, 10),
                                                planted.score607(f"R00-A{i}", GAD7, 8)]
    t["IDS001MPI"].append({"LocalPatientId": "P00", "EthnicCategory": "A", "NHSNumber": "9990000018"})
    t["IDS004EmpStatus"].append({"LocalPatientId": "P00", "EmployStatus": "01"})
    return t
