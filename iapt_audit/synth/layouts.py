"""Write an extract's tables in one of the layouts real IAPT data comes in.

- ``snapshot``: one file per table and an IDS000Header, every record once (the layout this
  generator has always written).
- ``warehouse``: one file per table holding every monthly submission, each record carrying its
  ``UniqueSubmissionID``; IDS000Header has one row per submission (provider, reporting month,
  File_Type Primary/Refresh, DateTimeDatSetCreate, UniqueSubmissionID).
- ``submissions``: a folder with one entry per submission, a sub-folder or a ``.zip`` (mixed, named
  ``submission-<UniqueSubmissionID>`` so that names do not sort in time order), each a snapshot
  extract with a one-row IDS000Header; its record tables carry no UniqueSubmissionID.

With ``nhsd_names``, files are named as NHS Digital names them (``IDS101_Referral.csv``) and record
tables carry ``OrgID_Provider`` instead of OrgIDProv (the header keeps OrgIDProv).

``write_extract`` writes any snapshot's tables in any layout (what the tests use);
``generate`` streams its chunks through the same sinks.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iapt_audit.synth.monthly import MonthlyRecords, date_days
from iapt_audit.synth.submission_plan import (HEADER_SCHEMA, SubmissionPlan, month_number, plan_submissions)
from iapt_audit.synth.writer import FORMATS, TableWriters, file_name, remove_table_files, table_bytes

LAYOUTS = ("snapshot", "warehouse", "submissions")
HEADER = "IDS000Header"
SUBMISSION_ID = "UniqueSubmissionID"
NHSD_PROVIDER = "OrgID_Provider"
ENTRY_PREFIX = "submission-"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)     # fixed member times: the same input gives the same bytes
DATED = {"IDS101Referral": ("ReferralRequestReceivedDate", "ServDischDate"), "IDS201CareContact": ("CareContDate",),
         "IDS004EmpStatus": ("EmployStatusRecDate",), "IDS603PresentingComplaints": ("PresCompDate",),
         "IDS606CodedScoreAssessmentRefer": ("AssToolCompDate",)}


def check_layout(layout: str, fmt: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def clear_output(out: Path, tables) -> None:
    """Remove what an earlier run of any layout left in ``out`` (table files, submission
    entries): left beside the new one, it would make the extract ambiguous."""
    remove_table_files(out, tables)
    if out.is_dir():
        for entry in out.glob(f"{ENTRY_PREFIX}*"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _nhsd(schema_or_table, nhsd_names: bool):
    """Rename OrgIDProv to NHS Digital's OrgID_Provider (record tables only)."""
    is_schema = isinstance(schema_or_table, pa.Schema)
    current = (schema_or_table if is_schema else schema_or_table.schema).names
    if not nhsd_names or "OrgIDProv" not in current:
        return schema_or_table
    names = [NHSD_PROVIDER if n == "OrgIDProv" else n for n in current]
    if is_schema:
        return pa.schema([f.with_name(n) for f, n in zip(schema_or_table, names)])
    return schema_or_table.rename_columns(names)


class SnapshotSink:
    """Every record once, tables streamed as chunks arrive."""

    def __init__(self, out: Path, fmt: str, schemas: dict[str, pa.Schema], nhsd_names: bool, header: pa.Table):
        self.out, self.header, self.nhsd_names = out, header, nhsd_names
        self.writers = TableWriters(out, fmt, {name: self._schema(name, schema) for name, schema in schemas.items()},
                                    nhsd_names)

    def _schema(self, name: str, schema: pa.Schema) -> pa.Schema:
        return schema if name == HEADER else _nhsd(schema, self.nhsd_names)

    def __enter__(self):
        clear_output(self.out, self.writers.schemas)
        self.writers.__enter__()
        if self.header is not None:
            self.writers.write(HEADER, self.header)
        return self

    def write(self, tables: dict[str, pa.Table], rng: np.random.Generator) -> None:
        for name, table in tables.items():
            self.writers.write(name, _nhsd(table, self.nhsd_names))

    def providers_done(self, count: int) -> None:
        """Nothing to do: a snapshot writes records as they come."""

    @property
    def rows(self) -> dict[str, int]:
        return dict(self.writers.rows)

    def __exit__(self, *exc):
        return self.writers.__exit__(*exc)


