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

Values are read by the one reader policy the extract reader applies (``io.values``: encodings,
blanks, NULL/NA, day-first dates as Excel re-saves them, whole-number floats), and every zip and
gzip is bounded per member and in total (``io.archives``). What was tolerated, and organisation
codes whose rows were combined (``_annual_measures``), are listed in the result's
``attrs["notices"]``, which ``outliers`` adds to its notes.

The result of ``read_published`` is the *ProviderMeasures* frame of the architecture: one row
per organisation × period × measure with ``numerator``, ``denominator`` and the ``published``
percentage where NHS Digital publishes one.
"""

from __future__ import annotations

import csv
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
from iapt_audit.io import archives, csvfile
from iapt_audit.io import values as values_policy

ANNUAL_TEXT = ("OrgType", "OrgCode", "OrgName", "VariableType", "VariableA", "VariableB")
MONTHLY_COLUMNS = ("REPORTING_PERIOD_START", "GROUP_TYPE", "ORG_CODE2", "ORG_NAME2", "MEASURE_ID",
                   "MEASURE_VALUE_SUPPRESSED")
SUPPRESSED = "*"  # suppressed; NULL (not applicable) and blanks are missing by the reader policy: never zero
MONTHLY_TYPED = ("REPORTING_PERIOD_START", "MEASURE_VALUE_SUPPRESSED")
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
    PublishedMeasure(
        "ended_treated_once", "Percentage_AccessAttrition",
        "Treated referrals that ended after one treatment (access attrition)", "decrease",
        None, ("M075", ("M056", "M153"), "M288"), ("M075", "M288")),
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

    ``measures``: names to compute (default all that the files support); one that no file carries
    is an ``InputError`` listing what they do carry. Columns are ``MEASURE_COLUMNS`` and ``file``
    (the file each row came from); ``attrs["notices"]`` lists what the reader tolerated.
    """
    wanted = list({m.name: m for m in map(measure_named, measures)}.values()) if measures \
        else list(MEASURES.values())
    annual, monthly, notices = {}, [], []
    for source, name, layout in _sources(paths):
        if layout == "annual":
            year = _financial_year(name, source)
            if year in annual:
                raise InputError(f"the {year} annual file is given more than once", file=name,
                                 fix="give each year's file once")
            annual[year] = _annual_measures(_read_annual_table(source, name, notices), year, wanted, notices)
            annual[year]["file"] = Path(name).name
        else:
            monthly.append((source, name))
    frames = list(annual.values())
    if monthly:
        frames.append(_monthly_measures(_read_monthly_tables(monthly, _monthly_ids(wanted), notices), wanted))
    if not frames:
        raise InputError("no published Talking Therapies file among the paths given",
                         fix="give annual main CSVs or monthly activity-performance files (.csv, .csv.gz, .zip)")
    data = pd.concat(frames, ignore_index=True)
    if measures:
        _refuse_measures_not_carried(data, wanted, paths)
    data = data[MEASURE_COLUMNS + ["file"]]
    data.attrs["notices"] = notices  # what the reader policy tolerated, and rows it combined
    return data


def _refuse_measures_not_carried(data: pd.DataFrame, wanted, paths) -> None:
    """A measure asked for that no file given carries (no numerator anywhere) is an error that
    says which measures the files do carry, and which files carry each."""
    missing = [m.name for m in wanted if not data.loc[data["measure"] == m.name, "numerator"].notna().any()]
    if missing:
        everything = read_published(paths)
        present = everything[everything["numerator"].notna()]
        carried = present.groupby("measure")["file"].agg(lambda files: sorted(set(files)))
        listing = "; ".join(f"{name} ({', '.join(files[:3])}{' …' if len(files) > 3 else ''})"
                            for name, files in carried.items()) or "none of the measures this tool computes"
        raise InputError(f"no file given carries the measure {missing[0]}", column="--measure",
                         fix=f"the files carry: {listing}")


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
            archives.check_zip(path, "zip file", members=())  # can it be opened at all
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith((".csv", ".csv.gz"))]
            archives.check_zip(path, "zip file", members=members)  # each and all of them bounded
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
    """The header's field names, decoded as the file's encoding (``csvfile.text_encoding``)."""
    data = _open_bytes(source, head=True)
    first = csvfile.LINE_BREAK.split(data.decode(csvfile.text_encoding(data), errors="replace"), maxsplit=1)[0]
    return [c.strip() for c in next(csv.reader([first.lstrip("\ufeff")]), [])]


