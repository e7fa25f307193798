"""Small extracts for the derivation tests: the shared cases, hand-built tables written as CSV,
and row shuffles of an extract folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from builders import merge  # noqa: F401  (re-exported for the tests here)
from iapt_audit.audit import run_audit

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "derivation"
YEAR = "2024-04-01:2025-03-31"
PROVIDER = "RX5"
PHQ9, GAD7, SPIN = "720433000", "445455005", "445552006"
CBT, GUIDED_SELF_HELP, EMPLOYMENT_SUPPORT = "304891004", "748051000000105", "1098051000000103"
HEADER = {"OrgIDProv": PROVIDER, "ReportingPeriodStartDate": "2024-04-01", "ReportingPeriodEndDate": "2025-03-31"}
COLUMNS = {
    "IDS101Referral": ["OrgIDProv", "ServiceRequestId", "LocalPatientId", "ReferralRequestReceivedDate",
                       "SourceOfReferralIAPT", "EndCode", "ServDischDate"],
    "IDS201CareContact": ["OrgIDProv", "CareContactId", "ServiceRequestId", "CareContDate", "CareContTime",
                          "PlannedCareContIndicator", "AttendOrDNACode", "AppType", "CareContPatientTherMode"],
    "IDS202CareActivity": ["OrgIDProv", "CareActId", "CareContactId", "CodeProcAndProcStatus"],
    "IDS603PresentingComplaints": ["OrgIDProv", "ServiceRequestId", "PresComp", "PresCompCodSig", "PresCompDate"],
    "IDS606CodedScoreAssessmentRefer": ["OrgIDProv", "ServiceRequestId", "CodedAssToolType", "PersScore",
                                        "AssToolCompDate", "AssToolCompTime"],
    "IDS607CodedScoreAssessmentAct": ["OrgIDProv", "CareActId", "CodedAssToolType", "PersScore"],
}


def case(name: str) -> Path:
    return CASES / name


def audit(folder: Path, **options):
    return run_audit(folder, period=YEAR, **options)


def write(folder: Path, tables: dict[str, list[dict]], header: dict | None = None) -> Path:
    """Each table as CSV (text as given); the required tables are written even when empty."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([header or HEADER]).to_csv(folder / "IDS000Header.csv", index=False)
    for name in {*COLUMNS, *tables}:
        rows = [{"OrgIDProv": PROVIDER, **row} for row in tables.get(name, [])]
        columns = list(dict.fromkeys(COLUMNS.get(name, []) + [k for row in rows for k in row]))
        pd.DataFrame(rows, columns=columns).to_csv(folder / f"{name}.csv", index=False)
    return folder


def pathway(ref: str, contacts: list[dict], *, received="2024-04-01", discharged="2024-06-01",
            descriptor="F41.1", scores: list[dict] | None = None) -> dict[str, list[dict]]:
    """One referral. Each contact: date, and optionally time, app (AppType, default 02), attend
    (default 5), therapy (SNOMED, default CBT; None for no activity code), phq/gad scores."""
    tables = {name: [] for name in COLUMNS}
    tables["IDS101Referral"].append({"ServiceRequestId": ref, "LocalPatientId": f"P{ref}",
                                     "ReferralRequestReceivedDate": received, "SourceOfReferralIAPT": "B1",
                                     "EndCode": "46" if discharged else None, "ServDischDate": discharged})
    tables["IDS603PresentingComplaints"].append({"ServiceRequestId": ref, "PresComp": descriptor,
                                                 "PresCompCodSig": "P", "PresCompDate": received})
    for i, c in enumerate(contacts):
        contact, act = c.get("id", f"{ref}C{i}"), c.get("act", f"{ref}A{i}")
        tables["IDS201CareContact"].append({
            "CareContactId": contact, "ServiceRequestId": ref, "CareContDate": c["date"],
            "CareContTime": c.get("time", "10:00:00"), "PlannedCareContIndicator": "Y",
            "AttendOrDNACode": c.get("attend", "5"), "AppType": c.get("app", "02"), "CareContPatientTherMode": "1"})
        tables["IDS202CareActivity"].append({"CareActId": act, "CareContactId": contact,
                                             "CodeProcAndProcStatus": c.get("therapy", CBT)})
        for tool, key in ((PHQ9, "phq"), (GAD7, "gad")):
            if c.get(key) is not None:
                tables["IDS607CodedScoreAssessmentAct"].append(
                    {"CareActId": act, "CodedAssToolType": tool, "PersScore": c[key]})
    tables["IDS606CodedScoreAssessmentRefer"] += [{"ServiceRequestId": ref, **s} for s in scores or []]
    return tables


def shuffled_copy(source: Path, target: Path, seed: int) -> Path:
    """A copy of a CSV extract folder with the rows of every table in a random order (header row kept)."""
    rng = np.random.default_rng(seed)
    target.mkdir(parents=True)
    for file in sorted(source.iterdir()):
        if file.suffix != ".csv":
            shutil.copy(file, target / file.name)
            continue
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        frame.iloc[rng.permutation(len(frame))].to_csv(target / file.name, index=False)
    return target
