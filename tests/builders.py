"""Hand-built extracts for tests: a few rows per table, written in the canonical folder layout.

Tests give only the items a case is about; every other required item gets a neutral default, so a
fixture reads as the facts that matter (dates, codes, scores) keyed by record IDs.
"""

from __future__ import annotations

from pathlib import Path

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
