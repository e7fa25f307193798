"""Read NHS Digital's published Talking Therapies files into counts per organisation and period.

Two layouts (``../shared/data/README.md``):

- the annual report "main" CSV (``OrgType, OrgCode, OrgName, VariableType, VariableA,
  VariableB``, then counts and percentages), whose count columns were renamed in 2020-21
  (``CountRecovery`` → ``Count_Recovery``); both eras are read, as ``.csv``, ``.csv.gz`` or inside
  the ``.zip`` NHS Digital distributes;
- the monthly "activity performance" long file (``MEASURE_ID``, ``MEASURE_VALUE_SUPPRESSED``),
  any number of months at once.

Why rates are recomputed from counts rather than taken as published: a funnel needs a numerator
and denominator per provider, and the official denominators are not always the obvious count
(recovery is over finished courses minus those not at caseness) [G21 §6.3, MM20 M192]. ``*``
means suppressed and ``NULL`` not applicable: both are read as missing, never as zero. Sub-national
counts are rounded to the nearest 5, so a rate recomputed from them carries that rounding error
(median 0.26 points, 95th percentile 1.0 against the published provider rates); England's counts
are exact.

The result of ``read_published`` is the *ProviderMeasures* frame of the architecture: one row
per organisation × period × measure with ``numerator``, ``denominator`` and the ``published``
percentage where NHS Digital publishes one.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from iapt_audit.errors import InputError

ANNUAL_TEXT = ("OrgType", "OrgCode", "OrgName", "VariableType", "VariableA", "VariableB")
MONTHLY_COLUMNS = ("REPORTING_PERIOD_START", "GROUP_TYPE", "ORG_CODE2", "ORG_NAME2", "MEASURE_ID",
                   "MEASURE_VALUE_SUPPRESSED")
MISSING = ["*", "NULL", ""]  # suppressed, not applicable, blank: all missing, never zero
ENGLAND = "England"
MEASURE_COLUMNS = ["period", "period_type", "org_type", "org_code", "org_name", "measure",
                   "numerator", "denominator", "published"]

# Waiting-time breakdown rows of the annual file (finished courses by wait band) -> count names.
# "First treatment" became "Accessing services" in 2022-23; case varies between years.
_ANNUAL_WAIT_BANDS = {
    ("first treatment", "<6 weeks"): "Count_FinishedWait6Weeks",
    ("accessing services", "<6 weeks"): "Count_FinishedWait6Weeks",
    ("first treatment", "<18 weeks"): "Count_FinishedWait18Weeks",
    ("accessing services", "<18 weeks"): "Count_FinishedWait18Weeks",
    ("first to second treatment", ">90 days"): "Count_FinishedFirstToSecondOver90Days",
}


@dataclass(frozen=True)
class PublishedMeasure:
    """How one rate is built from each layout's counts: numerator / (first − rest of denominator)."""

    name: str
    official: str  # NHS Digital's measure name, as iapt_audit.kpis names the audit's rates
    label: str
    improvement: str  # "increase" or "decrease": which way is better, for SPC point types
    annual: tuple[str, tuple[str, ...], str | None] | None  # numerator, denominator, published %
    monthly: tuple[str, tuple[str, ...], str | None] | None
    codes: tuple[str, ...] = ()  # the M-codes a user may name the measure by


_CASENESS_BASE = ("Count_FinishedCourseTreatment", "Count_NotAtCaseness")
_FINISHED = ("Count_FinishedCourseTreatment",)
MEASURES: dict[str, PublishedMeasure] = {m.name: m for m in (
    PublishedMeasure(
        "recovery", "Percentage_Recovery", "Recovery (finished courses at caseness)", "increase",
        ("Count_Recovery", _CASENESS_BASE, "Percentage_Recovery"),
        ("M191", ("M076", "M179"), "M192"), ("M191", "M192")),
    PublishedMeasure(
        "reliable_recovery", "Percentage_ReliableRecovery", "Reliable recovery (finished courses at caseness)",
        "increase",
        ("Count_ReliableRecovery", _CASENESS_BASE, "Percentage_ReliableRecovery"),
        ("M193", ("M076", "M179"), "M195"), ("M193", "M195")),
    PublishedMeasure(
        "reliable_improvement", "Percentage_ReliableImprovement", "Reliable improvement (all finished courses)",
        "increase",
        ("Count_Improvement", _FINISHED, "Percentage_Improvement"),
        ("M185", ("M076",), "M186"), ("M185", "M186")),
    PublishedMeasure(
        "reliable_deterioration", "Percentage_ReliableDeterioration",
        "Reliable deterioration (all finished courses)", "decrease",
        ("Count_Deterioration", _FINISHED, "Percentage_Deterioration"),
        ("M189", ("M076",), "M1010"), ("M189", "M1010")),
    PublishedMeasure(
        "wait_6_weeks", "Percentage_AccessingServices6WeeksFinishedCourseTreatment",
        "Finished courses that started treatment within 6 weeks of referral", "increase",
        ("Count_FinishedWait6Weeks", _FINISHED, None),
        ("M052", ("M076",), "M053"), ("M052", "M053")),
    PublishedMeasure(
        "wait_18_weeks", "Percentage_AccessingServices18WeeksFinishedCourseTreatment",
        "Finished courses that started treatment within 18 weeks of referral", "increase",
        ("Count_FinishedWait18Weeks", _FINISHED, None),
        ("M054", ("M076",), "M055"), ("M054", "M055")),
    PublishedMeasure(
        "first_to_second_over_90_days", "Percentage_FirstToSecondTreatmentOver90days",
        "Second treatment more than 90 days after the first (hidden waits)", "decrease",
        # annually every finished course had a second treatment, so finished courses are the base
        ("Count_FinishedFirstToSecondOver90Days", _FINISHED, None),
        ("M047", ("M184",), "M126"), ("M047", "M126")),
    PublishedMeasure(
        "first_to_second_over_28_days", "Percentage_FirstToSecondTreatmentOver28days",
        "Second treatment more than 28 days after the first", "decrease",
        None, ("M046", ("M184",), "M124"), ("M046", "M124")),
)}


