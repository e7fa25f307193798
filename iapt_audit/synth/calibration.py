"""The national figures a synthetic extract is calibrated to, and where each one comes from.

Why one table: the generator draws every provider's own rates around these values, the plants
push one provider away from them, and the tests check the generated data against the same
targets. A figure with a source tag comes from the domain reference (iapt-dataset.md §5, [AN]);
one marked "assumption" is a plausible value the reference does not give, chosen so the derived
national measures land on the sourced ones. "[monthly Mxxx]" is NHS Digital's monthly England
figure summed over April 2024 - March 2025 (shared/data/published/monthly, measure IDs as in
tidy/metadata_measures_monthly.csv).
"""

from __future__ import annotations

# Per-provider rates: name -> (national value, provider spread on the logit scale, source).
# The spread gives honest providers the over-dispersion real provider data show
# (shared/data/README.md: a plain binomial funnel flags dozens of 2019-20 providers).
RATES: dict[str, tuple[float, float, str]] = {
    "enter": (0.70, 0.30, "accessed services / referrals: 1.24m / 1.81m in 2021-22 [AN, §5]"),
    "seen_if_not_entered": (0.55, 0.30, "assumption: referrals that are assessed but never treated"),
    "treated_once": (0.43, 0.30, "tuned: about 55% of those entering treatment finish a course "
                                 "(670,419 finished of ~1.2m accessing, 2024-25 [AN])"),
    "slow_start": (0.08, 0.35, "tuned: 91.6% start within 6 weeks, 98.7% within 18 (2024-25 [AN])"),
    "gap_over_90": (0.22, 0.30, "first-to-second treatment > 90 days: 13.5%-23.7% of finished "
                                "courses 2017-18..2024-25 [AN]"),
    "assess_and_treat_first": (0.15, 0.40, "assumption: first contact coded 03"),
    "li_group": (0.12, 0.40, "assumption: low-intensity courses delivered as groups"),
    "first_group": (0.05, 0.40, "assumption: a group session before individual therapy"),
    "hi_only": (0.35, 0.30, "assumption: courses that start at high intensity"),
    "stepped_up": (0.15, 0.30, "assumption: courses stepped up from low to high intensity"),
    "dna": (0.09, 0.25, "DNAs (code 3) are 9.0% of appointments: 760,141 of 8,408,692 [monthly M084/M082]"),
    "followup": (0.15, 0.40, "assumption: finished courses with a follow-up (AppType 06)"),
    "assessment_scores": (0.60, 0.40, "assumption: referrals with referral-level (IDS606) scores"),
    "last_score_recorded": (0.97, 0.50, "assumption: paired-score completeness among finished courses"),
    "employment_support": (0.10, 0.40, "tuned: courses with employment-adviser contacts, so that there are "
                                       "0.23 per referral accessing services (279,687 for 1,196,618 "
                                       "[monthly M099/M031])"),
}

# Share of step-ups made as a new referral (SourceOfReferralIAPT "N1", same patient). Assumption.
STEP_UP_BY_REREFERRAL = 0.35
# Among contacts that did not take place: patient cancelled (2), provider cancelled (4), and
# arrived late and not seen (7), relative to the DNA rate: 890,407, 433,146 and 21,352 against
# 760,141 DNAs [monthly M083/M085/M088/M084], so a quarter of all appointments do not happen.
NON_ATTENDANCE_MIX = {"3": 1.0, "2": 1.17, "4": 0.57, "7": 0.03}
LATE_BUT_SEEN = 0.0125           # attended contacts coded 6: 78,164 of 6,277,916 [monthly M087/M086]
UNPLANNED = 0.01                 # attended contacts with PlannedCareContIndicator "N" (assumption)
MID_SESSION_SCORED = 0.85        # sessions between first and last with PHQ-9 and ADSM (assumption)
REVIEW_AND_TREATMENT = 0.05      # later treatment sessions coded 05 (assumption)

