"""Reconciliation with the publication: do a provider's records add up to what NHS Digital published?

Given NHS Digital's published files for the audited period (``audit --benchmark``: monthly
activity-performance files and/or annual main CSVs), for every provider in both the tool's counts
and rates are set beside the published ones for each measure, per published period inside the
audit period. A figure **agrees within the publication's rounding** when the tool's exact figure,
put through NHS Digital's disclosure control (``report.disclosure``: counts under 5 suppressed,
others rounded to the nearest 5; percentages from unrounded counts to whole points, suppressed
with their counts), equals the published value. Providers whose records do not add up to their
publication (any disagreeing figure) are listed first.

How this differs from ``iapt_audit.reconcile``: that module compares NHS Digital's *record-level
derived fields* carried in an extract (Recovery_Flag, TherapySession_FirstDate, … per referral)
with the tool's own derivation of each referral. This one compares *published aggregate figures*
(per provider and month or year, from NHS Digital's public files) with the tool's KPIs for the
same provider and period: records altered after submission, a submission NHS Digital did not
receive, or a different cohort all show here, record by record nowhere.

Measures: every ``kpis.MEASURES`` count and percentage whose M-code the monthly file carries
(M001 … M288; means are left out: the file rounds them to a precision not documented), plus the
counts published only as a rate's part (M052, M054 numerators of M053, M055; M184 the second
treatments behind M126). Annual main CSVs carry fewer: referrals, finished courses, not at
caseness, recovery, reliable recovery, improvement and deterioration (counts and percentages).
A published period is reconciled only when it lies wholly inside the audit period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iapt_audit.errors import InputError
from iapt_audit.io.published import read_annual_main, read_monthly
from iapt_audit.kpis import ALL_PROVIDERS, MEASURES, compute_kpis
from iapt_audit.period import Period
from iapt_audit.report.disclosure import SUPPRESSED, disclose_count, disclose_percent

#: published item (M-code) -> (kpis column holding the tool's count or numerator, denominator column or None)
MONTHLY_ITEMS: dict[str, tuple[str, str | None]] = {
    **{m.code: (f"{m.name}__num", None if m.kind == "count" else f"{m.name}__den")
       for m in MEASURES if m.kind in ("count", "percentage")},
    "M052": ("Percentage_AccessingServices6WeeksFinishedCourseTreatment__num", None),
    "M054": ("Percentage_AccessingServices18WeeksFinishedCourseTreatment__num", None),
    "M184": ("Percentage_FirstToSecondTreatmentOver90days__den", None),
}
MEASURE_NAMES = {m.code: m.name for m in MEASURES} | {
    "M052": "Count_AccessingServices6WeeksFinishedCourseTreatment",
    "M054": "Count_AccessingServices18WeeksFinishedCourseTreatment", "M184": "Count_SecondTreatment"}
#: annual main CSV column -> the M-code of the same measure (the annual file names some differently)
ANNUAL_ITEMS = {
    "Count_ReferralsReceived": "M001", "Count_FinishedCourseTreatment": "M076", "Count_NotAtCaseness": "M179",
    "Count_Recovery": "M191", "Percentage_Recovery": "M192", "Count_ReliableRecovery": "M193",
    "Percentage_ReliableRecovery": "M195", "Count_Improvement": "M185", "Percentage_Improvement": "M186",
    "Count_Deterioration": "M189", "Percentage_Deterioration": "M1010",
}
NO_FILES = "No published files were given (--benchmark), so nothing was reconciled with the publication."
COLUMNS = ["OrgIDProv", "period", "measure_id", "measure", "kind", "tool_numerator", "tool_denominator",
           "tool_value", "tool_as_published", "published", "difference", "within_rounding"]


@dataclass
class PublicationReconciliation:
    """``figures``: one row per provider, published period and measure (``COLUMNS``): the tool's
    exact figure (count, or numerator/denominator and rate in percent), the same put through NHS
    Digital's disclosure control (``tool_as_published``: a number or "*"), the published value
    (NaN when suppressed), the difference (tool's exact figure − published, NaN when either side is
    suppressed) and ``within_rounding``. ``providers``: one row per provider, disagreeing first."""

    ran: bool
    note: str
    periods: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    figures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    providers: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_json(self) -> dict:
        """findings.json ``publication``: providers in the order listed (disagreeing first)."""
        out = {"ran": self.ran, "note": self.note, "periods": self.periods, "files": self.files, "providers": []}
        for org, row in self.providers.iterrows():
            mine = self.figures[self.figures["OrgIDProv"] == org]
            out["providers"].append({
                "provider": str(org), "figures_compared": int(row["compared"]), "disagree": int(row["disagree"]),
                "adds_up": bool(row["disagree"] == 0), "measures_disagreeing": list(row["measures_disagreeing"]),
                "figures": [{k: _plain(v) for k, v in record.items() if k != "OrgIDProv"}
                            for record in mine.to_dict("records")]})
        return out


def reconcile_publication(pathways, period: Period, paths) -> PublicationReconciliation:
    """The tool's KPIs beside the published figures of ``paths`` for every provider in both and
    every published period inside ``period``. InputError for unreadable files (as ``--benchmark``)."""
    if not paths:
        return PublicationReconciliation(False, NO_FILES)
    published, files = read_publication(paths)
    return assembled(publication_figures(pathways, period, published), published, files, period)


def benchmark_files(benchmark) -> list:
    """The published files given as ``benchmark`` (``run_audit``'s argument: paths, one path, or a
    ``reference.NationalReference`` already built, which names no files)."""
    if not benchmark or not isinstance(benchmark, (str, Path, list, tuple)):
        return []
    return list(benchmark) if isinstance(benchmark, (list, tuple)) else [benchmark]


def joined(parts: list[pd.DataFrame], published, period: Period) -> PublicationReconciliation:
    """The reconciliation from providers' figures computed apart (Spark); ``published``:
    ``read_publication``'s (rows, files), or None when no files were given."""
    if published is None:
        return PublicationReconciliation(False, NO_FILES)
    parts = [part for part in parts if len(part)]
    figures = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    return assembled(figures, *published, period)


