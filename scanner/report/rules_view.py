"""`certscan rules show` on the console. Pack text (titles, descriptions, control sources,
remediation) comes from rule packs certscan does not trust: all of it is escaped, so a
"[stated]" or a control sequence prints as written."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from scanner.report.escape import console as esc


def print_rule(rule, data: dict[str, Any], out: Console) -> None:
    out.print(f"[bold]{esc(rule.id)}[/bold]  {esc(rule.title)}", soft_wrap=True)
    out.print(f"severity: {esc(rule.severity)}   resource: {esc(', '.join(data['resource']))}   "
              f"pack: {esc(rule.pack.display_path)}:{rule.line}", soft_wrap=True)
    if rule.description and rule.description != rule.title:
        out.print(esc(rule.description.strip()), soft_wrap=True)
    for name, p in data["params"].items():
        out.print(f"param {esc(name)}: {esc(repr(p['value']))} (default {esc(repr(p['default']))})", soft_wrap=True)
    if data["controls"]:
        out.print("controls:")
    for framework, refs in data["controls"].items():
        for ref in refs:
            source = f" — source: {esc(ref['source'])}" if ref.get("source") else ""
            out.print(f"  {esc(framework)} {esc(ref['id'])} \\[{esc(ref['basis'])}]{source}", soft_wrap=True)
    if rule.remediation:
        out.print(f"remediation: {esc(rule.remediation.strip())}", soft_wrap=True)
