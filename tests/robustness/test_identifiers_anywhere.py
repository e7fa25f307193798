"""Identifiers outside their columns (issue 15 kinds 5-7): NHS numbers, postcodes and the patients'
birth dates typed into other items are masked in every output and listed by DQ113; CSV cells are
inert; no data value takes the place of a key the tool uses (a provider coded ALL)."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bad_input_cases import CONTACT, PERIOD, REF, _frame, _path, base_extract
from iapt_audit.cli import main
from iapt_audit.identifiers import WITHHELD, IdentifierMask, nhs_number_valid
from iapt_audit.report.csv_cells import PLAIN_NUMBER, inert_cells

BIRTH = "1971-02-28"
MPI_NHS, TYPED_NHS, POSTCODE = "9990000018", "9990000026", "LS1 4AP"
# every spelling of the identifiers planted below that must never reach an output
LEAKS = [MPI_NHS, TYPED_NHS, "999 000 0026", "999-000-0026", POSTCODE, "LS14AP", BIRTH, "28/02/1971", "19710228"]


def _check_digit(nine: str) -> int | None:
    """The modulus-11 check digit worked by hand from NHS Digital's rule (None: no valid number)."""
    remainder = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1))) % 11
    check = 11 - remainder
    return 0 if check == 11 else None if check == 10 else check


def test_the_planted_numbers_are_valid_synthetic_nhs_numbers():
    for number in (MPI_NHS, TYPED_NHS):
        assert number.startswith("999") and _check_digit(number[:9]) == int(number[9])


nine_digits = st.text("0123456789", min_size=6, max_size=6).map(lambda s: "999" + s)
valid_numbers = nine_digits.filter(lambda n: _check_digit(n) is not None).map(lambda n: n + str(_check_digit(n)))
spellings = st.sampled_from(["{a}{b}{c}", "{a} {b} {c}", "{a}-{b}-{c}", "{a} {b}-{c}"])
around = st.sampled_from(["{}", "NHS no {}", "{} (typed here)", "x;{};y", "see:{}."])


@settings(max_examples=80, deadline=None)
@given(number=valid_numbers, spelling=spellings, context=around)
def test_any_valid_nhs_number_in_any_spelling_is_masked(number, spelling, context):
    text = context.format(spelling.format(a=number[:3], b=number[3:6], c=number[6:]))
    masked = IdentifierMask().text(text)
    assert number[:3] not in masked.replace("(withheld", "") or number[:3] in context
    assert WITHHELD in masked and IdentifierMask().holds(text)
    assert IdentifierMask().candidates([text]).tolist() == [True]


@settings(max_examples=60, deadline=None)
@given(nine=nine_digits, wrong=st.integers(0, 9))
def test_ten_digits_with_a_wrong_check_digit_are_not_an_nhs_number(nine, wrong):
    if _check_digit(nine) == wrong:
        return
    text = nine + str(wrong)
    assert not nhs_number_valid(text) and IdentifierMask().text(text) == text
    assert IdentifierMask(nhs_numbers=frozenset({text})).text(text) == WITHHELD  # unless the MPI holds it


def test_record_ids_holding_digits_are_not_nhs_numbers():
    for record_id in ("CC0000000012", "SR9990000018", "9990000018123", "R1-C0", "RX5-T002", "F41.1"):
        assert IdentifierMask().text(record_id) == record_id


outward = st.tuples(st.sampled_from(["L", "LS", "M", "SW", "EC", "B"]), st.integers(1, 9),
                    st.sampled_from(["", "A", "1", "W"]))
inward = st.tuples(st.integers(0, 9), st.sampled_from(["AP", "XT", "AB", "ZZ"]))


@settings(max_examples=60, deadline=None)
@given(out=outward, into=inward, space=st.sampled_from(["", " "]), lower=st.booleans(), context=around)
def test_any_uk_postcode_shape_is_masked(out, into, space, lower, context):
    postcode = f"{out[0]}{out[1]}{out[2]}{space}{into[0]}{into[1]}"
    postcode = postcode.lower() if lower else postcode
    assert IdentifierMask().text(context.format(postcode)) == context.format(WITHHELD)


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=pd.Timestamp("1920-01-01").date(), max_value=pd.Timestamp("2010-12-31").date()),
       layout=st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y-%m-%dT00:00:00"]))
def test_a_patients_birth_date_is_masked_in_any_layout_and_other_dates_are_not(day, layout):
    mask = IdentifierMask(birth_dates=frozenset({day.isoformat()}))
    written = day.strftime(layout)
    assert written not in mask.text(f"born {written}")
    other = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime(layout)
    assert mask.text(f"seen {other}") == f"seen {other}"


# ---------------------------------------------------------------------------- end to end, every output

def _planted(folder: Path) -> Path:
    """An NHS number as a LocalPatientId, a postcode in a code item, a birth date in a free-text
    item (CarePersLocalId), and the MPI that makes the date a patient's birth date."""
    base_extract(folder)
    pd.DataFrame([{"OrgIDProv": "RX1", "LocalPatientId": "P1", "NHSNumber": MPI_NHS, "PersonBirthDate": BIRTH,
                   "Postcode": POSTCODE, "Gender": "2"}]).to_csv(folder / "IDS001MPI.csv", index=False)
    _plant(folder, REF, "ServiceRequestId", {"R1": ("LocalPatientId", "999 000 0026"),
                                               "R2": ("SourceOfReferralIAPT", "LS14AP")})
    _plant(folder, CONTACT, "CareContactId", {"R1-C1": ("ConsMechanism", "28/02/1971"),
                                              "R1-C2": ("AppType", "999-000-0026")})
    return folder


