"""The one configuration file format: ``iapt-audit.toml``.

Found as ``--config FILE``, else ``./iapt-audit.toml`` if present. Sections:

```toml
[audit]
select = ["GM", "DQ"]      # codes or prefixes to run (default: all stable)
ignore = ["GM08"]

[rules.GM03]               # any rule's thresholds, by the names its docs give
over_days = 90
min_share_percent = 30

[thresholds.PHQ9]          # questionnaire cut-offs (model/thresholds.py fields)
caseness = 10
caseness_op = ">="

[data_quality.checks.DQ109]  # a check's severity and tolerance (dq/settings.py)
severity = "info"
max_percent = 5
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from iapt_audit.errors import InputError

DEFAULT_NAME = "iapt-audit.toml"
SECTIONS = {"audit", "rules", "thresholds", "data_quality"}


def load_config(path: Path | None = None) -> dict:
    """Read the config file (explicit path, else ./iapt-audit.toml, else none: defaults)."""
    if path is None:
        path = Path(DEFAULT_NAME)
        if not path.is_file():
            return {}
    path = Path(path)
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("config file not found", file=path, fix="check the --config path") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML ({err})", file=path, fix="see the README's configuration section") from None
    unknown = set(config) - SECTIONS
    if unknown:
        raise InputError(f"unknown section [{sorted(unknown)[0]}]", file=path,
                         fix=f"use only {', '.join(sorted(SECTIONS))}")
    return config
