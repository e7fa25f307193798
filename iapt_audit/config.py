"""The one configuration file format: ``iapt-audit.toml``.

Found as ``--config FILE``, else ``./iapt-audit.toml`` if present (then announced on stderr, so
a file nobody passed cannot change a result unseen). Sections:

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

[pathway]                  # derivation choices the sources leave open (pathway.PathwaySettings)
iet_sets_session_dates = true
```

The whole file is checked when it is read, whatever the command: an unknown section, key, rule,
questionnaire or check code is an error naming the file, the section and the key (a misspelt
key silently ignored would leave a default in force), and every number must be finite and in
range for its unit (a percentage 0-100, days and counts not negative, a p-value 0-1, a
questionnaire cut-off within the questionnaire's scores).
"""

from __future__ import annotations

import math
import numbers
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

from iapt_audit.errors import InputError, printable

DEFAULT_NAME = "iapt-audit.toml"
SECTIONS = {"audit", "rules", "thresholds", "data_quality", "pathway"}
LIST_KEYS = {"select", "ignore"}
UNIT_RANGES = {"percent": (0, 100), "days": (0, math.inf), "count": (0, math.inf), "participants": (0, math.inf),
               "ratio": (0, math.inf), "p-value": (0, 1)}
OPERATORS = (">=", ">")


def load_config(path: Path | None = None) -> dict:
    """Read and check the config file (explicit path, else ./iapt-audit.toml, else none: defaults)."""
    if path is None:
        path = Path(DEFAULT_NAME)
        if not path.is_file():
            return {}
        print(f"iapt-audit: using settings from {printable(str(path.absolute()))} (found in the working folder)",
              file=sys.stderr)
    path = Path(path)
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("config file not found", file=path, fix="check the --config path") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML ({err})", file=path, fix="see the README's configuration section") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the config file ({type(err).__name__})", file=path,
                         fix="give a UTF-8 text file") from None
    check_config(config, path)
    return config


def check_config(config: dict, path=None) -> None:
    """Refuse anything in ``config`` the tool would not use, or a number out of range."""
    _known(config, SECTIONS, path, "the file", "section [")
    _lists(config.get("audit"), path, "audit")
    _known(config.get("audit", {}), LIST_KEYS, path, "[audit]")
    _rules(config.get("rules", {}), path)
    _thresholds(config.get("thresholds", {}), path)
    _data_quality(config.get("data_quality", {}), path)
    _pathway(config.get("pathway", {}), path)


def _known(section, allowed, path, where: str, table: str | None = None) -> None:
    """Refuse keys of ``section`` not in ``allowed``; ``table`` names what a key opens
    ("questionnaire [thresholds." for ``[thresholds.PHQ10]``) when keys are tables themselves."""
    if not isinstance(section, dict):
        raise InputError(f"{where} must be a table of settings", file=path, fix="write it as [section] then key = value")
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        named = f"unknown {table}{unknown[0]}]" if table else f"unknown key {unknown[0]!r} in {where}"
        raise InputError(named, file=path, fix=f"use {', '.join(sorted(allowed)) or 'none'}")


def _lists(section, path, name: str) -> None:
    for key in LIST_KEYS & set(section or {}):
        value = section[key]
        if isinstance(value, str):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"[{name}] {key} must be a list of codes", file=path, fix=f'write e.g. {key} = ["GM03"]')


def _number(value, low, high, path, where: str, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{where} {key} must be a finite number, not {value!r}", file=path,
                         fix=f"write e.g. {key} = {low if math.isfinite(low) else 0:g}")
    if not low <= value <= high:
        span = f"{low:g} to {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise InputError(f"{where} {key} = {value!r} is out of range ({span})", file=path,
                         fix=f"give {key} a value from {span}")


def _rules(section: dict, path) -> None:
    from iapt_audit.rules_engine.catalogue import catalogue

    rules = {e.code: e.rule for e in catalogue() if e.rule is not None}
    _known(section, rules, path, "[rules]", "rule [rules.")
    for code, values in section.items():
        where = f"[rules.{code}]"
        _known(values, rules[code].thresholds, path, where)
        for name, value in values.items():
            low, high = UNIT_RANGES[rules[code].thresholds[name].unit]
            _number(value, low, high, path, where, name)


def _thresholds(section: dict, path) -> None:
    from iapt_audit.model.thresholds import SCALES, Scale

    _known(section, SCALES, path, "[thresholds]", "questionnaire [thresholds.")
    settable = {f.name for f in fields(Scale)} - {"tool"}
    for tool, values in section.items():
        where, scale = f"[thresholds.{tool}]", SCALES[tool]
        _known(values, settable, path, where)
        low, high = values.get("low", scale.low), values.get("high", scale.high)
        for key in ("low", "high"):
            if key in values:
                _number(values[key], -math.inf, math.inf, path, where, key)
        for key, value in values.items():
            if key in ("low", "high"):
                continue
            if key.endswith("_op"):
                if value not in OPERATORS:
                    raise InputError(f"{key} for {tool} must be \">=\" or \">\", not {value!r}", file=path,
                                     fix=f'write e.g. {key} = ">="')
            elif key == "caseness":
                _number(value, low, high, path, where, key)
            else:
                _number(value, 0, high - low, path, where, key)


def _data_quality(section: dict, path) -> None:
    from iapt_audit.dq.findings import SEVERITIES
    from iapt_audit.dq.settings import CHECK_KEYS
    from iapt_audit.dq.stage import all_checks

    _known(section, LIST_KEYS | {"checks"}, path, "[data_quality]")
    _lists(section, path, "data_quality")
    codes = {check.code for check in all_checks()}
    _known(section.get("checks", {}), codes, path, "[data_quality.checks]", "check [data_quality.checks.")
    for code, values in section.get("checks", {}).items():
        where = f"[data_quality.checks.{code}]"
        _known(values, CHECK_KEYS, path, where)
        if "severity" in values and values["severity"] not in SEVERITIES:
            raise InputError(f"{where} severity {values['severity']!r} is not known", file=path,
                             fix=f"use one of {', '.join(SEVERITIES)}")
        if "max_percent" in values:
            _number(values["max_percent"], 0, 100, path, where, "max_percent")
        if "max_count" in values:
            _number(values["max_count"], 0, math.inf, path, where, "max_count")
            if not float(values["max_count"]).is_integer():
                raise InputError(f"{where} max_count must be a whole number of records", file=path,
                                 fix="write e.g. max_count = 10")


def _pathway(section: dict, path) -> None:
    from iapt_audit.pathway import PathwaySettings

    _known(section, {f.name for f in fields(PathwaySettings)}, path, "[pathway]")
    for key, value in section.items():
        if not isinstance(value, bool):
            raise InputError(f"[pathway] {key} must be true or false", file=path, fix=f"write {key} = true")