def _plant(folder, table: str, key: str, values: dict) -> None:
    """Write ``values`` ({record ID: (item, value)}) into the records of one table file."""
    frame = _frame(folder, table)
    for record, (item, value) in values.items():
        frame.loc[frame[key] == record, item] = value
    frame.to_csv(_path(folder, table), index=False)


def _texts(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                out[path.name] = "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
        else:
            out[path.name] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def planted_outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted")
    extract = _planted(tmp / "extract")
    audit = CliRunner().invoke(main, ["audit", str(extract), "--out", str(tmp / "audit"), "--period", PERIOD])
    assert audit.exit_code == 0, audit.output
    check = CliRunner().invoke(main, ["check", str(extract), "--out", str(tmp / "check"), "--period", PERIOD])
    assert check.exit_code in (0, 1), check.output
    return tmp, audit.output + check.output


def test_no_planted_identifier_reaches_any_output_file_or_the_terminal(planted_outputs):
    tmp, printed = planted_outputs
    texts = {**_texts(tmp / "audit"), **_texts(tmp / "check")}
    assert {"findings.json", "self-check.xlsx", "self-check.html", "commissioner.json", "regulator.xlsx",
            "dq_findings.json", "dq_worklist.csv", "dq_items.csv"} <= set(texts)
    for name, text in texts.items():
        assert [leak for leak in LEAKS if leak in text] == [], name
    assert [leak for leak in LEAKS if leak in printed] == []


def test_dq113_lists_every_record_holding_an_identifier_in_the_wrong_item(planted_outputs):
    tmp, _ = planted_outputs
    for document in (json.loads((tmp / "audit" / "findings.json").read_text())["data_quality"],
                     json.loads((tmp / "check" / "dq_findings.json").read_text())["data_quality"]):
        dq113 = next(f for f in document if f["code"] == "DQ113")
        assert dq113["records"] == ["R1", "R1-C1", "R1-C2", "R2"] and dq113["numerator"] == 4
        assert dq113["passed"] is False and dq113["severity"] == "error"
    worklist = pd.read_csv(tmp / "check" / "dq_worklist.csv", dtype=str)
    rows = worklist[worklist["code"] == "DQ113"].sort_values("record_id")
    assert rows[["record_id", "table", "column"]].values.tolist() == [
        ["R1", REF, "LocalPatientId"], ["R1-C1", CONTACT, "ConsMechanism"], ["R1-C2", CONTACT, "AppType"],
        ["R2", REF, "SourceOfReferralIAPT"]]
    assert set(rows["value"]) == {WITHHELD}


def test_check_csvs_carry_no_live_formula(tmp_path):
    extract = base_extract(tmp_path / "extract")
    _plant(extract, REF, "ServiceRequestId", {"R2": ("SourceOfReferralIAPT", "@SUM(1,2)"),
                                                "R3": ("ServiceRequestId", '=HYPERLINK("http://evil","x")')})
    _plant(extract, CONTACT, "CareContactId", {"R1-C1": ("AppType", "+1+2"), "R1-C2": ("AppType", "-2+3")})
    result = CliRunner().invoke(main, ["check", str(extract), "--out", str(tmp_path / "out"), "--period", PERIOD])
    assert result.exit_code in (0, 1), result.output
    cells = [cell for name in ("dq_worklist.csv", "dq_items.csv")
             for row in csv.reader((tmp_path / "out" / name).open(encoding="utf-8")) for cell in row]
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not c.lstrip("+-").replace(".", "").isdigit()]
    assert live == []
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells and "'-2+3" in cells and "'+1+2" in cells


@settings(max_examples=80, deadline=None)
@given(prefix=st.sampled_from(["=", "+", "-", "@", "\t", "\r"]), rest=st.text(max_size=12))
def test_every_formula_leading_csv_cell_is_written_as_text(prefix, rest):
    value = prefix + rest
    cell = inert_cells(pd.DataFrame({"value": [value, "plain"]}))["value"].tolist()
    number = re.fullmatch(PLAIN_NUMBER, value) is not None
    assert cell == [value if number else "'" + value, "plain"]


@pytest.mark.parametrize("code", ["ALL", "ALL ", " ALL"])
def test_a_provider_coded_all_keeps_its_own_kpis_beside_the_national_total(tmp_path, code):
    extract = base_extract(tmp_path / "extract")
    for path in extract.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "OrgIDProv" in frame and len(frame):
            frame.loc[frame.index[frame.index % 2 == 0], "OrgIDProv"] = code  # ALL and RX1 share the records
            frame.to_csv(path, index=False)
    referrals = _frame(extract, REF)
    owners = dict(zip(referrals["ServiceRequestId"], referrals["OrgIDProv"]))
    contacts = _frame(extract, CONTACT)
    contacts["OrgIDProv"] = contacts["ServiceRequestId"].map(owners)
    contacts.to_csv(_path(extract, CONTACT), index=False)
    result = CliRunner().invoke(main, ["audit", str(extract), "--out", str(tmp_path / "out"), "--period", PERIOD,
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    received = {org: p["kpis"]["Count_ReferralsReceived"] for org, p in findings["providers"].items()}
    assert received == {"ALL": 2, "RX1": 1}  # R1 and R3 are ALL's (rows 0 and 2), R2 RX1's
    assert findings["total"]["kpis"]["Count_ReferralsReceived"] == 3
    assert "Audited 2 providers, 3 referrals received" in result.output
