"""An independent, plain-pandas derivation of the national measures from a generated extract.

Written from the domain reference (iapt-dataset.md §1.5, §2.1, §3), not from the generator's
code, so the calibration tests check the generated data against the definitions themselves.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# tool SNOMED -> (caseness cut-off, caseness strictly greater?, reliable change) [§2.1]
SCALES = {
    "720433000": (10, False, 6),     # PHQ-9
    "445455005": (8, False, 4),      # GAD-7
    "445552006": (19, False, 10),    # SPIN
    "450326007": (8, False, 5.0001),  # PDSS, reliable change "> 5"
    "491581000000104": (32, False, 10),  # PCL-5
    "450324005": (40, False, 32),    # OCI
    "446793008": (18, False, 4),     # HAI
    "473355002": (2.3, True, 0.73),  # Mobility Inventory, alone
}
PHQ9, GAD7 = "720433000", "445455005"
# WSAS items [§2.3]: no caseness, never an ADSM [§2.1]
WSAS = {"932621000000100": "work", "932581000000100": "home management", "932611000000106": "social leisure",
        "932591000000103": "private leisure", "932601000000109": "relationships"}
# descriptor (ICD-10 with the dot) -> anxiety measure [§2.2]
ADSM = {"F40.0": "473355002", "F40.1": "445552006", "F41.0": "450326007", "F42.0": "450324005",
        "F43.1": "491581000000104", "F45.2": "446793008"}
TABLES = ("IDS000Header", "IDS001MPI", "IDS004EmpStatus", "IDS101Referral", "IDS201CareContact",
          "IDS202CareActivity", "IDS603PresentingComplaints", "IDS606CodedScoreAssessmentRefer",
          "IDS607CodedScoreAssessmentAct")


def read(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table as text (codes keep their leading zeros), whatever the file format."""
    out = {}
    for name in TABLES:
        [path] = [p for p in Path(folder).iterdir() if p.name.split(".")[0] == name]
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            out[name] = frame.astype({c: "string" for c in frame.columns
                                      if not pd.api.types.is_numeric_dtype(frame[c])})
        else:
            out[name] = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return out


def at_caseness(score, tool):
    cut = tool.map(lambda t: SCALES[t][0])
    strict = tool.map(lambda t: SCALES[t][1])
    return (score > cut) | (~strict & (score == cut))


