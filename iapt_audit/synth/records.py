"""Turn a chunk's arrays into the extract's tables, in the canonical layout.

Column names are the data items' own (v2.1) names as ``model.tables`` lists them, every table
carries OrgIDProv, codes are strings, dates are Arrow dates (written ISO ``YYYY-MM-DD``), and
NumGroupTherParticipants, durations and PersScore are numbers. ``SCHEMAS`` fixes each table's
columns and types once, so every chunk writes the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.model import codes
from iapt_audit.synth import calibration as cal
from iapt_audit.synth import ids, tools
from iapt_audit.synth.contacts import APP_TYPES, ATTEND_CODES, Contacts
from iapt_audit.synth.pathways import SOURCE_CODES, Plan
from iapt_audit.synth.people import patient_numbers
from iapt_audit.synth.providers import Providers
from iapt_audit.synth.scores import Scores
from iapt_audit.synth.timeline import Schedule

S, D, I, F = pa.string(), pa.date32(), pa.int64(), pa.float64()
SCHEMAS = {name: pa.schema(columns) for name, columns in {
    "IDS000Header": [("OrgIDProv", S), ("DatSetVer", S), ("OrgIDSubmit", S), ("PrimSystemInUse", S),
                     ("ReportingPeriodStartDate", D), ("ReportingPeriodEndDate", D), ("File_Type", S),
                     ("UniqueSubmissionID", S)],
    "IDS001MPI": [("OrgIDProv", S), ("LocalPatientId", S), ("NHSNumber", S), ("PersonBirthDate", D),
                  ("Postcode", S), ("Gender", S), ("EthnicCategory", S)],
    "IDS004EmpStatus": [("OrgIDProv", S), ("LocalPatientId", S), ("EmployStatus", S),
                        ("EmployStatusRecDate", D)],
    "IDS101Referral": [("OrgIDProv", S), ("ServiceRequestId", S), ("LocalPatientId", S), ("OrgIDComm", S),
                       ("ReferralRequestReceivedDate", D), ("SourceOfReferralIAPT", S), ("EndCode", S),
                       ("ServDischDate", D)],
    "IDS201CareContact": [("OrgIDProv", S), ("CareContactId", S), ("ServiceRequestId", S), ("CareContDate", D),
                          ("PlannedCareContIndicator", S), ("AttendOrDNACode", S), ("AppType", S),
                          ("ClinContDurOfCareCont", I), ("ConsMechanism", S), ("CareContPatientTherMode", S),
                          ("NumGroupTherParticipants", I), ("NumGroupTherFacilitators", I)],
    "IDS202CareActivity": [("OrgIDProv", S), ("CareActId", S), ("CareContactId", S),
                           ("CodeProcAndProcStatus", S), ("CarePersLocalId", S), ("ClinContactDurOfCareAct", I)],
    "IDS603PresentingComplaints": [("OrgIDProv", S), ("ServiceRequestId", S), ("FindSchemeInUse", S),
                                   ("PresComp", S), ("PresCompDate", D)],
    "IDS606CodedScoreAssessmentRefer": [("OrgIDProv", S), ("ServiceRequestId", S), ("CodedAssToolType", S),
                                        ("PersScore", F), ("AssToolCompDate", D)],
    "IDS607CodedScoreAssessmentAct": [("OrgIDProv", S), ("CareActId", S), ("CodedAssToolType", S),
                                      ("PersScore", F)],
}.items()}
DATASET_VERSION = "2.1"
ICD10 = "01"                     # FindSchemeInUse: ICD-10
GROUP_TWO_FACILITATORS = 9       # groups of this size or more have two facilitators (assumption)
THERAPY_CODES = list(cal.LI_THERAPIES) + list(cal.HI_THERAPIES) + list(cal.GROUP_THERAPY.values()) + \
    list(codes.EMPLOYMENT_SUPPORT)   # employment support last (§1.5)


@dataclass
class ChunkArrays:
    """Everything one chunk generated, ready to become tables."""

    plan: Plan
    sched: Schedule
    contacts: Contacts
    session_scores: Scores
    assessment_scores: Scores
    people: dict[str, pa.Array]
    contact_offset: int          # CareContactId numbers already used by earlier chunks
    activity_offset: int         # CareActId numbers already used


def header_table(providers: Providers, start_day: int, end_day: int) -> pa.Table:
    n = len(providers.codes)
    codes = pa.array(providers.codes, S)
    return _table("IDS000Header", {
        "OrgIDProv": codes, "DatSetVer": pa.array([DATASET_VERSION] * n, S), "OrgIDSubmit": codes,
        "PrimSystemInUse": pa.array(["SYNTHETIC"] * n, S),
        "ReportingPeriodStartDate": _dates(np.full(n, start_day)),
        "ReportingPeriodEndDate": _dates(np.full(n, end_day)),
        "File_Type": pa.array(["Refresh"] * n, S),
        "UniqueSubmissionID": ids.record_ids("", np.arange(1, n + 1), 6),
    })


def chunk_tables(chunk: ChunkArrays, providers: Providers) -> dict[str, pa.Table]:
    plan, sched, contacts = chunk.plan, chunk.sched, chunk.contacts
    org = pa.array(providers.codes, S)
    ref_ids = ids.service_request_ids(plan.gidx + 1)
    contact_ids = ids.contact_ids(chunk.contact_offset + np.arange(1, len(contacts) + 1))

    act_contact = np.flatnonzero(contacts.has_activity)
    act_numbers = chunk.activity_offset + np.arange(1, len(act_contact) + 1)
    act_session = contacts.session[act_contact]
    act_of_session = np.empty(len(sched.sess_ref), np.int64)
    act_of_session[act_session[act_session >= 0]] = act_numbers[act_session >= 0]
    act_ids = ids.activity_ids(act_numbers)

    people = dict(chunk.people)
    people_org = org.take(pa.array(people.pop("prov")))
    source = np.array(SOURCE_CODES + ["N1"])[np.where(plan.child, len(SOURCE_CODES), plan.source)]
    referral = {
        "OrgIDProv": org.take(pa.array(plan.prov)), "ServiceRequestId": ref_ids,
        "LocalPatientId": ids.patient_ids(patient_numbers(plan) + 1),
        "OrgIDComm": pa.array(providers.commissioners, S).take(pa.array(plan.prov)),
        "ReferralRequestReceivedDate": _dates(sched.ref_day),
        "SourceOfReferralIAPT": pa.array(source, S),
        "EndCode": pa.array(sched.end_code, S, mask=sched.end_code == ""),
        "ServDischDate": _dates(sched.disch_day, mask=sched.disch_day < 0),
    }
    contact_ref = contacts.ref
    group = contacts.group
    contact = {
        "OrgIDProv": org.take(pa.array(plan.prov[contact_ref])),
        "CareContactId": contact_ids,
        "ServiceRequestId": ref_ids.take(pa.array(contact_ref)),
        "CareContDate": _dates(contacts.day),
        "PlannedCareContIndicator": pa.array(np.where(contacts.planned, "Y", "N"), S),
        "AttendOrDNACode": pa.array(ATTEND_CODES, S).take(pa.array(contacts.attend)),
        "AppType": pa.array(APP_TYPES, S).take(pa.array(contacts.app)),
        "ClinContDurOfCareCont": pa.array(contacts.duration, I, mask=contacts.duration < 0),
        "ConsMechanism": pa.array(contacts.cons, S),
        "CareContPatientTherMode": pa.array(np.where(group, "3", "1"), S),
        "NumGroupTherParticipants": pa.array(contacts.participants, I, mask=~group),
        "NumGroupTherFacilitators": pa.array(1 + (contacts.participants >= GROUP_TWO_FACILITATORS), I,
                                             mask=~group),
    }
    activity = _activities(plan, sched, contacts, act_contact, org)
    activity.update({"CareActId": act_ids, "CareContactId": contact_ids.take(pa.array(act_contact))})

    complaint = np.flatnonzero((sched.assess_day >= 0) & (plan.descriptor != tools.NO_DESCRIPTOR))
    a_scores, s_scores = chunk.assessment_scores, chunk.session_scores
    return {
        "IDS001MPI": _table("IDS001MPI", {"OrgIDProv": people_org, **people}),
        "IDS004EmpStatus": _table("IDS004EmpStatus", {"OrgIDProv": people_org, **people}),
        "IDS101Referral": _table("IDS101Referral", referral),
        "IDS201CareContact": _table("IDS201CareContact", contact),
        "IDS202CareActivity": _table("IDS202CareActivity", activity),
        "IDS603PresentingComplaints": _table("IDS603PresentingComplaints", {
            "OrgIDProv": org.take(pa.array(plan.prov[complaint])),
            "ServiceRequestId": ref_ids.take(pa.array(complaint)),
            "FindSchemeInUse": pa.array([ICD10] * len(complaint), S),
            "PresComp": pa.array(tools.DESCRIPTOR_CODES, S).take(pa.array(plan.descriptor[complaint])),
            "PresCompDate": _dates(sched.assess_day[complaint]),
        }),
        "IDS606CodedScoreAssessmentRefer": _table("IDS606CodedScoreAssessmentRefer", {
            "OrgIDProv": org.take(pa.array(plan.prov[a_scores.owner])),
            "ServiceRequestId": ref_ids.take(pa.array(a_scores.owner)),
            "CodedAssToolType": pa.array(tools.SNOMED, S).take(pa.array(a_scores.tool)),
            "PersScore": pa.array(a_scores.score, F),
            "AssToolCompDate": _dates(a_scores.day),
        }),
        "IDS607CodedScoreAssessmentAct": _table("IDS607CodedScoreAssessmentAct", {
            "OrgIDProv": org.take(pa.array(plan.prov[sched.sess_ref[s_scores.owner]])),
            "CareActId": ids.activity_ids(act_of_session[s_scores.owner]),
            "CodedAssToolType": pa.array(tools.SNOMED, S).take(pa.array(s_scores.tool)),
            "PersScore": pa.array(s_scores.score, F),
        }),
    }


def _activities(plan, sched, contacts, act_contact, org) -> dict[str, pa.Array]:
    """IDS202 therapy code, care professional and duration of each care activity: a session's
    therapy and therapist, or employment support and the referral's employment adviser."""
    session = contacts.session[act_contact]
    adviser = session < 0                      # an employment-support contact
    at = np.maximum(session, 0)
    ref = contacts.ref[act_contact]
    li = sched.sess_li[at] & ~adviser
    group = sched.sess_group[at] & ~adviser
    n_li = len(cal.LI_THERAPIES)
    group_code = len(cal.LI_THERAPIES) + len(cal.HI_THERAPIES) + np.where(li, 0, 1)
    therapy = np.select([adviser, group, li], [len(THERAPY_CODES) - 1, group_code, plan.li_therapy[ref]],
                        n_li + plan.hi_therapy[ref])
    therapist = np.where(li, plan.li_therapist[ref], plan.hi_therapist[ref])
    staff = pc.if_else(pa.array(adviser), ids.record_ids("E", plan.es_adviser[ref] + 1, 3),
                       ids.record_ids("T", therapist + 1, 3))
    provider = org.take(pa.array(plan.prov[ref]))
    return {
        "OrgIDProv": provider,
        "CodeProcAndProcStatus": pa.array(THERAPY_CODES, S).take(pa.array(therapy)),
        "CarePersLocalId": pc.binary_join_element_wise(provider, staff, "-"),
        "ClinContactDurOfCareAct": pa.array(contacts.duration[act_contact], I),
    }


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.table([columns[f.name] for f in schema], schema=schema)
