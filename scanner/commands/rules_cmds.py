"""certscan validate, rules list|show, controls: options parsed here, the work in
scanner.usecases.policy, the tables in scanner.report.console."""

import json
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.commands.common import parse_as_of
from scanner.commands.scan import AsOfOpt, ConfigOpt, FrameworkOpt, ParamOpt, RulesOpt, WaiversOpt
from scanner.usecases import clock
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.report.console import print_control_verdicts, print_controls, print_rule, print_rules
from scanner.report.escape import console as c
from scanner.usecases import policy
from scanner.inputs.problems import InputError, Problem

rules_app = typer.Typer(help="List the loaded rules or show one.", no_args_is_help=True)


def _rule_options(rules, param, config) -> tuple[list[str], list[str], dict]:
    cfg = load_config(config)
    return list(pick(rules, cfg, "rules", [])), params_as_pairs(cfg) + list(param or []), cfg


def validate(rules: RulesOpt = None, param: ParamOpt = None, waivers: WaiversOpt = None, config: ConfigOpt = None,
             as_of: AsOfOpt = None):
    """Check config, rule packs, control ids and waivers, all at once; exit 0 when all is valid, 2 otherwise."""
    result = policy.validate(config, rules, param, waivers, parse_as_of(as_of) or clock.now())
    err = Console(stderr=True, highlight=False)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {c(warning)}", soft_wrap=True)
    if result.problems:
        raise InputError(result.problems)
    Console(highlight=False).print(c(f"valid: {len(result.rules)} rules in {result.packs} pack(s)"
                                     + (f", {len(result.waivers)} waiver(s)" if result.waivers is not None else "")))


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, config: ConfigOpt = None,
               json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """Every loaded rule: id, severity, resource, title."""
    paths, params, _ = _rule_options(rules, None, config)
    loaded = policy.load_policy(paths, params)
    if json_out:
        print(json.dumps([r.to_dict() for r in loaded], indent=2, sort_keys=True, allow_nan=False))
        return
    print_rules(Console(), loaded)


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. ACM-003")],
               rules: RulesOpt = None, param: ParamOpt = None, config: ConfigOpt = None,
               json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """One rule: title, params with defaults, controls, remediation."""
    paths, params, _ = _rule_options(rules, param, config)
    rule = policy.find_rule(policy.load_policy(paths, params), rule_id)
    data = rule.to_dict()
    if json_out:
        print(json.dumps(data, indent=2, sort_keys=True, allow_nan=False))
        return
    print_rule(rule, data, Console())


def controls(framework: FrameworkOpt = None,
             results: Annotated[Optional[str], typer.Option("--results", help="A certscan-results.json: a verdict per control, counts and failing resources.")] = None,
             rules: RulesOpt = None, config: ConfigOpt = None,
             json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """The control matrix: each framework control and the rules mapped to it (with basis);
    with --results, its verdict (satisfied, not satisfied, satisfied with exceptions,
    inconclusive, not assessed), counts and failing resources."""
    if results:
        if rules:
            raise InputError(Problem("--rules", "--results judges the rules the scan evaluated (saved in the "
                                                "results file); drop --rules"))
        judged = policy.control_verdicts(results, framework)
        if json_out:
            print(json.dumps(judged.to_dict(), indent=2, sort_keys=True, allow_nan=False))
            return
        print_control_verdicts(judged.verdicts, judged.catalogs, Console(highlight=False))
        return
    paths, params, _ = _rule_options(rules, None, config)
    rows = policy.control_matrix(paths, params, framework, None)
    if json_out:
        print(json.dumps(rows, indent=2, sort_keys=True, allow_nan=False))
        return
    print_controls(Console(), rows)
