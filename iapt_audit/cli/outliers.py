"""``iapt-audit outliers``: funnel plots and SPC on NHS Digital's published files.

A thin shell over ``iapt_audit.outliers.analyse_published``: it writes ``outliers.json`` (every
funnel with its chart curves, every provider's XmR chart, the hidden-waits list) and prints a
short summary — per funnel the target, φ, τ² and the number flagged with and without the
over-dispersion adjustment, so the reader sees what the adjustment changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from iapt_audit.outliers import analyse_published
from iapt_audit.report.atomic import atomic_write_text, output_folder
from iapt_audit.stats.funnel import METHODS

DETAIL_LIMIT = 12  # funnels listed one by one; beyond this the summary is per measure
LISTED = 10        # flagged providers or hidden waits printed before "and N more"


@click.command("outliers")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for outliers.json.")
@click.option("--measure", "measures", multiple=True,
              help="Measure name or M-code (recovery, M192, wait_6_weeks, first_to_second_over_90_days ...). "
                   "Repeatable; default all.")
@click.option("--period", "periods", multiple=True,
              help="Financial year (2019-20) or month (2024-03). Repeatable; default all in the files.")
@click.option("--org-type", default="Provider", show_default=True,
              help="Organisations to compare (annual files also have ICB, CCG, STP, Commissioning Region).")
@click.option("--method", type=click.Choice(METHODS), default="additive", show_default=True,
              help="Over-dispersion adjustment (additive = FunnelPlotR's default).")
@click.option("--run-length", type=click.IntRange(6, 7), default=7, show_default=True,
              help="Points in a run or trend for the SPC rules (7 as NHSRplotthedots, 6 as MDC's option).")
@click.option("--min-providers", type=click.IntRange(2), default=8, show_default=True,
              help="Fewest organisations with data for a funnel to be drawn.")
@click.option("--report", "report_formats", multiple=True, type=click.Choice(("xlsx", "html", "json")),
              help="Also write the regulator report (regulator.xlsx / .html / .json). Repeatable.")
@click.option("--highlight", multiple=True, metavar="ORG",
              help="Provider code to ring and label on every funnel and SPC chart of the report. Repeatable.")
@click.option("--rebase", multiple=True, metavar="YYYY-MM",
              help="Month from which every SPC chart's limits are recalculated (a known change). Repeatable.")
def outliers(paths, out_dir, measures, periods, org_type, method, run_length, min_providers, report_formats,
             highlight, rebase):
    """Compare providers in NHS Digital's published annual or monthly files (PATH: files, folders or zips)."""
    from iapt_audit.errors import printable
    from iapt_audit.identifiers import IdentifierMask
    from iapt_audit.report.writer import write_published_reports

    with output_folder(out_dir) as folder:  # refused here, before the work, if it cannot be written
        result = analyse_published(list(paths), measures=list(measures) or None, period=list(periods) or None,
                                   org_type=org_type, method=method, min_providers=min_providers,
                                   run_length=run_length, rebase=list(rebase) or None)
        click.echo(periods_line(result))
        document = IdentifierMask().value(result)  # published files hold no patients: shapes only
        atomic_write_text(folder / "outliers.json",
                          json.dumps(document, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
        written = [folder / "outliers.json"]
        if report_formats:
            written += write_published_reports(result, folder, formats=tuple(dict.fromkeys(report_formats)),
                                               highlight=tuple(h.strip().upper() for h in highlight))
    for line in summary_lines(result):
        click.echo(line)
    for path in written:
        click.echo(f"Wrote {printable(str(Path(out_dir) / path.name))}")


def periods_line(result: dict) -> str:
    """The periods compared, printed first as every command prints the period it used."""
    periods = result["periods"]
    if not periods:
        return "Periods: none in the files."
    shown = periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]} ({len(periods)} periods)"
    return f"Periods: {shown}."


