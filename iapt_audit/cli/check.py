"""``iapt-audit check``: the pre-submission data-quality gate.

Runs the data-quality stage only and prints one line per check, most severe first. Exit code 0
when no error-level check fails, 1 when one does, 2 when the input cannot be read (``InputError``,
handled by the command group). With ``--out`` it also writes ``dq_findings.json`` (every check),
``dq_worklist.csv`` (failing records by the provider's own record ID: never an NHS number, birth
date or postcode) and ``dq_items.csv`` (NHS Digital's valid / other / default / invalid / missing
table).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import click

from iapt_audit.progress import StageTimer
from iapt_audit.report.atomic import atomic_path, atomic_write_text, output_folder
from iapt_audit.report.csv_cells import inert_cells

STATUS = {True: "pass", False: "FAIL"}


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select DQ0,DQ10 --select DQ112`` -> ("DQ0", "DQ10", "DQ112")."""
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


@click.command("check")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default=None, type=click.Path(path_type=Path),
              help="Folder for dq_findings.json, dq_worklist.csv and dq_items.csv (created if missing).")
@click.option("--period", default=None, metavar="START:END",
              help="Reporting period, e.g. 2024-04-01:2025-03-31 (default: the header's, else the data's span).")
@click.option("--select", multiple=True, metavar="CODES", help="Run only these codes or prefixes (DQ0, DQ101, ...).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option("--config", "config_path", default=None, type=click.Path(path_type=Path, dir_okay=False),
              help="Config file (default ./iapt-audit.toml): [data_quality] severities and tolerances.")
@click.option("--record-cap", default=1000, show_default=True, type=click.IntRange(1),
              help="Failing records listed per check (counts are always complete).")
@click.option("--engine", type=click.Choice(["pandas", "spark"]), default="pandas", show_default=True,
              help="pandas: this machine's memory; spark: Apache Spark (pip install 'iapt-audit[spark]').")
def check(input_path: Path, out_dir: Path | None, period: str | None, select, ignore, config_path, record_cap,
          engine):
    """Pre-submission gate: run the data-quality checks on an extract (exit 1 if an error-level check fails)."""
    from iapt_audit.config import load_config
    from iapt_audit.dq import DQSettings, run_data_quality
    from iapt_audit.audit import read_and_select
    from iapt_audit.errors import printable
    from iapt_audit.identifiers import IdentifierMask
    from iapt_audit.period import Period, resolve_period

    settings = DQSettings.from_config(load_config(config_path), select=_codes(select), ignore=_codes(ignore))
    if period:
        Period.parse(period)  # a wrong --period is refused before the work starts
    timer = StageTimer()
    with ExitStack() as outputs:
        # refused here, before the work, if it cannot be written
        folder = outputs.enter_context(output_folder(out_dir)) if out_dir is not None else None
        if engine == "spark":
            from iapt_audit.spark import run_data_quality_spark
            result, chosen, identifiers = run_data_quality_spark(input_path, period=period, timer=timer,
                                                                 settings=settings, record_cap=record_cap)
            click.echo(chosen.describe())
        else:
            selection, history = read_and_select(input_path, timer, settings)
            chosen = resolve_period(period, selection.latest)
            click.echo(chosen.describe())
            result = run_data_quality(selection.latest, chosen, record_cap=record_cap, progress=timer,
                                      settings=settings, history=history, linked=selection.distinct)
            identifiers = IdentifierMask.of(selection.latest)
            del selection, history

        click.echo(identifiers.text(summary_table(result)))
        if folder is not None:
            _write(result, chosen, folder, identifiers)
    if out_dir is not None:
        click.echo(f"Wrote {printable(str(Path(out_dir) / 'dq_findings.json'))}, dq_worklist.csv and dq_items.csv")
    failed = [f for f in result.checks if not f.passed]
    click.echo(f"{len(result.checks)} checks, {len(failed)} failed "
               f"({sum(f.check.severity == 'error' for f in failed)} at error level).")
    raise SystemExit(1 if result.has_errors else 0)


def summary_table(result) -> str:
    """Fixed-width text: severity, code, status, failing / total, percent, title."""
    lines = [f"{'severity':<8} {'code':<6} {'status':<6} {'failing / total':>21} {'%':>7}  title"]
    for finding in result.checks:  # already most severe first, then by code
        c = finding.check
        counts = f"{finding.numerator:,} / {finding.denominator:,}"
        lines.append(f"{c.severity:<8} {c.code:<6} {STATUS[finding.passed]:<6} {counts:>21} "
                     f"{finding.percent:>7.2f}  {c.title}")
    return "\n".join(lines)


def _write(result, period, out_dir: Path, identifiers) -> None:
    """dq_findings.json and the two CSVs, identifiers withheld and formula-leading cells made inert."""
    document = {"period": period.as_json(), "has_errors": result.has_errors,
                "data_quality": [f.as_json() for f in result.checks]}
    atomic_write_text(out_dir / "dq_findings.json",
                      json.dumps(identifiers.value(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    for name, frame in (("dq_worklist.csv", result.worklist), ("dq_items.csv", result.item_table)):
        with atomic_path(out_dir / name) as tmp:
            inert_cells(identifiers.frame(frame)).to_csv(tmp, index=False)
