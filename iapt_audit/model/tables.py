"""The extract's tables: names, the data items the engine reads, keys, types and v2.0/v2.1 aliases.

Column names are the data set's own item names (iapt-dataset.md §1.3). Everything not listed as
a date or a number is kept as a string, so codes such as AppType "01" keep their leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# Every record of a warehouse extract names the submission it came in (NHS Digital's
# UniqueSubmissionID); the reader gives every table this column (see ``io.extract``).
SUBMISSION_ID = "UniqueSubmissionID"
PROVIDER_ALIASES = {"OrgID_Provider": "OrgIDProv"}
# NHS Digital's derived identifiers, read as the provider's own identifier only where that is absent:
# Unique_ServiceRequestID and Unique_CareContactID are the provider code joined to the local ID, so
# they identify the same records within a provider; PathwayID names the referral's pathway
# ([BG] the replication database's IDS101_Referral and IDS201_CareContact).
IDENTIFIER_FALLBACKS = {
    "ServiceRequestId": ("Unique_ServiceRequestID", "PathwayID"),
    "CareContactId": ("Unique_CareContactID",),
    "CareActId": ("Unique_CareActivityID",),
}


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

    def __post_init__(self):
        # NHS Digital's extract views name the provider OrgID_Provider on every table
        object.__setattr__(self, "aliases", {**PROVIDER_ALIASES, **self.aliases})

    @property
    def columns(self) -> tuple[str, ...]:
        """Every item the reader keeps: the data items, then the submission the record came in."""
        items = self.required_columns + self.optional_columns
        return items if SUBMISSION_ID in items else items + (SUBMISSION_ID,)

    @property
    def data_items(self) -> tuple[str, ...]:
        """The data set's own items for this table (a record table's submission tag is not one)."""
        return self.required_columns + self.optional_columns

    @property
    def fallbacks(self) -> dict[str, tuple[str, ...]]:
        """Identifier items of this table that NHS Digital's extracts may give under another name."""
        return {item: IDENTIFIER_FALLBACKS[item] for item in self.columns if item in IDENTIFIER_FALLBACKS}


HEADER = TableSpec(
    "IDS000Header", required=False, key=("OrgIDProv", SUBMISSION_ID),
    required_columns=("OrgIDProv",),
    optional_columns=("DatSetVer", "OrgIDSubmit", "PrimSystemInUse", "ReportingPeriodStartDate",
                      "ReportingPeriodEndDate", "File_Type", "DateTimeDatSetCreate", SUBMISSION_ID),
    date_columns=("ReportingPeriodStartDate", "ReportingPeriodEndDate", "DateTimeDatSetCreate"),
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

# NHS Digital's own derived pathway fields, carried by its post-deadline extracts and warehouse
# views ([G21] §5.2; iapt-dataset.md §1.4). Read when present so ``reconcile`` can compare them
# with the tool's derivation (and honour UsePathway_Flag); never used to derive anything.
NHS_DIGITAL_DERIVED_DATES = ("Assessment_FirstDate", "TherapySession_FirstDate", "TherapySession_SecondDate")
NHS_DIGITAL_DERIVED_NUMBERS = ("TreatmentCareContact_Count", "InternetEnabledTherapy_Count", "PHQ9_FirstScore",
                               "PHQ9_LastScore", "GAD_FirstScore", "GAD_LastScore")
NHS_DIGITAL_DERIVED_FLAGS = ("UsePathway_Flag", "CompletedTreatment_Flag", "Caseness_Flag", "NotCaseness_Flag",
                             "Recovery_Flag", "ReliableImprovement_Flag", "ReliableDeterioration_Flag")
NHS_DIGITAL_DERIVED = NHS_DIGITAL_DERIVED_DATES + NHS_DIGITAL_DERIVED_NUMBERS + NHS_DIGITAL_DERIVED_FLAGS

REFERRAL = TableSpec(
    "IDS101Referral", required=True, key=("OrgIDProv", "ServiceRequestId"),
    required_columns=("ServiceRequestId", "ReferralRequestReceivedDate"),
    optional_columns=("OrgIDProv", "LocalPatientId", "OrgIDComm", "SourceOfReferralIAPT", "OnsetDate",
                      "PrevDiagCondInd", "EndCode", "ServDischDate", *NHS_DIGITAL_DERIVED),
    date_columns=("ReferralRequestReceivedDate", "ServDischDate", "OnsetDate", *NHS_DIGITAL_DERIVED_DATES),
    number_columns=NHS_DIGITAL_DERIVED_NUMBERS,
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

# Internet-enabled therapy care professional activity log (v2.0 on). Items: iapt-dataset.md §1.3
# [DSP]; UniqueID_IDS205 is NHS Digital's record ID ([MM20] M108, [TT] IET "Step 1 - IET (M).sql").
INTERNET_THERAPY_LOG = TableSpec(
    "IDS205InternetTherLog", required=False,
    key=("OrgIDProv", "ServiceRequestId", "IntEnabledTherProg", "StartDateIntEnabledTherLog",
         "EndDateIntEnabledTherLog", "CarePersLocalId"),
    required_columns=("ServiceRequestId", "EndDateIntEnabledTherLog"),
    optional_columns=("OrgIDProv", "StartDateIntEnabledTherLog", "IntEnabledTherProg", "DurationIntEnabledTher",
                      "CarePersLocalId", "IntegratedSoftwareInd", "UniqueID_IDS205"),
    date_columns=("StartDateIntEnabledTherLog", "EndDateIntEnabledTherLog"),
    number_columns=("DurationIntEnabledTher",),
)

PRESENTING_COMPLAINT = TableSpec(
    "IDS603PresentingComplaints", required=True, key=("OrgIDProv", "ServiceRequestId", "PresComp"),
    required_columns=("ServiceRequestId", "PresComp"),
    optional_columns=("OrgIDProv", "FindSchemeInUse", "PresCompCodSig", "PresCompDate"),
    date_columns=("PresCompDate",),
)

SCORE_REFERRAL = TableSpec(
    "IDS606CodedScoreAssessmentRefer", required=True,
    key=("OrgIDProv", "ServiceRequestId", "CodedAssToolType", "AssToolCompDate", "AssToolCompTime"),
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
    HEADER, MPI, EMPLOYMENT, REFERRAL, CARE_CONTACT, CARE_ACTIVITY, INTERNET_THERAPY_LOG, PRESENTING_COMPLAINT,
    SCORE_REFERRAL, SCORE_ACTIVITY)}

# The record identifier reported for a failing row of each table (worklists, DQ findings).
RECORD_ID = {
    "IDS000Header": "OrgIDProv",
    "IDS001MPI": "LocalPatientId",
    "IDS004EmpStatus": "LocalPatientId",
    "IDS101Referral": "ServiceRequestId",
    "IDS201CareContact": "CareContactId",
    "IDS202CareActivity": "CareActId",
    "IDS205InternetTherLog": "ServiceRequestId",
    "IDS603PresentingComplaints": "ServiceRequestId",
    "IDS606CodedScoreAssessmentRefer": "ServiceRequestId",
    "IDS607CodedScoreAssessmentAct": "CareActId",
}
