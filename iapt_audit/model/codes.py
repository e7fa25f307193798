"""Code lists of the IAPT data set, as iapt-dataset.md §1.5 and §2.3 give them.

One table per data item; the data-quality suites, the pathway derivation and the rules all read
their codes from here, so a code list is corrected in one place.
"""

from __future__ import annotations

# EndCode (IDS101): v2 list [MM20 M057–M072]; value -> (meaning, group)
END_CODES = {
    "50": ("Not assessed", "not seen"),
    "10": ("Not suitable - no action taken or directed back to referrer", "seen, not treated"),
    "11": ("Not suitable - signposted elsewhere with mutual agreement", "seen, not treated"),
    "12": ("Discharged by mutual agreement following advice and support", "seen, not treated"),
    "13": ("Referred to another therapy service by mutual agreement", "seen, not treated"),
    "14": ("Suitable but patient declined treatment that was offered", "seen, not treated"),
    "16": ("Incomplete assessment (patient dropped out)", "seen, not treated"),
    "17": ("Deceased (seen but not taken on)", "seen, not treated"),
    "95": ("Not known (seen but not taken on)", "seen, not treated"),
    "46": ("Mutually agreed completion of treatment", "treated"),
    "47": ("Termination of treatment earlier than care professional planned", "treated"),
    "48": ("Termination of treatment earlier than patient requested", "treated"),
    "49": ("Deceased (seen and taken on)", "treated"),
    "96": ("Not known (seen and taken on)", "treated"),
}
# v1.0/v1.5 end codes still seen in historic data: "Other" in NHS Digital's DQ terms, not invalid
END_CODES_LEGACY = {"15", "97", "40", "41", "42", "43", "44", "45", "98"}

# AttendOrDNACode (IDS201) [MM20 M083–M088]
ATTEND_OR_DNA = {
    "2": "Cancelled by, or on behalf of, the patient",
    "3": "Did not attend, no advance warning",
    "4": "Cancelled or postponed by the provider",
    "5": "Attended on time or late before the professional was ready",
    "6": "Arrived late but was seen",
    "7": "Arrived late and could not be seen",
}
ATTENDED = frozenset({"5", "6"})
DNA = "3"
UNPLANNED = "N"  # PlannedCareContIndicator: an unplanned contact counts as attended

# AppType (IDS201): 04, 07 and 98 exist but their meaning is UNVERIFIED (§1.5)
APP_TYPES = {
    "01": "Assessment",
    "02": "Treatment",
    "03": "Assessment and treatment",
    "04": "Review without treatment (meaning unverified)",
    "05": "Review and treatment",
    "06": "Follow-up",
    "07": "Other (meaning unverified)",
    "10": "Employment support",
    "98": "Other (meaning unverified)",
}
TREATMENT_APP_TYPES = frozenset({"02", "03", "05"})
ASSESSMENT_APP_TYPES = frozenset({"01", "03"})
ASSESS_AND_TREAT = "03"
FOLLOW_UP = "06"
EMPLOYMENT_SUPPORT_APP = "10"
# contacts that may follow ServDischDate: follow-ups, and employment support, which runs to its own
# EmpSupportDischargeDate (iapt-dataset.md, AppType: [MM21 M099, EA036])
AFTER_DISCHARGE_APP_TYPES = frozenset({FOLLOW_UP, EMPLOYMENT_SUPPORT_APP})

# Consultation medium (v2.0, to Mar 2022) and mechanism (v2.1, from Apr 2022); one column, both lists
CONS_MEDIUM_V20 = {"01", "02", "03", "04", "05", "06", "08", "98"}
CONS_MECHANISM_V21 = {"01", "02", "04", "05", "09", "10", "11", "12", "13", "98"}
CONS_MECHANISM_ANY = CONS_MEDIUM_V20 | CONS_MECHANISM_V21

# CareContPatientTherMode: 1 individual, 2 couple, 3 group
THERAPY_MODES = {"1": "Individual", "2": "Couple", "3": "Group"}
GROUP_MODE = "3"
INDIVIDUAL_MODE = "1"

PSYCH_MED = {"01": "Prescribed but not taking", "02": "Prescribed and taking", "03": "Not prescribed"}
PSYCH_MED_DEFAULT = {"UU", "ZZ"}

EMPLOY_STATUS = {
    "01": "Employed", "02": "Unemployed and seeking work", "03": "Student",
    "04": "Long-term sick or disabled", "05": "Homemaker",
    "06": "Not receiving benefits and not working or seeking work", "07": "Unpaid voluntary work",
    "08": "Retired",
}
EMPLOY_STATUS_DEFAULT = {"ZZ"}

# IDS001 Gender: NHS Data Dictionary PERSON STATED GENDER CODE (not in iapt-dataset.md)
GENDER = {"1": "Male", "2": "Female", "9": "Indeterminate", "X": "Not known"}

