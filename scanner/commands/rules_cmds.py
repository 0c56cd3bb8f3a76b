"""certscan validate, rules list|show, controls."""

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scanner.commands.common import parse_as_of
from scanner.commands.scan import AsOfOpt, ConfigOpt, ParamOpt, RulesOpt, WaiversOpt
from scanner.report.escape import console as esc
from scanner.usecases import clock
from scanner.usecases import validate as validate_usecase
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.packs.frameworks import load_catalogs, matrix_rows
from scanner.inputs.problems import InputError, Problem
from scanner.report.results_json import read as read_results
from scanner.report.rules_view import print_rule
from scanner.packs.loader import load_rules, parse_param_overrides
from scanner.packs.selection import find_rule
from scanner.evaluate.waivers import load_waivers

rules_app = typer.Typer(help="List the loaded rules or show one.", no_args_is_help=True)


def _load(rules, param, config):
    cfg = load_config(config)
    return load_rules(list(pick(rules, cfg, "rules", [])) or None,
                      parse_param_overrides(params_as_pairs(cfg) + list(param or []))), cfg


def validate(rules: RulesOpt = None, param: ParamOpt = None, waivers: WaiversOpt = None, config: ConfigOpt = None,
             as_of: AsOfOpt = None):
    """Check config, rule packs, control ids and waivers, all at once; exit 0 when all is valid, 2 otherwise."""
    result = validate_usecase.validate(rules, param, waivers, config, parse_as_of(as_of) or clock.now())
    err = Console(stderr=True, highlight=False)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {esc(warning)}", soft_wrap=True)
    if result.problems:
        raise InputError(result.problems)
    packs = sorted({r.pack.path for r in result.rules})
    Console(highlight=False).print(f"valid: {len(result.rules)} rules in {len(packs)} pack(s)"
                                   + (f", {len(result.waivers)} waiver(s)" if result.waivers_file else ""))


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
    rule = find_rule(loaded, rule_id)
    if rule is None:
        raise InputError(Problem(None, f"no loaded rule has id {rule_id!r} (see certscan rules list)"))
    data = rule.to_dict()
    if json_out:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    print_rule(rule, data, Console(highlight=False))

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
