"""The ``iapt-audit`` command: a thin click shell over the Python API.

Each sub-command lives in its own module of this package and is registered below. Errors a
user can fix (``InputError``) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from iapt_audit import __version__
from iapt_audit.errors import InputError


class _Group(click.Group):
    """Click group that turns InputError into a one-line message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as err:
            click.echo(f"iapt-audit: error: {err.one_line()}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iapt-audit")
def main():
    """Audit NHS Talking Therapies (IAPT) data-set extracts: data quality, KPIs, gaming rules."""


def _register():
    from iapt_audit.cli import audit, synth  # noqa: F401  (each module adds its command)

    main.add_command(synth.synth)
    main.add_command(audit.audit)
    from iapt_audit.cli import outliers  # noqa: F401  (its @main.command adds `outliers`)
    from iapt_audit.cli import check  # noqa: F401  (its @main.command adds `check`)
    from iapt_audit.cli import rules  # noqa: F401  (its @main.command adds `rules`)
    # more commands are registered here, one line each


_register()
