"""The bad-input catalogue: every malformed input docs/bad-input.md lists, as a damage to a good extract.

A case starts from ``base_extract`` (three referrals keyed R1..R3, written as CSV by
``tests/builders.py``), damages it, and says what it must get:

* ``Error``: a one-line error naming the file, the column and row where they exist, with a fix,
  and exit code 2;
* ``Kept``: the audit runs, every record stays in its table (counts in = counts out), and the
  damaged record is either read correctly (``check``) or reported: in ``Extract.unparsed``
  (``unparsed``), in ``Extract.notices`` (``notice``), or by the data-quality stage (``dq``: the
  record's ID must appear in findings.json's data_quality section).
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from builders import as_workbook, course, merge, write_extract

REF, CONTACT, ACT, SCORE = ("IDS101Referral", "IDS201CareContact", "IDS202CareActivity",
                            "IDS607CodedScoreAssessmentAct")
PERIOD = "2024-04-01:2025-03-31"


def base_extract(folder: Path) -> Path:
    tables = merge(
        course("R1", ["2024-05-01", "2024-05-08", "2024-05-15"], phq=[15, 9, 4], gad=[12, 8, 3],
               discharged="2024-05-20"),
        course("R2", ["2024-06-03"], app_types=["01"], received="2024-05-20"),
        course("R3", [], received="2024-07-01"))
    return write_extract(folder, tables)


@dataclass
class Error:
    message: str
    file: str | None = None      # file name (or input name) the error must name
    column: str | None = None
    row: int | None = None
    fix: str = ""                # text the fix must contain (every error has a fix)


@dataclass
class Kept:
    check: Callable | None = None          # check(extract) asserts the value was read correctly
    unparsed: tuple | None = None          # (table, column, raw value) expected in Extract.unparsed
    notice: tuple | None = None            # (table, column) expected in Extract.notices
    dq: str | None = None                  # record ID the data-quality findings must mention
    encoding: tuple | None = None          # (table, encoding) expected in Extract.encodings


@dataclass
class Case:
    id: str
    what: str
    damage: Callable[[Path], Path]         # damage(folder) -> the path to audit
    expect: Error | Kept
    options: list[str] = field(default_factory=lambda: ["--period", PERIOD])


# --------------------------------------------------------------------------- damage helpers

def _path(folder: Path, table: str) -> Path:
    return folder / f"{table}.csv"


def _text(folder: Path, table: str) -> str:
    return _path(folder, table).read_text(encoding="utf-8")


def _write(folder: Path, table: str, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    _path(folder, table).write_bytes(text.replace("\n", newline).encode(encoding))
    return folder


def _frame(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(_path(folder, table), dtype=str, keep_default_na=False)


def _edit(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    def damage(folder: Path) -> Path:
        change(_frame(folder, table)).to_csv(_path(folder, table), index=False)
        return folder
    return damage


def _set(table: str, key: str, record: str, column: str, value: str) -> Callable[[Path], Path]:
    def change(frame):
        frame.loc[frame[key] == record, column] = value
        return frame
    return _edit(table, change)


def _rename(table: str, old: str, new: str) -> Callable[[Path], Path]:
    return _edit(table, lambda f: f.rename(columns={old: new}))


def _add_rows(table: str, rows: list[dict]) -> Callable[[Path], Path]:
    return _edit(table, lambda f: pd.concat([f, pd.DataFrame(rows)], ignore_index=True).fillna(""))


def _append_line(table: str, line: str) -> Callable[[Path], Path]:
    def damage(folder):
        return _write(folder, table, _text(folder, table) + line + "\n")
    return damage


def _reencode(table: str, value: str, encoding: str) -> Callable[[Path], Path]:
    """Put ``value`` (non-ASCII) into R2's LocalPatientId and save the table in ``encoding``."""
    def damage(folder):
        _set(REF, "ServiceRequestId", "R2", "LocalPatientId", value)(folder)
        data = _text(folder, table)
        if encoding == "utf-8-sig":
            _path(folder, table).write_bytes(codecs.BOM_UTF8 + data.encode("utf-8"))
        else:
            _path(folder, table).write_bytes(data.encode(encoding))
        return folder
    return damage


def _drop_provider(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="OrgIDProv").to_csv(path, index=False)


def _as_workbook(folder: Path, tweak: Callable | None = None) -> Path:
    """The extract as one workbook (a sheet per table); ``tweak(book)`` damages it."""
    return as_workbook(folder, folder.parent / "extract.xlsx", tweak)


