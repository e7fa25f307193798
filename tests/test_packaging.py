"""A built wheel, installed outside the repo, finds expectations/, rules/ and report_templates/ and runs."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from builders import course, merge, write_extract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A throwaway venv holding only the wheel; dependencies come from the test venv by a .pth line,
    whose own editable install of iapt_audit is not active there (a .pth line adds a folder to the
    path but does not run the .pth files inside it)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("iapt_audit-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "deps_from_test_venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", purelib, str(wheel)],
                   check=True, capture_output=True)
    return env_dir, work


def run(env_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return subprocess.run([str(env_dir / "bin" / "python"), "-m", "iapt_audit", *args], cwd=cwd,
                          capture_output=True, text=True, env=environment)


def test_wheel_reports_its_version_and_uses_bundled_folders(installed):
    env_dir, work = installed
    from iapt_audit import __version__

    assert run(env_dir, work, "--version").stdout.strip().endswith(__version__)
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c",
         "import iapt_audit, iapt_audit.resources as r; print(iapt_audit.__file__);"
         "print(*(r.resource_dir(n) for n in r.KNOWN), sep='\\n')"],
        cwd=work, capture_output=True, text=True, check=True).stdout.splitlines()
    assert str(env_dir) in where[0], "the wheel's package, not the repo's, must be imported"
    for line, name in zip(where[1:], ("expectations", "rules", "report_templates")):
        assert line.endswith(f"iapt_audit/_bundled/{name}") and str(env_dir) in line


def test_wheel_runs_a_tiny_audit(installed):
    env_dir, work = installed
    extract = write_extract(work / "extract", merge(
        course("R1", ["2024-05-01", "2024-05-08"], phq=[15, 3], gad=[12, 2], discharged="2024-05-09")))
    result = run(env_dir, work, "audit", str(extract), "--out", str(work / "out"), "--period", "2024-04-01:2025-03-31")
    assert result.returncode == 0, result.stderr
    findings = json.loads((work / "out" / "findings.json").read_text())
    assert findings["total"]["kpis"]["Count_FinishedCourseTreatment"] == 1
