"""Monthly submissions built by hand for tests: each submission a header and its tables' rows.

A submission is ``(header, tables)``: ``header`` the IDS000Header row (``submission`` fills the
usual items), ``tables`` as ``builders.course`` returns them. The same submissions can be written
as a warehouse extract (one file per table, every record naming its UniqueSubmissionID) or as a
folder of submissions (a sub-folder or .zip each). Written with plain pandas, not the tool's writer.
"""

from __future__ import annotations

import calendar
import zipfile
from pathlib import Path

import pandas as pd

from builders import PROVIDER, TABLE_DEFAULTS, write_extract

TABLES = list(TABLE_DEFAULTS)


def submission(month: str, identifier: str, *, file_type: str = "Primary", created: str | None = None,
               provider: str = PROVIDER) -> dict:
    """The header row of one provider's submission for ``month`` ("2024-04")."""
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return {"OrgIDProv": provider, "DatSetVer": "2.1", "ReportingPeriodStartDate": f"{month}-01",
            "ReportingPeriodEndDate": f"{month}-{last:02d}", "File_Type": file_type,
            "DateTimeDatSetCreate": created or f"{month}-{last:02d}T23:00:00", "UniqueSubmissionID": identifier}


def write_warehouse(folder: Path, submissions: list[tuple[dict, dict]], *, shuffle_seed: int | None = None) -> Path:
    """All submissions in one file per table, each record carrying its UniqueSubmissionID."""
    folder = Path(folder)
    parts = {name: [] for name in TABLES}
    for header, tables in submissions:
        part = write_extract(folder / ".one", tables)
        for name in TABLES:
            frame = pd.read_csv(part / f"{name}.csv", dtype=str, keep_default_na=False)
            parts[name].append(frame.assign(UniqueSubmissionID=header["UniqueSubmissionID"]))
    for name, frames in parts.items():
        frame = pd.concat(frames, ignore_index=True)
        if shuffle_seed is not None:
            frame = frame.sample(frac=1, random_state=shuffle_seed)
        frame.to_csv(folder / f"{name}.csv", index=False)
    headers = pd.DataFrame([header for header, _ in submissions])
    if shuffle_seed is not None:
        headers = headers.sample(frac=1, random_state=shuffle_seed)
    headers.to_csv(folder / "IDS000Header.csv", index=False)
    for leftover in (folder / ".one").iterdir():
        leftover.unlink()
    (folder / ".one").rmdir()
    return folder


def write_submission_folder(folder: Path, submissions: list[tuple[dict, dict]], *, zipped=()) -> Path:
    """One sub-folder per submission, named so that names do not sort in time order; the
    submissions whose identifiers are in ``zipped`` as .zip files instead."""
    folder = Path(folder)
    for number, (header, tables) in enumerate(submissions):
        name = f"{len(submissions) - number:02d}-{header['UniqueSubmissionID']}"
        part = write_extract(folder / name, tables, header=header)
        if header["UniqueSubmissionID"] in zipped:
            with zipfile.ZipFile(folder / f"{name}.zip", "w") as archive:
                for file in sorted(part.iterdir()):
                    archive.write(file, f"{name}/{file.name}")
                    file.unlink()
            part.rmdir()
    return folder
