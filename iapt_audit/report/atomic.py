"""The output folder: checked before the work starts, replaced as a whole when the work is done.

A command's report set (findings.json and the reports, ``check``'s CSVs, outliers.json) is
written into a new hidden folder beside ``--out`` and then swapped with it in one step
(``renameat2`` with ``RENAME_EXCHANGE``), so whoever reads ``--out`` finds the old set or the
new one, never a mix. What can stop a run cannot leave a mixed set either:

* a folder that cannot be written (read-only, below a file, no room for a folder beside it) is
  refused **before** the work starts (``output_folder`` creates the new folder first);
* an error, a full disk or Ctrl-C while writing removes the new folder and keeps the old set; a
  full disk is one line and exit 2 (``errors.from_os_error``);
* a run that is killed leaves its hidden folder behind: it is named with the process ID, and the
  next run beside it removes every such folder whose process is gone.

Because the whole folder is replaced, ``--out`` must be a new or empty folder or hold only a
previous report set (``REPORT_FILES``): a folder holding anything else is refused, never emptied.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from iapt_audit.errors import InputError, from_os_error

# every file a command writes into --out (and the .part files older versions left behind)
REPORT_FILES = re.compile(r"(findings|outliers|dq_findings)\.json|dq_(worklist|items)\.csv"
                          r"|(self-check|commissioner|regulator)\.(xlsx|html|json)|\..*\.part")
STAGING = ".{name}.iapt-audit-{pid}-"   # + a random suffix
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextmanager
def output_folder(out_dir):
    """Yield the new folder to write a report set into; on success it replaces ``out_dir``.

    Raises ``InputError`` at once when ``out_dir`` cannot take a report set.
    """
    out = Path(out_dir).absolute()
    staging = _new_staging_folder(out)
    try:
        yield staging
        _swap_in(staging, out)
    except OSError as err:
        if err.filename is None or str(staging) not in str(err.filename):
            raise  # not a write into the report set (the command's own error handling names it)
        err.filename = str(err.filename).replace(str(staging), str(out))
        raise from_os_error(err, "write the reports") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _new_staging_folder(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError("--out is a file, not a folder", file=out, fix="give a folder for the reports")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if not REPORT_FILES.fullmatch(p.name))
        if foreign:
            raise InputError(f"the folder holds files that are not iapt-audit reports (e.g. {foreign[0]!r}), and "
                             "the report set replaces the folder as a whole", file=out,
                             fix="give a new or empty folder for the reports")
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError("cannot write to the folder (permission denied)", file=out,
                             fix="choose a folder you can write to, or fix its permissions")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(out.parent, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(out.parent))
        _remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(prefix=STAGING.format(name=out.name, pid=os.getpid()), dir=out.parent))
        os.chmod(staging, (out.stat().st_mode & 0o7777) if out.is_dir() else 0o777 & ~_umask())
    except (FileExistsError, NotADirectoryError):
        raise InputError("a part of the --out path is a file, not a folder", file=out,
                         fix="give a folder whose parents are folders") from None
    except OSError as err:
        raise from_os_error(err, "create the output folder") from None
    return staging


def _remove_leftovers(out: Path) -> None:
    """Remove the hidden folders of killed runs beside ``out`` (their process no longer exists)."""
    prefix = STAGING.format(name=out.name, pid="")[:-1]  # ".out.iapt-audit-", then the pid
    for folder in out.parent.glob(f"{glob_escape(prefix)}*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _swap_in(staging: Path, out: Path) -> None:
    """Put ``staging`` in ``out``'s place in one step; the old set ends up in ``staging`` (removed)."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        return
    old = staging.with_name(staging.name + "-old")  # no atomic exchange here: the shortest window
    os.rename(out, old)
    os.rename(staging, out)
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Linux's atomic exchange of two paths; False where the system or file system lacks it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    Within a report set's new folder this keeps each file whole even for a reader of that folder;
    outside one (the Python API writing a single file) it keeps the previous file until the new one is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is as readable as any file
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
