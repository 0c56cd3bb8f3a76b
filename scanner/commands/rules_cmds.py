"""certscan validate, rules list|show, controls."""

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scanner.commands.scan import ConfigOpt, ParamOpt, RulesOpt, WaiversOpt
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.packs.frameworks import load_catalogs, matrix_rows
from scanner.inputs.problems import InputError, Problem
from scanner.report.results_json import read as read_results
from scanner.packs.loader import load_rules, parse_param_overrides
from scanner.evaluate.waivers import load_waivers

rules_app = typer.Typer(help="List the loaded rules or show one.", no_args_is_help=True)


def _load(rules, param, config):
    cfg = load_config(config)
    return load_rules(list(pick(rules, cfg, "rules", [])) or None,
                      parse_param_overrides(params_as_pairs(cfg) + list(param or []))), cfg


def validate(rules: RulesOpt = None, param: ParamOpt = None, waivers: WaiversOpt = None, config: ConfigOpt = None):
    """Check rule packs, control ids, waivers and config; exit 0 when all is valid, 2 otherwise."""
    loaded, cfg = _load(rules, param, config)
    waiver_file = pick(waivers, cfg, "waivers", None)
    found = load_waivers(waiver_file) if waiver_file else []
    packs = sorted({r.pack.path for r in loaded})
    Console().print(f"valid: {len(loaded)} rules in {len(packs)} pack(s)"
                    + (f", {len(found)} waiver(s)" if waiver_file else ""))


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, config: ConfigOpt = None,
               json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """Every loaded rule: id, severity, resource, title."""
    loaded, _ = _load(rules, None, config)
    if json_out:
        print(json.dumps([r.to_dict() for r in loaded], indent=2, sort_keys=True))
        return
    table = Table(show_edge=False)
    for col in ("id", "severity", "resource", "title", "pack"):
        table.add_column(col)
    for r in loaded:
        table.add_row(r.id, r.severity, ",".join(sorted(r.resources)) if r.resources else "*", r.title, r.pack.display_path)
    Console().print(table)


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. ACM-003")],
               rules: RulesOpt = None, param: ParamOpt = None, config: ConfigOpt = None,
               json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """One rule: title, params with defaults, controls, remediation."""
    loaded, _ = _load(rules, param, config)
    rule = next((r for r in loaded if r.id == rule_id), None)
    if rule is None:
        raise InputError(Problem(None, f"no loaded rule has id {rule_id!r}", rule_id=rule_id))
    data = rule.to_dict()
    if json_out:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    console = Console()
    console.print(f"[bold]{rule.id}[/bold]  {rule.title}")
    console.print(f"severity: {rule.severity}   resource: {', '.join(data['resource'])}   "
                  f"pack: {rule.pack.display_path}:{rule.line}")
    if rule.description and rule.description != rule.title:
        console.print(rule.description)
    for name, p in data["params"].items():
        console.print(f"param {name}: {p['value']!r} (default {p['default']!r})")
    for fw, refs in data["controls"].items():
        console.print(f"{fw}: " + ", ".join(f"{r['id']} [{r['basis']}]" for r in refs))
    if rule.remediation:
        console.print(f"remediation: {rule.remediation.strip()}")


def controls(framework: Annotated[Optional[str], typer.Option("--framework", help="Only this framework id.")] = None,
             results: Annotated[Optional[str], typer.Option("--results", help="A certscan-results.json: add pass/fail counts.")] = None,
             rules: RulesOpt = None, config: ConfigOpt = None,
             json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """The control matrix: each framework control, the rules mapped to it (with basis), and counts."""
    catalogs = load_catalogs()
    if framework and framework not in catalogs:
        raise InputError(Problem("--framework", f"unknown framework {framework!r}; known: {', '.join(sorted(catalogs))}"))
    loaded, _ = _load(rules, None, config)
    rows = matrix_rows(loaded, read_results(results).results if results else None, catalogs)
    if framework:
        rows = [row for row in rows if row["framework"] == framework]
    if json_out:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    table = Table(show_edge=False)
    for col in ("framework", "control", "title", "rules", "pass", "fail", "waived"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["framework"], row["control"], row["title"], ", ".join(row["bases"]),
                      str(row["pass"]), str(row["fail"]), str(row["waived"]))
    Console().print(table)
