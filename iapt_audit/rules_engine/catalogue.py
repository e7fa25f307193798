"""The rule catalogue: the code table (``rules/codes.toml``) and the rule modules beside it.

``rules/`` is a folder of plain files, not a package on ``sys.path`` (a wheel carries it as data,
see ``iapt_audit.resources``), so each ``rules/GMnn_<name>.py`` is loaded by file path with
importlib. The code table is the one list of codes with a status, as ruff keeps it: a code is
never reused, ``--select GM0`` works by prefix, and a preview rule runs only when named exactly.
"""

from __future__ import annotations

import importlib.util
import inspect
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from iapt_audit.errors import InputError
from iapt_audit.resources import resource_dir
from iapt_audit.rules_engine.base import Rule

STATUSES = ("stable", "preview", "deprecated", "removed")
CODE_TABLE = "codes.toml"
RULE_PREFIX = "GM"


@dataclass(frozen=True)
class Entry:
    """One code of the table: its status and, unless removed, its rule class and module file."""

    code: str
    status: str
    rule: type[Rule] | None
    path: Path | None


def code_table(folder: Path | None = None) -> dict[str, str]:
    """``{code: status}`` from ``rules/codes.toml``."""
    folder = folder or resource_dir("rules")
    with (folder / CODE_TABLE).open("rb") as handle:
        table = tomllib.load(handle)
    bad = {code: status for code, status in table.items() if status not in STATUSES}
    if bad:
        raise ValueError(f"{CODE_TABLE}: unknown status {bad}; use one of {', '.join(STATUSES)}")
    return table


def load_rule_module(path: Path) -> type[Rule]:
    """Import one rule file by path and return the one Rule subclass it defines."""
    spec = importlib.util.spec_from_file_location(f"iapt_audit_rules.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Rule) and obj is not Rule
             and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise ValueError(f"{path.name} must define exactly one Rule subclass, found {len(found)}")
    rule = found[0]
    if not path.stem.startswith(f"{rule.code}_"):
        raise ValueError(f"{path.name} defines {rule.code}; name the file {rule.code}_<name>.py")
    return rule


@cache
def catalogue() -> tuple[Entry, ...]:
    """Every code of the table, in code order, with its loaded rule (None when removed)."""
    folder = resource_dir("rules")
    table = code_table(folder)
    modules = {}
    for path in sorted(folder.glob("GM[0-9][0-9]_*.py")):
        rule = load_rule_module(path)
        if rule.code in modules:
            raise ValueError(f"code {rule.code} is defined twice ({modules[rule.code][1].name}, {path.name})")
        modules[rule.code] = (rule, path)
    missing = sorted(set(modules) - set(table))
    if missing:
        raise ValueError(f"rule {missing[0]} has a module but no line in rules/{CODE_TABLE}")
    entries = []
    for code in sorted(table):
        rule, path = modules.get(code, (None, None))
        if rule is None and table[code] != "removed":
            raise ValueError(f"rules/{CODE_TABLE} lists {code} as {table[code]} but there is no module for it")
        entries.append(Entry(code, table[code], rule, path))
    return tuple(entries)


def select_rules(select=None, ignore=None) -> list[Entry]:
    """The rules to run: ``select``/``ignore`` are codes or prefixes (``GM``, ``GM0``, ``GM03``).

    With no ``select``, every stable rule runs. Selectors of other stages (``DQ...``) share the
    options and are left to them, so ``--select DQ`` alone runs no rule. A preview or deprecated
    rule runs only when selected by its full code. A ``GM`` selector that matches no code, or
    names a removed rule, is an error the user can fix.
    """
    entries = catalogue()
    chosen = {e.code for e in entries if e.status == "stable"} if not select else set()
    for selector in _rule_selectors(select, "--select"):
        for entry in (e for e in entries if e.code.startswith(selector)):
            if entry.status == "removed" and entry.code == selector:
                raise InputError(f"rule {entry.code} was removed", column="--select",
                                 fix="drop it from --select or [audit] select")
            if entry.status == "stable" or entry.code == selector:
                chosen.add(entry.code)
    for selector in _rule_selectors(ignore, "--ignore"):
        chosen = {code for code in chosen if not code.startswith(selector)}
    return [e for e in entries if e.code in chosen and e.rule is not None]


def _rule_selectors(values, option: str) -> list[str]:
    """The selectors (comma lists allowed) that address gaming rules, upper-cased and checked."""
    if not values:
        return []
    values = [values] if isinstance(values, str) else list(values)
    parts = [part.strip().upper() for value in values for part in str(value).split(",")]
    codes = [e.code for e in catalogue()]
    out = []
    for selector in parts:
        if not selector or not (selector.startswith(RULE_PREFIX) or RULE_PREFIX.startswith(selector)):
            continue
        if not any(code.startswith(selector) for code in codes):
            raise InputError(f"{selector!r} matches no rule code", column=option,
                             fix=f"use a code or prefix of {', '.join(codes)} (see `iapt-audit rules`)")
        out.append(selector)
    return out
