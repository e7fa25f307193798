"""Stage timing and progress for long runs.

A national extract takes minutes, so on a terminal each stage shows a live line on stderr: its
name and the seconds it has run so far, replaced when it ends by its wall time and throughput
(rows per second, when the stage knows its row count). When stderr is not a terminal (CI, pipes,
log files) nothing is printed, since a redrawn line would only litter the log, but the timings
are still recorded so benchmarks and reports can show them.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

REDRAW_SECONDS = 0.5


class StageTimer:
    """Record wall time and row throughput per stage; optionally show them as they happen."""

    def __init__(self, show: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.show = self.stream.isatty() if show is None else show
        self.stages: dict[str, dict] = {}

    @contextmanager
    def stage(self, name: str, rows: int | None = None):
        """Time the block as stage ``name``; the yielded record may have its "rows" set inside."""
        record = {"rows": rows}
        started = time.perf_counter()
        ticker = _Ticker(self.stream, name, started) if self.show else None
        try:
            yield record
        finally:
            if ticker:
                ticker.stop()
        seconds = time.perf_counter() - started
        record["seconds"] = round(seconds, 3)
        rows = record.get("rows")
        if rows and seconds > 0:
            record["rows_per_second"] = round(rows / seconds)
        self.stages[name] = record
        if self.show:
            rate = f", {rows:,} rows at {record['rows_per_second']:,} rows/s" if "rows_per_second" in record else ""
            print(f"\r\033[K  {name}: {seconds:.1f} s{rate}", file=self.stream, flush=True)


class _Ticker:
    """Redraw "name … N s" in place until stopped, so a long stage visibly advances."""

    def __init__(self, stream, name: str, started: float):
        self.stream, self.name, self.started = stream, name, started
        self.done = threading.Event()
        self.draw()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def draw(self) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"\r\033[K  {self.name} … {elapsed:.0f} s", end="", file=self.stream, flush=True)

    def run(self) -> None:
        while not self.done.wait(REDRAW_SECONDS):
            self.draw()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
