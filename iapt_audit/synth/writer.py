"""Stream tables to one file per table (CSV, gzipped CSV or Parquet) as chunks arrive.

Each table gets one open pyarrow writer for the whole run, so memory holds one chunk at a time
whatever the extract's size. CSV is written without quotes (no generated value contains a comma
or a quote), so a code such as "01" reads back as the text 01. Output is byte-identical for the
same input: no timestamps are written (gzip's header time is zero).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from iapt_audit.synth.records import SCHEMAS

FORMATS = ("csv", "csv.gz", "parquet")


def table_path(out: Path, table: str, fmt: str) -> Path:
    return out / f"{table}.{fmt}"


class TableWriters:
    """One writer per table in ``out``; use as a context manager so every file is closed."""

    def __init__(self, out: Path, fmt: str):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.out, self.fmt = out, fmt
        self._writers: dict[str, object] = {}
        self._streams: list = []
        self.rows = {name: 0 for name in SCHEMAS}

    def __enter__(self):
        self.out.mkdir(parents=True, exist_ok=True)
        for name in SCHEMAS:   # a table left in another format would make the extract ambiguous
            for other in FORMATS:
                table_path(self.out, name, other).unlink(missing_ok=True)
        for name, schema in SCHEMAS.items():
            path = table_path(self.out, name, self.fmt)
            if self.fmt == "parquet":
                self._writers[name] = pq.ParquetWriter(path, schema)
                continue
            stream = open(path, "wb")
            self._streams.append(stream)
            if self.fmt == "csv.gz":
                stream = gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=6)
                self._streams.append(stream)
            stream.write((",".join(schema.names) + "\n").encode())   # Arrow would quote the names
            self._writers[name] = pacsv.CSVWriter(
                stream, schema, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
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
