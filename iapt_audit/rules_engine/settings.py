"""Thresholds in force for each rule: the rule's defaults, overridden by ``[rules.<CODE>]``.

The config file is ``iapt-audit.toml`` (``iapt_audit.config``); a rule's section takes the
threshold names its documentation lists, in the units it states, e.g.::

    [rules.GM03]
    over_days = 120        # days
    min_percent = 40       # percent of referrals with or waiting for a second treatment

A misspelt rule code or threshold name, or a value that is not a number, is a user error that
names the key and lists the valid ones, never a silent default.
"""

from __future__ import annotations

import numbers

from iapt_audit.errors import InputError
from iapt_audit.rules_engine.base import Rule


def rule_sections(config: dict | None) -> dict[str, dict]:
    """The ``[rules.*]`` tables, with every code checked against the catalogue."""
    from iapt_audit.rules_engine.catalogue import catalogue

    sections = dict((config or {}).get("rules", {}))
    known = {e.code for e in catalogue()}
    for code, section in sections.items():
        if code not in known:
            raise InputError(f"unknown rule [rules.{code}] in the config file", column=f"rules.{code}",
                             fix=f"use one of {', '.join(sorted(known))}")
        if not isinstance(section, dict):
            raise InputError(f"[rules.{code}] must be a table of thresholds", column=f"rules.{code}",
                             fix=f"write it as [rules.{code}] followed by name = value lines")
    return sections


def limits_for(rule: type[Rule], overrides: dict | None) -> dict[str, float]:
    """The rule's thresholds, defaults first, then the config's overrides."""
    limits = {name: threshold.value for name, threshold in rule.thresholds.items()}
    for name, value in (overrides or {}).items():
        where = f"rules.{rule.code}.{name}"
        if name not in limits:
            raise InputError(f"{rule.code} has no threshold {name!r}", column=where,
                             fix=f"use one of {', '.join(limits)} (see `iapt-audit rules {rule.code}`)")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"threshold {name} must be a number, not {value!r}", column=where,
                             fix=f"write e.g. {name} = {limits[name]:g} ({rule.thresholds[name].unit})")
        limits[name] = float(value)
    return limits