# EthnicCategory (IDS001): NHS Data Dictionary ETHNIC CATEGORY (2001 census groups); not in
# iapt-dataset.md, taken from the Data Dictionary. Z = not stated, 99 = not known (defaults).
ETHNIC_CATEGORY = {"A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S"}
ETHNIC_CATEGORY_DEFAULT = {"Z", "99"}

# Formats: ODS organisation codes (3 characters for a trust or commissioner, 5 for a site or
# sub-ICB location) and ICD-10 problem descriptors (letter, two digits, up to two more; dot optional)
ODS_CODE_PATTERN = r"^[A-Z0-9]{3}(?:[A-Z0-9]{2})?$"
ICD10_PATTERN = r"^[A-Z][0-9]{2}(?:\.?[0-9A-Z]{1,2})?$"
SNOMED_PATTERN = r"^[1-9][0-9]{5,17}$"
PLANNED_INDICATOR = {"Y", "N"}

SOURCE_OF_REFERRAL = {
    "A1", "A2", "A3", "A4", "B1", "B2", "C1", "C2", "C3", "D1", "D2",
    "E1", "E2", "E3", "E4", "E5", "E6", "F1", "F2", "F3", "G1", "G2", "G3", "G4",
    "H1", "H2", "I1", "I2", "M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8",
    "N1", "N2", "N4", "P1", "Q1",
}
STEPPED_UP = "N1"
SELF_REFERRAL = "B1"

# Therapy type (IDS202 CodeProcAndProcStatus, SNOMED CT) by step, with NHS England's extra codes
LOW_INTENSITY = {
    "748051000000105": "Guided self-help (book)",
    "748101000000105": "Non-guided self-help (book)",
    "748041000000107": "Guided self-help (computer)",
    "748091000000102": "Non-guided self-help (computer)",
    "748061000000108": "Structured physical activity",
    "702545008": "Psychoeducational peer support",
    "1026111000000108": "Other low intensity",
    "975131000000104": "Community signposting",
    "429329005": "Low intensity (NHSE extra)", "444175001": "Low intensity (NHSE extra)",
    "1129491000000100": "Low intensity (NHSE extra)", "223458004": "Low intensity (NHSE extra)",
    "975151000000106": "Low intensity (NHSE extra)",
}
HIGH_INTENSITY = {
    "1127281000000100": "Applied relaxation",
    "1129471000000105": "Couples therapy for depression",
    "842901000000108": "Collaborative care",
    "286711000000107": "Counselling for depression",
    "314034001": "Brief psychodynamic psychotherapy",
    "449030000": "EMDR",
    "933221000000107": "Mindfulness",
    "1026131000000100": "Other high intensity",
    "304891004": "Cognitive behavioural therapy",
    "228557008": "Cognitive and behavioural therapy",
    "443730003": "Interpersonal psychotherapy",
    "409063005": "High intensity (NHSE extra)", "440274001": "High intensity (NHSE extra)",
    "786721000000109": "High intensity (NHSE extra)", "429048003": "High intensity (NHSE extra)",
}
EMPLOYMENT_SUPPORT = {"1098051000000103": "Employment support"}
THERAPY_CODES = {**LOW_INTENSITY, **HIGH_INTENSITY, **EMPLOYMENT_SUPPORT}

# Assessment tools (CodedAssToolType, SNOMED CT) [G21 App. B]: SNOMED -> short name
TOOLS = {
    "720433000": "PHQ9",
    "445455005": "GAD7",
    "1065441000000103": "PHQ15",
    "445552006": "SPIN",
    "450326007": "PDSS",
    "450324005": "OCI",
    "491581000000104": "PCL5",
    "446793008": "HAI",
    "473354003": "MI_Accompanied",
    "473355002": "MI_Alone",
    "446517006": "PSWQ",
    "1083671000000108": "IBS_SSS",
    "1128221000000100": "BIQ",
    "443223005": "BPI",
    "446660005": "CAT",
    "910931000000101": "DDS",
    "932621000000100": "WSAS_Work",
    "932581000000100": "WSAS_HomeManagement",
    "932611000000106": "WSAS_SocialLeisure",
    "932591000000103": "WSAS_PrivateLeisure",
    "932601000000109": "WSAS_Relationships",
}
TOOL_CODE = {name: code for code, name in TOOLS.items()}
# Questionnaire items that are valid codes but carry no range check (PEQ, iPCQ)
OTHER_TOOL_CODES = {
    "747901000000107", "747911000000109", "747921000000103", "747931000000101", "747941000000105",
    "747951000000108", "747861000000100", "747871000000107", "747881000000109", "904691000000103",
    "747891000000106", "748161000000109", "760741000000102", "761051000000105",
}

