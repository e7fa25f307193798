"""``iapt-audit synth``: write a synthetic multi-provider extract (with planted gaming) to a folder.

A thin shell over ``iapt_audit.synth.generate``: options are checked here so that a bad one is a
click usage error (exit 2) naming the option, and progress is shown only on a terminal.
"""

from __future__ import annotations

import sys

import click

from iapt_audit.synth import gaming
from iapt_audit.synth.generate import DEFAULT_PERIOD, MIN_REFERRALS_PER_PROVIDER, generate, parse_period
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
def synth(out, providers, referrals, seed, fmt, plant, period):
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
                       period=period, progress=_progress if show else None)
    if show:
        print(file=sys.stderr)
    rows = ", ".join(f"{name} {n:,}" for name, n in summary["rows"].items())
    click.echo(f"wrote {summary['out']} in {summary['seconds']} s: {rows}")
    if summary["planted"]:
        click.echo("planted: " + ", ".join(f"{org} {p}" for org, p in summary["planted"].items()))