def _layout(header: list[str]) -> str | None:
    if all(c in header for c in MONTHLY_COLUMNS):
        return "monthly"
    finished = {"CountFinishedCourseTreatment", "Count_FinishedCourseTreatment"}
    if all(c in header for c in ANNUAL_TEXT) and finished & set(header):
        return "annual"
    return None


def _where(source) -> str:
    return str(source) if not isinstance(source, tuple) else f"{source[0]}:{source[1]}"


def _open_bytes(source, head: bool = False) -> bytes:
    """The (decompressed) bytes of a file or zip member; only the first block when ``head``.

    Every decompression is bounded (``io.archives``): a zip member by its checked size, a gzip
    stream as it is inflated, so a bomb is refused before it fills memory.
    """
    size = 65536 if head else -1
    where = _where(source)
    try:
        if isinstance(source, tuple):
            archive_path, member = source
            data = archives.read_member(Path(archive_path), member, -1 if member.lower().endswith(".gz") else size)
        else:
            data = Path(source).read_bytes() if str(source).lower().endswith(".gz") else _read_head(source, size)
    except OSError as err:
        raise InputError(f"cannot open the file ({type(err).__name__})", file=where,
                         fix="download it again; .zip, .gz and plain .csv are read") from None
    if where.lower().endswith(".gz"):
        data = archives.gunzip_bounded(data, where, size=size)
    return data


def _read_head(path, size: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _read_text_table(source, include: list[str] | None = None, keep: tuple[str, list[str]] | None = None
                     ) -> tuple[pd.DataFrame, str]:
    """Every column as text (``string[pyarrow]``), the file's encoding detected; and the encoding.

    ``keep`` = (column, values): only the rows whose column (blanks stripped) is one of the
    values, filtered in Arrow before pandas sees the file (a national monthly file holds hundreds
    of measures; an analysis reads a dozen)."""
    data = _open_bytes(source)
    encoding = csvfile.text_encoding(data)
    text = data[:1 << 16].decode(encoding, errors="replace")
    raw_names = next(csv.reader([csvfile.LINE_BREAK.split(text.lstrip("\ufeff"), maxsplit=1)[0]]), [])
    options = pacsv.ReadOptions() if encoding in ("utf-8", "utf-8-sig") else pacsv.ReadOptions(encoding=encoding)
    wanted = None if include is None else [n for n in raw_names if n.strip() in include]
    try:
        table = pacsv.read_csv(pa.BufferReader(data), read_options=options,
                               parse_options=pacsv.ParseOptions(newlines_in_values=True),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={n: pa.string() for n in raw_names}, include_columns=wanted,
                                   strings_can_be_null=True, null_values=[""]))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as err:
        raise InputError(f"cannot read the file ({str(err).splitlines()[0][:120]})", file=_where(source),
                         fix="re-download it; published files are comma-separated text") from None
    table = table.rename_columns([str(c).lstrip("\ufeff").strip() for c in table.column_names])
    if keep is not None:
        column, wanted_values = keep
        table = table.filter(pc.is_in(pc.utf8_trim_whitespace(table[column]), value_set=pa.array(wanted_values)))
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame, encoding


def _typed_numbers(frame: pd.DataFrame, columns, where: str, notices: list[str]) -> pd.DataFrame:
    """Count and value columns as float64 by the reader policy; ``*`` (suppressed) is missing, and
    anything else that is not a number is an error naming its row."""
    for column in columns:
        text = frame[column].str.strip()
        typed = values_policy.as_numbers(text.mask(text == SUPPRESSED))
        if typed.failed.any():
            row = int(np.flatnonzero(typed.failed.to_numpy())[0])
            raise InputError(f"value {frame[column].iloc[row]!r} is not a number", file=where, column=column,
                             row=row + 2, fix="values must be numbers, '*' (suppressed) or 'NULL'")
        frame[column] = typed.values
        _note(notices, where, column, typed.tolerated)
    return frame