def _to_parquet(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    def damage(folder):
        frame = change(_frame(folder, table).replace("", None))
        _path(folder, table).unlink()
        frame.to_parquet(folder / f"{table}.parquet", index=False)
        return folder
    return damage


def _bomb(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, b"\0" * (8 << 20))
    return buffer.getvalue()


def _zip_of(folder: Path, extra: dict[str, bytes] | None = None) -> Path:
    target = folder.parent / "extract.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.csv")):
            archive.write(path, f"export/{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def _write_file(name: str, data: bytes) -> Callable[[Path], Path]:
    def damage(folder):
        (folder.parent / name).write_bytes(data)
        return folder.parent / name
    return damage


def _then(*steps: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def damage(folder):
        result = folder
        for step in steps:
            result = step(folder)
        return result
    return damage


def _header(provider: str) -> Callable[[Path], Path]:
    def damage(folder):
        pd.DataFrame([{"OrgIDProv": provider}]).to_csv(folder / "IDS000Header.csv", index=False)
        return folder
    return damage


def _hide_sheet(book):
    book[CONTACT].sheet_state = "hidden"


def _title_row(book):
    sheet = book[REF]
    sheet.insert_rows(1)
    sheet["A1"] = "Referrals extract, Q1 2024-25"
    sheet.merge_cells("A1:D1")


def _merged_data(book):
    sheet = book[CONTACT]
    column = [c.value for c in sheet[1]].index("AppType") + 1
    sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)


def _float_codes(book):
    sheet = book[SCORE]
    column = [c.value for c in sheet[1]].index("CodedAssToolType") + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row=row, column=column)
        cell.value = float(cell.value)


def _serial_date_cells(book):
    sheet = book[REF]
    column = [c.value for c in sheet[1]].index("ReferralRequestReceivedDate") + 1
    sheet.cell(row=2, column=column).value = 45413  # 2024-05-01 as an Excel serial number


def _contacts(extract) -> pd.DataFrame:
    return extract[CONTACT].set_index("CareContactId")


def _referrals(extract) -> pd.DataFrame:
    return extract[REF].set_index("ServiceRequestId")


# --------------------------------------------------------------------------- the catalogue

