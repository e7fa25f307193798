"""Errors a user can cause and fix.

They become one line on stderr and exit code 2 (see ``cli``), never a traceback: the message
names the file, the column and the row where known, and says what to do.
"""

from __future__ import annotations

import errno
import os
import re

# characters that would break the one line or fool a terminal: C0/C1 controls, DEL, line separators
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InputError(Exception):
    """Input that cannot be read or used as it stands."""

    def __init__(self, message: str, *, file=None, column: str | None = None, row: int | None = None,
                 fix: str | None = None):
        self.file = printable(str(file)) if file is not None else None
        self.column = column
        self.row = row
        self.fix = fix
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.column:
            where.append(f"column {self.column}")
        if self.row is not None:
            where.append(f"row {self.row}")
        text = (": ".join([", ".join(where), self.message]) if where else self.message)
        if self.fix:
            text += f" ({self.fix})"
        return text


def printable(text: str) -> str:
    """``text`` safe to print on one line in any locale: a path that was not valid UTF-8 (Python
    keeps its bytes as lone surrogates) shows them as ``\\xff``, control characters as ``\\x07``."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def from_os_error(err: OSError, action: str = "read or write") -> InputError:
    """An ``OSError`` the file system raised (a full disk, a permission, a file that vanished) as
    the one-line error it deserves."""
    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only", errno.ENOENT: "no such file or folder",
              errno.ENOTDIR: "a part of the path is a file, not a folder"}.get(err.errno)
    reason = reason or (err.strerror or type(err).__name__)
    fixes = {errno.ENOSPC: "free some space or choose --out on another disk, then run again",
             errno.EDQUOT: "free some space or choose --out on another disk, then run again",
             errno.EACCES: "choose a folder you can write to, or fix its permissions",
             errno.EPERM: "choose a folder you can write to, or fix its permissions",
             errno.EROFS: "choose a folder on a writable disk"}
    where = err.filename if err.filename is not None else None
    if isinstance(where, bytes):
        where = os.fsdecode(where)
    return InputError(f"cannot {action} ({reason})", file=where,
                      fix=fixes.get(err.errno, "check the path and run again"))