def summary_lines(result: dict) -> list[str]:
    """The printed summary of an ``analyse_published`` result."""
    funnels = result["funnels"]
    lines = [f"{result['org_type']} comparison, method {result['method']}, flags at 99.8 % limits"]
    if not funnels:
        lines.append("  no funnel drawn: too few organisations with data in every period")
    elif len(funnels) <= DETAIL_LIMIT:
        for funnel in funnels:
            lines.extend(_funnel_lines(funnel))
    else:
        lines.extend(_measure_lines(funnels))
        lines.append("  (per-period funnels and flagged providers are in outliers.json)")
    if {"wait_6_weeks", "first_to_second_over_90_days"} <= set(result["measures"]):
        lines.extend(_hidden_wait_lines(result["hidden_waits"]))
    lines.extend(_spc_lines(result["spc"]))
    lines.extend(f"Note: {note}" for note in result["notes"][:1])
    return lines


def _funnel_lines(funnel: dict) -> list[str]:
    counts = funnel["flag_counts"]
    england = funnel.get("england") or {}
    national = f", England {_pct(england['value'])}" if england else ""
    lines = [
        f"{funnel['measure']} {funnel['period']}: {funnel['n_providers']} organisations, "
        f"target {_pct(funnel['target'])}{national}",
        f"  phi {funnel['phi']:.3f}  tau2 {funnel['tau2']:.6f}  "
        f"({'adjusted' if funnel['adjusted'] else 'no over-dispersion adjustment'})",
        f"  flagged: {counts['high'] + counts['low']} {'adjusted' if funnel['adjusted'] else 'as drawn'} "
        f"({counts['high']} high, {counts['low']} low) vs {counts['unadjusted']} unadjusted",
    ]
    if funnel["fallback"]:
        lines.append(f"  fallback: {funnel['fallback']['reason']}")
    flagged = sorted(((code, p) for code, p in funnel["providers"].items() if p["flag"]),
                     key=lambda item: (item[1]["flag"], -abs(item[1]["z"] or 0)))
    for code, provider in flagged[:LISTED]:
        lines.append(f"    {provider.get('verdict', provider['flag']):<20}  {code:<6} {provider.get('name') or '':<45.45} "
                     f"{_pct(provider['value'])} of {provider['denominator']} "
                     f"(limits {_pct(provider['lower'])}–{_pct(provider['upper'])})")
    if len(flagged) > LISTED:
        lines.append(f"    … and {len(flagged) - LISTED} more")
    return lines


def _measure_lines(funnels: list[dict]) -> list[str]:
    lines = []
    for measure in dict.fromkeys(f["measure"] for f in funnels):
        mine = [f for f in funnels if f["measure"] == measure]
        adjusted = sum(f["flag_counts"]["high"] + f["flag_counts"]["low"] for f in mine)
        unadjusted = sum(f["flag_counts"]["unadjusted"] for f in mine)
        phis = sorted(f["phi"] for f in mine)
        lines.append(f"{measure}: {len(mine)} periods {mine[0]['period']}–{mine[-1]['period']}, "
                     f"phi {phis[0]:.2f}–{phis[-1]:.2f}, flagged {adjusted} adjusted vs "
                     f"{unadjusted} unadjusted (provider-periods)")
    return lines


def _hidden_wait_lines(found: list[dict]) -> list[str]:
    lines = [f"Hidden waits (high outlier on 1st→2nd treatment > 90 days, fine on 6-week access): "
             f"{len(found)} provider-periods"]
    for item in found[:LISTED]:
        second, access = item["first_to_second_over_90_days"], item["wait_6_weeks"]
        lines.append(f"    {item['period']}  {item['provider']:<6} {item.get('name') or '':<40.40} "
                     f">90 days {_pct(second['value'])} (upper {_pct(second['upper'])}), "
                     f"6 weeks {_pct(access['value'])}")
    if len(found) > LISTED:
        lines.append(f"    … and {len(found) - LISTED} more")
    return lines


def _spc_lines(spc: dict) -> list[str]:
    lines = []
    for measure, charts in spc.items():
        latest = [c["points"]["point_type"][-1] for c in charts.values()]
        concern = sum(t == "concern" for t in latest)
        improvement = sum(t == "improvement" for t in latest)
        lines.append(f"SPC {measure}: {len(charts)} providers; at their last month {concern} worse than "
                     f"expected, {improvement} better than expected")
    return lines


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"