CASES = [
    # --- where the extract is and which files it has
    Case("missing-folder", "the input folder does not exist",
         lambda f: f.parent / "no-such-extract", Error("no such file or folder", file="no-such-extract", fix="give")),
    Case("not-an-extract", "a single file that is not .xlsx or .zip",
         _write_file("notes.txt", b"hello"), Error("not an extract", file="notes.txt", fix="folder")),
    Case("missing-table", "a required table is absent",
         lambda f: (_path(f, CONTACT).unlink(), f)[1], Error("required table IDS201CareContact is missing", fix="add")),
    Case("table-twice", "a table given as both CSV and Parquet",
         lambda f: (_frame(f, REF).to_parquet(f / f"{REF}.parquet"), f)[1], Error("given twice", fix="one file")),
    # --- empty and damaged files
    Case("empty-csv", "a 0-byte CSV", lambda f: _write(f, REF, ""),
         Error("the file is empty", file=f"{REF}.csv", row=1, fix="header")),
    Case("blank-first-line", "the header is not on the first line",
         lambda f: _write(f, REF, "\n\n" + _text(f, REF)), Error("no header row", file=f"{REF}.csv", row=1, fix="header")),
    Case("header-only-no-period", "the referral table has a header and no records, and no --period",
         lambda f: _write(f, REF, _text(f, REF).splitlines()[0] + "\n"),
         Error("no dated referrals", file=f"{REF}.csv", column="ReferralRequestReceivedDate", fix="--period"),
         options=[]),
    Case("zero-byte-parquet", "a 0-byte Parquet file",
         lambda f: (_path(f, SCORE).unlink(), (f / f"{SCORE}.parquet").write_bytes(b""), f)[2],
         Error("the file is empty", file=f"{SCORE}.parquet", fix="re-export")),
    Case("corrupt-parquet", "a Parquet file that is not Parquet",
         lambda f: (_path(f, SCORE).unlink(), (f / f"{SCORE}.parquet").write_bytes(b"PAR1 not really"), f)[2],
         Error("cannot read the Parquet file", file=f"{SCORE}.parquet", fix="re-export")),
    Case("corrupt-gzip", "a .csv.gz that is not gzip",
         lambda f: (_path(f, SCORE).unlink(), (f / f"{SCORE}.csv.gz").write_bytes(b"not gzip at all"), f)[2],
         Error("cannot read the file", file=f"{SCORE}.csv.gz", fix="complete")),
    Case("corrupt-xlsx", "an .xlsx that is not a workbook",
         _write_file("extract.xlsx", b"this is not a zip"), Error("damaged", file="extract.xlsx", fix="re-save")),
    Case("xlsx-bomb", "an .xlsx whose sheet unpacks 1000 times larger",
         _write_file("extract.xlsx", _bomb("xl/worksheets/sheet1.xml")),
         Error("times larger", file="extract.xlsx", fix="re-export")),
    Case("zip-bomb", "a .zip extract with a member that unpacks 1000 times larger",
         lambda f: _zip_of(f, {"export/padding.bin": b"\0" * (8 << 20)}),
         Error("times larger", file="extract.zip", fix="re-export")),
    # --- delimiters, quoting, ragged rows
    Case("semicolons", "fields separated by semicolons",
         lambda f: _write(f, REF, _text(f, REF).replace(",", ";")),
         Error("separated by semicolons", file=f"{REF}.csv", row=1, fix="comma-separated")),
    Case("tabs", "fields separated by tabs",
         lambda f: _write(f, REF, _text(f, REF).replace(",", "\t")),
         Error("separated by tabs", file=f"{REF}.csv", row=1, fix="comma-separated")),
    Case("utf16-tabs", "Excel 'Unicode text': UTF-16 with tabs",
         lambda f: _write(f, REF, "\ufeff" + _text(f, REF).replace(",", "\t"), encoding="utf-16-le"),
         Error("separated by tabs", file=f"{REF}.csv", row=1, fix="comma-separated")),
    Case("ragged-short", "a row with too few fields",
         _append_line(CONTACT, "RX1,R9-C0,R9"), Error("fields where the header has", file=f"{CONTACT}.csv",
                                                      row=6, fix="quote")),
    Case("ragged-long", "a row with too many fields (an unquoted comma)",
         lambda f: _write(f, REF, _text(f, REF).replace("R3,", "R3,extra,", 1)),
         Error("fields where the header has", file=f"{REF}.csv", row=4, fix="quote")),
    Case("unclosed-quote", "a quote that is never closed",
         _append_line(REF, 'R9,"2024-05-01,RX1,P1,B1,,'), Error("never closed", file=f"{REF}.csv", fix="quote")),
    # --- headers
    Case("duplicate-header", "a data item given twice",
         _rename(CONTACT, "ConsMechanism", "AppType"),
         Error("appears twice", file=f"{CONTACT}.csv", column="AppType", row=1, fix="one column")),
    Case("alias-and-item", "both the v2.0 and v2.1 name of one item",
         _edit(CONTACT, lambda f: f.assign(ConsMediumUsed="01")),
         Error("appears twice", file=f"{CONTACT}.csv", column="ConsMechanism", row=1, fix="one column")),
    Case("misspelt-required", "a required item misspelt (AppTyp)",
         _rename(CONTACT, "AppType", "AppTyp"),
         Error("required data item AppType is missing", file=f"{CONTACT}.csv", column="AppType",
               fix="rename the column 'AppTyp' to AppType")),
    Case("misspelt-optional", "an optional item misspelt (ServDischDat)",
         _rename(REF, "ServDischDate", "ServDischDat"),
         Error("misspelling of ServDischDate", file=f"{REF}.csv", column="ServDischDat", row=1,
               fix="rename the column to ServDischDate")),
    Case("missing-column", "a required item absent altogether",
         _edit(SCORE, lambda f: f.drop(columns="PersScore")),
         Error("required data item PersScore is missing", file=f"{SCORE}.csv", column="PersScore", fix="add")),
    # --- providers
    Case("blank-provider", "OrgIDProv blank on one row, no header to fill it",
         _set(CONTACT, "CareContactId", "R1-C1", "OrgIDProv", ""),
         Error("OrgIDProv is blank", file=f"{CONTACT}.csv", column="OrgIDProv", row=3, fix="ODS code")),
    Case("two-providers-no-orgid", "two providers in the header and no OrgIDProv in the tables",
         lambda f: (_drop_provider(f), pd.DataFrame([{"OrgIDProv": "RX1"}, {"OrgIDProv": "RY2"}]).to_csv(
             f / "IDS000Header.csv", index=False), f)[2],
         Error("IDS000Header names several providers", column="OrgIDProv", fix="OrgIDProv column")),
    Case("no-provider", "no OrgIDProv anywhere and no header",
         lambda f: (_drop_provider(f), f)[1], Error("no IDS000Header", column="OrgIDProv", fix="OrgIDProv column")),
    # --- workbooks
    Case("hidden-sheet", "a table's sheet is hidden",
         lambda f: _as_workbook(f, _hide_sheet), Error("is hidden", file="extract.xlsx", fix="unhide")),
    Case("title-row", "a merged title row above the header",
         lambda f: _as_workbook(f, _title_row), Error("header on row 2", file="extract.xlsx", row=2, fix="delete")),
    Case("bad-period", "a --period that is not START:END", lambda f: f,
         Error("not START:END", column="--period", fix="2024-04-01:2025-03-31"), options=["--period", "2024"]),

    # ============================== kept: read correctly, or reported with the record kept
    Case("utf8-bom", "UTF-8 with a byte-order mark", _reencode(REF, "Zoë", "utf-8-sig"),
         Kept(check=lambda e: _referrals(e).loc["R2", "LocalPatientId"] == "Zoë", encoding=(REF, "utf-8-sig"))),
    Case("latin-1", "Latin-1 text", _reencode(REF, "Zoë", "latin-1"),
         Kept(check=lambda e: _referrals(e).loc["R2", "LocalPatientId"] == "Zoë", encoding=(REF, "latin-1"),
              notice=(REF, None))),
    Case("cp1252", "Windows cp1252 text (curly apostrophe)", _reencode(REF, "O’Neil", "cp1252"),
         Kept(check=lambda e: _referrals(e).loc["R2", "LocalPatientId"] == "O’Neil", encoding=(REF, "cp1252"),
              notice=(REF, None))),
    Case("utf16-commas", "UTF-16 with commas", _reencode(REF, "Zoë", "utf-16"),
         Kept(check=lambda e: _referrals(e).loc["R2", "LocalPatientId"] == "Zoë", encoding=(REF, "utf-16"))),
    Case("gzip-cp1252", "a gzip-compressed cp1252 table",
         lambda f: (_reencode(REF, "O’Neil", "cp1252")(f), (f / f"{REF}.csv.gz").write_bytes(
             gzip.compress(_path(f, REF).read_bytes())), _path(f, REF).unlink(), f)[3],
         Kept(check=lambda e: _referrals(e).loc["R2", "LocalPatientId"] == "O’Neil", encoding=(REF, "cp1252"))),
    Case("crlf", "Windows line endings", lambda f: _write(f, CONTACT, _text(f, CONTACT), newline="\r\n"),
         Kept(check=lambda e: _contacts(e).loc["R1-C2", "AppType"] == "02")),
    Case("extra-columns", "columns the audit does not use",
         _edit(CONTACT, lambda f: f.assign(Notes="see file", SiteIDOfTreat="X1")),
         Kept(check=lambda e: "Notes" not in e[CONTACT] and len(e[CONTACT]) == 4)),
    Case("header-case", "header names in another letter case (apptype)", _rename(CONTACT, "AppType", "apptype"),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "AppType"] == "02", notice=(CONTACT, "apptype"))),
    Case("header-blanks", "header names with surrounding blanks", _rename(CONTACT, "AppType", " AppType "),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "AppType"] == "02")),
    Case("v20-names", "v2.0 item names (ConsMediumUsed)", _rename(CONTACT, "ConsMechanism", "ConsMediumUsed"),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "ConsMechanism"] == "01")),
    Case("value-blanks", "values with surrounding blanks", _set(CONTACT, "CareContactId", "R1-C0", "AppType", " 02 "),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "AppType"] == "02")),
    Case("quoted-newline", "a quoted value spanning two lines, then a bad date",
         _then(_set(CONTACT, "CareContactId", "R1-C0", "ConsMechanism", "01\nsee notes"),
               _set(CONTACT, "CareContactId", "R1-C2", "CareContDate", "2024-13-45")),
         Kept(check=lambda e: len(e[CONTACT]) == 4 and int(e.unparsed["row"].iloc[0]) == 4,
              unparsed=(CONTACT, "CareContDate", "2024-13-45"))),
    Case("trailing-blank-lines", "blank lines after the last record",
         lambda f: _write(f, CONTACT, _text(f, CONTACT) + "\n\n\n"), Kept(check=lambda e: len(e[CONTACT]) == 4)),
    Case("empty-record", "a record whose every field is empty (the header names the provider)",
         _then(_append_line(CONTACT, ",,,,,,,,"), _header("RX1")),
         Kept(check=lambda e: len(e[CONTACT]) == 5 and e[CONTACT]["CareContactId"].isna().sum() == 1)),
    # --- dates
    Case("day-first-dates", "dates as dd/mm/yyyy", _set(REF, "ServiceRequestId", "R2", "ReferralRequestReceivedDate",
                                                        "20/05/2024"),
         Kept(check=lambda e: _referrals(e).loc["R2", "ReferralRequestReceivedDate"] == pd.Timestamp("2024-05-20"))),
    Case("date-with-time", "dates as dd/mm/yyyy hh:mm (Excel's CSV export)",
         _set(REF, "ServiceRequestId", "R2", "ReferralRequestReceivedDate", "20/05/2024 00:00"),
         Kept(check=lambda e: _referrals(e).loc["R2", "ReferralRequestReceivedDate"] == pd.Timestamp("2024-05-20"))),
    Case("excel-serial-dates", "dates as Excel serial day numbers",
         _set(REF, "ServiceRequestId", "R2", "ReferralRequestReceivedDate", "45432"),
         Kept(check=lambda e: _referrals(e).loc["R2", "ReferralRequestReceivedDate"] == pd.Timestamp("2024-05-20"),
              notice=(REF, "ReferralRequestReceivedDate"))),
    Case("mixed-date-formats", "ISO, day-first and month-name dates in one column",
         _then(_set(CONTACT, "CareContactId", "R1-C1", "CareContDate", "08/05/2024"),
               _set(CONTACT, "CareContactId", "R1-C2", "CareContDate", "15-May-2024")),
         Kept(check=lambda e: _contacts(e)["CareContDate"].loc[["R1-C0", "R1-C1", "R1-C2"]].tolist()
              == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-08"), pd.Timestamp("2024-05-15")])),
    Case("impossible-date", "a date that does not exist (31/13/2024)",
         _set(CONTACT, "CareContactId", "R1-C1", "CareContDate", "31/13/2024"),
         Kept(unparsed=(CONTACT, "CareContDate", "31/13/2024"), check=lambda e: "R1-C1" in _contacts(e).index)),
    Case("us-date", "a US month-first date (not guessed)",
         _set(CONTACT, "CareContactId", "R1-C1", "CareContDate", "05/13/2024"),
         Kept(unparsed=(CONTACT, "CareContDate", "05/13/2024"))),
    Case("sentinel-date", "the sentinel date 9999-12-31",
         _set(REF, "ServiceRequestId", "R1", "ServDischDate", "9999-12-31"),
         Kept(unparsed=(REF, "ServDischDate", "9999-12-31"))),
    Case("future-date", "a contact dated in the future",
         _set(CONTACT, "CareContactId", "R2-C0", "CareContDate", "2031-06-03"),
         Kept(check=lambda e: _contacts(e).loc["R2-C0", "CareContDate"] == pd.Timestamp("2031-06-03"), dq="R2-C0")),
    # --- codes and numbers
    Case("code-without-zero", "AppType 2 instead of 02 (kept as submitted)",
         _set(CONTACT, "CareContactId", "R1-C1", "AppType", "2"),
         Kept(check=lambda e: _contacts(e).loc["R1-C1", "AppType"] == "2", dq="R1-C1")),
    Case("leading-zero-ids", "identifiers with leading zeros", _set(REF, "ServiceRequestId", "R3", "LocalPatientId",
                                                                   "000123"),
         Kept(check=lambda e: _referrals(e).loc["R3", "LocalPatientId"] == "000123")),
    Case("invalid-code", "an AttendOrDNACode not in the list",
         _set(CONTACT, "CareContactId", "R1-C1", "AttendOrDNACode", "9"), Kept(dq="R1-C1")),
    Case("thousands-separator", "a number with a thousands separator (\"1,200\")",
         _edit(CONTACT, lambda f: f.assign(ClinContDurOfCareCont=["1,200", "50", "50", "60"])),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "ClinContDurOfCareCont"] == 1200.0,
              notice=(CONTACT, "ClinContDurOfCareCont"))),
    Case("negative-score", "a negative PHQ-9 score",
         _edit(SCORE, lambda f: f.assign(PersScore=f["PersScore"].where(
             (f["CareActId"] != "R1-A1") | (f["CodedAssToolType"] != "720433000"), "-3"))),
         Kept(check=lambda e: (e[SCORE]["PersScore"] == -3).sum() == 1, dq="R1-A1")),
    Case("text-score", "a score written in words",
         _edit(SCORE, lambda f: f.assign(PersScore=f["PersScore"].where(f["CareActId"] != "R1-A1", "ten"))),
         Kept(unparsed=(SCORE, "PersScore", "ten"), check=lambda e: len(e[SCORE]) == 6)),
    Case("infinite-score", "a score of inf",
         _edit(SCORE, lambda f: f.assign(PersScore=f["PersScore"].where(f["CareActId"] != "R1-A2", "inf"))),
         Kept(unparsed=(SCORE, "PersScore", "inf"))),
    Case("formula-text", "text cells that look like formulas or HTML",
         _then(_set(REF, "ServiceRequestId", "R3", "LocalPatientId", "=HYPERLINK(\"http://x\")"),
               _set(REF, "ServiceRequestId", "R2", "SourceOfReferralIAPT", "<script>alert(1)</script>")),
         Kept(check=lambda e: _referrals(e).loc["R3", "LocalPatientId"] == "=HYPERLINK(\"http://x\")", dq="R2")),
    # --- keys and linkage
    Case("duplicate-key", "the same ServiceRequestId twice",
         _add_rows(REF, [{"OrgIDProv": "RX1", "ServiceRequestId": "R3", "LocalPatientId": "P9",
                          "ReferralRequestReceivedDate": "2024-08-01", "SourceOfReferralIAPT": "A1"}]),
         Kept(check=lambda e: (e[REF]["ServiceRequestId"] == "R3").sum() == 2, dq="R3")),
    Case("orphan-contact", "a contact whose referral is not in the extract",
         _add_rows(CONTACT, [{"OrgIDProv": "RX1", "CareContactId": "X9-C0", "ServiceRequestId": "X9",
                              "CareContDate": "2024-06-01", "AttendOrDNACode": "5", "AppType": "02"}]),
         Kept(check=lambda e: "X9-C0" in _contacts(e).index, dq="X9-C0")),
    Case("blank-key", "a contact with no CareContactId",
         _set(CONTACT, "CareContactId", "R2-C0", "CareContactId", ""),
         Kept(check=lambda e: e[CONTACT]["CareContactId"].isna().sum() == 1)),
    Case("header-only-table", "a required table with a header and no records",
         lambda f: _write(f, SCORE, _text(f, SCORE).splitlines()[0] + "\n"), Kept(check=lambda e: len(e[SCORE]) == 0)),
    Case("provider-from-header", "no OrgIDProv in the tables, one provider in the header",
         lambda f: (_drop_provider(f), pd.DataFrame([{"OrgIDProv": "RQ9"}]).to_csv(f / "IDS000Header.csv",
                                                                                   index=False), f)[2],
         Kept(check=lambda e: e.providers == ["RQ9"])),
    # --- other containers
    Case("workbook", "one .xlsx with a sheet per table", lambda f: _as_workbook(f),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "AppType"] == "02")),
    Case("merged-cells", "merged cells in a workbook's data (blanks below the first)",
         lambda f: _as_workbook(f, _merged_data),
         Kept(check=lambda e: _contacts(e)["AppType"].isna().sum() == 1)),
    Case("float-codes-xlsx", "codes stored as numbers in a workbook (720433000.0)",
         lambda f: _as_workbook(f, _float_codes),
         Kept(check=lambda e: set(e[SCORE]["CodedAssToolType"]) == {"720433000", "445455005"})),
    Case("serial-date-cell", "a date typed as a number in a workbook cell",
         lambda f: _as_workbook(f, _serial_date_cells),
         Kept(check=lambda e: _referrals(e).loc["R1", "ReferralRequestReceivedDate"] == pd.Timestamp("2024-05-01"),
              notice=(REF, "ReferralRequestReceivedDate"))),
    Case("parquet-int-codes", "Parquet with codes stored as integers (AttendOrDNACode 5)",
         _to_parquet(CONTACT, lambda f: f.assign(AttendOrDNACode=f["AttendOrDNACode"].astype(int))),
         Kept(check=lambda e: set(e[CONTACT]["AttendOrDNACode"]) == {"5"})),
    Case("parquet-float-codes", "Parquet with codes as floats with gaps (720433000.0, NaN)",
         _to_parquet(SCORE, lambda f: f.assign(CodedAssToolType=f["CodedAssToolType"].astype(float).where(
             f["CareActId"] != "R1-A2"))),
         Kept(check=lambda e: set(e[SCORE]["CodedAssToolType"].dropna()) == {"720433000", "445455005"})),
    Case("parquet-tz-dates", "Parquet dates with a time zone",
         _to_parquet(CONTACT, lambda f: f.assign(CareContDate=pd.to_datetime(f["CareContDate"]).dt.tz_localize(
             "Europe/London"))),
         Kept(check=lambda e: _contacts(e).loc["R1-C0", "CareContDate"] == pd.Timestamp("2024-05-01"))),
    Case("zip-of-csv", "a .zip of the table files in a subfolder", lambda f: _zip_of(f),
         Kept(check=lambda e: len(e[CONTACT]) == 4 and str(e.files[CONTACT]).endswith(f"extract.zip/{CONTACT}.csv"))),
]


