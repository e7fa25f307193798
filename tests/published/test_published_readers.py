"""Reading NHS Digital's annual and monthly files: both naming eras, zips, '*' as missing."""

import gzip
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iapt_audit.errors import InputError
from iapt_audit.io.published import measure_named, read_annual_main, read_monthly, read_published

OLD_HEADER = ("OrgType,OrgCode,OrgName,VariableType,VariableA,VariableB,CountAtCaseness,CountDeterioration,"
              "CountFinishedCourseTreatment,CountImprovement,CountNotAtCaseness,CountRecovery,"
              "CountReliableRecovery,PercentageImprovement,PercentageRecovery\n")
NEW_HEADER = OLD_HEADER.replace("Count", "Count_").replace("Percentage", "Percentage_")


def annual_rows(header):
    return header + (
        "England,All,All,Total,NULL,NULL,900,30,1000,700,100,450,420,70,50\n"
        "Provider,P01,ONE,Total,NULL,NULL,95,5,100,60,5,40,40,60,42\n"
        # P02: not-at-caseness suppressed -> the recovery denominator is unknown, never 200 - 0
        "Provider,P02,TWO,Total,NULL,NULL,195,*,200,150,*,100,95,75,*\n"
        "Provider,P03,THREE,Age Group,18 to 25,NULL,10,*,10,5,*,5,5,50,50\n"
        "Provider,P01,ONE,Waiting Time,First treatment,<6 weeks,NULL,NULL,80,NULL,NULL,NULL,NULL,NULL,NULL\n"
        "Provider,P01,ONE,Waiting Time,First to Second Treatment,>90 days,NULL,NULL,15,NULL,NULL,NULL,NULL,NULL,NULL\n")


def by_org(frame, measure):
    return frame[frame["measure"] == measure].set_index("org_code")


@pytest.mark.parametrize("header", [OLD_HEADER, NEW_HEADER], ids=["2017-20 names", "2020-21+ names"])
def test_both_naming_eras_give_the_same_rates(tmp_path, header):
    path = tmp_path / "psych-ther-ann-rep-csv-2019-20-main-csv.csv"
    path.write_text(annual_rows(header))
    data = read_published([path])
    recovery = by_org(data, "recovery")
    assert recovery.loc["P01", ["numerator", "denominator", "published"]].tolist() == [40, 95, 42]
    assert recovery.loc["England", ["numerator", "denominator"]].tolist() == [450, 900]
    assert set(data["period"]) == {"2019-20"} and set(data["period_type"]) == {"year"}
    improvement = by_org(data, "reliable_improvement")
    assert improvement.loc["P02", ["numerator", "denominator"]].tolist() == [150, 200]
    waits = by_org(data, "wait_6_weeks")
    assert waits.loc["P01", ["numerator", "denominator"]].tolist() == [80, 100]
    assert by_org(data, "first_to_second_over_90_days").loc["P01", "numerator"] == 15
    assert np.isnan(waits.loc["P02", "numerator"])   # no waiting-time rows for P02: missing


def test_suppressed_is_missing_never_zero(tmp_path):
    path = tmp_path / "psych-ther-ann-rep-csv-2019-20-main-csv.csv"
    path.write_text(annual_rows(NEW_HEADER))
    recovery = by_org(read_published([path]), "recovery")
    assert np.isnan(recovery.loc["P02", "denominator"])       # 200 − '*' is unknown
    assert np.isnan(recovery.loc["P02", "published"])
    raw = read_annual_main(path).set_index("OrgCode")
    assert np.isnan(raw.loc["P02", "Count_Deterioration"])
    assert raw.loc["P02", "Count_FinishedCourseTreatment"] == 200


def test_monthly_suppressed_is_missing(tmp_path):
    path = tmp_path / "nhs-talking-therapies-monthly-2024-05.csv"
    head = ("REPORTING_PERIOD_START,REPORTING_PERIOD_END,GROUP_TYPE,ORG_CODE1,ORG_NAME1,ORG_CODE2,ORG_NAME2,"
            "MEASURE_ID,MEASURE_NAME,MEASURE_VALUE_SUPPRESSED\n")
    rows = [("M191", "40"), ("M076", "100"), ("M179", "*"), ("M185", "60"), ("M047", "*"), ("M184", "90")]
    path.write_text(head + "".join(f"2024-05-01,2024-05-31,Provider,all,all,P01,ONE,{m},x,{v}\n"
                                   for m, v in rows))
    data = read_published([path])
    assert set(data["period"]) == {"2024-05"}
    row = by_org(data, "recovery").loc["P01"]
    assert row["numerator"] == 40 and np.isnan(row["denominator"])
    assert by_org(data, "reliable_improvement").loc["P01", "denominator"] == 100
    assert np.isnan(by_org(data, "first_to_second_over_90_days").loc["P01", "numerator"])
    long = read_monthly([path], measure_ids=["M179", "M184"]).set_index("measure_id")
    assert np.isnan(long.loc["M179", "value"]) and long.loc["M184", "value"] == 90


