"""Build the shipped national reference (``national.csv`` and ``national.json``).

    python -m iapt_audit.reference.build DATA_DIR [--year 2025-26]

``DATA_DIR`` holds NHS Digital's monthly files (``nhs-talking-therapies-monthly-YYYY-MM.csv.gz``,
as in ``shared/data/published/monthly``). The year defaults to the latest financial year whose
twelve months are all present. Each provider's counts are summed over the year's months (a month
with a suppressed count is left out of that measure); England's row is the national total.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import date
from pathlib import Path

from iapt_audit.io.published import read_published
from iapt_audit.reference import SHIPPED, summed


def year_months(year: str) -> list[str]:
    start = int(year[:4])
    return [f"{start}-{m:02d}" for m in range(4, 13)] + [f"{start + 1}-{m:02d}" for m in range(1, 4)]


def latest_complete_year(folder: Path) -> str:
    months = {m.group(1) for p in folder.iterdir() if (m := re.search(r"monthly-(\d{4}-\d{2})", p.name))}
    years = sorted({f"{int(m[:4]) - (int(m[5:]) < 4)}-{(int(m[:4]) - (int(m[5:]) < 4) + 1) % 100:02d}"
                    for m in months})
    return next(y for y in reversed(years) if set(year_months(y)) <= months)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--year")
    args = parser.parse_args(argv)
    year = args.year or latest_complete_year(args.data)
    files = [args.data / f"nhs-talking-therapies-monthly-{m}.csv.gz" for m in year_months(year)]
    table = summed(read_published(files))
    table["numerator"] = table["numerator"].round().astype("int64")
    table["denominator"] = table["denominator"].round().astype("int64")
    table.to_csv(SHIPPED, index=False)
    SHIPPED.with_suffix(".json").write_text(json.dumps({
        "year": year, "source": f"NHS Digital monthly files {year_months(year)[0]} to {year_months(year)[-1]}, OGL v3.0",
        "files": [f.name for f in files],
        "built": str(date.today()), "built_by": "python -m iapt_audit.reference.build " + "/".join(args.data.parts[-3:]),
        "rows": len(table), "rule": "each provider's monthly counts summed over the year; a month with a "
                                    "suppressed count is left out of that measure"}, indent=1) + "\n")
    print(f"Wrote {SHIPPED} ({len(table)} rows, {year})")


if __name__ == "__main__":
    main()