def measure_named(name: str) -> PublishedMeasure:
    """Find a measure by its name, NHS Digital's name or an M-code (``recovery``,
    ``Percentage_Recovery``, ``M192``)."""
    key = name.strip()
    for measure in MEASURES.values():
        if key.lower() in (measure.name, measure.official.lower()) or key.upper() in measure.codes:
            return measure
    raise InputError(f"unknown measure {name!r}",
                     fix=f"use one of {', '.join(MEASURES)} (or an M-code such as M192)")


def read_published(paths, measures=None) -> pd.DataFrame:
    """ProviderMeasures (every org type) from annual and/or monthly files, folders or zips.

    ``measures``: names to compute (default all that the files support).
    """
    wanted = list({m.name: m for m in map(measure_named, measures)}.values()) if measures \
        else list(MEASURES.values())
    annual, monthly = {}, []
    for source, name, layout in _sources(paths):
        if layout == "annual":
            year = _financial_year(name, source)
            if year in annual:
                raise InputError(f"the {year} annual file is given more than once", file=name,
                                 fix="give each year's file once")
            annual[year] = _annual_measures(_read_annual_table(source, name), year, wanted)
        else:
            monthly.append((source, name))
    frames = list(annual.values())
    if monthly:
        frames.append(_monthly_measures(_read_monthly_tables(monthly, _monthly_ids(wanted)), wanted))
    if not frames:
        raise InputError("no published Talking Therapies file among the paths given",
                         fix="give annual main CSVs or monthly activity-performance files (.csv, .csv.gz, .zip)")
    return pd.concat(frames, ignore_index=True)[MEASURE_COLUMNS]


def read_annual_main(path) -> pd.DataFrame:
    """One annual main CSV (or the main CSV inside a zip) as published, names of the 2020-21+ era.

    Counts and percentages are floats with ``*`` and ``NULL`` as NaN; a ``period`` column holds
    the financial year taken from the file name ("2019-20").
    """
    for source, name, layout in _sources([path]):
        if layout == "annual":
            table = _read_annual_table(source, name)
            table.insert(0, "period", _financial_year(name, source))
            return table
    raise InputError("not an annual main CSV", file=path,
                     fix="give psych-ther-ann-rep-csv-<year>-main*.csv(.gz) or NHS Digital's zip")


def read_monthly(paths, measure_ids=None) -> pd.DataFrame:
    """Monthly long files as one frame: period (YYYY-MM), group_type, org_code, org_name,
    measure_id, value (float; ``*`` is NaN). ``measure_ids`` keeps only those measures."""
    monthly = [(s, n) for s, n, layout in _sources(paths) if layout == "monthly"]
    if not monthly:
        raise InputError("no monthly activity-performance file among the paths given",
                         fix="give nhs-talking-therapies-monthly-<YYYY-MM>.csv(.gz) files")
    return _read_monthly_tables(monthly, measure_ids)


# --- finding and sniffing the files -------------------------------------------------------------