# Problem descriptor (IDS603 PresComp) -> anxiety-disorder-specific measure (ADSM) [G21 §7.7]
# ICD-10 codes are compared without the dot; the longest matching prefix wins.
ADSM_BY_DESCRIPTOR = {
    "F400": "MI_Alone",   # agoraphobia
    "F401": "SPIN",       # social phobia
    "F410": "PDSS",       # panic disorder
    "F42": "OCI",         # OCD
    "F431": "PCL5",       # PTSD
    "F452": "HAI",        # health anxiety
    "83482000": "BIQ",    # body dysmorphic disorder (SNOMED, v2.1)
    "K58": "IBS_SSS",     # irritable bowel syndrome (v2.1)
    "723916001": "PHQ15", # medically unexplained symptoms NOS (v2.1)
    "G933": "CFQ",        # chronic fatigue syndrome (v2.1): Chalder Fatigue Questionnaire, see below
}
# v2.1's anxiety-disorder-specific measures ([MM21] V010, [AM25] Count_AppropriatePairedADSM;
# iapt-dataset.md §2.1–2.2): BIQ for body dysmorphic disorder, IBS-SSS for IBS, PHQ-15 for MUS
# and the Chalder Fatigue Questionnaire (CFQ) for chronic fatigue syndrome. No source at hand
# gives CFQ's CodedAssToolType (SNOMED) code or its cut-offs, so its scores cannot be read: a
# G93.3 referral names CFQ as its ADSM and falls back to GAD-7 as [G21] §7.7 does when the
# descriptor's own measure is not paired. Cut-offs given by a source are in model.thresholds;
# the missing ones are listed there, never invented.
DEFAULT_ADSM = "GAD7"

# Problem descriptor -> higher category, for breakdowns [G21 App. A]
DESCRIPTOR_CATEGORY = (
    ("F32", "Depression"), ("F33", "Depression"), ("F400", "Agoraphobia"), ("F401", "Social phobia"),
    ("F402", "Specific phobia"), ("F410", "Panic disorder"), ("F411", "Generalised anxiety disorder"),
    ("F412", "Mixed anxiety and depressive disorder"), ("F42", "Obsessive compulsive disorder"),
    ("F431", "Post-traumatic stress disorder"), ("F452", "Health anxiety"),
)


# ---- code forms as exports write them ------------------------------------------------------------
# Exports lose or add leading zeros ("2" for AppType 02, "05" for AttendOrDNACode 5), pad with
# blanks, or turn a code column into numbers ("2.0"). NHS England's own SQL reads those forms as
# the code: AppType IN ('02','2','2 ',' 2', …) [TT "2.10 CareContactMethod.sql", the Preferred
# Languages scripts], AttendOrDNACode IN ('5','05','6','06') and CareContPatientTherMode IN ('1','01')
# [TT "2.17 ConsMech_Ethnicity.sql", 2.10]. The derivation does the same through ``canonical_code``;
# the data-quality checks still see and report the raw forms.
def canonical_code(raw: str, standard: frozenset[str]) -> str | None:
    """The code of ``standard`` that ``raw`` is a form of, or None when it is none of them.

    Forms read: surrounding blanks; letter case; a whole number written with or without leading
    zeros or as a float ("2", "002", "2.0" for "02"; "05" for "5"). Anything else (a different
    code, a fraction, text) is no form of a standard code and stays for the checks to report.
    """
    text = raw.strip()
    if text in standard:
        return text
    if text.upper() in standard:
        return text.upper()
    number = _whole_number(text)
    if number is None:
        return None
    for width in sorted({len(code) for code in standard}):
        candidate = number.zfill(width)
        if candidate in standard:
            return candidate
    return None


def _whole_number(text: str) -> str | None:
    """"2", "+02", "2.0", "2.00" -> "2"; None for anything that is not a whole number."""
    sign_free = text[1:] if text[:1] == "+" else text
    whole, dot, fraction = sign_free.partition(".")
    if not whole.isdigit() or not whole.isascii() or (dot and fraction.strip("0")):
        return None
    return whole.lstrip("0") or "0"


DERIVATION_CODES = {
    # (table, item) -> the standard codes the derivation reads that item as
    ("IDS101Referral", "EndCode"): frozenset(END_CODES) | frozenset(END_CODES_LEGACY),
    ("IDS201CareContact", "AppType"): frozenset(APP_TYPES),
    ("IDS201CareContact", "AttendOrDNACode"): frozenset(ATTEND_OR_DNA),
    ("IDS201CareContact", "PlannedCareContIndicator"): frozenset(PLANNED_INDICATOR),
    ("IDS201CareContact", "CareContPatientTherMode"): frozenset(THERAPY_MODES),
    ("IDS202CareActivity", "CodeProcAndProcStatus"): frozenset(THERAPY_CODES),
    ("IDS606CodedScoreAssessmentRefer", "CodedAssToolType"): frozenset(TOOLS),
    ("IDS607CodedScoreAssessmentAct", "CodedAssToolType"): frozenset(TOOLS),
}

# NHS Digital's derived flags are 'True'/'False' text in its extracts and SQL ([MM20]
# "UsePathway_Flag = 'True'"); exports also write them as 1/0 or Y/N. Upper-cased form -> value.
FLAG_FORMS = {"TRUE": True, "T": True, "1": True, "Y": True, "YES": True,
              "FALSE": False, "F": False, "0": False, "N": False, "NO": False}
