"""The canonical layout: tables, columns, code lists, dates and the links between tables."""

from __future__ import annotations

import pandas as pd

from iapt_audit.model import codes
from iapt_audit.model.tables import TABLES
from synth_measures import SCALES, WSAS


def test_every_table_is_written_with_its_data_items(extract):
    names = {p.name for p in extract["folder"].iterdir()}
    assert {f"{t}.csv" for t, spec in TABLES.items() if spec.required} <= names
    assert {n.split(".")[0] for n in names if n.startswith("IDS")} <= set(TABLES)
    for name in extract["tables"]:     # IDS205 (internet-enabled therapy logs) is optional and not generated
        spec = TABLES[name]
        columns = list(extract["tables"][name].columns)
        assert set(spec.required_columns) <= set(columns), name
        assert set(columns) <= set(spec.columns) | {"OrgIDProv"}, name
        assert "OrgIDProv" in columns, name


def test_csv_is_plain_and_codes_keep_their_zeros(extract):
    text = (extract["folder"] / "IDS201CareContact.csv").read_text().splitlines()
    assert text[0].startswith("OrgIDProv,CareContactId,ServiceRequestId,CareContDate,")
    assert '"' not in "".join(text[:200])
    assert set(extract["tables"]["IDS201CareContact"]["AppType"]) == {"01", "02", "03", "05", "06", "10"}


def test_codes_come_from_the_code_lists(extract):
    t = extract["tables"]
    con = t["IDS201CareContact"]
    assert set(con["AppType"]) <= set(codes.APP_TYPES)
    assert set(con["AttendOrDNACode"]) <= set(codes.ATTEND_OR_DNA)
    assert set(con["ConsMechanism"]) <= codes.CONS_MECHANISM_V21
    assert set(con["CareContPatientTherMode"]) == {codes.INDIVIDUAL_MODE, codes.GROUP_MODE}
    assert set(con["PlannedCareContIndicator"]) == {"Y", "N"}
    ref = t["IDS101Referral"]
    assert set(ref["EndCode"].dropna()) <= set(codes.END_CODES)
    assert set(ref["SourceOfReferralIAPT"]) <= codes.SOURCE_OF_REFERRAL
    assert set(t["IDS202CareActivity"]["CodeProcAndProcStatus"]) <= set(codes.THERAPY_CODES)
    assert set(t["IDS607CodedScoreAssessmentAct"]["CodedAssToolType"]) <= set(codes.TOOLS)
    assert set(t["IDS606CodedScoreAssessmentRefer"]["CodedAssToolType"]) <= set(codes.TOOLS)
    assert set(t["IDS004EmpStatus"]["EmployStatus"]) <= set(codes.EMPLOY_STATUS) | codes.EMPLOY_STATUS_DEFAULT
    assert set(t["IDS001MPI"]["Gender"]) <= set(codes.GENDER)
    assert set(t["IDS001MPI"]["EthnicCategory"]) <= codes.ETHNIC_CATEGORY | codes.ETHNIC_CATEGORY_DEFAULT
    pc = t["IDS603PresentingComplaints"]
    assert pc["PresComp"].str.fullmatch(r"F\d\d\.\d").all()
    assert set(pc["FindSchemeInUse"]) == {"01"}


def test_scores_lie_within_their_questionnaire_ranges(extract):
    ranges = {"720433000": (0, 27), "445455005": (0, 21), "445552006": (0, 68), "450326007": (0, 28),
              "491581000000104": (0, 80), "450324005": (0, 168), "446793008": (0, 54), "473355002": (1, 5),
              **{code: (0, 8) for code in WSAS}}   # WSAS items 0-8 (§2.1); work's 9 = not applicable unused
    assert set(ranges) == set(SCALES) | set(WSAS)
    for name in ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct"):
        s = extract["tables"][name]
        score = s["PersScore"].astype(float)
        low = s["CodedAssToolType"].map(lambda t: ranges[t][0])
        high = s["CodedAssToolType"].map(lambda t: ranges[t][1])
        assert ((score >= low) & (score <= high)).all(), name


