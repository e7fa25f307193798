"""The frames Great Expectations validates: the extract's tables plus a few derived columns.

Why derived columns rather than more expectation types: GX has no modulus-11 or "range of the
questionnaire named in another column" expectation, but it can check a column against a set or
compare two columns. So the arithmetic is done here, vectorised, and GX still decides which rows
fail:

* ``NHSNumberCheck`` ("valid" / "invalid") replaces the NHS number, birth date and postcode, so
  no patient identifier ever enters GX or its results;
* ``ScaleLow`` / ``ScaleHigh``: the range of the questionnaire in ``CodedAssToolType``
  (``model.thresholds``), compared with ``PersScore`` by two column-pair expectations;
* ``Attended``: the data set's definition of an attended contact (AttendOrDNACode 5 or 6, or an
  unplanned contact), used as a row condition.

Every frame has a RangeIndex, so the row labels GX returns are row positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iapt_audit.dq.nhs_number import nhs_number_valid
from iapt_audit.model import codes
from iapt_audit.model.tables import TABLES
from iapt_audit.model.thresholds import SCALES
from iapt_audit.pathway import TOOL_NAMES, lookup

SCORE_TABLES = ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct")


def gx_frame(name: str, table: pd.DataFrame, columns: set[str]) -> pd.DataFrame:
    """The table as GX should see it, with every column the suite names present (absent = missing)."""
    frame = table.reset_index(drop=True)
    if name == "IDS001MPI":
        frame = _with_nhs_number_check(frame)
    if name in SCORE_TABLES:
        frame = _with_scale_range(frame)
    if name == "IDS201CareContact":
        frame = frame.assign(Attended=attended(frame))
    absent = sorted(columns - set(frame.columns))
    if absent:
        frame = frame.assign(**{c: pd.Series(pd.NA, index=frame.index, dtype="string") for c in absent})
    return frame


def attended(contacts: pd.DataFrame) -> pd.Series:
    """Attended contacts as every published measure defines them ([MM20] M090)."""
    planned = contacts["PlannedCareContIndicator"] if "PlannedCareContIndicator" in contacts else None
    unplanned = (planned == codes.UNPLANNED).fillna(False) if planned is not None else False
    return (contacts["AttendOrDNACode"].isin(codes.ATTENDED) | unplanned).astype(bool)


def _with_nhs_number_check(frame: pd.DataFrame) -> pd.DataFrame:
    check = (nhs_number_valid(frame["NHSNumber"]).map({True: "valid", False: "invalid"}).astype("string")
             if "NHSNumber" in frame else pd.Series(pd.NA, index=frame.index, dtype="string"))
    identifiers = [c for c in TABLES["IDS001MPI"].identifier_columns if c in frame]
    return frame.drop(columns=identifiers).assign(NHSNumberCheck=check)


def _with_scale_range(frame: pd.DataFrame) -> pd.DataFrame:
    """Each score's questionnaire range, from the pathways' code look-up (a hash of the codes in
    Arrow: 1.3 s for 21.6M scores where factorising them took 3.2 s), spread by position."""
    tool = lookup(frame["CodedAssToolType"], codes.TOOLS, TOOL_NAMES)
    low = np.array([SCALES[name].low if name in SCALES else np.nan for name in TOOL_NAMES] + [np.nan])
    high = np.array([SCALES[name].high if name in SCALES else np.nan for name in TOOL_NAMES] + [np.nan])
    return frame.assign(ScaleLow=low[tool], ScaleHigh=high[tool])  # -1 (unknown or missing) -> NaN
