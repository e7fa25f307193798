"""One provider's audit, as a grouped pandas function: the pandas engine's own stages, per provider.

Spark hands ``audit_provider`` every table of one provider (packed in envelopes). It runs what the
pandas engine runs, with the same functions: selection of the latest submissions
(``audit.SelectStage``), the submission-history, cross-table and item-table data
checks (``dq.run_data_quality`` with the suites left out), pathways (``pathway.derive_pathways``),
KPIs (``kpis.compute_kpis``), each gaming rule's measurement (``Rule.measure``), the monthly
SPC charts (``outliers.monthly_spc``: each provider's own) and the reconciliation with NHS
Digital's derived fields (``reconcile.reconcile``), the gaming-adjusted headlines
(``adjusted``), the clinician view (``clinician``) and, given published files, the figures set
beside them (``publication``). It returns
what the driver combines (``spark.combine``): everything summed or listed per provider, never a
decision that needs the other providers (funnels, peer tests, SPC).

It also returns the provider's latest records as Great Expectations will see them
(``dq.gx_frames.gx_frame``: derived columns added, patient identifiers already replaced by the
NHS number check), for the suites to run on Spark, and each suite check's denominator.

Why per provider: every key of the data set starts with OrgIDProv, so no record of one provider
is ever matched with another's; a provider's records fit one executor even nationally.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iapt_audit.adjusted import adjusted_headlines
from iapt_audit.audit import SelectStage
from iapt_audit.clinician import clinician_sessions, clinician_view
from iapt_audit.dq import DQSettings, run_data_quality
from iapt_audit.dq import gx_runner
from iapt_audit.dq.findings import Providers
from iapt_audit.dq.gx_frames import gx_frame
from iapt_audit.errors import InputError
from iapt_audit.identifiers import IdentifierMask
from iapt_audit.io import submissions as submission_table
from iapt_audit.io.extract import Extract
from iapt_audit.kpis import ALL_PROVIDERS, compute_kpis
from iapt_audit.model.tables import RECORD_ID
from iapt_audit.outliers import monthly_spc
from iapt_audit.pathway import PathwaySettings, derive_pathways
from iapt_audit.reconcile import reconcile
from iapt_audit.period import Period
from iapt_audit.publication import publication_figures
from iapt_audit.rules_engine.catalogue import select_rules
from iapt_audit.rules_engine.settings import limits_for, rule_sections
from iapt_audit.spark.envelope import ROW, envelope_frame, envelopes, opened

# the referral items the driver keeps: what the report's distributions read (report.distributions)
# and what findings.json's derivation section counts (Pathways.derivation_json)
DRIVER_COLUMNS = ("OrgIDProv", "UsePathway", "ServDischDate", "CompletedTreatment_Flag", "PHQ9_LastScore", "ADSM",
                  "ADSM_LastScore", "TherapySession_SecondDate", "Wait_ReferralToFirstTreatment",
                  "Wait_FirstToSecondTreatment")


@dataclass
class ProviderTask:
    """What every provider's function needs besides its records (pickled once into each task)."""

    source: str
    period: Period
    settings: DQSettings                 # the checks run per provider: the suites' codes are ignored here
    suites: dict[str, list[dict]]        # table -> the suite expectations selected (for GX frames, denominators)
    dtypes: dict[str, pd.Series]         # each table's pandas dtypes as the pandas reader gives them
    submissions: pd.DataFrame            # every submission read (io.submissions.SUBMISSION_COLUMNS)
    unparsed: pd.DataFrame               # values that did not parse, positions as read (pandas-read sources)
    tagged: bool                         # records already name their submission
    record_cap: int = 1000
    derive: bool = True                  # False for ``check``: data quality only
    scales: dict = field(default_factory=dict)
    pathway_settings: PathwaySettings = field(default_factory=PathwaySettings)
    rules_config: dict = field(default_factory=dict)
    rule_select: tuple = ()
    rule_ignore: tuple = ()
    published: pd.DataFrame | None = None  # publication.read_publication's rows (--benchmark files)


