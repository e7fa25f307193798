"""Hand-built extracts for the data-quality tests: a clean one, and the same with one planted
defect per check, each on records named after the check (R-DQ005, C-DQ026, ...).

``EXPECTED`` is worked out by hand from the defects below: for every check, the record IDs that
must fail in the planted extract. Where one defect legitimately trips a second check the entry
says why. The clean extract must fail nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from builders import GAD7, PHQ9, write_extract
from iapt_audit.dq.findings import BLANK

PERIOD = "2024-04-01:2025-03-31"
SPIN = "445552006"
THERAPY = "304891004"


def referral(ref, received="2024-04-01", discharged=None, end=None, **items):
    row = {"ServiceRequestId": ref, "ReferralRequestReceivedDate": received, "ServDischDate": discharged,
           "EndCode": end if end is not None else ("12" if discharged else None),
           "LocalPatientId": f"P-{ref}", "OrgIDComm": "00L", "SourceOfReferralIAPT": "B1"}
    row.update(items)
    return row


def contact(cid, ref, date, app="01", **items):
    row = {"CareContactId": cid, "ServiceRequestId": ref, "CareContDate": date, "AppType": app,
           "AttendOrDNACode": "5", "ConsMechanism": "01", "PsychMed": "02", "CareContPatientTherMode": "1",
           "ClinContDurOfCareCont": "50"}
    row.update(items)
    return row


def activity(aid, cid, code=THERAPY):
    return {"CareActId": aid, "CareContactId": cid, "CodeProcAndProcStatus": code}


def score607(aid, tool, score):
    return {"CareActId": aid, "CodedAssToolType": tool, "PersScore": score}


def score606(ref, tool, score, date):
    return {"ServiceRequestId": ref, "CodedAssToolType": tool, "PersScore": score, "AssToolCompDate": date}


def descriptor(ref, code, scheme="01"):
    return {"ServiceRequestId": ref, "PresComp": code, "FindSchemeInUse": scheme, "PresCompCodSig": "P"}


def treated(ref, dates, *, tools: dict[str, list], descriptor_code, discharged):
    """A finished course: attended treatment contacts with CBT, scores at each session."""
    t = empty()
    t["IDS101Referral"].append(referral(ref, discharged=discharged, end="46"))
    t["IDS603PresentingComplaints"].append(descriptor(ref, descriptor_code))
    for i, date in enumerate(dates):
        cid, aid = f"{ref}-C{i}", f"{ref}-A{i}"
        t["IDS201CareContact"].append(contact(cid, ref, date, app="02"))
        t["IDS202CareActivity"].append(activity(aid, cid))
        for tool, scores in tools.items():
            t["IDS607CodedScoreAssessmentAct"].append(score607(aid, tool, scores[i]))
    return t


TABLES = ("IDS101Referral", "IDS201CareContact", "IDS202CareActivity", "IDS603PresentingComplaints",
          "IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct", "IDS001MPI", "IDS004EmpStatus")


def empty() -> dict[str, list]:
    return {name: [] for name in TABLES}


def combine(*parts) -> dict[str, list]:
    out = empty()
    for part in parts:
        for name, rows in part.items():
            out[name].extend(rows)
    return out


def clean_tables() -> dict[str, list]:
    """Every check applies to something here and nothing fails."""
    finished_gad = treated("R01", ["2024-05-01", "2024-05-15", "2024-06-01"],
                           tools={PHQ9: [18, 12, 6], GAD7: [15, 10, 5]}, descriptor_code="F41.1",
                           discharged="2024-06-20")
    finished_spin = treated("R02", ["2024-05-02", "2024-05-16"],
                            tools={PHQ9: [14, 8], SPIN: [40, 20]}, descriptor_code="F401", discharged="2024-07-01")
    t = combine(finished_gad, finished_spin)
    # an open referral seen recently, a follow-up after discharge, a referral-level score in window
    t["IDS101Referral"] += [referral("R03", received="2024-11-01"),
                            referral("H1", discharged="2025-03-01", OrgIDComm="X2C4Y")]
    t["IDS201CareContact"] += [contact("R03-C0", "R03", "2025-03-10"),
                               contact("R01-F", "R01", "2024-08-20", app="06"),
                               contact("H1-C0", "H1", "2024-04-10", PlannedCareContIndicator="N",
                                       AttendOrDNACode="3")]
    t["IDS202CareActivity"] += [activity("H1-A0", "H1-C0")]
    t["IDS603PresentingComplaints"] += [descriptor("R03", "F32.1"), descriptor("H1", "83482000", "04")]
    t["IDS606CodedScoreAssessmentRefer"] += [score606("R03", PHQ9, 12, "2024-11-15")]
    t["IDS001MPI"] += [
        {"LocalPatientId": "P-R01", "NHSNumber": "9990000018", "EthnicCategory": "A"},
        {"LocalPatientId": "P-R02", "NHSNumber": "9990000026", "EthnicCategory": "Z"},
        {"LocalPatientId": "P-R03", "NHSNumber": "9990000131", "EthnicCategory": "M"},
        {"LocalPatientId": "P-H1", "NHSNumber": None, "EthnicCategory": "99"}]
    t["IDS004EmpStatus"] += [{"LocalPatientId": "P-R01", "EmployStatus": "01"},
                             {"LocalPatientId": "P-R02", "EmployStatus": "ZZ"}]
    return t


def defect_tables() -> dict[str, list]:
    """One planted defect per check, on records named after it."""
    t = empty()
    R, C, A = t["IDS101Referral"], t["IDS201CareContact"], t["IDS202CareActivity"]
    D, S6, S7 = t["IDS603PresentingComplaints"], t["IDS606CodedScoreAssessmentRefer"], t["IDS607CodedScoreAssessmentAct"]
    closed = "2024-09-01"
    R += [referral(None, discharged=closed, LocalPatientId="P-DQ001"),
          referral("R-DQ002", received=None, discharged=closed),
          referral("R-DQ003", discharged=closed, LocalPatientId=None),
          referral("R-DQ004", discharged=closed), referral("R-DQ004", discharged=closed, LocalPatientId="P-R-DQ004b"),
          referral("R-DQ005", discharged=closed, end=""),
          referral("R-DQ006", discharged=closed, end="42"),
          referral("R-DQ007", discharged=closed, SourceOfReferralIAPT=None),
          referral("R-DQ008", discharged=closed, SourceOfReferralIAPT="Z9"),
          referral("R-DQ009", received="2024-06-01", discharged="2024-05-01"),
          referral("R-DQ010", received="2025-06-01"),
          referral("R-DQ010b", received="2005-01-01", discharged="2009-01-01"),
          referral("R-DQ011", received="2024-05-01", discharged="2025-05-01"),
          referral("R-DQ012", discharged=closed, OrgIDProv="RX1X"),
          # an NHS number (test range, check digit 5 worked by hand) typed into LocalPatientId
          referral("R-DQ113", discharged=closed, LocalPatientId="999 000 1235"),
          referral("R-DQ013", discharged=closed, OrgIDComm="12345678")]
    # contacts hosted by H1 (discharged 2025-03-01) are assessments, so no pathway changes
    C += [contact(None, "H1", "2024-05-01"),
          contact("C-DQ021", None, "2024-05-01"),
          contact("C-DQ022", "H1", None),
          contact("C-DQ023", "H1", "2024-05-01", AttendOrDNACode=None),
          contact("C-DQ024", "H1", "2024-05-01", app=None),
          contact("C-DQ025", "H1", "2024-05-01"), contact("C-DQ025", "H1", "2024-05-02"),
          contact("C-DQ026", "H1", "2024-05-01", AttendOrDNACode="9"),
          contact("C-DQ027", "H1", "2024-05-01", app="99"),
          contact("C-DQ028", "H1", "2024-05-01", ConsMechanism="07"),
          contact("C-DQ029", "H1", "2024-05-01", ConsMechanism=None),
          contact("C-DQ030", "H1", "2024-05-01", CareContPatientTherMode="4"),
          contact("C-DQ031", "H1", "2024-05-01", PsychMed="04"),
          contact("C-DQ032", "H1", "2025-05-01", app="06"),
          contact("C-DQ112", "H1", "2024-05-01", ClinContDurOfCareCont="fifty")]
    A += [activity(None, "H1-C0"), activity("A-DQ041", None), activity("A-DQ042", "H1-C0"),
          activity("A-DQ042", "H1-C0"), activity("A-DQ043", "H1-C0", code="123456"),
          activity("A-DQ071", "H1-C0"), activity("A-DQ072", "H1-C0"), activity("A-DQ073", "H1-C0"),
          activity("A-DQ074", "H1-C0"), activity("A-DQ074b", "H1-C0")]
    R += [referral(f"R-DQ05{n}", discharged=closed) for n in (1, 2)]
    D += [descriptor(None, "F41.1"), descriptor("R-DQ051", None), descriptor("R-DQ052", "F4")]
    R += [referral(f"S-DQ06{n}", discharged=closed) for n in range(1, 7)] + [referral("S-DQ064b", discharged=closed)]
    S6 += [score606(None, PHQ9, 10, "2024-05-01"),
           score606("S-DQ061", None, 10, "2024-05-01"),
           score606("S-DQ062", PHQ9, None, "2024-05-01"),
           score606("S-DQ063", "999999", 10, "2024-05-01"),
           score606("S-DQ064", PHQ9, 28, "2024-05-01"), score606("S-DQ064b", GAD7, -1, "2024-05-01"),
           score606("S-DQ065", PHQ9, 10, None),
           score606("S-DQ066", PHQ9, 10, "2006-01-01")]
    S7 += [score607(None, PHQ9, 10), score607("A-DQ071", None, 10), score607("A-DQ072", PHQ9, None),
           score607("A-DQ073", "999999", 10), score607("A-DQ074", PHQ9, 30), score607("A-DQ074b", SPIN, 69)]
    t["IDS001MPI"] += [{"LocalPatientId": None, "NHSNumber": None, "EthnicCategory": "A"},
                       {"LocalPatientId": "P-DQ081", "EthnicCategory": "A"},
                       {"LocalPatientId": "P-DQ081", "EthnicCategory": "A"},
                       {"LocalPatientId": "P-DQ082", "EthnicCategory": None},
                       {"LocalPatientId": "P-DQ083", "EthnicCategory": "Q"},
                       {"LocalPatientId": "P-DQ084", "NHSNumber": "9990000017", "EthnicCategory": "A"},
                       {"LocalPatientId": "P-DQ084b", "NHSNumber": "9990000000", "EthnicCategory": "A"},
                       {"LocalPatientId": "P-DQ112", "EthnicCategory": "A", "PersonBirthDate": "1990-31-31"}]
    t["IDS004EmpStatus"] += [{"LocalPatientId": "P-DQ090", "EmployStatus": None},
                             {"LocalPatientId": "P-DQ091", "EmployStatus": "11"}]
    # cross-table defects
    R += [referral("R-DQ100", received="2024-06-01", discharged=closed),
          referral("R-DQ101", discharged="2024-06-01"),
          referral("R-DQ106a", discharged=closed, LocalPatientId="P-DQ106"),
          referral("R-DQ106b", discharged=closed, LocalPatientId="P-DQ106"),
          referral("R-DQ107", discharged=closed),
          referral("S-DQ108", received="2024-06-01", discharged=closed),
          referral("R-DQ109", received="2024-06-01")]
    C += [contact("C-DQ100", "R-DQ100", "2024-05-01"),
          contact("C-DQ101", "R-DQ101", "2024-07-01"), contact("C-DQ101f", "R-DQ101", "2024-07-01", app="06"),
          contact("C-DQ101e", "R-DQ101", "2024-07-01", app="10"),  # employment support may follow discharge
          contact("C-DQ102", "X-DQ102", "2024-05-01"),
          contact("C-DQ107", "R-DQ107", "2024-05-01", app="02")]
    A += [activity("A-DQ103", "X-DQ103")]
    S7 += [score607("X-DQ104", PHQ9, 10)]
    S6 += [score606("X-DQ105", PHQ9, 10, "2024-05-01"), score606("S-DQ108", PHQ9, 10, "2024-05-01")]
    no_phq = treated("R-DQ110", ["2024-05-01", "2024-05-15"], tools={GAD7: [12, 6]}, descriptor_code="F32.0",
                     discharged="2024-06-01")
    gad_not_spin = treated("R-DQ111", ["2024-05-01", "2024-05-15"], tools={PHQ9: [15, 8], GAD7: [12, 6]},
                           descriptor_code="F40.1", discharged="2024-06-01")
    return combine(clean_tables(), t, no_phq, gad_not_spin)


# check -> record IDs that fail in the planted extract (all checks pass in the clean one)
EXPECTED = {
    "DQ001": {BLANK}, "DQ002": {"R-DQ002"}, "DQ003": {"R-DQ003"}, "DQ004": {"R-DQ004"},
    "DQ005": {"R-DQ005"}, "DQ006": {"R-DQ006"}, "DQ007": {"R-DQ007"}, "DQ008": {"R-DQ008"},
    "DQ009": {"R-DQ009"}, "DQ010": {"R-DQ010", "R-DQ010b"}, "DQ011": {"R-DQ011"},
    "DQ012": {"R-DQ012"}, "DQ013": {"R-DQ013"},
    "DQ020": {BLANK}, "DQ021": {"C-DQ021"}, "DQ022": {"C-DQ022"}, "DQ023": {"C-DQ023"},
    "DQ024": {"C-DQ024"}, "DQ025": {"C-DQ025"}, "DQ026": {"C-DQ026"}, "DQ027": {"C-DQ027"},
    "DQ028": {"C-DQ028"}, "DQ029": {"C-DQ029"}, "DQ030": {"C-DQ030"}, "DQ031": {"C-DQ031"},
    "DQ032": {"C-DQ032"},
    "DQ040": {BLANK}, "DQ041": {"A-DQ041"}, "DQ042": {"A-DQ042"}, "DQ043": {"A-DQ043"},
    "DQ050": {BLANK}, "DQ051": {"R-DQ051"}, "DQ052": {"R-DQ052"},
    "DQ060": {BLANK}, "DQ061": {"S-DQ061"}, "DQ062": {"S-DQ062"}, "DQ063": {"S-DQ063"},
    "DQ064": {"S-DQ064", "S-DQ064b"}, "DQ065": {"S-DQ065"}, "DQ066": {"S-DQ066"},
    "DQ070": {BLANK}, "DQ071": {"A-DQ071"}, "DQ072": {"A-DQ072"}, "DQ073": {"A-DQ073"},
    "DQ074": {"A-DQ074", "A-DQ074b"},
    "DQ080": {BLANK}, "DQ081": {"P-DQ081"}, "DQ082": {"P-DQ082"}, "DQ083": {"P-DQ083"},
    "DQ084": {"P-DQ084", "P-DQ084b"},
    "DQ090": {"P-DQ090"}, "DQ091": {"P-DQ091"},
    "DQ100": {"C-DQ100"}, "DQ101": {"C-DQ101"}, "DQ102": {"C-DQ102"}, "DQ103": {"A-DQ103"},
    "DQ104": {"X-DQ104"}, "DQ105": {"X-DQ105"}, "DQ106": {"R-DQ106a", "R-DQ106b"}, "DQ107": {"C-DQ107"},
    # S-DQ066's score is dated 2006, before its referral was received: also outside its window
    "DQ108": {"S-DQ108", "S-DQ066"},
    # R-DQ011 is discharged after the period end, so open at the end with no activity since May 2024
    "DQ109": {"R-DQ109", "R-DQ011"},
    "DQ110": {"R-DQ110"}, "DQ111": {"R-DQ111"},
    "DQ112": {"C-DQ112", "P-DQ112"},
    "DQ113": {"R-DQ113"},
}


def write(folder: Path, tables: dict[str, list]) -> Path:
    """Write the extract: the builders' tables plus the patient and employment tables."""
    write_extract(folder, {k: v for k, v in tables.items() if k.startswith(("IDS1", "IDS2", "IDS6"))})
    for name in ("IDS001MPI", "IDS004EmpStatus"):
        rows = [{"OrgIDProv": "RX1", **row} for row in tables[name]]
        pd.DataFrame(rows).to_csv(Path(folder) / f"{name}.csv", index=False)
    return Path(folder)
