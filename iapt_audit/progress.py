"""Stage timing and progress for long runs.

On a terminal each stage prints its name, wall time and rows per second to stderr; when output is
not a terminal (CI, pipes) nothing is printed, but the timings are still recorded so benchmarks
and the report can show them.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


class StageTimer:
    """Record wall time and row throughput per stage; optionally show them as they happen."""

    def __init__(self, show: bool | None = None):
        self.show = sys.stderr.isatty() if show is None else show
        self.stages: dict[str, dict] = {}

    @contextmanager
    def stage(self, name: str, rows: int | None = None):
        if self.show:
            print(f"  {name} …", end="", file=sys.stderr, flush=True)
        started = time.perf_counter()
        record = {"rows": rows}
        yield record
        seconds = time.perf_counter() - started
        record["seconds"] = round(seconds, 3)
        rows = record.get("rows")
        if rows and seconds > 0:
            record["rows_per_second"] = round(rows / seconds)
        self.stages[name] = record
        if self.show:
            rate = f", {record['rows_per_second']:,} rows/s" if "rows_per_second" in record else ""
            print(f"\r  {name}: {seconds:.1f} s{rate}", file=sys.stderr, flush=True)