def _typed_text(frame: pd.DataFrame, columns, where: str, notices: list[str]) -> pd.DataFrame:
    for column in columns:
        typed = values_policy.as_text(frame[column], column)
        frame[column] = typed.values
        _note(notices, where, column, typed.tolerated)
    return frame


def _note(notices: list[str], where: str, column: str, tolerated: dict[str, int]) -> None:
    """A notice per thing the policy tolerated; NULL (NHS Digital's "not applicable") is no news."""
    notices.extend(f"{Path(where).name}, {column}: {message} ({count:,} values)"
                   for message, count in tolerated.items() if message != values_policy.NOTICE_MISSING)


# --- annual main CSV ----------------------------------------------------------------------------

_NUMBER_COLUMN = re.compile(r"^(Count|Percentage|Mean|Median)")


def _canonical(name: str) -> str:
    """2017-18..2019-20 wrote CountRecovery; later years Count_Recovery. Use the later form."""
    return re.sub(r"^(Count|Percentage|Mean|Median)(?!_)(?=[A-Z])", r"\1_", name)


def _read_annual_table(source, name, notices: list[str] | None = None) -> pd.DataFrame:
    """The annual file as published: counts and percentages as floats (``*`` and ``NULL`` missing),
    text stripped, by the one reader policy; what it tolerated appended to ``notices``."""
    notices = [] if notices is None else notices
    frame, encoding = _read_text_table(source)
    frame.columns = [_canonical(c) for c in frame.columns]
    where = _where(source)
    if not encoding.startswith("utf-8"):
        notices.append(f"{Path(where).name}: read as {encoding}, not UTF-8")
    frame = _typed_numbers(frame, [c for c in frame.columns if _NUMBER_COLUMN.match(c)], where, notices)
    return _typed_text(frame, [c for c in frame.columns if not _NUMBER_COLUMN.match(c)], where, notices)


def _financial_year(name: str, source) -> str:
    match = re.search(r"(20\d\d)[-_](\d\d)(?!\d)", Path(name).name)
    if match is None and isinstance(source, tuple):
        match = re.search(r"(20\d\d)[-_](\d\d)(?!\d)", Path(source[0]).name)
    if match is None:
        raise InputError("cannot tell the financial year from the file name", file=name,
                         fix="keep NHS Digital's file name, which contains the year (…-2019-20-main…)")
    return f"{match.group(1)}-{match.group(2)}"


def _annual_measures(table: pd.DataFrame, period: str, wanted, notices: list[str] | None = None) -> pd.DataFrame:
    """Total rows plus the waiting-time bands -> one row per organisation and measure.

    One organisation code on several rows is never first-row-wins: rows that repeat the same
    counts under another name are one organisation listed twice (2023-24 lists provider TAF90
    so); rows with different counts (a merger part-way through the year: TAJ as Dudley and
    Walsall, and as Black Country) are summed into one row named after both, its published
    percentage left out (it cannot be summed; the rate is recomputed from the summed counts),
    and a notice names the rows.
    """
    notices = [] if notices is None else notices
    code = ["OrgType", "OrgCode"]
    totals = _one_row_per_code(table[table["VariableType"] == "Total"], period, notices)
    waits = table[table["VariableType"] == "Waiting Time"]
    band = pd.Series(list(zip(waits["VariableA"].str.lower(), waits["VariableB"])), index=waits.index)
    waits = waits.assign(count_name=band.map(_ANNUAL_WAIT_BANDS)).dropna(subset=["count_name"])
    if len(waits):
        waits = waits.drop_duplicates([c for c in waits.columns if c != "OrgName"])
        wide = waits.pivot_table(index=code, columns="count_name", values="Count_FinishedCourseTreatment",
                                 aggfunc=lambda counts: counts.sum(min_count=1), dropna=False)
        totals = totals.join(wide, on=code, how="left")
    totals = totals.set_index([*code, "OrgName"])
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


