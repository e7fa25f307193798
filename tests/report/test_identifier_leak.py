"""No output of any audience, in any format, carries an NHS number, a date of birth or a postcode.

Identifiers are planted in IDS001MPI (valid and invalid NHS numbers, so the data-quality check of the
check digit has failing records to list) and every written file is searched: text files as they are,
workbooks member by member after unzipping.
"""

from __future__ import annotations

import zipfile

import pandas as pd

from builders import write_extract
from report_cohort import YEAR, cohort_tables
from iapt_audit.audit import run_audit
from iapt_audit.report.findings import write_findings
from iapt_audit.report.writer import write_reports

PATIENTS = [  # LocalPatientId, NHS number, birth date, postcode
    ("P1", "9990000018", "1961-07-23", "LS1 4AP"),      # a valid check digit
    ("P7", "9990000000", "1948-02-29", "SW1A 2AA"),     # an invalid check digit: a DQ failure
    ("P8", "9990000050", "2001-11-05", "M60 1QD"),
]


def needles() -> list[str]:
    found = []
    for _, nhs, born, postcode in PATIENTS:
        day = pd.Timestamp(born)
        found += [nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", born, day.strftime("%d/%m/%Y"), day.strftime("%Y%m%d"),
                  postcode, postcode.replace(" ", "")]
    return found


def test_no_output_contains_a_planted_identifier(tmp_path):
    folder = write_extract(tmp_path / "extract", cohort_tables())
    mpi = pd.DataFrame(PATIENTS, columns=["LocalPatientId", "NHSNumber", "PersonBirthDate", "Postcode"])
    mpi.assign(OrgIDProv="RX1", Gender="2").to_csv(folder / "IDS001MPI.csv", index=False)
    result = run_audit(folder, period=YEAR)
    out = tmp_path / "out"
    written = [write_findings(result, out), *write_reports(result, out)]
    assert {p.suffix for p in written} == {".json", ".xlsx", ".html"}
    # the invalid NHS number is a data-quality finding, so a worklist had the chance to leak it
    assert "DQ084" in {f.check.code for f in result.data_quality.findings}
    texts = {}
    for path in written:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for member in book.namelist():
                    texts[f"{path.name}:{member}"] = book.read(member).decode("utf-8", "replace")
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    leaks = [(where, needle) for where, text in texts.items() for needle in needles() if needle in text]
    assert not leaks
