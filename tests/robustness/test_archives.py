"""Archives (issue 15 kinds 1-3): damage is one line, bombs are refused under a memory cap and in
seconds, and a zip extract leaves no copy of patient data on disk, even when the run is killed.

The bomb tests run the real command in a subprocess whose address space is capped
(``resource.setrlimit(RLIMIT_AS)``) far below what the bomb would unpack to: a bomb that were
unpacked or parsed would end in a MemoryError traceback, not the one-line refusal asserted.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_input_cases import (CONTACT, PERIOD, _gzip_bomb, _zip_of, _zip_patch, _zip_with_member_bomb, base_extract,
                             patch_zip_member)
from iapt_audit.errors import InputError
from iapt_audit.io import archives, workbook
from iapt_audit.io.extract import read_extract
from iapt_audit.io.files import ZIP_FOLDER_PREFIX, opened_source

MEMORY_CAP = 1536 << 20  # bytes of address space: far below any bomb here, enough for the tool itself
ROOT = Path(__file__).resolve().parents[2]
NHS_NUMBER = "9990000018"


def run_capped(*args: str, tmp: Path | None = None, timeout: int = 60) -> tuple[subprocess.CompletedProcess, float]:
    """``iapt-audit ARGS`` in a subprocess under ``MEMORY_CAP``; the result and its seconds."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "PYTHONPATH": str(ROOT), **({"TMPDIR": str(tmp)} if tmp else {})}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "iapt_audit", *args], capture_output=True, text=True,
                            preexec_fn=cap, env=env, timeout=timeout)
    return result, time.perf_counter() - started


def assert_one_line_refusal(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------------------- bombs, under a memory cap

@pytest.mark.parametrize("make, fragments", [
    (_zip_with_member_bomb, ("IDS205InternetTherLog.csv", "times larger")),
    (_gzip_bomb, (f"{CONTACT}.csv.gz", "times larger")),
], ids=["zip-member-1000-to-1", "gzip-3-GiB"])
def test_extract_bombs_are_refused_under_a_memory_cap_in_seconds(tmp_path, make, fragments):
    target = make(base_extract(tmp_path / "extract"))
    result, seconds = run_capped("audit", str(target), "--out", str(tmp_path / "out"), "--period", PERIOD)
    assert_one_line_refusal(result, *fragments)
    assert seconds < 30
    assert not (tmp_path / "out").exists()


def _busy_workbook(path: Path, xml_bytes: int) -> Path:
    """A workbook whose sheet XML is ``xml_bytes`` of cells at a ratio a real sheet has (~10:1),
    inside the old limits (2 GiB, 200:1): openpyxl would parse it for minutes."""
    row = "".join(f'<c r="{c}{{n}}" t="inlineStr"><is><t>{os.urandom(3).hex()}</t></is></c>' for c in "ABCDEFGH")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = "".join(f'<row r="{n}">' + row.format(n=n) + "</row>" for n in range(1, 2001)).encode()
            for _ in range(xml_bytes // len(chunk) + 1):
                sheet.write(chunk)
    return path


def test_a_workbook_within_the_old_limits_but_too_big_to_parse_is_refused_in_seconds(tmp_path):
    book = _busy_workbook(tmp_path / "extract.xlsx", 120 << 20)
    packed, unpacked = book.stat().st_size, sum(i.file_size for i in zipfile.ZipFile(book).infolist())
    assert unpacked / packed < archives.MAX_RATIO and unpacked < archives.MAX_UNPACKED_BYTES  # old checks pass
    result, seconds = run_capped("audit", str(book), "--out", str(tmp_path / "out"), "--period", PERIOD)
    assert_one_line_refusal(result, "extract.xlsx", "would unpack to", "limit 96 MiB")
    assert seconds < 30


def _annual_csv() -> bytes:
    header = "OrgType,OrgCode,OrgName,VariableType,VariableA,VariableB,Count_FinishedCourseTreatment\n"
    return (header + "Provider,P01,ONE,Total,Total,NULL,100\n").encode()


ROWS = b"Provider,P02,TWO,Total,Total,NULL,1\n" * 30_000  # 1 MiB of rows, ~3 KiB packed
GZIP_BOMB = gzip.compress(_annual_csv()) + gzip.compress(ROWS, 9) * 1000  # 1 GiB from 3 MiB


@pytest.mark.parametrize("member, data", [
    ("psych-ther-ann-rep-csv-2020-21-main.csv", _annual_csv() + ROWS * 60),
    ("psych-ther-ann-rep-csv-2020-21-main.csv.gz", GZIP_BOMB),
], ids=["zip-member", "gzip-in-zip"])
def test_outliers_refuses_published_bombs_under_a_memory_cap(tmp_path, member, data):
    archive = tmp_path / "psych-ther-ann-rep-csv-2020-21.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(member, data)
    result, seconds = run_capped("outliers", str(archive), "--out", str(tmp_path / "out"))
    assert_one_line_refusal(result, "times larger")
    assert seconds < 30


def test_a_plain_gzip_published_bomb_is_refused(tmp_path):
    bomb = tmp_path / "psych-ther-ann-rep-csv-2020-21-main.csv.gz"
    bomb.write_bytes(GZIP_BOMB)
    result, seconds = run_capped("outliers", str(bomb), "--out", str(tmp_path / "out"))
    assert_one_line_refusal(result, bomb.name, "times larger")
    assert seconds < 30


# ---------------------------------------------------------------------------- bounds: several variants

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 8 << 20), ratio=st.sampled_from([1, 50, 199, 201, 1000, 10_000]))
def test_gzip_bound_refuses_exactly_what_passes_its_ratio_or_size(tmp_path, size, ratio):
    """Any size and any ratio: refused iff it unpacks beyond ``limit_for(packed)``, and never by
    holding more than one chunk of it."""
    source = tmp_path / "t.csv.gz"
    incompressible = max(1, size // ratio)
    source.write_bytes(gzip.compress(os.urandom(incompressible) + b"\0" * (size - incompressible), 1))
    limit = archives.limit_for(source.stat().st_size)
    if size > limit:
        with pytest.raises(InputError, match="times larger|would unpack"):
            archives.check_gzip(source)
    else:
        assert archives.check_gzip(source) == size


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 3 << 20), min_size=1, max_size=4), bomb=st.booleans())
def test_every_zip_member_and_the_total_are_bounded(tmp_path, sizes, bomb):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for i, size in enumerate(sizes):
            handle.writestr(f"m{i}.bin", os.urandom(size))  # incompressible: every member passes alone
        if bomb:
            handle.writestr("bomb.csv", b"\0" * (4 << 20))
    if bomb:
        with pytest.raises(InputError, match="times larger") as err:
            archives.check_zip(archive)
        assert err.value.file.endswith("a.zip:bomb.csv")
    else:
        assert len(archives.check_zip(archive)) == len(sizes)


