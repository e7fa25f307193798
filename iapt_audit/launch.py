"""Start the ``iapt-audit`` command with the memory settings national-scale extracts need.

Why: an audit makes and drops tens of gigabytes of short-lived arrays. With glibc's defaults
each large array is a fresh ``mmap``, handed back to the kernel when freed, so the next one
faults in and zeroes its pages all over again, in 4 KiB pages. At 1.8M referrals, perf put a
third of all CPU samples in the kernel clearing pages, and system time was 35 s of the
command's 94 CPU seconds. Keeping freed memory in the process (no ``mmap`` for large blocks,
trimming only above 1 GiB of free heap), asking for transparent huge pages for the heap, and
pointing Arrow at the same allocator so its buffers are reused too took the command from 88 s
to 71 s with the same peak memory (``benchmarks/RESULTS.md``, third pass).

glibc reads its tunables only when a process starts, so the command re-executes itself once,
before importing anything heavy, with them added to the environment. A setting already in the
environment is left as the user set it; setting ``IAPT_AUDIT_DEFAULT_ALLOCATOR`` (to anything)
skips all of this, as does any platform without glibc, where these variables mean nothing.
"""

from __future__ import annotations

import os
import sys

GLIBC_TUNABLES = {
    "glibc.malloc.hugetlb": "1",                   # madvise transparent huge pages for the heap
    "glibc.malloc.mmap_max": "0",                  # large blocks from the heap, reused once freed
    "glibc.malloc.trim_threshold": str(1 << 30),   # hand memory back only above 1 GiB free
}
ARROW_POOL = "system"   # Arrow allocates through glibc, under the same settings
SKIP = "IAPT_AUDIT_DEFAULT_ALLOCATOR"


def tuned_environment(environ: dict[str, str], libc: str) -> dict[str, str] | None:
    """The environment to re-execute with, or ``None`` when there is nothing to do: not glibc,
    already tuned (this is the re-executed process), or switched off by the user."""
    if not libc.startswith("glibc") or SKIP in environ:
        return None
    given = environ.get("GLIBC_TUNABLES", "")
    named = {item.split("=", 1)[0] for item in given.split(":") if item}
    added = [f"{name}={value}" for name, value in GLIBC_TUNABLES.items() if name not in named]
    environment = dict(environ)
    environment["GLIBC_TUNABLES"] = ":".join(part for part in (given, *added) if part)
    environment.setdefault("ARROW_DEFAULT_MEMORY_POOL", ARROW_POOL)
    environment[SKIP] = "tuned by iapt-audit"
    return environment


def reexecute_tuned() -> None:
    """Replace this process with the same command line under the tuned environment, once; return
    (untuned, only slower) when there is nothing to do or the re-execution cannot happen.

    Call it before importing pandas or pyarrow: what they load before the exec is wasted time.
    """
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else None
    environment = tuned_environment(dict(os.environ), libc or "")
    if environment is not None and sys.executable:
        try:
            os.execve(sys.executable, sys.orig_argv, environment)
        except OSError:
            pass


def run() -> None:
    """The command's entry point (``iapt-audit`` and ``python -m iapt_audit``)."""
    reexecute_tuned()
    from iapt_audit.cli import main

    main(prog_name="iapt-audit")
