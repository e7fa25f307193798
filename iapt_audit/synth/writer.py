"""Write tables to one file per table (CSV, gzipped CSV or Parquet), streamed or whole.

``TableWriters`` keeps one open pyarrow writer per table for the whole run, so memory holds one
chunk at a time whatever the extract's size; ``table_bytes`` encodes one whole table the same
way, for the small files of one submission. CSV is written without quotes (no generated value
contains a comma or a quote), so a code such as "01" reads back as the text 01. Output is
byte-identical for the same input: no timestamps are written (gzip's header time is zero).

File names are the tables' own (``IDS101Referral.csv``) or, with ``nhsd_names``, NHS Digital's
(``IDS101_Referral.csv``: an underscore after the table number, as in NHS England's replication
database [BG]).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "csv.gz", "parquet")
TABLE_NUMBER = len("IDS101")


def file_name(table: str, fmt: str, nhsd_names: bool = False) -> str:
    """``IDS101Referral.csv``, or NHS Digital's ``IDS101_Referral.csv``."""
    stem = f"{table[:TABLE_NUMBER]}_{table[TABLE_NUMBER:]}" if nhsd_names else table
    return f"{stem}.{fmt}"


def remove_table_files(out: Path, tables) -> None:
    """Delete the tables' files in every format and naming: one left behind would make the
    extract ambiguous."""
    for name in tables:
        for fmt in FORMATS:
            for nhsd in (False, True):
                (out / file_name(name, fmt, nhsd)).unlink(missing_ok=True)


def _csv_header(schema: pa.Schema) -> bytes:
    return (",".join(schema.names) + "\n").encode()   # Arrow would quote the names


def _csv_options() -> pacsv.WriteOptions:
    return pacsv.WriteOptions(include_header=False, quoting_style="none")


def table_bytes(table: pa.Table, fmt: str) -> bytes:
    """One whole table encoded as ``TableWriters`` writes it."""
    if fmt == "parquet":
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes()
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(table, buffer, write_options=_csv_options())
    text = _csv_header(table.schema) + buffer.getvalue().to_pybytes()
    return gzip.compress(text, compresslevel=6, mtime=0) if fmt == "csv.gz" else text


class TableWriters:
    """One streaming writer per table of ``schemas`` in ``out``; use as a context manager so every
    file is closed."""

    def __init__(self, out: Path, fmt: str, schemas: dict[str, pa.Schema], nhsd_names: bool = False):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.out, self.fmt, self.schemas, self.nhsd_names = out, fmt, schemas, nhsd_names
        self._writers: dict[str, object] = {}
        self._streams: list = []
        self.rows = {name: 0 for name in schemas}

    def __enter__(self):
        self.out.mkdir(parents=True, exist_ok=True)
        for name, schema in self.schemas.items():
            path = self.out / file_name(name, self.fmt, self.nhsd_names)
            if self.fmt == "parquet":
                self._writers[name] = pq.ParquetWriter(path, schema)
                continue
            stream = open(path, "wb")
            self._streams.append(stream)
            if self.fmt == "csv.gz":
                stream = gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=6)
                self._streams.append(stream)
            stream.write(_csv_header(schema))
            self._writers[name] = pacsv.CSVWriter(stream, schema, write_options=_csv_options())
        return self

    def write(self, name: str, table: pa.Table) -> None:
        self._writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def __exit__(self, *exc):
        for writer in self._writers.values():
            writer.close()
        for stream in reversed(self._streams):
            stream.close()
        return False
