"""``iapt-audit synth``: write a synthetic multi-provider extract (with planted gaming) to a folder,
as one snapshot or as monthly submissions (``--layout``).

A thin shell over ``iapt_audit.synth.generate``: options are checked here so that a bad one is a
click usage error (exit 2) naming the option, and progress is shown only on a terminal.
"""

from __future__ import annotations

import sys

import click

from iapt_audit.synth import gaming
from iapt_audit.synth.generate import DEFAULT_PERIOD, MIN_REFERRALS_PER_PROVIDER, generate, parse_period
from iapt_audit.synth.layouts import LAYOUTS
from iapt_audit.synth.writer import FORMATS


def _period(ctx, param, value: str) -> tuple[str, str]:
    parts = tuple(value.split(":"))
    try:
        if len(parts) != 2:
            raise ValueError("give the period as START:END, e.g. 2024-04-01:2025-03-31")
        parse_period(parts)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return parts


def _progress(done: int, total: int) -> None:
    print(f"\r  synth: {done:,} / {total:,} referrals ({100 * done // total}%)", end="",
          file=sys.stderr, flush=True)


@click.command("synth")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write the extract to.")
@click.option("--providers", default=12, show_default=True, type=click.IntRange(min=1),
              help="Number of providers.")
@click.option("--referrals", default=24000, show_default=True, type=click.IntRange(min=1),
              help="Referrals in the whole extract.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(min=0), help="Random seed.")
@click.option("--format", "fmt", default="csv", show_default=True, type=click.Choice(FORMATS),
              help="File format of every table.")
@click.option("--plant", default="auto", show_default=True,
              help=f"Planted gaming: auto (one pattern per provider when there are at least "
                   f"{gaming.AUTO_MINIMUM_PROVIDERS}), none, or a list such as GM01,GM03.")
@click.option("--period", default=":".join(DEFAULT_PERIOD), show_default=True, callback=_period,
              help="Reporting period START:END (ISO dates) written in the header.")
@click.option("--layout", default="snapshot", show_default=True, type=click.Choice(LAYOUTS),
              help="snapshot: every record once; warehouse: every monthly submission in one file per table "
                   "(records carry UniqueSubmissionID); submissions: a folder or .zip per monthly submission.")
@click.option("--nhsd-names", is_flag=True,
              help="NHS Digital's names: files IDS101_Referral.csv, OrgID_Provider on record tables.")
@click.option("--history-defects/--no-history-defects", default=True, show_default=True,
              help="Monthly layouts: plant a missing month, a broken continuity, a Refresh that drops a "
                   "record and a changed received date (listed in truth.json).")
def synth(out, providers, referrals, seed, fmt, plant, period, layout, nhsd_names, history_defects):
    """Write a synthetic NHS Talking Therapies extract, calibrated to national figures."""
    try:
        gaming.parse_plant(plant, providers)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--plant") from None
    if referrals < MIN_REFERRALS_PER_PROVIDER * providers:
        raise click.BadParameter(f"at least {MIN_REFERRALS_PER_PROVIDER} per provider "
                                 f"({MIN_REFERRALS_PER_PROVIDER * providers} for {providers} providers)",
                                 param_hint="--referrals")
    show = sys.stderr.isatty()
    summary = generate(out, providers=providers, referrals=referrals, seed=seed, fmt=fmt, plant=plant,
                       period=period, progress=_progress if show else None, layout=layout,
                       nhsd_names=nhsd_names, history_defects=history_defects)
    if show:
        print(file=sys.stderr)
    rows = ", ".join(f"{name} {n:,}" for name, n in summary["rows"].items())
    click.echo(f"wrote {summary['out']} in {summary['seconds']} s: {rows}")
    if summary["planted"]:
        click.echo("planted: " + ", ".join(f"{org} {p}" for org, p in summary["planted"].items()))
    if "submissions" in summary:
        history = summary["submissions"]
        click.echo(f"{history['submissions']:,} monthly submissions, {history['months'][0]} to {history['months'][1]}, "
                   f"{history['refreshed_months']} months refreshed")
        if history["history_defects"]:
            click.echo("history defects: " + ", ".join(f"{name} {d['OrgIDProv']}"
                                                        for name, d in history["history_defects"].items()))