def test_the_total_of_an_archive_is_bounded_as_well_as_each_member(tmp_path, monkeypatch):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as handle:
        for i in range(3):
            handle.writestr(f"m{i}.csv", os.urandom(1 << 20))
    monkeypatch.setattr(archives, "MAX_UNPACKED_BYTES", (5 << 20) // 2)  # each member fits, the three do not
    with pytest.raises(InputError, match=r"would unpack to 3 MiB \(limit 2 MiB\)") as err:
        archives.check_zip(archive, max_bytes=archives.MAX_UNPACKED_BYTES)
    assert err.value.file == str(archive)


@pytest.mark.parametrize("damage, message", [
    (dict(crc=0x12345678), "bad CRC"), (dict(flag=0x1), "password-protected"), (dict(method=9), "Deflate64"),
    (dict(method=99), "AES encryption"), (dict(method=98), "method 98"),
])
def test_damaged_zip_members_are_one_line_errors_for_the_extract_reader(tmp_path, damage, message):
    target = _zip_patch(CONTACT, **damage)(base_extract(tmp_path / "extract"))
    with pytest.raises(InputError, match=message) as err:
        read_extract(target)
    assert err.value.file.endswith(f"extract.zip:export/{CONTACT}.csv") and err.value.fix


@pytest.mark.parametrize("damage, message", [
    (dict(crc=0x12345678), "bad CRC"), (dict(flag=0x1), "password-protected"), (dict(method=9), "Deflate64"),
])
def test_damaged_zip_members_are_one_line_errors_for_outliers(tmp_path, damage, message):
    from click.testing import CliRunner

    from iapt_audit.cli import main

    archive = tmp_path / "psych-ther-ann-rep-csv-2020-21.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("psych-ther-ann-rep-csv-2020-21-main.csv", _annual_csv())
    patch_zip_member(archive, "main.csv", **damage)
    result = CliRunner().invoke(main, ["outliers", str(archive), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and message in result.output
    assert "psych-ther-ann-rep-csv-2020-21.zip" in result.output and not (tmp_path / "out").exists()


def test_a_damaged_workbook_part_is_one_line(tmp_path):
    from bad_input_cases import _as_workbook

    book = _as_workbook(base_extract(tmp_path / "extract"))
    data = bytearray(book.read_bytes())
    start = data.find(b"PK\x01\x02")
    while start >= 0:  # every part's CRC in the central directory made wrong
        data[start + 16:start + 20] = b"\x01\x02\x03\x04"
        start = data.find(b"PK\x01\x02", start + 4)
    book.write_bytes(bytes(data))
    workbook._CACHE.clear()
    with pytest.raises(InputError, match="damaged") as err:
        read_extract(book)
    assert err.value.file.endswith("extract.xlsx")


# ---------------------------------------------------------------------------- no patient data left on disk

KILLED_WHILE_READING = """
import os, signal, sys
from iapt_audit.io.files import opened_source
with opened_source(sys.argv[1]) as folder:
    print(folder, flush=True)
    assert (folder / "IDS001MPI.csv").read_text().count("{nhs}") == 1  # the data is there to read
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_run_leaves_no_patient_data_in_the_temp_folder(tmp_path):
    import pandas as pd

    folder = base_extract(tmp_path / "extract")
    pd.DataFrame([{"OrgIDProv": "RX1", "LocalPatientId": "P1", "NHSNumber": NHS_NUMBER,
                   "PersonBirthDate": "1971-02-28", "Postcode": "LS1 4AP"}]).to_csv(folder / "IDS001MPI.csv", index=False)
    archive = _zip_of(folder)
    temp = tmp_path / "tmp"
    temp.mkdir()
    run = subprocess.run([sys.executable, "-c", KILLED_WHILE_READING.format(nhs=NHS_NUMBER), str(archive)],
                         capture_output=True, text=True, env={**os.environ, "TMPDIR": str(temp),
                                                              "PYTHONPATH": str(ROOT)}, timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr
    left = [p for p in temp.rglob("*")]
    assert all(p.is_symlink() or p.is_dir() for p in left), left  # a folder of dangling links at most
    for path in left:
        if path.is_file() and not path.is_symlink():
            assert NHS_NUMBER.encode() not in path.read_bytes()
    assert not any(p.exists() for p in left if p.is_symlink())  # the links point at nothing now
    # the next run beside it removes the leftover folder of the killed process
    assert [p.name for p in temp.iterdir() if p.name.startswith(ZIP_FOLDER_PREFIX)]
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", "import sys; from iapt_audit.io.files import opened_source\n"
                    "with opened_source(sys.argv[1]) as f: pass", str(archive)], env=env, check=True, timeout=60)
    assert list(temp.iterdir()) == []


def test_while_reading_a_zip_no_named_copy_exists(tmp_path):
    folder = base_extract(tmp_path / "extract")
    archive = _zip_of(folder)
    with opened_source(archive) as source:
        links = sorted(source.iterdir())
        assert links and all(p.is_symlink() for p in links)
        assert all(os.readlink(p).startswith(f"/proc/{os.getpid()}/fd/") for p in links)
        assert all(" (deleted)" in os.readlink(os.readlink(p)) or "#" in os.readlink(os.readlink(p))
                   for p in links)  # the data lives in files without a name
        assert (source / f"{CONTACT}.csv").read_bytes() == (folder / f"{CONTACT}.csv").read_bytes()
    assert not source.exists()


def test_the_zip_reader_gives_the_same_tables_as_the_folder(tmp_path):
    folder = base_extract(tmp_path / "extract")
    from_folder, from_zip = read_extract(folder), read_extract(_zip_of(folder))
    for name, table in from_folder.tables.items():
        assert table.equals(from_zip.tables[name]), name


def test_an_in_memory_gzip_is_bounded_too(tmp_path):
    data = gzip.compress(b"\0" * (8 << 20))
    with pytest.raises(InputError, match="times larger"):
        archives.gunzip_bounded(data, "x.csv.gz")
    assert archives.gunzip_bounded(gzip.compress(b"a,b\n1,2\n"), "ok.csv.gz") == b"a,b\n1,2\n"
    assert io.BytesIO(archives.gunzip_bounded(data, "x.csv.gz", size=10)).read() == b"\0" * 10
