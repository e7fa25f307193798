"""``iapt-audit rules``: list the gaming-rule catalogue, or print one rule's documentation."""

from __future__ import annotations

import textwrap

import click

from iapt_audit.errors import InputError


@click.command()
@click.argument("code", required=False)
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these codes or prefixes (repeat or comma-separate, e.g. GM0,GM08).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Leave out these codes or prefixes.")
def rules(code: str | None, select: tuple[str, ...], ignore: tuple[str, ...]):
    """List the gaming rules, or print the documentation of rule CODE (e.g. GM03)."""
    from iapt_audit.rules_engine import catalogue, select_rules

    if code:
        entry = next((e for e in catalogue() if e.code == code.strip().upper()), None)
        if entry is None:
            raise InputError(f"no rule {code!r}", column="CODE", fix="run `iapt-audit rules` for the list")
        if entry.rule is None:
            raise InputError(f"rule {entry.code} was removed", column="CODE", fix="its code is kept so it is never reused")
        click.echo(rule_documentation(entry))
        return
    chosen = {e.code for e in select_rules(select, ignore)} if (select or ignore) else None
    rows = [e for e in catalogue() if chosen is None or e.code in chosen]
    click.echo(f"{'CODE':<6} {'STATUS':<10} {'SEVERITY':<9} {'NAME':<42} TITLE")
    for e in rows:
        name, title, severity = (e.rule.name, e.rule.title, e.rule.severity) if e.rule else ("-", "-", "-")
        click.echo(f"{e.code:<6} {e.status:<10} {severity:<9} {name:<42} {title}")


def rule_documentation(entry) -> str:
    """One rule's page: heading, status, indicator, threshold table and the docstring's sections."""
    rule = entry.rule
    sections = rule.doc_sections()
    lines = [f"{rule.code} {rule.name}: {rule.title}", "",
             f"Status: {entry.status}    Default severity: {rule.severity}",
             f"Indicator: percent of {rule.indicator}", "", sections.get("", ""), "",
             "Thresholds (override under [rules." + rule.code + "] in iapt-audit.toml):"]
    for name, threshold in rule.thresholds.items():
        lines.append(f"  {name:<26} {threshold.value:>8g} {threshold.unit:<12} {threshold.meaning}")
    for title, text in sections.items():
        if title:
            lines += ["", f"{title}:", textwrap.indent(text, "  ")]
    return "\n".join(lines)
