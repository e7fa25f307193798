"""The stage timer: live progress on a terminal, silence elsewhere, timings recorded either way."""

from __future__ import annotations

import io
import time

from iapt_audit.progress import StageTimer


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_shows_each_stage_with_its_rows_per_second():
    screen = Terminal()
    timer = StageTimer(stream=screen)
    with timer.stage("read") as stage:
        time.sleep(0.05)
        stage["rows"] = 1_000
    text = screen.getvalue()
    assert "read …" in text  # the live line, drawn before the stage ends
    assert "1,000 rows at" in text and "rows/s" in text
    assert timer.stages["read"]["rows"] == 1_000
    assert 0.05 <= timer.stages["read"]["seconds"] < 5
    assert timer.stages["read"]["rows_per_second"] <= 1_000 / 0.05


def test_no_terminal_prints_nothing_but_still_records():
    log = io.StringIO()  # isatty() is False, as for a pipe or CI log
    timer = StageTimer(stream=log)
    with timer.stage("rules", rows=10):
        pass
    assert log.getvalue() == ""
    assert set(timer.stages) == {"rules"}
    assert timer.stages["rules"]["rows"] == 10


def test_a_failing_stage_stops_its_live_line_and_is_not_recorded():
    screen = Terminal()
    timer = StageTimer(stream=screen)
    try:
        with timer.stage("pathways"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert "pathways" not in timer.stages
    drawn = screen.getvalue()
    time.sleep(0.6)  # the redraw thread has stopped: nothing more is written
    assert screen.getvalue() == drawn
