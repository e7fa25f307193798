"""Read a very large extract table with one bad row at its very end: row number, time and memory.

    .venv/bin/python benchmarks/robustness_scale.py --rows 10000000
    .venv/bin/python benchmarks/robustness_scale.py --gigabytes 1

Writes a care-contact table of the given size (one unparseable CareContDate in its last record,
optionally a cp1252 character to force the encoding scan), plus one-row neighbours, reads it with
``read_extract`` and prints rows, the bad row's reported number, seconds and peak resident memory
against the file's size. ``tests/robustness/test_scale.py`` runs it at CI size in the normal suite
and at full size under ``@pytest.mark.slow``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

BAD_DATE = "2024-02-30"
CONTACT_COLUMNS = ["OrgIDProv", "CareContactId", "ServiceRequestId", "CareContDate", "AttendOrDNACode", "AppType",
                   "ConsMechanism"]
BYTES_PER_ROW = 41  # what one generated contact row takes on disk, for --gigabytes


def write_large_extract(folder: Path, rows: int, *, cp1252: bool = False, chunk: int = 1_000_000) -> Path:
    """A valid small extract whose IDS201CareContact has ``rows`` records, the last one's date bad."""
    folder.mkdir(parents=True, exist_ok=True)
    small = {
        "IDS101Referral": "OrgIDProv,ServiceRequestId,ReferralRequestReceivedDate\nRX1,R0,2024-04-01\n",
        "IDS202CareActivity": "OrgIDProv,CareActId,CareContactId\nRX1,A0,C0\n",
        "IDS603PresentingComplaints": "OrgIDProv,ServiceRequestId,PresComp\nRX1,R0,F32.1\n",
        "IDS606CodedScoreAssessmentRefer": "OrgIDProv,ServiceRequestId,CodedAssToolType,PersScore,AssToolCompDate\n",
        "IDS607CodedScoreAssessmentAct": "OrgIDProv,CareActId,CodedAssToolType,PersScore\n",
    }
    for name, text in small.items():
        (folder / f"{name}.csv").write_text(text, encoding="ascii")
    target = folder / "IDS201CareContact.csv"
    with open(target, "wb") as handle:
        handle.write((",".join(CONTACT_COLUMNS) + "\n").encode())
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            ids = np.arange(start, start + n)
            dates = (np.datetime64("2024-04-01") + (ids % 365)).astype(str)
            if start + n == rows:
                dates[-1] = BAD_DATE
            table = pa.table({
                "OrgIDProv": pa.array(["RX1"] * n),
                "CareContactId": pa.array(np.char.add("C", ids.astype(str))),
                "ServiceRequestId": pa.array(np.char.add("R", (ids // 8).astype(str))),
                "CareContDate": pa.array(dates),
                "AttendOrDNACode": pa.array(np.where(ids % 7 == 0, "3", "5")),
                "AppType": pa.array(np.where(ids % 8 == 0, "01", "02")),
                "ConsMechanism": pa.array(["01"] * n),
            })
            buffer = pa.BufferOutputStream()
            pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="none"))
            handle.write(buffer.getvalue().to_pybytes())
        if cp1252:
            handle.write("RX1,C-last,R0,2024-04-02,5,02,\x92\n".encode("latin-1"))
    return folder


def measure(folder: Path) -> dict:
    """Read the extract and report what a user would need to see."""
    from iapt_audit.io.extract import read_extract

    size = (folder / "IDS201CareContact.csv").stat().st_size
    started = time.perf_counter()
    extract = read_extract(folder)
    seconds = time.perf_counter() - started
    bad = extract.unparsed[extract.unparsed["column"] == "CareContDate"]
    return {"rows": extract.rows_read["IDS201CareContact"], "kept": len(extract["IDS201CareContact"]),
            "bad_rows": bad["row"].astype(int).tolist(), "bad_values": bad["value"].tolist(),
            "encoding": extract.encodings["IDS201CareContact"], "file_gb": round(size / 1e9, 3),
            "seconds": round(seconds, 2), "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--gigabytes", type=float, default=None)
    parser.add_argument("--cp1252", action="store_true", help="add a cp1252 byte to force the encoding scan")
    args = parser.parse_args()
    rows = args.rows or int((args.gigabytes or 0.1) * 1e9 / BYTES_PER_ROW)
    folder = Path(tempfile.mkdtemp(prefix="iapt-scale-"))
    try:
        write_large_extract(folder, rows, cp1252=args.cp1252)
        print(measure(folder))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