class WarehouseSink(SnapshotSink):
    """All submissions in one file per table, every record with its UniqueSubmissionID."""

    def __init__(self, out, fmt, schemas, nhsd_names, plan: SubmissionPlan):
        self.plan, self.records = plan, MonthlyRecords(plan)
        schemas = {name: schema.append(pa.field(SUBMISSION_ID, pa.string())) for name, schema in schemas.items()
                   if name != HEADER}
        super().__init__(out, fmt, {HEADER: HEADER_SCHEMA, **schemas}, nhsd_names, plan.header)

    def write(self, tables, rng) -> None:
        ids = self.plan.submission_ids
        for name, (table, subs) in self.records.lay_out(tables, rng).items():
            table = table.append_column(SUBMISSION_ID, ids.take(pa.array(subs)))
            self.writers.write(name, _nhsd(table, self.nhsd_names))


class SubmissionsSink:
    """One folder or .zip per submission, each a one-month snapshot; a provider's submissions are
    written once all its records have arrived (``providers_done``), so memory holds a few
    providers at a time."""

    def __init__(self, out: Path, fmt: str, schemas: dict[str, pa.Schema], nhsd_names: bool, plan: SubmissionPlan):
        self.out, self.fmt, self.nhsd_names, self.plan = out, fmt, nhsd_names, plan
        self.schemas = {name: _nhsd(schema, nhsd_names) for name, schema in schemas.items() if name != HEADER}
        self.records = MonthlyRecords(plan)
        self.buffer: dict[str, list[tuple[pa.Table, np.ndarray]]] = {name: [] for name in self.schemas}
        self.rows = {HEADER: 0, **{name: 0 for name in self.schemas}}
        uids = plan.submission_ids.to_pylist()
        self.entry = [f"{ENTRY_PREFIX}{uid}" + (".zip" if int(uid) % 2 else "") for uid in uids]
        self.provider_of = pc.index_in(plan.header["OrgIDProv"], value_set=pa.array(plan.providers)).to_numpy()
        self.written = 0    # providers whose submissions are on disk

    def __enter__(self):
        clear_output(self.out, [HEADER, *self.schemas])
        self.out.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, tables, rng) -> None:
        for name, (table, subs) in self.records.lay_out(tables, rng).items():
            self.buffer[name].append((_nhsd(table, self.nhsd_names), subs))

    def providers_done(self, count: int) -> None:
        """Write the submissions of providers 0 .. count - 1 (all their records have arrived)."""
        if count <= self.written:
            return
        ready = {}
        for name, pieces in self.buffer.items():
            table = pa.concat_tables([t for t, _ in pieces]) if pieces else self.schemas[name].empty_table()
            subs = np.concatenate([s for _, s in pieces]) if pieces else np.zeros(0, np.int64)
            now = self.provider_of[subs] < count
            ready[name] = _grouped(table.filter(pa.array(now)), subs[now])
            rest = ~now
            self.buffer[name] = [(table.filter(pa.array(rest)), subs[rest])] if rest.any() else []
        for sub in np.flatnonzero((self.provider_of >= self.written) & (self.provider_of < count)):
            self._write_submission(int(sub), {name: group(int(sub)) for name, group in ready.items()})
        self.written = count

    def _write_submission(self, sub: int, tables: dict[str, pa.Table]) -> None:
        files = {file_name(HEADER, self.fmt, self.nhsd_names): table_bytes(self.plan.header.slice(sub, 1), self.fmt)}
        self.rows[HEADER] += 1
        for name, table in tables.items():
            files[file_name(name, self.fmt, self.nhsd_names)] = table_bytes(table.cast(self.schemas[name]), self.fmt)
            self.rows[name] += table.num_rows
        entry = self.out / self.entry[sub]
        if entry.suffix == ".zip":
            with zipfile.ZipFile(entry, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, data in files.items():
                    archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, zipfile.ZIP_DEFLATED)
        else:
            entry.mkdir()
            for name, data in files.items():
                (entry / name).write_bytes(data)

    def __exit__(self, *exc):
        if exc[0] is None:
            self.providers_done(len(self.plan.providers))
        return False


