"""``iapt-audit audit``: the whole audit of one extract, written to an output folder."""

from __future__ import annotations

from pathlib import Path

import click

from iapt_audit.progress import StageTimer


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
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
@click.option("--benchmark", "benchmark", multiple=True, type=click.Path(path_type=Path),
              help="NHS Digital published annual or monthly files (or folders) to build England's reference "
                   "from; repeatable. Default: the reference shipped with the package.")
@click.option("--highlight", "highlight", multiple=True, metavar="ORG",
              help="Provider code to highlight on every funnel and SPC chart; repeatable.")
@click.option("--engine", type=click.Choice(["pandas", "spark"]), default="pandas", show_default=True,
              help="pandas: this machine's memory; spark: Apache Spark, one provider per task "
                   "(pip install 'iapt-audit[spark]'; Java 17). The same findings either way.")
def audit(input_path: Path, out_dir: Path, period: str | None, config_path: Path | None,
          select: tuple[str, ...], ignore: tuple[str, ...], audiences: tuple[str, ...], formats: tuple[str, ...],
          benchmark: tuple[Path, ...], highlight: tuple[str, ...], engine: str):
    """Audit an extract: data quality, pathways, KPIs, gaming rules and provider outliers."""
    from iapt_audit.audit import run_audit
    from iapt_audit.config import load_config
    from iapt_audit.errors import printable
    from iapt_audit.period import Period
    from iapt_audit.report.atomic import output_folder
    from iapt_audit.report.findings import write_findings
    from iapt_audit.report.writer import write_reports

    config = load_config(config_path)
    if period:
        Period.parse(period)  # a wrong --period is refused before the work starts
    timer = StageTimer()
    with output_folder(out_dir) as folder:  # refused here, before the work, if it cannot be written
        result = run_audit(input_path, period=period, timer=timer, config=config, select=select, ignore=ignore,
                           benchmark=list(benchmark) or None, engine=engine)
        click.echo(result.period.describe())
        with timer.stage("reports"):  # half a minute at national scale: shown like the other stages
            written = [write_findings(result, folder), *write_reports(
                result, folder, audiences=audiences, formats=formats,
                highlight=tuple(h.strip().upper() for h in highlight))]
    click.echo(result.identifiers.text(summary(result)))  # provider codes are data: withheld like any output
    for path in written:
        click.echo(f"Wrote {printable(str(Path(out_dir) / path.name))}")


def summary(result) -> str:
    """What a reader needs first: scope, data-quality failures, flagged providers, outliers."""
    from iapt_audit.kpis import ALL_PROVIDERS

    period = result.period.as_json()
    count = len(result.providers)
    lines = [f"Audited {count} provider{'' if count == 1 else 's'}, "
             f"{int(result.kpis.loc[ALL_PROVIDERS, 'Count_ReferralsReceived']):,} referrals received "
             f"{period['start']} to {period['end']}."]
    lines.append(submissions_line(result.submissions))
    failed = [f for f in result.data_quality.checks if not f.passed]
    by_severity = {s: sum(f.check.severity == s for f in failed) for s in ("error", "warning", "info")}
    lines.append(f"Data quality: {len(result.data_quality.checks)} checks, {len(failed)} failed "
                 f"({by_severity['error']} error, {by_severity['warning']} warning, {by_severity['info']} info).")
    flagged = [f"{r.code} {', '.join(r.flagged)}" for r in result.rules if r.flagged]
    lines.append("Gaming rules flagged: " + ("; ".join(flagged) if flagged else "none") + ".")
    # one verdict per indicator: a gaming indicator's funnel is the one its rule decided with
    outliers = []
    for entry in result.outliers:
        flags = [f"{org} {p['verdict']}" for org, p in entry["providers"].items() if p["flag"]]
        if flags:
            outliers.append(f"{entry['measure']}: {', '.join(flags)}")
    where = (f"England's funnel {result.benchmark['year']}" if any(e.get("national") for e in result.outliers)
             else "99.8% funnels")
    lines.append(f"Outliers ({where}): " + ("; ".join(outliers) if outliers else "none") + ".")
    return "\n".join(lines)


def submissions_line(submissions: dict) -> str:
    """One line on selection (``Selection.as_json``): submissions counted and records set aside."""
    records = submissions.get("records", [])
    read, kept = sum(r["read"] for r in records), sum(r["selected"] for r in records)
    counted = submissions.get("submissions_selected", 0)
    return (f"Submissions: {submissions.get('submissions_read', 0):,} read, {counted:,} counted; records: {read:,} read, "
            f"{kept:,} counted ({read - kept:,} superseded, replaced by a later month or repeated).")


def _choices(value: str, param, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated option as a tuple, each item one of ``allowed``."""
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    wrong = [v for v in chosen if v not in allowed]
    if wrong or not chosen:
        raise click.BadParameter(f"{', '.join(wrong) or 'nothing given'}: use one or more of {', '.join(allowed)}",
                                 param=param)
    return chosen
