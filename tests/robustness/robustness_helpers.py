"""Independent counts and searches for the robustness tests (not the reader's own code paths)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq


def records_in(file: Path, table: str) -> int:
    """Records in a table file, counted with the standard library / openpyxl (header excluded)."""
    text_name = file.name.lower()
    if ".zip/" in str(file).lower():
        archive_path, _, member = str(file).partition(".zip/")
        with zipfile.ZipFile(archive_path + ".zip") as archive:
            name = next(n for n in archive.namelist() if n.endswith(member))
            return _csv_records(archive.read(name))
    if text_name.endswith(".xlsx"):
        book = openpyxl.load_workbook(file, read_only=True)
        rows = [r for r in book[table].iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        return len(rows) - 1
    if text_name.endswith(".parquet"):
        return pq.ParquetFile(file).metadata.num_rows
    data = file.read_bytes()
    return _csv_records(gzip.decompress(data) if text_name.endswith(".gz") else data)


def _csv_records(data: bytes) -> int:
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "latin-1"
    rows = [r for r in csv.reader(io.StringIO(data.decode(encoding), newline="")) if r]
    return len(rows) - 1


def data_quality_text(out: Path) -> str:
    """The data_quality section of findings.json as text, for finding a record ID in it."""
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return json.dumps(findings.get("data_quality", []), ensure_ascii=False)


def mentions(text: str, record_id: str) -> bool:
    """Does the JSON text carry this record ID as a whole string value?"""
    return json.dumps(record_id, ensure_ascii=False) in text
