"""The ``iapt-audit`` command: a thin click shell over the Python API.

Each sub-command lives in its own module of this package and is registered below. Errors a
user can fix (``InputError``, and the file system's ``OSError``: a full disk, a file that vanished)
become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from iapt_audit import __version__
from iapt_audit.errors import InputError, from_os_error


class _Group(click.Group):
    """Click group that turns InputError into a one-line message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as err:
            _fail(err)
        except OSError as err:  # the file system's refusals (a full disk, a vanished file): never a traceback
            _fail(from_os_error(err))


def _fail(err: InputError):
    click.echo(f"iapt-audit: error: {err.one_line()}", err=True)
    sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iapt-audit")
def main():
    """Audit NHS Talking Therapies (IAPT) data-set extracts: data quality, KPIs, gaming rules."""


def _register():
    """Each sub-command is a click command in its own module, added here."""
    from iapt_audit.cli import audit, check, outliers, rules, synth

    for command in (synth.synth, check.check, audit.audit, rules.rules, outliers.outliers):
        main.add_command(command)


_register()