def publication_figures(pathways, period: Period, published: pd.DataFrame) -> pd.DataFrame:
    """The figures (``COLUMNS``) of ``pathways``' providers that ``published`` (``read_publication``'s
    rows) has, for every published period inside ``period``: one provider's or all (Spark runs it
    per provider; ``assembled`` joins them)."""
    audited = set(pathways.referrals["OrgIDProv"].dropna().astype(str))
    inside = _inside(published, period)
    inside = inside[inside["org_code"].isin(audited)]
    frames = []
    for (label, start, end), rows in inside.groupby(["period", "start", "end"], sort=True):  # a few periods
        kpis = compute_kpis(pathways.referrals, pathways.contacts, Period(start, end, label))
        frames.append(_compared(rows, kpis.drop(index=ALL_PROVIDERS), label))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def assembled(figures: pd.DataFrame, published: pd.DataFrame, files: list[str], period: Period) -> PublicationReconciliation:
    """The reconciliation from every provider's figures: providers that do not add up first."""
    inside = _inside(published, period)
    if inside.empty:
        shown = ", ".join(sorted(published["period"].unique())[:6]) or "none"
        return PublicationReconciliation(False, f"None of the published periods given ({shown}) lies inside the "
                                                f"audit period {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}, so "
                                                "nothing was reconciled.", files=files)
    figures = figures.sort_values(["OrgIDProv", "period", "measure_id"], kind="stable", ignore_index=True)
    periods = sorted(set(figures["period"])) if len(figures) else []
    note = (f"{len(set(figures['OrgIDProv']))} providers in both the extract and the publication, "
            f"{len(periods)} published period(s).") if len(figures) else \
        "No audited provider appears in the published files for the audit period."
    return PublicationReconciliation(True, note, periods, files, figures, _by_provider(figures))


def _inside(published: pd.DataFrame, period: Period) -> pd.DataFrame:
    return published[(published["start"] >= period.start) & (published["end"] <= period.end)]


def read_publication(paths) -> tuple[pd.DataFrame, list[str]]:
    """Provider rows of the published files, long: period, start, end, org_code, measure_id,
    value (NaN: suppressed); and the files' names."""
    files = _files(paths)
    frames = []
    try:
        monthly = read_monthly(files, list(MONTHLY_ITEMS))
    except InputError as err:
        if "no monthly" not in str(err):
            raise
        monthly = None
    if monthly is not None:
        monthly = monthly[monthly["group_type"].str.lower() == "provider"]
        start = pd.to_datetime(monthly["period"].astype(str) + "-01")
        frames.append(pd.DataFrame({"period": monthly["period"].astype(str), "start": start,
                                    "end": start + pd.offsets.MonthEnd(0), "org_code": monthly["org_code"].astype(str),
                                    "measure_id": monthly["measure_id"].astype(str), "value": monthly["value"]}))
    for path in files:
        annual = _annual(path)
        if annual is not None:
            frames.append(annual)
    if not frames:
        raise InputError("no published Talking Therapies file among the paths given", column="--benchmark",
                         fix="give monthly activity-performance files or annual main CSVs")
    published = pd.concat(frames, ignore_index=True)
    return published[published["org_code"].notna()], [Path(p).name for p in files]


