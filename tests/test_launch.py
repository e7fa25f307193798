"""The command re-executes itself once with glibc's malloc tunables and Arrow's system pool
(iapt_audit/launch.py), keeping whatever the user set, and runs unchanged off glibc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iapt_audit import __version__
from iapt_audit.launch import SKIP, tuned_environment

GLIBC = "CS_GNU_LIBC_VERSION" in os.confstr_names and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
OURS = ("glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824")


def test_adds_the_tunables_the_arrow_pool_and_the_marker():
    tuned = tuned_environment({"PATH": "/bin"}, "glibc 2.36")
    assert tuned == {"PATH": "/bin", "GLIBC_TUNABLES": OURS, "ARROW_DEFAULT_MEMORY_POOL": "system",
                     SKIP: "tuned by iapt-audit"}


def test_keeps_what_the_user_set():
    tuned = tuned_environment({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=7:glibc.cpu.x86_rep_movsb_threshold=4096",
                               "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}, "glibc 2.36")
    assert tuned["GLIBC_TUNABLES"] == ("glibc.malloc.mmap_max=7:glibc.cpu.x86_rep_movsb_threshold=4096:"
                                       "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=1073741824")
    assert tuned["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"


@pytest.mark.parametrize("environ, libc", [({}, ""), ({}, "musl"), ({SKIP: "1"}, "glibc 2.36")])
def test_nothing_to_do_off_glibc_once_tuned_or_when_switched_off(environ, libc):
    assert tuned_environment(environ, libc) is None


def _untuned() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (SKIP, "GLIBC_TUNABLES", "ARROW_DEFAULT_MEMORY_POOL")}


@pytest.mark.skipif(not GLIBC, reason="the tunables exist on glibc only")
def test_the_same_command_line_runs_again_under_the_settings():
    """A real re-execution: the program below runs twice, the second time tuned, and Arrow then
    allocates through glibc."""
    program = ("import os; from iapt_audit.launch import reexecute_tuned; reexecute_tuned(); import pyarrow; "
               "print(os.environ['GLIBC_TUNABLES'], pyarrow.default_memory_pool().backend_name)")
    shown = subprocess.run([sys.executable, "-c", program], env=_untuned(), capture_output=True, text=True, check=True)
    assert shown.stdout.split() == [OURS, "system"]


@pytest.mark.skipif(not GLIBC, reason="the tunables exist on glibc only")
@pytest.mark.parametrize("command", [[str(Path(sys.executable).parent / "iapt-audit")],
                                     [sys.executable, "-m", "iapt_audit"]])
def test_the_installed_command_still_answers(command):
    shown = subprocess.run([*command, "--version"], env=_untuned(), capture_output=True, text=True)
    assert (shown.returncode, shown.stdout.strip()) == (0, f"iapt-audit, version {__version__}")