def referral_measures(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per referral: treatment counts, dates, first/last scores and the outcome flags."""
    ref = t["IDS101Referral"].copy()
    ref["received"] = pd.to_datetime(ref["ReferralRequestReceivedDate"])
    ref["discharged"] = pd.to_datetime(ref["ServDischDate"])
    con = t["IDS201CareContact"].copy()
    con["date"] = pd.to_datetime(con["CareContDate"])
    con = con.merge(ref[["ServiceRequestId", "received", "discharged"]], on="ServiceRequestId")
    attended = con["AttendOrDNACode"].isin(["5", "6"]) | (con["PlannedCareContIndicator"] == "N")
    in_referral = (con["date"] >= con["received"]) & (con["discharged"].isna() | (con["date"] <= con["discharged"]))
    treat = con[attended & con["AppType"].isin(["02", "03", "05"]) & in_referral].sort_values(["ServiceRequestId", "date"])
    treat["k"] = treat.groupby("ServiceRequestId").cumcount()
    counts = treat.groupby("ServiceRequestId").size().rename("n_treat")
    first = treat[treat["k"] == 0].set_index("ServiceRequestId")
    second = treat[treat["k"] == 1].set_index("ServiceRequestId")["date"].rename("second")
    ref = ref.set_index("ServiceRequestId").join(counts).join(first["date"].rename("first"))
    ref = ref.join(first[["AppType", "CareContPatientTherMode", "NumGroupTherParticipants"]].add_prefix("first_"))
    ref = ref.join(second)
    ref["n_treat"] = ref["n_treat"].fillna(0).astype(int)
    ref["entered"] = ref["n_treat"] >= 1
    ref["finished"] = (ref["n_treat"] >= 2) & ref["discharged"].notna()
    ref["wait"] = (ref["first"] - ref["received"]).dt.days
    ref["gap12"] = (ref["second"] - ref["first"]).dt.days

    descriptor = t["IDS603PresentingComplaints"].set_index("ServiceRequestId")["PresComp"]
    ref["adsm_tool"] = descriptor.reindex(ref.index).map(ADSM).fillna(GAD7)
    scores = _scores(t)
    for name, tool in (("phq", None), ("adsm", "adsm_tool")):
        wanted = scores.merge(ref[["adsm_tool"]], left_on="ServiceRequestId", right_index=True)
        mask = wanted["CodedAssToolType"] == (PHQ9 if tool is None else wanted[tool])
        s = wanted[mask].sort_values(["ServiceRequestId", "date", "order"]).groupby("ServiceRequestId")["PersScore"]
        ref[f"{name}_first"] = s.first()
        ref[f"{name}_last"] = s.last().where(s.size() >= 2)
    phq_tool = pd.Series(PHQ9, index=ref.index)
    ref["caseness"] = at_caseness(ref["phq_first"], phq_tool) | at_caseness(ref["adsm_first"], ref["adsm_tool"])
    ref["paired"] = ref["phq_last"].notna() & ref["adsm_last"].notna()
    ref["recovered"] = ref["caseness"] & ref["paired"] & ~at_caseness(ref["phq_last"], phq_tool) & \
        ~at_caseness(ref["adsm_last"], ref["adsm_tool"])
    rc_adsm = ref["adsm_tool"].map(lambda x: SCALES[x][2])
    phq_change, adsm_change = ref["phq_last"] - ref["phq_first"], ref["adsm_last"] - ref["adsm_first"]
    better = (phq_change <= -6) | (adsm_change <= -rc_adsm)
    worse = (phq_change >= 6) | (adsm_change >= rc_adsm)
    ref["reliable_improvement"] = ref["paired"] & better & ~worse
    return ref


def _scores(t) -> pd.DataFrame:
    """Scores with their dates: IDS606 at completion, IDS607 at its contact's date."""
    act = t["IDS607CodedScoreAssessmentAct"].merge(t["IDS202CareActivity"][["CareActId", "CareContactId"]], on="CareActId")
    act = act.merge(t["IDS201CareContact"][["CareContactId", "ServiceRequestId", "CareContDate"]], on="CareContactId")
    act = act.rename(columns={"CareContDate": "date"})
    refer = t["IDS606CodedScoreAssessmentRefer"].rename(columns={"AssToolCompDate": "date"})
    both = pd.concat([refer.assign(order=0), act.assign(order=1)], ignore_index=True)
    both["date"] = pd.to_datetime(both["date"])
    both["PersScore"] = both["PersScore"].astype(float)
    return both[["ServiceRequestId", "CodedAssToolType", "PersScore", "date", "order"]]


def provider_rates(ref: pd.DataFrame, mature_before) -> pd.DataFrame:
    """Per provider: the headline rates (finished cohort and, for entry, mature referrals)."""
    fin = ref[ref["finished"]]
    mature = ref[ref["received"] < pd.Timestamp(mature_before)]
    at_case = fin[fin["caseness"]]
    g = lambda frame: frame.groupby("OrgIDProv")  # noqa: E731
    return pd.DataFrame({
        "referrals": g(ref).size(),
        "entered": g(mature)["entered"].mean(),
        "finished_of_entered": g(mature[mature["entered"]])["finished"].mean(),
        "caseness": g(fin)["caseness"].mean(),
        "recovery": g(at_case)["recovered"].mean(),
        "reliable_improvement": g(fin)["reliable_improvement"].mean(),
        "within_6_weeks": g(fin)["wait"].apply(lambda w: (w <= 42).mean()),
        "within_18_weeks": g(fin)["wait"].apply(lambda w: (w <= 126).mean()),
        "second_over_90": g(fin)["gap12"].apply(lambda w: (w > 90).mean()),
        "mean_sessions": g(fin)["n_treat"].mean(),
        "paired": g(fin)["paired"].mean(),
    })
