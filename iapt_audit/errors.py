"""Errors a user can cause and fix.

They become one line on stderr and exit code 2 (see ``cli``), never a traceback: the message
names the file, the column and the row where known, and says what to do.
"""

from __future__ import annotations


class InputError(Exception):
    """Input that cannot be read or used as it stands."""

    def __init__(self, message: str, *, file=None, column: str | None = None, row: int | None = None,
                 fix: str | None = None):
        self.file = str(file) if file is not None else None
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