# ============================== round two (issue 15): archives, bombs, the reader policy, options

def patch_zip_member(target: Path, suffix: str, *, flag: int | None = None, method: int | None = None,
                     crc: int | None = None) -> Path:
    """Rewrite the header fields of the members whose names end with ``suffix``, as a damaged,
    password-protected or Deflate64 archive has them (zipfile cannot write those itself)."""
    data = bytearray(target.read_bytes())
    for signature, name_at, name_length_at, fields in ((b"PK\x03\x04", 30, 26, (6, 8, 14)),
                                                       (b"PK\x01\x02", 46, 28, (8, 10, 16))):
        start = data.find(signature)
        while start >= 0:
            length = int.from_bytes(data[start + name_length_at:start + name_length_at + 2], "little")
            if bytes(data[start + name_at:start + name_at + length]).decode().endswith(suffix):
                for offset, value, size in zip(fields, (flag, method, crc), (2, 2, 4)):
                    if value is not None:
                        data[start + offset:start + offset + size] = value.to_bytes(size, "little")
            start = data.find(signature, start + 4)
    target.write_bytes(bytes(data))
    return target


def _zip_patch(table: str, **fields):
    """The extract as a .zip with one table member damaged (``patch_zip_member``)."""
    return lambda folder: patch_zip_member(_zip_of(folder), f"{table}.csv", **fields)


