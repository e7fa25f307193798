"""A very large table with one bad row at the end: the record is kept and its row number reported.

The CI-sized variant runs in the normal suite; the 10-million-row and 1 GB runs are slow and run
the benchmark script in a fresh process, so its peak memory is the reader's alone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from robustness_scale import BAD_DATE, measure, write_large_extract  # noqa: E402


@pytest.mark.parametrize("cp1252", [False, True], ids=["utf-8", "cp1252"])
def test_bad_last_row_of_a_large_table_is_kept_and_numbered(tmp_path, cp1252):
    rows = 200_000
    figures = measure(write_large_extract(tmp_path, rows, cp1252=cp1252, chunk=50_000))
    total = rows + cp1252
    assert figures["rows"] == figures["kept"] == total
    assert figures["bad_rows"] == [rows + 1]          # header is row 1, so record n is row n + 1
    assert figures["bad_values"] == [BAD_DATE]
    assert figures["encoding"] == ("cp1252" if cp1252 else "utf-8")


def _run(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCHMARKS / "robustness_scale.py"), *args],
                          capture_output=True, text=True, check=True)
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ten_million_rows_with_one_bad_row_at_the_end():
    figures = _run("--rows", "10000000")
    assert figures["rows"] == figures["kept"] == 10_000_000
    assert figures["bad_rows"] == [10_000_001]
    assert figures["peak_rss_gb"] < 6 * figures["file_gb"] + 1


@pytest.mark.slow
def test_a_one_gigabyte_file_in_cp1252():
    figures = _run("--gigabytes", "1", "--cp1252")
    assert figures["file_gb"] >= 0.95 and figures["encoding"] == "cp1252"
    assert figures["bad_rows"] == [figures["rows"]]  # the bad date is the last generated contact's
    assert figures["peak_rss_gb"] < 6 * figures["file_gb"] + 1
