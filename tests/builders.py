"""Hand-built extracts for tests: a few rows per table, written in the canonical folder layout.

Tests give only the items a case is about; every other required item gets a neutral default, so a
fixture reads as the facts that matter (dates, codes, scores) keyed by record IDs.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

PROVIDER = "RX1"
TABLE_DEFAULTS = {
    "IDS101Referral": {"OrgIDProv": PROVIDER, "LocalPatientId": "P1", "SourceOfReferralIAPT": "B1",
                       "EndCode": None, "ServDischDate": None},
    "IDS201CareContact": {"OrgIDProv": PROVIDER, "AttendOrDNACode": "5", "AppType": "02",
                          "PlannedCareContIndicator": "Y", "CareContPatientTherMode": "1",
                          "ConsMechanism": "01"},
    "IDS202CareActivity": {"OrgIDProv": PROVIDER, "CodeProcAndProcStatus": "304891004"},
    "IDS603PresentingComplaints": {"OrgIDProv": PROVIDER, "FindSchemeInUse": "01", "PresCompCodSig": "P"},
    "IDS606CodedScoreAssessmentRefer": {"OrgIDProv": PROVIDER},
    "IDS607CodedScoreAssessmentAct": {"OrgIDProv": PROVIDER},
}
COLUMNS = {
    "IDS101Referral": ["ServiceRequestId", "ReferralRequestReceivedDate"],
    "IDS201CareContact": ["CareContactId", "ServiceRequestId", "CareContDate", "AttendOrDNACode", "AppType"],
    "IDS202CareActivity": ["CareActId", "CareContactId"],
    "IDS603PresentingComplaints": ["ServiceRequestId", "PresComp"],
    "IDS606CodedScoreAssessmentRefer": ["ServiceRequestId", "CodedAssToolType", "PersScore", "AssToolCompDate"],
    "IDS607CodedScoreAssessmentAct": ["CareActId", "CodedAssToolType", "PersScore"],
}
PHQ9, GAD7 = "720433000", "445455005"


def write_extract(folder: Path, tables: dict[str, list[dict]], header: dict | None = None) -> Path:
    """Write each table as CSV (all values as text) with defaults filled in; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, defaults in TABLE_DEFAULTS.items():
        rows = [{**defaults, **row} for row in tables.get(name, [])]
        frame = pd.DataFrame(rows, columns=list(dict.fromkeys(COLUMNS[name] + list(defaults)
                                                              + [k for r in rows for k in r])))
        frame.to_csv(folder / f"{name}.csv", index=False)
    if header:
        pd.DataFrame([header]).to_csv(folder / "IDS000Header.csv", index=False)
    return folder


def course(ref: str, dates: list[str], *, phq: list[int] | None = None, gad: list[int] | None = None,
           app_types: list[str] | None = None, received: str = "2024-04-01", discharged: str | None = None,
           descriptor: str = "F41.1", therapy: str = "304891004") -> dict[str, list[dict]]:
    """One referral with attended contacts on ``dates`` and PHQ-9/GAD-7 scores at those contacts."""
    app_types = app_types or ["02"] * len(dates)
    tables = {name: [] for name in TABLE_DEFAULTS}
    tables["IDS101Referral"].append({"ServiceRequestId": ref, "ReferralRequestReceivedDate": received,
                                     "ServDischDate": discharged, "EndCode": "46" if discharged else None})
    tables["IDS603PresentingComplaints"].append({"ServiceRequestId": ref, "PresComp": descriptor})
    for i, (date, app) in enumerate(zip(dates, app_types)):
        contact, act = f"{ref}-C{i}", f"{ref}-A{i}"
        tables["IDS201CareContact"].append({"CareContactId": contact, "ServiceRequestId": ref,
                                            "CareContDate": date, "AppType": app})
        tables["IDS202CareActivity"].append({"CareActId": act, "CareContactId": contact,
                                             "CodeProcAndProcStatus": therapy})
        for tool, series in ((PHQ9, phq), (GAD7, gad)):
            if series is not None and i < len(series) and series[i] is not None:
                tables["IDS607CodedScoreAssessmentAct"].append(
                    {"CareActId": act, "CodedAssToolType": tool, "PersScore": series[i]})
    return tables


def merge(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Combine several ``course`` results into one extract's tables."""
    out: dict[str, list[dict]] = {}
    for part in parts:
        for name, rows in part.items():
            out.setdefault(name, []).extend(rows)
    return out


def hand_worked_cohort() -> dict[str, list[dict]]:
    """Six referrals whose KPIs are worked out by hand in tests/test_kpis.py: recovered (first
    treatment on day 42), not recovered (130-day wait, 95 days to the second treatment), not at
    caseness, ended treated once, ended before treatment, and one still open with no contacts."""
    return merge(
        course("REC", ["2024-05-13", "2024-05-20", "2024-06-10"], phq=[16, 10, 4], gad=[13, 9, 3],
               received="2024-04-01", discharged="2024-06-11"),
        course("NOTREC", ["2024-08-09", "2024-11-12"], phq=[15, 14], gad=[12, 11],
               received="2024-04-01", discharged="2024-11-20"),
        course("LOW", ["2024-05-01", "2024-05-08"], phq=[5, 4], gad=[4, 3], received="2024-04-20",
               discharged="2024-05-09"),
        course("ONCE", ["2024-06-01"], app_types=["03"], received="2024-05-01", discharged="2024-06-02"),
        course("ASSESSED", ["2024-06-01"], app_types=["01"], received="2024-05-01", discharged="2024-06-02"),
        course("OPEN", [], received="2024-09-01"),
    )


def as_workbook(folder: Path, target: Path, tweak=None) -> Path:
    """The extract folder's CSVs as one workbook, a sheet per table; ``tweak(book)`` may damage it."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in sorted(Path(folder).glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        sheet = book.create_sheet(path.stem)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([v if v != "" else None for v in row])
    if tweak:
        tweak(book)
    book.save(target)
    return target