def _annual(path: Path) -> pd.DataFrame | None:
    """An annual main CSV's provider Total rows, long; None for a file of the monthly layout."""
    try:
        table = read_annual_main(path)
    except InputError as err:
        if "not an annual" in str(err):
            return None
        raise
    rows = table[(table["VariableType"] == "Total") & (table["OrgType"].str.lower() == "provider")]
    columns = [c for c in ANNUAL_ITEMS if c in rows]
    long = rows.melt(id_vars=["period", "OrgCode"], value_vars=columns, var_name="column", value_name="value")
    year = long["period"].str.slice(0, 4).astype(int)
    return pd.DataFrame({"period": long["period"], "start": pd.to_datetime(year.astype(str) + "-04-01"),
                         "end": pd.to_datetime((year + 1).astype(str) + "-03-31"), "org_code": long["OrgCode"],
                         "measure_id": long["column"].map(ANNUAL_ITEMS), "value": long["value"]})


def _files(paths) -> list[Path]:
    """The files given, folders opened (one level, as ``--benchmark`` reads them)."""
    out = []
    for given in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.name.lower().endswith((".csv", ".csv.gz", ".zip")))
        else:
            out.append(path)
    return out


def _compared(rows: pd.DataFrame, kpis: pd.DataFrame, label: str) -> pd.DataFrame:
    """One published period's provider rows beside the tool's KPIs for that period (vectorised
    over rows; the disclosure functions run per figure, a few dozen per provider)."""
    rows = rows[rows["measure_id"].isin(list(MONTHLY_ITEMS))]
    kpis = kpis.reindex(sorted(set(kpis.index.astype(str)) | set(rows["org_code"])), fill_value=0)
    item = rows["measure_id"].map(MONTHLY_ITEMS)
    numerator_column = item.str[0]
    denominator_column = item.str[1]
    grid = kpis.to_numpy(dtype="float64")
    at = kpis.index.get_indexer(rows["org_code"])
    is_rate = denominator_column.notna().to_numpy()
    numerator = grid[at, kpis.columns.get_indexer(numerator_column)]
    denominator = np.where(is_rate, grid[at, kpis.columns.get_indexer(denominator_column.fillna(numerator_column))],
                           np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(is_rate, np.where(denominator > 0, 100 * numerator / denominator, np.nan), numerator)
    shown = [disclose_percent(int(n), int(d)) if rate else disclose_count(int(n))
             for n, d, rate in zip(numerator, np.nan_to_num(denominator), is_rate)]
    published = rows["value"].to_numpy(dtype="float64")
    within = [(s == SUPPRESSED and np.isnan(p)) or (s not in (SUPPRESSED, None) and not np.isnan(p) and s == p)
              or (s is None and np.isnan(p)) for s, p in zip(shown, published)]
    return pd.DataFrame({
        "OrgIDProv": rows["org_code"].to_numpy(), "period": label, "measure_id": rows["measure_id"].to_numpy(),
        "measure": rows["measure_id"].map(MEASURE_NAMES).to_numpy(),
        "kind": np.where(is_rate, "percentage", "count"), "tool_numerator": numerator,
        "tool_denominator": denominator, "tool_value": value, "tool_as_published": shown, "published": published,
        "difference": value - published, "within_rounding": within})


def _by_provider(figures: pd.DataFrame) -> pd.DataFrame:
    """One row per provider: figures compared, disagreeing, which measures; disagreeing first."""
    if figures.empty:
        return pd.DataFrame(columns=["compared", "disagree", "measures_disagreeing"])
    off = figures[~figures["within_rounding"].astype(bool)]
    grouped = figures.groupby("OrgIDProv")
    table = pd.DataFrame({"compared": grouped.size(),
                          "disagree": (~figures["within_rounding"].astype(bool)).groupby(figures["OrgIDProv"]).sum()})
    names = off.groupby("OrgIDProv")["measure"].agg(lambda m: sorted(set(m)))
    table["measures_disagreeing"] = [names.get(org, []) for org in table.index]
    order = sorted(table.index, key=lambda org: (-int(table.at[org, "disagree"]), org))
    return table.loc[order]


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
