"""The one place that finds the top-level folders the engine reads at run time.

``expectations/``, ``rules/`` and ``report_templates/`` sit at the repository's top level.
A wheel carries them as ``iapt_audit/_bundled/<name>`` (see pyproject.toml); a source checkout
or editable install finds them beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
KNOWN = ("expectations", "rules", "report_templates")


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (one of KNOWN), bundled or beside the package."""
    if name not in KNOWN:
        raise ValueError(f"unknown resource folder {name!r}")
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"iapt-audit is installed without its {name}/ folder; reinstall it")