def _grouped(table: pa.Table, subs: np.ndarray):
    """A function giving the rows of one submission (in their shuffled order)."""
    order = np.argsort(subs, kind="stable")
    table, subs = table.take(pa.array(order)), subs[order]

    def rows_of(sub: int) -> pa.Table:
        start, end = np.searchsorted(subs, [sub, sub + 1])
        return table.slice(int(start), int(end - start))
    return rows_of


def open_layout(out: Path, layout: str, fmt: str, schemas: dict[str, pa.Schema], *, nhsd_names: bool,
                plan: SubmissionPlan | None, header: pa.Table | None):
    """The sink that writes ``layout``: a context manager with ``write(tables, rng)``,
    ``providers_done(count)`` and ``rows``."""
    check_layout(layout, fmt)
    if layout == "snapshot":
        return SnapshotSink(out, fmt, schemas, nhsd_names, header)
    sink = WarehouseSink if layout == "warehouse" else SubmissionsSink
    return sink(out, fmt, schemas, nhsd_names, plan)


def write_extract(tables: Mapping[str, pa.Table | pd.DataFrame], out, layout: str = "snapshot", *,
                  fmt: str = "csv", nhsd_names: bool = False, history_defects: bool = True,
                  seed: int = 1) -> dict:
    """Write a snapshot's tables (canonical table and column names, OrgIDProv on every record
    table, IDS101Referral required; Arrow tables or DataFrames) to the folder ``out`` in
    ``layout``; the monthly layouts span the months of the earliest to the latest record date.

    Returns rows written per table and, for the monthly layouts, the submissions as truth.json
    describes them (span, count, refreshed months, the planted ``history_defects`` with their
    identifiers), which is also written to ``out/truth.json``. ValueError on a bad layout or
    format, or defects asked for under three months.
    """
    check_layout(layout, fmt)
    out = Path(out)
    arrow = {name: _plain_strings(t if isinstance(t, pa.Table) else pa.Table.from_pandas(t, preserve_index=False))
             for name, t in tables.items()}
    records = {name: t for name, t in arrow.items() if name != HEADER}
    plan = None
    if layout != "snapshot":
        first, last = _span(records)
        providers = sorted(set().union(*(pc.unique(t["OrgIDProv"]).to_pylist() for t in records.values())))
        plan = plan_submissions(providers, first, last, np.random.default_rng([seed, 2]), history_defects)
    schemas = {name: t.schema for name, t in arrow.items()}
    with open_layout(out, layout, fmt, schemas, nhsd_names=nhsd_names, plan=plan,
                     header=arrow.get(HEADER)) as sink:
        sink.write(records, np.random.default_rng([seed, 3]))
    summary = {"layout": layout, "rows": sink.rows}
    if plan is not None:
        summary["submissions"] = plan.describe()
        (out / "truth.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _plain_strings(table: pa.Table) -> pa.Table:
    """Text columns as Arrow ``string`` (pandas' own text is ``large_string``), one type for
    joining keys."""
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema])
    return table.cast(schema)


def _span(records: dict[str, pa.Table]) -> tuple[int, int]:
    """Months (since 1970-01) of the earliest and the latest record date."""
    found = [days[valid] for name, columns in DATED.items() if name in records
             for days, valid in (date_days(records[name], c) for c in columns)]
    days = np.concatenate(found) if found else np.zeros(0, np.int64)
    if not len(days):
        raise ValueError("the extract has no dated records to lay out in months")
    return int(month_number(days.min())), int(month_number(days.max()))