def _one_row_per_code(rows: pd.DataFrame, period: str, notices: list[str]) -> pd.DataFrame:
    """One row per organisation type and code (see ``_annual_measures``): repeats dropped,
    different counts summed with a notice."""
    code = ["OrgType", "OrgCode"]
    rows = rows.drop_duplicates([c for c in rows.columns if c != "OrgName"])
    repeated = rows.duplicated(code, keep=False).to_numpy()
    if not repeated.any():
        return rows.reset_index(drop=True)
    counts = [c for c in rows.columns if c.startswith("Count_")]
    merged = rows[repeated].groupby(code, sort=False, observed=True)
    summed = merged[counts].sum(min_count=1)
    summed["OrgName"] = merged["OrgName"].agg(lambda names: " + ".join(dict.fromkeys(names.astype(str))))
    for (org_type, org_code), group in merged:
        notices.append(f"{period}: {org_type} {org_code} is on {len(group)} rows with different counts "
                       f"({'; '.join(group['OrgName'].astype(str))}): their counts are summed and its published "
                       "percentage is left out")
    other = [c for c in rows.columns if c not in counts and c not in code and c != "OrgName"]
    summed = summed.reset_index().assign(**{c: rows[c].iloc[:0].reindex(range(len(summed))).to_numpy()
                                           for c in other})
    return pd.concat([rows[~repeated], summed[rows.columns]], ignore_index=True)


# --- monthly long files -------------------------------------------------------------------------

def _read_monthly_tables(sources, measure_ids, notices: list[str] | None = None) -> pd.DataFrame:
    """Every file as text, typed by the one reader policy, filtered to the wanted measures."""
    notices = [] if notices is None else notices
    frames = []
    for source, name in sources:
        keep = None if measure_ids is None else ("MEASURE_ID", list(measure_ids))
        frame, encoding = _read_text_table(source, list(MONTHLY_COLUMNS), keep)
        where = _where(source)
        if not encoding.startswith("utf-8"):
            notices.append(f"{Path(where).name}: read as {encoding}, not UTF-8")
        frame = _typed_text(frame, [c for c in MONTHLY_COLUMNS if c not in MONTHLY_TYPED], where, notices)
        frame = _typed_numbers(frame, ["MEASURE_VALUE_SUPPRESSED"], where, notices)
        frames.append(frame.assign(period=_reporting_month(frame["REPORTING_PERIOD_START"], where, notices),
                                   file=Path(name).name))
    frame = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({
        "period": frame["period"],
        "group_type": frame["GROUP_TYPE"],
        "org_code": frame["ORG_CODE2"],
        "org_name": frame["ORG_NAME2"],
        "measure_id": frame["MEASURE_ID"],
        "value": frame["MEASURE_VALUE_SUPPRESSED"].astype("float64"),
        "file": frame["file"],
    })


def _reporting_month(starts: pd.Series, where: str = "", notices: list[str] | None = None) -> pd.Series:
    """YYYY-MM from REPORTING_PERIOD_START, read by the reader policy: as NHS Digital writes it
    (2023-04-01) or as Excel re-saves it in a UK locale (01/04/2023, day-first); a value that is
    not a date is an InputError naming its row."""
    codes, distinct = pd.factorize(starts, use_na_sentinel=False)  # a file holds one or two distinct starts
    typed = values_policy.as_dates(pd.Series(distinct, dtype="string[pyarrow]"))
    months = typed.values.dt.strftime("%Y-%m").to_numpy(dtype=object)
    missing = typed.values.isna().to_numpy()[codes]
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"reporting period start {starts.iloc[row]!r} is not a date", file=where or None,
                         column="REPORTING_PERIOD_START", row=row + 2, fix="dates must be YYYY-MM-DD or DD/MM/YYYY")
    _note([] if notices is None else notices, where, "REPORTING_PERIOD_START", typed.tolerated)
    return pd.Series(months[codes], index=starts.index, dtype="string[pyarrow]")


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
    rows["file"] = rows["period"].map(long.drop_duplicates("period").set_index("period")["file"])
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
