"""Monthly submissions (issue 13, item 4): the warehouse and submissions layouts say what the
snapshot says, every record sits in the month the issue's rules put it, and the planted history
defects are exactly those truth.json lists.

Everything is checked with plain pandas on the files as written (``monthly_frames``): which
submission counts (a Refresh over its Primary, then the later creation time) and which record
per key is latest are computed here, not by the package.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from iapt_audit.synth import generate, write_extract
from iapt_audit.synth.submission_plan import plan_submissions
from monthly_frames import (HEADER, KEYS, RECORD_TABLES, SUB, canonical, file_names, latest_records, month,
                            read_submissions, read_tables, winners)

ARGS = {"providers": 6, "referrals": 3000, "seed": 7}
HEADER_COLUMNS = ["OrgIDProv", "DatSetVer", "OrgIDSubmit", "PrimSystemInUse", "ReportingPeriodStartDate",
                  "ReportingPeriodEndDate", "File_Type", "DateTimeDatSetCreate", "UniqueSubmissionID"]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("snapshot")
    generate(folder, **ARGS)
    return read_tables(folder)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, snapshot):
    """The same data, defects off, NHS Digital's names: a Parquet warehouse and a folder of CSV
    submissions from the generator, and a CSV warehouse written from the snapshot's tables as
    text by ``write_extract``."""
    root = tmp_path_factory.mktemp("layouts")
    generate(root / "warehouse", **ARGS, layout="warehouse", fmt="parquet", nhsd_names=True, history_defects=False)
    generate(root / "submissions", **ARGS, layout="submissions", nhsd_names=True, history_defects=False)
    write_extract(snapshot, root / "from_tables", "warehouse", nhsd_names=True, history_defects=False)
    return {"warehouse": read_tables(root / "warehouse"), "submissions": read_submissions(root / "submissions"),
            "from_tables": read_tables(root / "from_tables"), "root": root}


@pytest.fixture(scope="module")
def defective(tmp_path_factory):
    folder = tmp_path_factory.mktemp("defects")
    summary = generate(folder, **ARGS, layout="warehouse")
    truth = json.loads((folder / "truth.json").read_text())
    return {"tables": read_tables(folder), "truth": truth, "summary": summary}


def _span(snapshot) -> list[str]:
    dates = pd.concat([snapshot["IDS101Referral"]["ReferralRequestReceivedDate"],
                       snapshot["IDS101Referral"]["ServDischDate"], snapshot["IDS201CareContact"]["CareContDate"]])
    return [str(p.start_time.date()) for p in pd.period_range(dates.dropna().min(), dates.dropna().max(), freq="M")]


def _submitted(tables, name) -> pd.DataFrame:
    """The records of the submissions that count, with their month."""
    win = winners(tables[HEADER])[[SUB, "ReportingPeriodStartDate"]]
    return tables[name].merge(win, on=SUB).rename(columns={"ReportingPeriodStartDate": "month"})


@pytest.mark.parametrize("layout", ["warehouse", "submissions", "from_tables"])
def test_latest_record_per_key_is_the_snapshot_record(layouts, snapshot, layout):
    tables = layouts[layout]
    for name in RECORD_TABLES:
        assert not snapshot[name].duplicated(KEYS[name]).any(), name   # else "latest per key" would hide rows
        latest = latest_records(tables[HEADER], tables[name], KEYS[name])
        pd.testing.assert_frame_equal(canonical(latest), canonical(snapshot[name]), obj=f"{layout} {name}")


@pytest.mark.parametrize("layout", ["warehouse", "submissions"])
def test_every_provider_submits_every_month_from_the_earliest_record_to_the_latest(layouts, snapshot, layout):
    header = layouts[layout][HEADER]
    assert list(header.columns) == HEADER_COLUMNS
    assert header[SUB].is_unique
    providers = sorted(snapshot["IDS101Referral"]["OrgIDProv"].unique())
    expected = {(org, m) for org in providers for m in _span(snapshot)}
    win = winners(header)
    assert set(zip(win["OrgIDProv"], win["ReportingPeriodStartDate"])) == expected
    assert len(win) == len(expected)
    end = pd.to_datetime(header["ReportingPeriodStartDate"]) + pd.offsets.MonthEnd(0)
    assert (header["ReportingPeriodEndDate"] == end.dt.strftime("%Y-%m-%d")).all()
    assert set(header["File_Type"]) == {"Primary", "Refresh"}


def test_a_refresh_is_made_after_its_primary_and_holds_everything_it_had(layouts):
    tables = layouts["warehouse"]
    header = tables[HEADER]
    assert header["DateTimeDatSetCreate"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
    cell = ["OrgIDProv", "ReportingPeriodStartDate"]
    pairs = header[header["File_Type"] == "Primary"].merge(header[header["File_Type"] == "Refresh"], on=cell,
                                                          suffixes=("_p", "_r"))
    assert len(pairs) >= 10
    assert (pairs["DateTimeDatSetCreate_r"] > pairs["DateTimeDatSetCreate_p"]).all()
    assert not header.duplicated(cell + ["File_Type"]).any()
    late_entered = 0
    for name in RECORD_TABLES:
        keys = tables[name].set_index(SUB)[KEYS[name]].apply(tuple, axis=1)
        for primary, refresh in zip(pairs[f"{SUB}_p"], pairs[f"{SUB}_r"]):
            in_primary = set(keys.loc[[primary]]) if primary in keys.index else set()
            in_refresh = set(keys.loc[[refresh]]) if refresh in keys.index else set()
            assert in_primary <= in_refresh, (name, primary)
            late_entered += len(in_refresh - in_primary) if name == "IDS201CareContact" else 0
    assert late_entered > 0   # the Primary lacks contacts entered after it was made


def test_a_referral_is_submitted_every_month_it_is_open_and_shows_its_discharge_from_that_month(layouts, snapshot):
    ref = snapshot["IDS101Referral"]
    months = pd.Series(_span(snapshot))
    expected = set()
    for sr, received, discharged in zip(ref["ServiceRequestId"], ref["ReferralRequestReceivedDate"], ref["ServDischDate"]):
        last = month(pd.Series([discharged])).iloc[0] if discharged else months.iloc[-1]
        first = month(pd.Series([received])).iloc[0]
        expected |= {(sr, m) for m in months[(months >= first) & (months <= last)]}
    got = _submitted(layouts["warehouse"], "IDS101Referral")
    assert not got.duplicated(["ServiceRequestId", "month"]).any()
    assert set(zip(got["ServiceRequestId"], got["month"])) == expected
    discharged = got["ServDischDate"].notna()
    assert (got.loc[discharged, "month"] == month(got.loc[discharged, "ServDischDate"])).all()
    closed = ref.set_index("ServiceRequestId")["ServDischDate"].dropna()
    assert discharged.sum() == len(closed)   # once each, in its month, blank before
    assert (got["EndCode"].notna() == discharged).all()
    assert len(got) > 3 * len(ref)           # referrals stay open for months: several records each


def test_contacts_activities_scores_and_patients_are_submitted_in_the_month_they_happen(layouts, snapshot):
    t = layouts["warehouse"]
    contacts = _submitted(t, "IDS201CareContact")
    assert contacts["CareContactId"].is_unique
    assert (contacts["month"] == month(contacts["CareContDate"])).all()
    contact_month = snapshot["IDS201CareContact"].set_index("CareContactId")["CareContDate"].pipe(month)
    activities = _submitted(t, "IDS202CareActivity")
    assert activities["CareActId"].is_unique
    assert (activities["month"] == contact_month.loc[activities["CareContactId"]].to_numpy()).all()
    act_month = snapshot["IDS202CareActivity"].set_index("CareActId")["CareContactId"].map(contact_month)
    act_scores = _submitted(t, "IDS607CodedScoreAssessmentAct")
    assert len(act_scores) == len(snapshot["IDS607CodedScoreAssessmentAct"])
    assert (act_scores["month"] == act_month.loc[act_scores["CareActId"]].to_numpy()).all()
    for name, column in (("IDS606CodedScoreAssessmentRefer", "AssToolCompDate"),
                         ("IDS603PresentingComplaints", "PresCompDate"), ("IDS004EmpStatus", "EmployStatusRecDate")):
        got = _submitted(t, name)
        assert len(got) == len(snapshot[name]), name
        assert (got["month"] == month(got[column])).all(), name
    referral_months = _submitted(t, "IDS101Referral").groupby("LocalPatientId")["month"].agg(set)
    patients = _submitted(t, "IDS001MPI").groupby("LocalPatientId")["month"].agg(set)
    assert patients.to_dict() == referral_months.to_dict()


def test_rows_are_shuffled_and_submission_names_do_not_sort_in_time(layouts):
    contacts = layouts["warehouse"]["IDS201CareContact"]
    changes = (contacts[SUB] != contacts[SUB].shift()).mean()
    assert changes > 0.5   # neighbouring rows mostly come from different submissions
    header = layouts["submissions"][HEADER]
    entries = sorted(p.name for p in layouts["root"].joinpath("submissions").glob("submission-*"))
    by_name = [re.sub(r"\D", "", e) for e in entries]
    in_time = header.sort_values(["ReportingPeriodStartDate", "DateTimeDatSetCreate"])[SUB].tolist()
    assert by_name != in_time and sorted(by_name) == sorted(in_time)
    assert any(e.endswith(".zip") for e in entries) and any("." not in e for e in entries)


def test_nhs_digital_names_for_files_and_the_provider_column(layouts):
    folder = layouts["root"] / "warehouse"
    assert file_names(folder) == {f"{t[:6]}_{t[6:]}.parquet" for t in [HEADER, *RECORD_TABLES]}
    assert pq.read_schema(folder / "IDS000_Header.parquet").names == HEADER_COLUMNS
    for name in RECORD_TABLES:
        columns = pq.read_schema(folder / f"{name[:6]}_{name[6:]}.parquet").names
        assert columns[0] == "OrgID_Provider" and "OrgIDProv" not in columns and columns[-1] == SUB, name
    inner = next(p for p in (layouts["root"] / "submissions").iterdir() if p.is_dir())
    assert "IDS101_Referral.csv" in file_names(inner)
    assert (inner / "IDS101_Referral.csv").read_text().startswith("OrgID_Provider,ServiceRequestId,")
    assert SUB not in (inner / "IDS101_Referral.csv").read_text().splitlines()[0]


def test_defects_off_plants_none(layouts):
    truth = json.loads((layouts["root"] / "warehouse" / "truth.json").read_text())
    assert truth["layout"] == "warehouse" and truth["submissions"]["history_defects"] == {}


def test_the_history_defects_are_exactly_the_planted_ones(defective, snapshot):
    t, truth = defective["tables"], defective["truth"]["submissions"]["history_defects"]
    assert set(truth) == {"missing_month", "broken_continuity", "refresh_drops_record", "received_date_changes"}
    orgs = {d["OrgIDProv"] for d in truth.values()}
    assert len(orgs) == 4   # six providers: each defect in its own
    header = t[HEADER]
    span = _span(snapshot)

    # a provider's month with no submission: exactly the planted one
    present = set(zip(header["OrgIDProv"], header["ReportingPeriodStartDate"]))
    missing = {(org, m) for org in header["OrgIDProv"].unique() for m in span} - present
    assert missing == {(truth["missing_month"]["OrgIDProv"], truth["missing_month"]["month"])}
    org, gap = truth["missing_month"]["OrgIDProv"], truth["missing_month"]["month"]
    gap_end = str((pd.Timestamp(gap) + pd.offsets.MonthEnd(0)).date())
    ref = snapshot["IDS101Referral"]
    open_then = ((ref["OrgIDProv"] == org) & (ref["ReferralRequestReceivedDate"] <= gap_end)
                 & ~(ref["ServDischDate"].fillna("9999") < gap))
    assert truth["missing_month"]["open_referrals"] == open_then.sum() > 0

    # an open referral absent from a month its provider submitted, between two months it is in
    got = _submitted(t, "IDS101Referral")
    submitted_months = winners(header).groupby("OrgIDProv")["ReportingPeriodStartDate"].agg(set)
    absent = set()
    for (org, sr), months in got.groupby(["OrgIDProv", "ServiceRequestId"])["month"]:
        between = {m for m in submitted_months[org] if months.min() < m < months.max()}
        absent |= {(sr, m) for m in between - set(months)}
    assert absent == {(truth["broken_continuity"]["ServiceRequestId"], truth["broken_continuity"]["absent_from"])}

    # a record a Primary had and its Refresh has not
    pairs = header[header["File_Type"] == "Primary"].merge(
        header[header["File_Type"] == "Refresh"], on=["OrgIDProv", "ReportingPeriodStartDate"], suffixes=("_p", "_r"))
    dropped = set()
    for name in RECORD_TABLES:
        keyed = t[name].assign(key=t[name][KEYS[name]].apply(tuple, axis=1)).groupby(SUB)["key"].agg(set)
        for primary, refresh in zip(pairs[f"{SUB}_p"], pairs[f"{SUB}_r"]):
            dropped |= {(name, primary, refresh, k[1]) for k in keyed.get(primary, set()) - keyed.get(refresh, set())}
    drop = truth["refresh_drops_record"]
    assert dropped == {(drop["table"], drop["primary"], drop["refresh"], drop["CareContactId"])}
    assert drop["CareContactId"] not in set(snapshot["IDS201CareContact"]["CareContactId"])

    # a referral whose received date differs between months; its latest record is right
    dates = got.groupby("ServiceRequestId")["ReferralRequestReceivedDate"].nunique()
    change = truth["received_date_changes"]
    assert dates[dates > 1].index.tolist() == [change["ServiceRequestId"]]
    history = got[got["ServiceRequestId"] == change["ServiceRequestId"]].sort_values("month")
    right = ref.set_index("ServiceRequestId").loc[change["ServiceRequestId"], "ReferralRequestReceivedDate"]
    assert history["ReferralRequestReceivedDate"].iloc[-1] == right == change["ReferralRequestReceivedDate"]
    earlier = history[history["ReferralRequestReceivedDate"] != right]
    assert set(earlier["ReferralRequestReceivedDate"]) == {change["earlier_months_show"]}
    assert earlier["month"].tolist() == change["months_with_earlier_date"]


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_monthly_layouts_depend_on_the_arguments_alone(tmp_path):
    small = {"providers": 4, "referrals": 400, "seed": 3, "layout": "submissions", "fmt": "csv.gz"}
    generate(tmp_path / "one", **small)
    generate(tmp_path / "two", **small)
    one = _digests(tmp_path / "one")
    assert len(one) > 100 and one == _digests(tmp_path / "two")


def test_a_new_layout_replaces_the_old_one(tmp_path):
    small = {"providers": 4, "referrals": 400, "seed": 3}
    generate(tmp_path / "x", **small, layout="submissions")
    generate(tmp_path / "x", **small, layout="warehouse", nhsd_names=True)
    assert not [p for p in (tmp_path / "x").iterdir() if p.name.startswith("submission-")]
    generate(tmp_path / "x", **small)
    assert file_names(tmp_path / "x") == {f"{t}.csv" for t in [HEADER, *RECORD_TABLES]}


def test_snapshot_with_nhs_digital_names(tmp_path):
    generate(tmp_path / "x", providers=4, referrals=400, nhsd_names=True)
    assert "IDS606_CodedScoreAssessmentRefer.csv" in file_names(tmp_path / "x")
    assert (tmp_path / "x" / "IDS201_CareContact.csv").read_text().startswith("OrgID_Provider,CareContactId,")
    assert (tmp_path / "x" / "IDS000_Header.csv").read_text().startswith("OrgIDProv,")


@pytest.mark.parametrize("kwargs, message", [
    ({"layout": "monthly"}, "layout must be one of"),
    ({"fmt": "xlsx"}, "format must be one of"),
])
def test_bad_layout_arguments_raise_value_error(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "x", providers=4, referrals=400, **kwargs)


def test_write_extract_needs_three_months_for_history_defects(tmp_path):
    two_months = {"IDS101Referral": pd.DataFrame({"OrgIDProv": ["RX1"], "ServiceRequestId": ["SR1"],
                                                  "ReferralRequestReceivedDate": ["2024-04-10"],
                                                  "ServDischDate": ["2024-05-02"]})}
    with pytest.raises(ValueError, match="at least 3 months"):
        write_extract(two_months, tmp_path / "x", "warehouse")
    summary = write_extract(two_months, tmp_path / "x", "warehouse", history_defects=False)
    assert summary["rows"]["IDS101Referral"] == 2 and summary["submissions"]["months"] == ["2024-04-01", "2024-05-01"]
    written = _submitted(read_tables(tmp_path / "x"), "IDS101Referral").set_index("month")
    assert written["ServDischDate"].to_dict() == {"2024-04-01": None, "2024-05-01": "2024-05-02"}


def test_a_hand_worked_referral_laid_out_by_month(tmp_path):
    """One referral, April to its discharge on 2 June: worked out by hand from issue 13's rules."""
    org = {"OrgIDProv": ["RX1"]}
    snapshot = {
        "IDS001MPI": pd.DataFrame({**org, "LocalPatientId": ["P1"]}),
        "IDS101Referral": pd.DataFrame({**org, "ServiceRequestId": ["SR1"], "LocalPatientId": ["P1"],
                                        "ReferralRequestReceivedDate": ["2024-04-10"], "EndCode": ["46"],
                                        "ServDischDate": ["2024-06-02"]}),
        "IDS201CareContact": pd.DataFrame({"OrgIDProv": ["RX1"] * 2, "CareContactId": ["C1", "C2"],
                                           "ServiceRequestId": ["SR1"] * 2,
                                           "CareContDate": ["2024-05-03", "2024-05-30"]}),
        "IDS202CareActivity": pd.DataFrame({"OrgIDProv": ["RX1"] * 2, "CareActId": ["A1", "A9"],
                                            "CareContactId": ["C1", "C9"]}),   # A9's contact is not in the extract
        "IDS607CodedScoreAssessmentAct": pd.DataFrame({**org, "CareActId": ["A1"], "CodedAssToolType": ["720433000"],
                                                       "PersScore": ["12"]}),
        "IDS603PresentingComplaints": pd.DataFrame({**org, "ServiceRequestId": ["SR1"], "PresComp": ["F41.1"],
                                                    "PresCompDate": [None]}),   # undated: the referral's first month
        "IDS606CodedScoreAssessmentRefer": pd.DataFrame({**org, "ServiceRequestId": ["SR1"],
                                                         "CodedAssToolType": ["720433000"], "PersScore": ["9"],
                                                         "AssToolCompDate": ["2024-06-01"]}),
    }
    write_extract(snapshot, tmp_path / "x", "warehouse", history_defects=False)
    t = read_tables(tmp_path / "x")
    apr, may, jun = "2024-04-01", "2024-05-01", "2024-06-01"
    assert sorted(winners(t[HEADER])["ReportingPeriodStartDate"]) == [apr, may, jun]
    referral = _submitted(t, "IDS101Referral").set_index("month").sort_index()
    assert referral["ServDischDate"].tolist() == [None, None, "2024-06-02"]
    assert referral["EndCode"].tolist() == [None, None, "46"]
    placed = {name: sorted(zip(*[_submitted(t, name)[c] for c in (column, "month")]))
              for name, column in (("IDS001MPI", "LocalPatientId"), ("IDS201CareContact", "CareContactId"),
                                   ("IDS202CareActivity", "CareActId"), ("IDS607CodedScoreAssessmentAct", "CareActId"),
                                   ("IDS603PresentingComplaints", "PresComp"),
                                   ("IDS606CodedScoreAssessmentRefer", "AssToolCompDate"))}
    assert placed == {"IDS001MPI": [("P1", apr), ("P1", may), ("P1", jun)],
                      "IDS201CareContact": [("C1", may), ("C2", may)],
                      "IDS202CareActivity": [("A1", may), ("A9", jun)],
                      "IDS607CodedScoreAssessmentAct": [("A1", may)],
                      "IDS603PresentingComplaints": [("F41.1", apr)],
                      "IDS606CodedScoreAssessmentRefer": [("2024-06-01", jun)]}


def test_dates_outside_the_span_fall_in_its_first_or_last_month():
    plan = plan_submissions(["RX1"], first_month=12 * 54 + 3, last_month=12 * 54 + 5,   # April-June 2024
                            rng=np.random.default_rng(1), history_defects=False)
    days = (np.array(["2023-12-25", "2024-04-01", "2024-05-31", "2024-06-30", "2025-01-01"], "datetime64[D]")
            .astype(np.int64))
    assert plan.month_of(days).tolist() == [0, 0, 1, 2, 2]