def _sources(paths):
    """Yield (source, display name, layout) for every CSV given directly, in a folder or a zip.

    ``source`` is a path, or (zip path, member name) for a member of a zip.
    """
    for path in _expand(paths):
        if path.suffix.lower() == ".zip":
            found = False
            try:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.namelist() if m.lower().endswith((".csv", ".csv.gz"))]
            except zipfile.BadZipFile:
                raise InputError("cannot open the file (not a zip archive)", file=path,
                                 fix="download it again; .zip, .gz and plain .csv are read") from None
            for member in members:
                layout = _layout(_header_line((path, member)))
                if layout:
                    found = True
                    yield (path, member), member, layout
            if not found:
                raise InputError("the zip holds no annual main or monthly CSV", file=path,
                                 fix="give the zip NHS Digital distributes, or the CSV itself")
            continue
        header = _header_line(path)
        layout = _layout(header)
        if layout is None:
            raise InputError("neither an annual main CSV nor a monthly activity-performance file", file=path,
                             row=1, fix="annual: OrgType, OrgCode, OrgName, VariableType, VariableA, VariableB "
                                        "and counts; monthly: " + ", ".join(MONTHLY_COLUMNS))
        yield path, path.name, layout


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.name.lower().endswith((".csv", ".csv.gz", ".zip"))))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("no such file or folder", file=path, fix="check the path")
    return files


def _header_line(source) -> list[str]:
    data = _open_bytes(source, head=True)
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    return [c.strip().strip('"') for c in first.split(",")]


def _layout(header: list[str]) -> str | None:
    if all(c in header for c in MONTHLY_COLUMNS):
        return "monthly"
    finished = {"CountFinishedCourseTreatment", "Count_FinishedCourseTreatment"}
    if all(c in header for c in ANNUAL_TEXT) and finished & set(header):
        return "annual"
    return None


def _open_bytes(source, head: bool = False) -> bytes:
    """The (decompressed) bytes of a file or zip member; only the first block when ``head``."""
    size = 65536 if head else -1
    try:
        if isinstance(source, tuple):
            archive_path, member = source
            with zipfile.ZipFile(archive_path) as archive, archive.open(member) as handle:
                if member.lower().endswith(".gz"):
                    with gzip.open(handle) as inner:
                        return inner.read(size)
                return handle.read(size)
        opener = gzip.open if str(source).lower().endswith(".gz") else open
        with opener(source, "rb") as handle:
            return handle.read(size)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        where = source[0] if isinstance(source, tuple) else source
        raise InputError(f"cannot open the file ({type(err).__name__})", file=where,
                         fix="download it again; .zip, .gz and plain .csv are read") from None


def _read_csv(source, column_types: dict, include: list[str] | None = None) -> pa.Table:
    """pyarrow's CSV reader with '*'/'NULL' as missing; a bad value becomes an InputError."""
    where = source if not isinstance(source, tuple) else f"{source[0]}:{source[1]}"
    stream = pa.BufferReader(_open_bytes(source)) if isinstance(source, tuple) else source
    try:
        return pacsv.read_csv(stream, convert_options=pacsv.ConvertOptions(
            column_types=column_types, include_columns=include, null_values=MISSING,
            strings_can_be_null=True))
    except pa.ArrowInvalid as err:
        raise InputError(f"cannot read a value ({str(err).splitlines()[0]})", file=where,
                         fix="counts must be numbers, '*' (suppressed) or 'NULL'") from None


# --- annual main CSV ----------------------------------------------------------------------------

_NUMBER_COLUMN = re.compile(r"^(Count|Percentage|Mean|Median)")


def _canonical(name: str) -> str:
    """2017-18..2019-20 wrote CountRecovery; later years Count_Recovery. Use the later form."""
    return re.sub(r"^(Count|Percentage|Mean|Median)(?!_)(?=[A-Z])", r"\1_", name)


def _read_annual_table(source, name) -> pd.DataFrame:
    header = _header_line(source)
    types = {c: (pa.float64() if _NUMBER_COLUMN.match(c) else pa.string()) for c in header}
    table = _read_csv(source, types)
    frame = table.to_pandas()
    frame.columns = [_canonical(c) for c in frame.columns]
    for column in ANNUAL_TEXT:
        frame[column] = frame[column].astype("string")
    return frame


def _financial_year(name: str, source) -> str:
    match = re.search(r"(20\d\d)[-_](\d\d)(?!\d)", Path(name).name)
    if match is None and isinstance(source, tuple):
        match = re.search(r"(20\d\d)[-_](\d\d)(?!\d)", Path(source[0]).name)
    if match is None:
        raise InputError("cannot tell the financial year from the file name", file=name,
                         fix="keep NHS Digital's file name, which contains the year (…-2019-20-main…)")
    return f"{match.group(1)}-{match.group(2)}"