# Employment support (AppType 10, therapy 1098051000000103, iapt-dataset.md §1.5): a course with
# an employment adviser has 1 + negative binomial(mean, shape) attended adviser contacts, between
# its first and last treatment session (assumption; the rate above fixes contacts per referral).
# They are not treatment contacts (§1.5 AppType) and carry no scores. One adviser per five
# therapists (assumption).
EMPLOYMENT_SUPPORT_EXTRA = (3.0, 2.0)
ADVISERS_PER_THERAPIST = 0.2

# WSAS (Work and Social Adjustment Scale, §2.1, §2.3): five items, each 0-8 (G21 §7.8), recorded
# with PHQ-9 and the ADSM; no caseness or recovery use, so never an ADSM. Recorded at every first
# and last scored session, since WSAS is paired almost wherever PHQ-9 is (631,547 of 658,579
# finished courses [monthly M217/M201]), and at a share of the other scored occasions (assessment
# and middle sessions: assumption, tuned to the brief's ~25 million scores for 1.8 million
# referrals). The work item is not applicable (not recorded) for one patient in seven: 534,033
# paired against 631,547 for home management [monthly M212/M217]. Intake means are in INTAKE.
WSAS_ITEMS = ("WSAS_Work", "WSAS_HomeManagement", "WSAS_SocialLeisure", "WSAS_PrivateLeisure",
              "WSAS_Relationships")
WSAS_RECORDED = 0.32
WSAS_WORK_NOT_APPLICABLE = 0.15
WSAS_HIGH = 8                    # each item's top score; the data set's work 9 = "not applicable" is not used
# Share of the referral's proportional PHQ-9/ADSM improvement that WSAS shows by the last session:
# last item means are ~72% of the first (2.67 of 3.68 on work) [monthly M215/M213 etc.]. Tuned.
WSAS_RESPONSE = 0.58

# Waiting times in days (lognormal median, sigma). A fast and a slow component: the share of the
# slow one is the provider's "slow_start" rate. Gives ~90% within 42 days, ~98% within 126.
FAST_WAIT = (16.0, 0.55)
SLOW_WAIT = (70.0, 0.70)
SESSION_GAP = (9.0, 0.35)        # between later sessions: mostly weekly to fortnightly
SECOND_SESSION_GAP = (21.0, 0.60)  # first to second: ~50% over 28 days nationally (2024-25 [AN])
LONG_GAP = (91, 240)             # the "over 90 days" gaps, uniform
STEP_UP_GAP = (30.0, 0.50)       # last low-intensity to first high-intensity session
LEAD_DAYS = 183                  # referrals received up to six months before the period starts

# Sessions (attended treatment contacts) for courses of two or more: 2 + negative binomial with
# this mean and shape, so finished courses average about 7 (6.9-7.9, 2019-20..2021-22, §5).
LI_EXTRA_SESSIONS = (3.8, 2.0)
HI_EXTRA_SESSIONS = (7.0, 2.5)
STEPPED_LI_EXTRA = (1.5, 3.0)
GROUP_SIZE = (6, 12)             # participants in an ordinary group session (the brief)

# Problem descriptors (ICD-10, FindSchemeInUse "01") and their shares. Finished courses 2024-25:
# depression 43%, GAD 26%, PTSD 7% [AN problem descriptor breakdown]; the rest is assumption.
DESCRIPTORS = {
    "F32.1": 0.34, "F33.1": 0.09, "F41.1": 0.26, "F41.2": 0.08, "F43.1": 0.07, "F40.1": 0.04,
    "F41.0": 0.03, "F40.0": 0.01, "F42.0": 0.02, "F45.2": 0.02, "F40.2": 0.02, "F43.2": 0.02,
}
DESCRIPTOR_MISSING = 0.05        # assessed referrals without a problem descriptor (assumption)

