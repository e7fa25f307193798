"""Property-based fuzzing of the reader and the derivation: no exception escapes but InputError,
and every record read is either in the pathway tables or is a duplicate/orphan left for data quality.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_input_cases import CONTACT, REF, SCORE, base_extract
from iapt_audit.errors import InputError
from iapt_audit.io.extract import read_extract
from iapt_audit.model.tables import TABLES
from iapt_audit.pathway import derive_pathways

NASTY = ["", " ", "01", "02", "2", "5", "N", "RX1", "R1", "R2", "2024-05-01", "31/12/2024", "2024-02-30", "45432",
         "9999-12-31", "-3", "1,200", "1e309", "inf", "NaN", "=1+1", "<b>x</b>", '"', ",", "\n", "\r\n", ";", "é",
         "’", "\x00", "720433000", "445455005", "F41.1", "0" * 40]
cells = st.one_of(st.sampled_from(NASTY), st.text(max_size=6))
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def table_text(draw, table: str):
    """A header drawn from the table's items (plus strangers) and rows of nasty cells, consistent width."""
    spec = TABLES[table]
    names = draw(st.lists(st.sampled_from(list(spec.columns) + ["Notes", "apptype", "ServDischDat", ""]),
                          min_size=1, max_size=8, unique=True))
    header = list(dict.fromkeys(list(spec.required_columns) + names)) if draw(st.booleans()) else names
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=12))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue(), len(rows)


@pytest.fixture(scope="module")
def base():
    folder = Path(tempfile.mkdtemp(prefix="iapt-fuzz-"))
    base_extract(folder / "extract")
    yield folder / "extract"
    shutil.rmtree(folder)


def _fresh(base: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="iapt-fuzz-case-")) / "extract"
    shutil.copytree(base, target)
    return target


@pytest.mark.parametrize("table", [REF, CONTACT, SCORE])
@FUZZ
@given(data=st.data())
def test_reader_and_derivation_never_raise_anything_but_input_error(base, table, data):
    text, written = data.draw(table_text(table))
    encoding = data.draw(st.sampled_from(ENCODINGS))
    folder = _fresh(base)
    try:
        (folder / f"{table}.csv").write_bytes(text.encode(encoding, errors="replace"))
        try:
            extract = read_extract(folder)
        except InputError as err:
            assert "\n" not in err.one_line().strip() and err.file
            return
        assert extract.rows_read[table] == len(extract[table])
        if "\x00" not in text and "\r" not in text:
            assert len(extract[table]) == written
        pathways = derive_pathways(extract)
        referrals, contacts = extract[REF], extract[CONTACT]
        duplicates = referrals.duplicated(["OrgIDProv", "ServiceRequestId"]).sum()
        assert len(pathways.referrals) == len(referrals) - duplicates
        known = set(zip(pathways.referrals["OrgIDProv"], pathways.referrals["ServiceRequestId"]))
        matched = [(o, s) in known for o, s in zip(contacts["OrgIDProv"], contacts["ServiceRequestId"])]
        assert len(pathways.contacts) == sum(matched)
    finally:
        shutil.rmtree(folder.parent)