def provider_function(task: ProviderTask):
    """The function ``groupBy("OrgIDProv").applyInPandas`` runs on each provider's envelopes.

    A provider's bad input (``InputError``) is returned, not raised, so that the driver can show it
    as the pandas engine does (one line, exit code 2) rather than as a Spark task failure.
    """
    def run(key, packed):  # no type hints: PySpark would try to read a UDF kind from them
        org = key[0]
        try:
            outputs = audit_provider(task, org, opened(packed))
        except InputError as error:
            outputs = {"error": error}
        except Exception as error:  # re-raised on the driver with the worker's traceback
            outputs = {"failure": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"}
        rows = []
        for kind, value in outputs.items():
            rows.extend(envelopes(org, kind, value))
        return envelope_frame(rows)
    return run


def audit_provider(task: ProviderTask, org, tables: dict[str, pd.DataFrame]) -> dict:
    """Everything one provider contributes, by kind: ``result`` (a dict of per-provider results)
    and ``gx:<table>`` (the GX frame of each table the suites check)."""
    extract = _provider_extract(task, org, tables)
    selection, history = SelectStage.of_extract(extract, task.settings.wants)  # as read_and_select
    latest, latest_rows = _without_row(selection.latest)
    distinct, _ = _without_row(selection.distinct)
    pathways = derive_pathways(distinct, task.scales or None, task.pathway_settings) if task.derive else None
    data_quality = run_data_quality(latest, task.period, record_cap=task.record_cap, settings=task.settings,
                                    pathways=(lambda: pathways) if pathways is not None else None,
                                    history=history, linked=distinct)
    outputs, suite_totals = {}, {}
    for table, expectations in task.suites.items():
        if table not in latest.tables:
            continue
        frame = gx_frame(table, latest.tables[table], gx_runner.referenced_columns({"expectations": expectations}))
        providers = Providers.of(frame)
        for code in dict.fromkeys(e["meta"]["code"] for e in expectations):
            suite_totals[code] = gx_runner.suite_totals(frame, [e for e in expectations if e["meta"]["code"] == code],
                                                        providers)
        outputs[f"gx:{table}"] = gx_columns(table, frame, expectations).assign(**{ROW: latest_rows[table]})
    result = {"data_quality": data_quality, "suite_totals": suite_totals, "report": selection.report,
              "submitted": latest.providers, "identifiers": IdentifierMask.of(latest)}
    if pathways is not None:
        kpis = compute_kpis(pathways.referrals, pathways.contacts, task.period)
        result["kpis"] = kpis.drop(index=ALL_PROVIDERS)
        result["rules"] = _rule_measurements(task, pathways)
        result["referrals"] = pathways.referrals[[c for c in DRIVER_COLUMNS if c in pathways.referrals]]
        result["code_forms"], result["iet_logs"] = pathways.code_forms, pathways.iet_logs
        in_force = {e.code: (e.rule, limits_for(e.rule, rule_sections(task.rules_config).get(e.code)))
                    for e in select_rules(task.rule_select or None, task.rule_ignore or None)}
        result["monthly"] = monthly_spc(pathways, task.period, rules=in_force, scales=task.scales or None)
        result["reconciliation"] = reconcile(pathways)
        # issue 18: adjusted headlines, the clinician view and the figures set beside the publication
        result["adjusted"] = adjusted_headlines(pathways, task.period, in_force, task.scales or None)
        result["clinicians"] = clinician_view(pathways, task.period, clinician_sessions(distinct, pathways), in_force,
                                              task.scales or None)
        if task.published is not None:
            result["publication"] = publication_figures(pathways, task.period, task.published)
    outputs["result"] = result
    return outputs


def gx_columns(table: str, frame: pd.DataFrame, expectations: list[dict]) -> pd.DataFrame:
    """The columns of a GX frame the suites read, plus the provider and the record ID the failing
    records are named by."""
    named = gx_runner.referenced_columns({"expectations": expectations}) | {"OrgIDProv", RECORD_ID[table]}
    return frame[[c for c in frame.columns if c in named]]


def _provider_extract(task: ProviderTask, org, tables: dict[str, pd.DataFrame]) -> Extract:
    """The provider's tables as the pandas reader would have given them: every table of the
    extract present (empty where the provider has none), dtypes restored, in file order."""
    typed, files, first_row = {}, {}, {}
    for name, dtypes in task.dtypes.items():
        frame = tables.get(name)
        if frame is None:
            frame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()} | {ROW: pd.Series(dtype="int64")})
        frame = frame.sort_values(ROW, kind="stable").reset_index(drop=True)
        typed[name] = frame.astype({c: d for c, d in dtypes.items() if c in frame and frame[c].dtype != d})
        files[name], first_row[name] = Path(task.source) / name, 1
    subs = task.submissions
    own = subs[(subs["OrgIDProv"].astype("string") == org).fillna(False)] if org is not None else \
        subs[subs["OrgIDProv"].isna()]
    extract = Extract(source=Path(task.source), tables=typed, files=files, first_row=first_row,
                      unparsed=_local_unparsed(task.unparsed, typed), submissions=own.reset_index(drop=True))
    if not task.tagged:
        submission_table.tag_records(extract.tables, extract.submissions, files, first_row)
    return extract


def _local_unparsed(unparsed: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The extract's unparsed values that belong to this provider's records, their positions made
    positions in the provider's tables."""
    if not len(unparsed):
        return unparsed
    parts = []
    for name, rows in unparsed.groupby("table", observed=True, sort=False):
        read = tables[name][ROW].to_numpy() if name in tables else np.zeros(0, np.int64)
        position = rows["position"].to_numpy(dtype=np.int64)
        local = np.searchsorted(read, position)
        mine = (local < len(read)) & (read[np.minimum(local, max(len(read) - 1, 0))] == position) if len(read) \
            else np.zeros(len(rows), bool)
        parts.append(rows[mine].assign(position=local[mine]))
    return pd.concat(parts, ignore_index=True)


def _without_row(extract: Extract) -> tuple[Extract, dict[str, np.ndarray]]:
    """The extract without the ROW column (what the pandas stages see), and each table's ROW."""
    rows = {name: frame[ROW].to_numpy() for name, frame in extract.tables.items()}
    return dataclasses.replace(extract, tables={name: frame.drop(columns=ROW)
                                                for name, frame in extract.tables.items()}), rows


def _rule_measurements(task: ProviderTask, pathways) -> dict:
    """Each selected rule's measurement of this provider: numerator and denominator, the counted
    referrals (evidence) and the rule's own per-provider statistics. The decision, which compares
    providers, is the driver's."""
    sections = rule_sections(task.rules_config)
    measured = {}
    for entry in select_rules(task.rule_select or None, task.rule_ignore or None):
        limits = limits_for(entry.rule, sections.get(entry.code))
        measurement = entry.rule().measure(pathways, task.period, limits, task.scales)
        cases = measurement.cases
        counted = cases["counted"].to_numpy()
        rates = cases.groupby("OrgIDProv", observed=True)["counted"].agg(numerator="sum", denominator="size")
        measured[entry.code] = {"rates": rates, "detail": measurement.providers,
                                "evidence": cases.loc[counted].drop(columns="counted").reset_index(drop=True)}
    return measured
