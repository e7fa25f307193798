"""iapt-audit: is a Talking Therapies provider's data fit to judge it by?

The Python API mirrors the command line so a notebook user can run the same stages:
``iapt_audit.audit(path, period=...)`` returns the same result the ``audit`` command writes.
"""

__version__ = "0.1.0"


def audit(path, **options):
    """Run the whole audit on an extract folder or workbook and return the AuditResult."""
    from iapt_audit.audit import run_audit

    return run_audit(path, **options)