# Questionnaire scores at intake: (mean, sd, decimals) per tool. Chosen so that ~93% of finished
# courses start at caseness (634,248 of 670,419 in 2024-25 [AN]).
INTAKE = {
    "PHQ9": (14.5, 5.5, 0), "GAD7": (12.5, 4.5, 0), "SPIN": (42.0, 13.0, 0), "PDSS": (15.0, 5.0, 0),
    "PCL5": (50.0, 14.0, 0), "OCI": (62.0, 24.0, 0), "HAI": (27.0, 7.0, 0), "MI_Alone": (3.2, 0.8, 2),
    # WSAS items: mean first score of finished paired courses [monthly M213/M218/M223/M228/M233]; sd assumption
    "WSAS_Work": (3.7, 2.3, 0), "WSAS_HomeManagement": (3.6, 2.3, 0), "WSAS_SocialLeisure": (4.3, 2.3, 0),
    "WSAS_PrivateLeisure": (3.5, 2.3, 0), "WSAS_Relationships": (3.6, 2.3, 0),
}
INTAKE_CORRELATION = 0.6         # PHQ-9 with the anxiety measure, and with each WSAS item (assumption)
# Proportional improvement by the last session: normal(mean + provider effect, sd). Tuned so that
# ~50% of finishers at caseness recover (50.5% in 2024-25) and ~67% improve reliably (67.5%) [AN].
RESPONSE = (0.49, 0.36)
RESPONSE_PROVIDER_SD = 0.05
RESPONSE_TOOL_SD = 0.12          # the two measures improve together, not identically
SCORE_NOISE = 0.08               # session-to-session noise, as a share of the intake sd

# Planted gaming: share of a planted provider's relevant referrals a plant touches (the brief:
# strong enough for a rule to flag the provider, e.g. 30-60%).
PLANT_SHARE = 0.45
LARGE_GROUP_SIZE = (20, 40)      # GM02's single-session groups

# Category mixes (code -> share). All assumptions unless a source is given; every code is from
# iapt_audit.model.codes. Self-referral is the commonest route into the service (assumption).
SOURCES = {"B1": 0.55, "A1": 0.30, "A3": 0.03, "H2": 0.03, "M7": 0.03, "P1": 0.02, "M6": 0.02,
           "D2": 0.01, "C1": 0.01}
LI_THERAPIES = {"748051000000105": 0.35, "748041000000107": 0.30, "748101000000105": 0.05,
                "748091000000102": 0.05, "748061000000108": 0.05, "1026111000000108": 0.10,
                "975131000000104": 0.10}
HI_THERAPIES = {"304891004": 0.60, "286711000000107": 0.14, "443730003": 0.05, "449030000": 0.06,
                "1129471000000105": 0.02, "314034001": 0.03, "1127281000000100": 0.03,
                "933221000000107": 0.03, "842901000000108": 0.01, "1026131000000100": 0.03}
GROUP_THERAPY = {1: "702545008", 2: "304891004"}   # intensity -> code of a group session
END_CODE_MIX = {
    "seen": {"10": 0.10, "11": 0.15, "12": 0.25, "13": 0.15, "14": 0.20, "16": 0.15},
    "once": {"47": 0.60, "46": 0.30, "48": 0.10},
    "course": {"46": 0.72, "47": 0.22, "48": 0.05, "96": 0.01},
}
CONS_MECHANISMS = {"01": 0.40, "02": 0.30, "11": 0.28, "98": 0.02}
GROUP_CONS_MECHANISMS = {"01": 0.70, "11": 0.30}
# Person Stated Gender and Ethnic Category (NHS Data Dictionary codes, in model.codes)
GENDER_MIX = {"2": 0.65, "1": 0.34, "9": 0.005, "X": 0.005}
ETHNICITY_MIX = {"A": 0.71, "B": 0.01, "C": 0.05, "D": 0.01, "E": 0.005, "F": 0.01, "G": 0.01,
                 "H": 0.03, "J": 0.03, "K": 0.01, "L": 0.015, "M": 0.01, "N": 0.02, "P": 0.005,
                 "R": 0.005, "S": 0.02, "Z": 0.03, "99": 0.02}
EMPLOYMENT_MIX = {"01": 0.55, "02": 0.10, "03": 0.07, "04": 0.10, "05": 0.05, "06": 0.03,
                  "07": 0.01, "08": 0.07, "ZZ": 0.02}
AGE = (18, 2.2, 9.0, 95)         # age at referral: 18 + gamma(shape, scale), capped (assumption)
