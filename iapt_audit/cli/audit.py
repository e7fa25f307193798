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
@click.option("--config", "config_path", default=None, type=click.Path(path_type=Path, dir_okay=False),
              help="Settings file (default: ./iapt-audit.toml if present): rule thresholds, select/ignore.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Run only these rule (GM) or check (DQ) codes or prefixes (repeat or comma-separate; "
                   "replaces [audit] select).")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Skip these rule or check codes or prefixes (replaces [audit] ignore).")
@click.option("--audience", "audiences", default="self-check,commissioner,regulator", show_default=True,
              callback=lambda ctx, param, value: _choices(value, param, ("self-check", "commissioner", "regulator")),
              help="Reports to write, comma-separated: self-check, commissioner, regulator.")
@click.option("--format", "formats", default="xlsx,html,json", show_default=True,
              callback=lambda ctx, param, value: _choices(value, param, ("xlsx", "html", "json")),
              help="Report formats, comma-separated: xlsx, html, json (findings.json is always written).")
def audit(input_path: Path, out_dir: Path, period: str | None, config_path: Path | None,
          select: tuple[str, ...], ignore: tuple[str, ...], audiences: tuple[str, ...], formats: tuple[str, ...]):
    """Audit an extract: data quality, pathways, KPIs, gaming rules and provider outliers."""
    from iapt_audit.audit import run_audit
    from iapt_audit.config import load_config
    from iapt_audit.report.findings import write_findings
    from iapt_audit.report.writer import write_reports

    timer = StageTimer()
    result = run_audit(input_path, period=period, timer=timer, config=load_config(config_path),
                       select=select, ignore=ignore)
    with timer.stage("reports"):  # half a minute at national scale: shown like the other stages
        written = write_findings(result, out_dir)
        reports = write_reports(result, out_dir, audiences=audiences, formats=formats)
    click.echo(summary(result))
    click.echo(f"Wrote {written}")
    for path in reports:
        click.echo(f"Wrote {path}")


def summary(result) -> str:
    """What a reader needs first: scope, data-quality failures, flagged providers, outliers."""
    period = result.period.as_json()
    lines = [f"Audited {len(result.providers)} providers, "
             f"{int(result.kpis.loc['ALL', 'Count_ReferralsReceived']):,} referrals received "
             f"{period['start']} to {period['end']}."]
    failed = [f for f in result.data_quality.checks if not f.passed]
    by_severity = {s: sum(f.check.severity == s for f in failed) for s in ("error", "warning", "info")}
    lines.append(f"Data quality: {len(result.data_quality.checks)} checks, {len(failed)} failed "
                 f"({by_severity['error']} error, {by_severity['warning']} warning, {by_severity['info']} info).")
    flagged = [f"{r.code} {', '.join(r.flagged)}" for r in result.rules if r.flagged]
    lines.append("Gaming rules flagged: " + ("; ".join(flagged) if flagged else "none") + ".")
    outliers = []
    for entry in result.outliers:
        flags = [f"{org} {p['flag']}" for org, p in entry["providers"].items() if p["flag"]]
        if flags:
            outliers.append(f"{entry['measure']} {', '.join(flags)}")
    lines.append("Funnel outliers (99.8%): " + ("; ".join(outliers) if outliers else "none") + ".")
    return "\n".join(lines)


def _choices(value: str, param, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated option as a tuple, each item one of ``allowed``."""
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    wrong = [v for v in chosen if v not in allowed]
    if wrong or not chosen:
        raise click.BadParameter(f"{', '.join(wrong) or 'nothing given'}: use one or more of {', '.join(allowed)}",
                                 param=param)
    return chosen
