"""The HTML report in headless Chromium (Debian's package): it renders with its charts and makes no
network request. Requests are read from Chromium's own network log: page-initiated requests carry
the page's origin ("null" for a file), the browser's background traffic carries "not an origin". A
control page with a remote image and stylesheet shows the log does catch a page's requests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CONTROL = ('<html><body><img src="http://example.invalid/pixel.png">'
           '<link rel="stylesheet" href="https://cdn.example.invalid/site.css"></body></html>')


def run_chromium(page: Path, work: Path, *extra: str) -> tuple[str, list[str]]:
    """Load ``page``; return the DOM after load and the URLs of requests the page made."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    netlog = work / "netlog.json"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={work / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND',
               f"--log-net-log={netlog}", "--hide-scrollbars", *extra, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    log = json.loads(netlog.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    starts = [event["params"] for event in log["events"]
              if names[event["type"]] == "URL_REQUEST_START_JOB" and "url" in event.get("params", {})]
    requested = [params["url"] for params in starts if params.get("initiator") != "not an origin"
                 and not params["url"].startswith(("file:", "data:"))]
    return done.stdout, requested


def test_the_network_log_catches_a_page_that_fetches(tmp_path):
    page = tmp_path / "control.html"
    page.write_text(CONTROL)
    _, requested = run_chromium(page, tmp_path, "--dump-dom")
    assert "http://example.invalid/pixel.png" in requested
    assert "https://cdn.example.invalid/site.css" in requested


def test_every_report_renders_its_charts_offline(cohort_reports, tmp_path):
    out, _ = cohort_reports
    for name in ("self-check", "commissioner", "regulator"):
        work = tmp_path / name
        work.mkdir()
        dom, requested = run_chromium(out / f"{name}.html", work, "--dump-dom")
        assert requested == []
        assert dom.count("<svg") >= 3
        assert '<section id="outliers"' in dom


def test_screenshot_of_the_commissioner_report(cohort_reports, tmp_path):
    out, _ = cohort_reports
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "commissioner-report.png"
    shot.unlink(missing_ok=True)
    _, requested = run_chromium(out / "commissioner.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,2400")
    assert requested == []
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
