"""Which data-quality checks run, at what severity, and how many failures each may tolerate.

Set from the ``[data_quality]`` section of ``iapt-audit.toml`` and from ``--select`` / ``--ignore``
on the command line (which win over the file)::

    [data_quality]
    select = ["DQ0", "DQ10"]     # codes or prefixes; default: every check
    ignore = ["DQ083"]

    [data_quality.checks.DQ029]  # per check: severity and tolerance (count and/or percent)
    severity = "info"
    max_percent = 5.0
    max_count = 10

Why prefixes: codes are grouped by table (DQ00x referrals, DQ02x contacts ... DQ1xx cross-table),
so ``--ignore DQ08`` drops every patient-table check, as ruff's ``--select E`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from iapt_audit.dq.findings import SEVERITIES, Check, Tolerance
from iapt_audit.errors import InputError

CHECK_KEYS = {"severity", "max_count", "max_percent"}


@dataclass(frozen=True)
class DQSettings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severities: dict[str, str] = field(default_factory=dict)
    tolerances: dict[str, Tolerance] = field(default_factory=dict)

    def wants(self, code: str) -> bool:
        chosen = not self.select or code.startswith(self.select)
        return chosen and not code.startswith(self.ignore) if self.ignore else chosen

    def applied(self, check: Check) -> Check:
        severity = self.severities.get(check.code)
        return replace(check, severity=severity) if severity else check

    def tolerance(self, code: str) -> Tolerance:
        return self.tolerances.get(code, Tolerance())

    @classmethod
    def from_config(cls, config: dict | None, *, select=(), ignore=()) -> "DQSettings":
        """Read ``config["data_quality"]``; command-line ``select`` / ``ignore`` replace the file's."""
        section = dict((config or {}).get("data_quality", {}))
        severities, tolerances = {}, {}
        for code, values in section.pop("checks", {}).items():
            unknown = set(values) - CHECK_KEYS
            if unknown:
                raise InputError(f"unknown key {sorted(unknown)[0]!r} in [data_quality.checks.{code}]",
                                 fix=f"use only {', '.join(sorted(CHECK_KEYS))}")
            if "severity" in values:
                if values["severity"] not in SEVERITIES:
                    raise InputError(f"severity {values['severity']!r} for {code} is not known",
                                     fix=f"use one of {', '.join(SEVERITIES)}")
                severities[code] = values["severity"]
            if {"max_count", "max_percent"} & set(values):
                try:
                    tolerances[code] = Tolerance(max_count=int(values.get("max_count", 0)),
                                                 max_percent=float(values.get("max_percent", 0.0)))
                except (TypeError, ValueError):
                    raise InputError(f"max_count / max_percent for {code} must be numbers",
                                     fix="write e.g. max_percent = 2.5") from None
        unknown = set(section) - {"select", "ignore"}
        if unknown:
            raise InputError(f"unknown key {sorted(unknown)[0]!r} in [data_quality]",
                             fix="use select, ignore and [data_quality.checks.<CODE>] tables")
        settings = cls(select=tuple(select) or tuple(section.get("select", ())),
                       ignore=tuple(ignore) or tuple(section.get("ignore", ())),
                       severities=severities, tolerances=tolerances)
        settings.refuse_codes_matching_nothing()
        return settings

    def refuse_codes_matching_nothing(self) -> None:
        """A select or ignore code that names no check is a mistake (``--select DQ999`` would
        otherwise run 0 checks and pass the gate), as a rule code naming no rule is."""
        from iapt_audit.dq.stage import all_checks

        known = [check.code for check in all_checks()]
        for option, codes in (("--select", self.select), ("--ignore", self.ignore)):
            for code in codes:
                if not any(k.startswith(str(code).strip().upper()) for k in known):
                    raise InputError(f"{code!r} matches no data-quality check", column=option,
                                     fix=f"use check codes or prefixes, {known[0]} to {known[-1]} "
                                         "(`iapt-audit check` lists them)")
