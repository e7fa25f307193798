"""``iapt-audit audit``: the whole audit of one extract, written to an output folder."""

from __future__ import annotations

from pathlib import Path

import click

from iapt_audit.progress import StageTimer


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for findings.json and the reports (created if missing).")
@click.option("--period", default=None, metavar="START:END",
              help="Reporting period, e.g. 2024-04-01:2025-03-31 (default: the header's, else the data's span).")
def audit(input_path: Path, out_dir: Path, period: str | None):
    """Audit an extract: data quality, pathways, KPIs, gaming rules and provider outliers."""
    from iapt_audit.audit import run_audit
    from iapt_audit.report.findings import write_findings

    result = run_audit(input_path, period=period, timer=StageTimer())
    written = write_findings(result, out_dir)
    click.echo(f"Audited {len(result.providers)} providers, "
               f"{int(result.kpis.loc['ALL', 'Count_ReferralsReceived']):,} referrals received in "
               f"{result.period.as_json()['start']} to {result.period.as_json()['end']}.")
    click.echo(f"Wrote {written}")