def _annual_measures(table: pd.DataFrame, period: str, wanted) -> pd.DataFrame:
    """Total rows plus the waiting-time bands -> one row per organisation and measure.

    An organisation code listed twice keeps its first row (2023-24 lists provider TAF90 under two
    names with identical counts).
    """
    key = ["OrgType", "OrgCode", "OrgName"]
    totals = table[table["VariableType"] == "Total"].drop_duplicates(["OrgType", "OrgCode"]).set_index(key)
    waits = table[table["VariableType"] == "Waiting Time"]
    band = pd.Series(list(zip(waits["VariableA"].str.lower(), waits["VariableB"])), index=waits.index)
    waits = waits.assign(count_name=band.map(_ANNUAL_WAIT_BANDS)).dropna(subset=["count_name"])
    if len(waits):
        wide = waits.pivot_table(index=key, columns="count_name", values="Count_FinishedCourseTreatment",
                                 aggfunc="first", dropna=False)
        totals = totals.join(wide, how="left")
    frames = []
    for measure in wanted:
        if measure.annual is None:
            continue
        frames.append(_rate_rows(totals, measure.name, measure.annual))
    if not frames:
        return pd.DataFrame(columns=MEASURE_COLUMNS)
    long = pd.concat(frames).reset_index()
    long = long.rename(columns={"OrgType": "org_type", "OrgCode": "org_code", "OrgName": "org_name"})
    long["period"], long["period_type"] = period, "year"
    return _england_named(long)


# --- monthly long files -------------------------------------------------------------------------

def _read_monthly_tables(sources, measure_ids) -> pd.DataFrame:
    """Every file as text, filtered to the wanted measures in pyarrow before pandas sees it."""
    tables = []
    for source, name in sources:
        table = _read_csv(source, {c: pa.string() for c in MONTHLY_COLUMNS}, list(MONTHLY_COLUMNS))
        if measure_ids is not None:
            table = table.filter(pc.is_in(table["MEASURE_ID"], value_set=pa.array(list(measure_ids))))
        _check_numbers(table["MEASURE_VALUE_SUPPRESSED"], name)
        tables.append(table)
    frame = pa.concat_tables(tables).to_pandas()
    value = pd.to_numeric(frame["MEASURE_VALUE_SUPPRESSED"], errors="coerce")
    return pd.DataFrame({
        "period": frame["REPORTING_PERIOD_START"].str.slice(0, 7),
        "group_type": frame["GROUP_TYPE"],
        "org_code": frame["ORG_CODE2"],
        "org_name": frame["ORG_NAME2"],
        "measure_id": frame["MEASURE_ID"],
        "value": value.astype("float64"),
    })


def _check_numbers(values: pa.ChunkedArray, name: str) -> None:
    """A monthly value is a number or '*' (already null); anything else is named with its row."""
    text = values.to_pandas()
    bad = pd.to_numeric(text, errors="coerce").isna() & text.notna()
    if bad.any():
        raise InputError(f"value {text[bad].iloc[0]!r} is not a number", file=name,
                         column="MEASURE_VALUE_SUPPRESSED", fix="values must be numbers or '*' (suppressed)")


def _monthly_ids(wanted) -> list[str]:
    """Every measure ID the wanted rates need: numerator, denominator parts, published %."""
    ids = set()
    for measure in wanted:
        if measure.monthly:
            numerator, denominator, published = measure.monthly
            ids.update([numerator, *denominator, *([published] if published else [])])
    return sorted(ids)


def _monthly_measures(long: pd.DataFrame, wanted) -> pd.DataFrame:
    key = ["period", "group_type", "org_code"]
    if long.duplicated([*key, "measure_id"]).any():
        period = long.loc[long.duplicated([*key, "measure_id"]), "period"].iloc[0]
        raise InputError(f"month {period} is given more than once", fix="give each month's file once")
    names = long.drop_duplicates(key).set_index(key)["org_name"]
    wide = long.pivot(index=key, columns="measure_id", values="value").join(names)
    frames = [_rate_rows(wide, m.name, m.monthly) for m in wanted if m.monthly is not None]
    rows = pd.concat(frames).reset_index().rename(columns={"group_type": "org_type"})
    rows["period_type"] = "month"
    return _england_named(rows)


# --- shared -------------------------------------------------------------------------------------

def _rate_rows(wide: pd.DataFrame, name: str, recipe) -> pd.DataFrame:
    """numerator, denominator (= first − the rest) and published % for one measure, per row."""
    numerator, denominator, published = recipe

    def column(count):  # a count a year's file lacks is missing for every organisation
        return wide[count] if count in wide else pd.Series(np.nan, index=wide.index)

    base = column(denominator[0])
    for subtract in denominator[1:]:
        base = base - column(subtract)
    out = pd.DataFrame({
        "measure": name, "numerator": column(numerator), "denominator": base,
        "published": column(published) if published else np.nan}, index=wide.index)
    if "org_name" in wide:
        out["org_name"] = wide["org_name"]
    return out


def _england_named(frame: pd.DataFrame) -> pd.DataFrame:
    """The national row is 'England' in both layouts (the files say All / all)."""
    england = frame["org_type"] == ENGLAND
    frame.loc[england, "org_code"] = ENGLAND
    frame.loc[england, "org_name"] = ENGLAND
    return frame