def test_zip_as_distributed(tmp_path, published):
    source = published / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"
    archive = tmp_path / "psych-ther-ann-rep-csv-2019-20.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "not a CSV")
        zf.writestr("data/psych-ther-ann-rep-csv-2019-20-main.csv", gzip.decompress(source.read_bytes()))
    data = read_published([archive], measures=["recovery"])
    england = by_org(data, "recovery").loc["England"]
    # iapt-dataset.md §5: 291,371 recovered of 606,192 finished less 36,054 not at caseness
    assert england["numerator"] == 291371 and england["denominator"] == 606192 - 36054
    assert set(data["period"]) == {"2019-20"}
    # the same numbers as reading the .csv.gz itself
    direct = read_published([source], measures=["recovery"]).set_index("org_code")
    assert by_org(data, "recovery")["numerator"].equals(direct["numerator"])


def test_provider_with_suppressed_caseness_in_real_file(published):
    data = read_published([published / "annual" / "psych-ther-ann-rep-csv-2019-20-main-csv.csv.gz"])
    provider = data[(data["org_type"] == "Provider") & (data["org_code"] == "DA1")].set_index("measure")
    # DA1 FREEFLOW COUNSELLING SERVICE: finished 60, not at caseness '*', improvement 25
    assert np.isnan(provider.loc["recovery", "denominator"])
    assert provider.loc["reliable_improvement", ["numerator", "denominator"]].tolist() == [25, 60]


def test_measure_names_and_codes():
    assert measure_named("M192").name == "recovery"
    assert measure_named("Percentage_ReliableImprovement").name == "reliable_improvement"
    assert measure_named("m126").name == "first_to_second_over_90_days"
    with pytest.raises(InputError, match="unknown measure"):
        measure_named("happiness")


def test_inputs_a_user_can_get_wrong(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_published([tmp_path / "missing.csv"])
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="neither an annual"):
        read_published([other])
    nameless = tmp_path / "main.csv"
    nameless.write_text(annual_rows(NEW_HEADER))
    with pytest.raises(InputError, match="financial year"):
        read_published([nameless])
    twice = [tmp_path / f"psych-ther-ann-rep-csv-2019-20-main{i}.csv" for i in (1, 2)]
    for path in twice:
        path.write_text(annual_rows(NEW_HEADER))
    with pytest.raises(InputError, match="more than once"):
        read_published(twice)
    bad = tmp_path / "psych-ther-ann-rep-csv-2018-19-main.csv"
    bad.write_text(annual_rows(NEW_HEADER).replace(",450,", ",lots,"))
    with pytest.raises(InputError, match="value 'lots' is not a number") as err:
        read_published([bad])
    assert "psych-ther-ann-rep-csv-2018-19-main.csv" in err.value.one_line()
    assert (err.value.column, err.value.row) == ("Count_Recovery", 2)


def test_all_monthly_files_read_fast(published):
    started = time.perf_counter()
    data = read_published([published / "monthly"])
    seconds = time.perf_counter() - started
    assert data["period"].nunique() == 63
    assert seconds < 10, f"reading 63 monthly files took {seconds:.1f} s"
    assert set(data["org_type"]) == {"England", "Provider"}
    assert isinstance(data, pd.DataFrame)


MONTHLY_HEAD = ("REPORTING_PERIOD_START,REPORTING_PERIOD_END,GROUP_TYPE,ORG_CODE1,ORG_NAME1,ORG_CODE2,ORG_NAME2,"
                "MEASURE_ID,MEASURE_NAME,MEASURE_VALUE_SUPPRESSED\n")


def test_monthly_inputs_a_user_can_get_wrong(tmp_path):
    bad = tmp_path / "nhs-talking-therapies-monthly-2024-06.csv"
    bad.write_text(MONTHLY_HEAD + "2024-06-01,2024-06-30,Provider,all,all,P01,ONE,M191,x,n/a\n")
    with pytest.raises(InputError, match="'n/a' is not a number") as err:
        read_published([bad])
    assert "nhs-talking-therapies-monthly-2024-06.csv" in err.value.one_line()
    month = MONTHLY_HEAD + "2024-06-01,2024-06-30,Provider,all,all,P01,ONE,M191,x,5\n"
    copies = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in copies:
        path.write_text(month)
    with pytest.raises(InputError, match="month 2024-06 is given more than once"):
        read_published(copies)
    broken = tmp_path / "psych-ther-ann-rep-csv-2019-20.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputError, match="damaged or not a real .zip file"):
        read_published([broken])


