"""The extract's tables: names, the data items the engine reads, keys, types and v2.0/v2.1 aliases.

Column names are the data set's own item names (iapt-dataset.md §1.3). Everything not listed as
a date or a number is kept as a string, so codes such as AppType "01" keep their leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableSpec:
    """What the engine needs of one table of the extract."""

    name: str
    required: bool
    key: tuple[str, ...]
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    number_columns: tuple[str, ...] = ()
    # patient identifiers: dropped at read time unless a check asks for them, never written out
    identifier_columns: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # other-version name -> canonical name

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns


HEADER = TableSpec(
    "IDS000Header", required=False, key=("OrgIDProv",),
    required_columns=("OrgIDProv",),
    optional_columns=("DatSetVer", "OrgIDSubmit", "PrimSystemInUse", "ReportingPeriodStartDate",
                      "ReportingPeriodEndDate", "File_Type", "UniqueSubmissionID"),
    date_columns=("ReportingPeriodStartDate", "ReportingPeriodEndDate"),
)

MPI = TableSpec(
    "IDS001MPI", required=False, key=("OrgIDProv", "LocalPatientId"),
    required_columns=("LocalPatientId",),
    optional_columns=("OrgIDProv", "NHSNumber", "NHSNumberStatus", "PersonBirthDate", "Postcode",
                      "Gender", "GenderIdentity", "EthnicCategory", "LanguageCodePreferred"),
    date_columns=("PersonBirthDate",),
    identifier_columns=("NHSNumber", "PersonBirthDate", "Postcode"),
)

EMPLOYMENT = TableSpec(
    "IDS004EmpStatus", required=False, key=("OrgIDProv", "LocalPatientId", "EmployStatusRecDate"),
    required_columns=("LocalPatientId", "EmployStatus"),
    optional_columns=("OrgIDProv", "EmployStatusRecDate", "SickAbsenceInd", "BenefitRecInd"),
    date_columns=("EmployStatusRecDate",),
)

REFERRAL = TableSpec(
    "IDS101Referral", required=True, key=("OrgIDProv", "ServiceRequestId"),
    required_columns=("ServiceRequestId", "ReferralRequestReceivedDate"),
    optional_columns=("OrgIDProv", "LocalPatientId", "OrgIDComm", "SourceOfReferralIAPT", "OnsetDate",
                      "PrevDiagCondInd", "EndCode", "ServDischDate"),
    date_columns=("ReferralRequestReceivedDate", "ServDischDate", "OnsetDate"),
    aliases={"SourceOfReferralMH": "SourceOfReferralIAPT"},
)

CARE_CONTACT = TableSpec(
    "IDS201CareContact", required=True, key=("OrgIDProv", "CareContactId"),
    required_columns=("CareContactId", "ServiceRequestId", "CareContDate", "AttendOrDNACode", "AppType"),
    optional_columns=("OrgIDProv", "CareContTime", "PlannedCareContIndicator", "ClinContDurOfCareCont",
                      "ConsMechanism", "CareContPatientTherMode", "NumGroupTherParticipants",
                      "NumGroupTherFacilitators", "PsychMed", "IAPTLTCServiceInd", "ActLocTypeCode"),
    date_columns=("CareContDate",),
    number_columns=("ClinContDurOfCareCont", "NumGroupTherParticipants", "NumGroupTherFacilitators"),
    aliases={"ConsMediumUsed": "ConsMechanism"},
)

CARE_ACTIVITY = TableSpec(
    "IDS202CareActivity", required=True, key=("OrgIDProv", "CareActId"),
    required_columns=("CareActId", "CareContactId"),
    optional_columns=("OrgIDProv", "CodeProcAndProcStatus", "CarePersLocalId", "ClinContactDurOfCareAct"),
    number_columns=("ClinContactDurOfCareAct",),
)

PRESENTING_COMPLAINT = TableSpec(
    "IDS603PresentingComplaints", required=True, key=("OrgIDProv", "ServiceRequestId", "PresComp"),
    required_columns=("ServiceRequestId", "PresComp"),
    optional_columns=("OrgIDProv", "FindSchemeInUse", "PresCompCodSig", "PresCompDate"),
    date_columns=("PresCompDate",),
)

SCORE_REFERRAL = TableSpec(
    "IDS606CodedScoreAssessmentRefer", required=True,
    key=("OrgIDProv", "ServiceRequestId", "CodedAssToolType", "AssToolCompDate"),
    required_columns=("ServiceRequestId", "CodedAssToolType", "PersScore", "AssToolCompDate"),
    optional_columns=("OrgIDProv", "AssToolCompTime"),
    date_columns=("AssToolCompDate",),
    number_columns=("PersScore",),
)

SCORE_ACTIVITY = TableSpec(
    "IDS607CodedScoreAssessmentAct", required=True, key=("OrgIDProv", "CareActId", "CodedAssToolType"),
    required_columns=("CareActId", "CodedAssToolType", "PersScore"),
    optional_columns=("OrgIDProv",),
    number_columns=("PersScore",),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (
    HEADER, MPI, EMPLOYMENT, REFERRAL, CARE_CONTACT, CARE_ACTIVITY, PRESENTING_COMPLAINT,
    SCORE_REFERRAL, SCORE_ACTIVITY)}

# The record identifier reported for a failing row of each table (worklists, DQ findings).
RECORD_ID = {
    "IDS000Header": "OrgIDProv",
    "IDS001MPI": "LocalPatientId",
    "IDS004EmpStatus": "LocalPatientId",
    "IDS101Referral": "ServiceRequestId",
    "IDS201CareContact": "CareContactId",
    "IDS202CareActivity": "CareActId",
    "IDS603PresentingComplaints": "ServiceRequestId",
    "IDS606CodedScoreAssessmentRefer": "ServiceRequestId",
    "IDS607CodedScoreAssessmentAct": "CareActId",
}