def _zip_with_member_bomb(folder):
    """Total ratio under 200 (an incompressible member pads it), one member 1,000:1."""
    import os as _os

    return _zip_of(folder, {"export/photo.jpg": _os.urandom(2 << 20),
                            "export/IDS205InternetTherLog.csv": b"OrgIDProv\n" + b"RX1\n" * (25 << 20)})


def _gzip_bomb(folder):
    """A .csv.gz table that would unpack to 3 GiB: 3,000 gzip members of 1 MiB of rows each."""
    text = _text(folder, CONTACT)
    header, first_row = text.splitlines()[:2]
    block = gzip.compress(((first_row + "\n") * ((1 << 20) // (len(first_row) + 1))).encode(), 9)
    _path(folder, CONTACT).unlink()
    (folder / f"{CONTACT}.csv.gz").write_bytes(gzip.compress((header + "\n").encode()) + block * 3000)
    return folder


def _long_header(folder):
    """70 KiB of unused columns before the data items: the required items start after 64 KiB."""
    frame = _frame(folder, CONTACT)
    padding = pd.DataFrame({f"UnusedColumn{i:05d}": "" for i in range(4200)}, index=frame.index)
    pd.concat([padding, frame], axis=1).to_csv(_path(folder, CONTACT), index=False)
    return folder


ROUND_TWO = [
    # --- kind 1: damaged archives are one line, not a traceback
    Case("zip-bad-crc", "a .zip whose table member fails its CRC check", _zip_patch(CONTACT, crc=0x12345678),
         Error("bad CRC", file=f"extract.zip:export/{CONTACT}.csv", fix="download or copy the archive again")),
    Case("zip-password", "a .zip whose table member is password-protected", _zip_patch(CONTACT, flag=0x1),
         Error("password-protected", file=f"extract.zip:export/{CONTACT}.csv", fix="without a password")),
    Case("zip-deflate64", "a .zip member compressed with Deflate64 (Windows Explorer, large files)",
         _zip_patch(CONTACT, method=9),
         Error("Deflate64", file=f"extract.zip:export/{CONTACT}.csv", fix="ordinary Deflate")),
    Case("header-vertical-tab", "a header line ending in a vertical tab (Python and Arrow split lines differently)",
         lambda f: _write(f, CONTACT, _text(f, CONTACT).replace("\n", "\v\n", 1)),
         Kept(check=lambda e: _contacts(e).loc["R1-C2", "ConsMechanism"] == "01")),
    Case("header-over-64k", "a header longer than 64 KiB whose data items come after the first 64 KiB",
         _long_header, Kept(check=lambda e: _contacts(e).loc["R1-C0", "AppType"] == "02")),
    Case("period-open-start", "--period with no start (':2025-03-31')", lambda f: f,
         Error("not START:END", column="--period", fix="2024-04-01:2025-03-31"), options=["--period", ":2025-03-31"]),
    Case("period-impossible-date", "--period naming a day that does not exist (2024-04-31)", lambda f: f,
         Error("is not a date (day is out of range for month", column="--period", fix="2024-04-01:2025-03-31"),
         options=["--period", "2024-04-01:2024-04-31"]),
    Case("period-ambiguous", "--period with a two-digit year (01/04/24), not guessed", lambda f: f,
         Error("not a date in a layout read without guessing", column="--period", fix="01/04/2024:31/03/2025"),
         options=["--period", "01/04/24:31/03/25"]),
    Case("select-nothing", "--select naming no check (DQ999)", lambda f: f,
         Error("'DQ999' matches no data-quality check", column="--select", fix="check codes or prefixes"),
         options=["--period", PERIOD, "--select", "DQ999"]),
    # --- kind 2: decompression bombs, per member and in total
    Case("zip-member-bomb", "a .zip whose total ratio passes but one member unpacks 1,000 times larger",
         _zip_with_member_bomb,
         Error("times larger", file="extract.zip:export/IDS205InternetTherLog.csv", fix="re-export")),
    Case("gzip-bomb", "a .csv.gz that would unpack to 3 GiB (no size in its header to check)", _gzip_bomb,
         Error("times larger", file=f"{CONTACT}.csv.gz", fix="re-export")),
    # --- kind 8: one reader policy
    Case("null-words", "NULL, null and NA for nothing (in a code, a number and a date)",
         _then(_set(CONTACT, "CareContactId", "R1-C1", "ConsMechanism", "NULL"),
               _set(CONTACT, "CareContactId", "R1-C2", "CareContDate", "null"),
               _set(REF, "ServiceRequestId", "R3", "EndCode", "NA")),
         Kept(check=lambda e: pd.isna(_contacts(e).loc["R1-C1", "ConsMechanism"])
              and pd.isna(_contacts(e).loc["R1-C2", "CareContDate"]) and pd.isna(_referrals(e).loc["R3", "EndCode"])
              and len(e.unparsed) == 0, notice=(CONTACT, "ConsMechanism"))),
    Case("whole-number-floats", "whole numbers written as floats by a spreadsheet (46.0, 5.0)",
         _then(_set(REF, "ServiceRequestId", "R1", "EndCode", "46.0"),
               _set(CONTACT, "CareContactId", "R1-C0", "AttendOrDNACode", "5.0")),
         Kept(check=lambda e: _referrals(e).loc["R1", "EndCode"] == "46"
              and _contacts(e).loc["R1-C0", "AttendOrDNACode"] == "5", notice=(REF, "EndCode"))),
    Case("iso-offset-dates", "ISO date-times with an offset (+01:00): the local date they state",
         _set(CONTACT, "CareContactId", "R1-C1", "CareContDate", "2024-05-08T00:00:00+01:00"),
         Kept(check=lambda e: _contacts(e).loc["R1-C1", "CareContDate"] == pd.Timestamp("2024-05-08"))),
    Case("utc-dates", "ISO date-times in UTC (Z): converted to UK local time (BST: the next day)",
         _set(CONTACT, "CareContactId", "R2-C0", "CareContDate", "2024-06-02T23:30:00Z"),
         Kept(check=lambda e: _contacts(e).loc["R2-C0", "CareContDate"].normalize() == pd.Timestamp("2024-06-03"),
              notice=(CONTACT, "CareContDate"))),
    Case("boolean-yes-no", "a yes/no item written as spreadsheet booleans (TRUE, false)",
         _then(_set(CONTACT, "CareContactId", "R1-C0", "PlannedCareContIndicator", "TRUE"),
               _set(CONTACT, "CareContactId", "R1-C1", "PlannedCareContIndicator", "false")),
         Kept(check=lambda e: _contacts(e).loc[["R1-C0", "R1-C1"], "PlannedCareContIndicator"].tolist() == ["Y", "N"],
              notice=(CONTACT, "PlannedCareContIndicator"))),
    Case("blanks-around-codes", "a provider code with a trailing blank ('RX1 ')",
         _set(REF, "ServiceRequestId", "R2", "OrgIDProv", "RX1 "),
         Kept(check=lambda e: e.providers == ["RX1"])),
]
CASES += ROUND_TWO