# ---------------------------------------------------------------------------- issue 15 kind 10

ONE_CODE_TWO_ROWS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "cases" / "comparison"
                     / "published_annual_one_code_two_rows")


def test_one_code_on_two_rows_is_summed_with_a_note_never_first_row_wins():
    if not ONE_CODE_TWO_ROWS.is_dir():
        pytest.skip("shared case not found")
    data = read_published([ONE_CODE_TWO_ROWS], ["recovery"])
    taj = data[(data["org_code"] == "TAJ") & (data["org_type"] == "Provider")]
    assert len(taj) == 1
    # (60 + 640) / ((300 - 30) + (1200 - 120)) = 700 / 1,350 = 51.9 %
    assert (taj["numerator"].iloc[0], taj["denominator"].iloc[0]) == (700, 1350)
    assert pd.isna(taj["published"].iloc[0])  # a published 22 % or 59 % belongs to one row only
    [note] = [n for n in data.attrs["notices"] if "TAJ" in n]
    assert "DUDLEY AND WALSALL" in note and "BLACK COUNTRY" in note and "summed" in note


def test_the_merged_provider_sits_inside_its_funnel_limits():
    if not ONE_CODE_TWO_ROWS.is_dir():
        pytest.skip("shared case not found")
    from iapt_audit.outliers import analyse_published

    result = analyse_published([ONE_CODE_TWO_ROWS], measures=["recovery"])
    [funnel] = result["funnels"]
    taj = funnel["providers"]["TAJ"]
    assert round(100 * taj["value"], 1) == 51.9 and not taj["flag"]
    assert any("TAJ" in note for note in result["notes"])


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(st.tuples(st.integers(20, 400), st.integers(0, 19), st.integers(0, 20)), min_size=1,
                      max_size=4), repeat=st.booleans())
def test_repeated_codes_are_summed_and_identical_rows_counted_once(tmp_path_factory, parts, repeat):
    """Any split of one organisation over rows: the counts are the rows' sums; a row repeated with
    the same counts under another name (a listing, not a merger) is counted once."""
    rows = [f"Provider,TAJ,NAME {i},Total,Total,NULL,{f},{n},{r}" for i, (f, n, r) in enumerate(parts)]
    if repeat:
        f, n, r = parts[0]
        rows.append(f"Provider,TAJ,ANOTHER NAME,Total,Total,NULL,{f},{n},{r}")
    others = [f"Provider,P{i:02d},P{i},Total,Total,NULL,100,10,45" for i in range(3)]
    path = tmp_path_factory.mktemp("merge") / "psych-ther-ann-rep-csv-2021-22-main.csv"
    path.write_text("OrgType,OrgCode,OrgName,VariableType,VariableA,VariableB,Count_FinishedCourseTreatment,"
                    "Count_NotAtCaseness,Count_Recovery\n" + "\n".join(rows + others) + "\n")
    data = read_published([path], ["recovery"])
    taj = data[data["org_code"] == "TAJ"]
    distinct = list(dict.fromkeys(parts))  # rows repeating the same counts are one organisation listed twice
    assert len(taj) == 1
    assert taj["numerator"].iloc[0] == sum(r for _, _, r in distinct)
    assert taj["denominator"].iloc[0] == sum(f - n for f, n, _ in distinct)
    assert any("TAJ" in n for n in data.attrs["notices"]) == (len(distinct) > 1)


def test_a_measure_the_files_do_not_carry_says_which_they_carry_and_where(tmp_path):
    path = tmp_path / "nhs-talking-therapies-monthly-2024-06.csv"
    path.write_text(MONTHLY_HEAD + "".join(f"2024-06-01,2024-06-30,Provider,all,all,P01,ONE,{m},x,{v}\n"
                                           for m, v in (("M191", 40), ("M076", 100), ("M179", 10))))
    with pytest.raises(InputError, match="no file given carries the measure wait_6_weeks") as err:
        read_published([path], ["wait_6_weeks"])
    assert err.value.column == "--measure"
    assert "recovery (nhs-talking-therapies-monthly-2024-06.csv)" in err.value.fix
    from click.testing import CliRunner

    from iapt_audit.cli import main

    result = CliRunner().invoke(main, ["outliers", str(path), "--measure", "M053", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "carries the measure wait_6_weeks" in result.output and "the files carry: recovery" in result.output