def test_dates_are_iso_and_within_the_extract(extract):
    t = extract["tables"]
    header = t["IDS000Header"]
    assert set(header["ReportingPeriodStartDate"]) == {"2024-04-01"}
    assert set(header["ReportingPeriodEndDate"]) == {"2025-03-31"}
    for name, column in (("IDS101Referral", "ReferralRequestReceivedDate"), ("IDS101Referral", "ServDischDate"),
                         ("IDS201CareContact", "CareContDate"), ("IDS606CodedScoreAssessmentRefer", "AssToolCompDate")):
        values = t[name][column].dropna()
        assert values.str.fullmatch(r"\d{4}-\d\d-\d\d").all()
        assert values.max() <= "2025-03-31"
    received = t["IDS101Referral"]["ReferralRequestReceivedDate"]
    assert received.min() < "2024-04-01"   # referrals from before the period, so pathways are mature


def test_end_codes_follow_the_path_and_open_referrals_have_none(extract):
    ref = extract["referrals"]
    closed = ref["discharged"].notna()
    assert (closed == ref["EndCode"].notna()).all()
    attended = extract["tables"]["IDS201CareContact"].query("AttendOrDNACode in ['5', '6']")
    seen = ref.index.isin(attended["ServiceRequestId"])
    group = ref["EndCode"].map(lambda c: codes.END_CODES[c][1] if isinstance(c, str) else None)
    assert (group[closed & ~seen] == "not seen").all()
    assert (group[closed & seen & ~ref["entered"]] == "seen, not treated").all()
    assert (group[closed & ref["entered"]] == "treated").all()
    assert 0.05 < (~closed).mean() < 0.5


def test_contacts_and_scores_link_to_their_parents(extract):
    t = extract["tables"]
    con, act = t["IDS201CareContact"], t["IDS202CareActivity"]
    assert con["CareContactId"].is_unique and act["CareActId"].is_unique
    assert con["ServiceRequestId"].isin(t["IDS101Referral"]["ServiceRequestId"]).all()
    assert act["CareContactId"].isin(con["CareContactId"]).all()
    assert t["IDS607CodedScoreAssessmentAct"]["CareActId"].isin(act["CareActId"]).all()
    assert t["IDS101Referral"]["LocalPatientId"].isin(t["IDS001MPI"]["LocalPatientId"]).all()
    activity_contacts = con.set_index("CareContactId").loc[act["CareContactId"]]
    assert activity_contacts["AttendOrDNACode"].isin(["5", "6"]).all()
    assert activity_contacts["AppType"].isin(["02", "03", "05", "10"]).all()


def test_groups_carry_their_size_and_individuals_none(extract):
    con = extract["tables"]["IDS201CareContact"]
    group = con["CareContPatientTherMode"] == "3"
    size = con["NumGroupTherParticipants"].astype(float)
    assert size[group].notna().all() and size[~group].isna().all()
    assert size[group].between(6, 40).all()


def test_follow_ups_come_after_discharge(extract):
    con = extract["tables"]["IDS201CareContact"].merge(
        extract["tables"]["IDS101Referral"][["ServiceRequestId", "ServDischDate"]], on="ServiceRequestId")
    follow = con[con["AppType"] == "06"]
    assert len(follow) > 100
    assert (follow["CareContDate"] > follow["ServDischDate"]).all()


def test_stepped_up_rereferrals_follow_their_parent_for_the_same_patient(extract):
    ref = extract["tables"]["IDS101Referral"]
    n1 = ref[ref["SourceOfReferralIAPT"] == "N1"]
    assert len(n1) > 100
    earlier = ref[ref["SourceOfReferralIAPT"] != "N1"].set_index("LocalPatientId")
    parent = earlier.loc[n1["LocalPatientId"]]
    assert (parent["ServDischDate"].to_numpy() <= n1["ReferralRequestReceivedDate"].to_numpy()).all()
    assert (parent["OrgIDProv"].to_numpy() == n1["OrgIDProv"].to_numpy()).all()


def test_no_output_has_unexpected_identifiers(extract):
    for name, frame in extract["tables"].items():
        if name != "IDS001MPI":
            assert not {"NHSNumber", "PersonBirthDate", "Postcode"} & set(frame.columns), name
    birth = pd.to_datetime(extract["tables"]["IDS001MPI"]["PersonBirthDate"])
    assert birth.max() < pd.Timestamp("2007-04-01")   # adults only
