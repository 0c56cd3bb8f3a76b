"""certscan validate, rules list|show, controls."""

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scanner.commands.scan import ConfigOpt, FrameworkOpt, ParamOpt, RulesOpt, WaiversOpt
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.packs.frameworks import check_frameworks, control_verdicts, load_catalogs, matrix_rows, verdict_totals
from scanner.model import format_time
from scanner.report.escape import console as esc
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


def controls(framework: FrameworkOpt = None,
             results: Annotated[Optional[str], typer.Option("--results", help="A certscan-results.json: a verdict per control, counts and failing resources.")] = None,
             rules: RulesOpt = None, config: ConfigOpt = None,
             json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False):
    """The control matrix: each framework control and the rules mapped to it (with basis);
    with --results, its verdict (satisfied, not satisfied, satisfied with exceptions,
    inconclusive, not assessed), counts and failing resources."""
    catalogs = load_catalogs()
    frameworks = check_frameworks(framework, catalogs)
    if results:
        if rules:
            raise InputError(Problem("--rules", "--results judges the rules the scan evaluated (saved in the "
                                                "results file); drop --rules"))
        saved = read_results(results)
        verdicts = control_verdicts(saved.rules, saved.results, saved.coverage, saved.errors, catalogs, frameworks)
        if json_out:
            print(json.dumps({"scan_id": saved.scan_id, "as_of": format_time(saved.as_of),
                              "totals": verdict_totals(verdicts), "controls": [v.to_dict() for v in verdicts]},
                             indent=2, sort_keys=True))
            return
        _print_verdicts(verdicts, catalogs)
        return
    loaded, _ = _load(rules, None, config)
    rows = matrix_rows(loaded, None, catalogs)
    if frameworks:
        rows = [row for row in rows if row["framework"] in frameworks]
    if json_out:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    table = Table(show_edge=False)
    for col in ("framework", "control", "title", "rules"):
        table.add_column(col)
    for row in rows:
        table.add_row(esc(row["framework"]), esc(row["control"]), esc(row["title"]), esc(", ".join(row["bases"])))
    Console().print(table)


FAILING_SHOWN = 3  # failing resources named per control on the console; --json lists all


def _print_verdicts(verdicts, catalogs) -> None:
    console = Console(highlight=False)
    totals = verdict_totals(verdicts)
    for framework in sorted(totals):
        catalog = catalogs.get(framework)
        name = f"{catalog.name} {catalog.version}" if catalog else framework
        summary = ", ".join(f"{n} {verdict}" for verdict, n in totals[framework].items() if n)
        table = Table(title=f"{esc(name)} ({esc(framework)}): {summary}", title_justify="left", show_edge=False)
        for col in ("control", "verdict", "pass", "fail", "waived", "error", "rules (basis)"):
            table.add_column(col, overflow="fold")
        notes = []
        for v in (v for v in verdicts if v.framework == framework):
            style = VERDICT_STYLE.get(v.verdict, "")
            table.add_row(esc(v.control), f"[{style}]{v.verdict}[/]" if style else v.verdict,
                          *(str(v.counts[s]) for s in ("pass", "fail", "waived", "error")),
                          esc(", ".join(f"{m['rule']} {m['basis']}" for m in v.rules)))
            if v.failing_resources:
                more = len(v.failing_resources) - FAILING_SHOWN
                notes.append(f"{esc(v.control)}: {len(v.failing_resources)} failing resource(s)"
                             + (f", the first {FAILING_SHOWN} (--json lists all)" if more > 0 else ""))
                notes += [f"  {esc(r)}" for r in v.failing_resources[:FAILING_SHOWN]]
            if v.verdict == "inconclusive":
                notes.append(f"{esc(v.control)}: inconclusive, could not judge or read:")
                notes += [f"  {esc(r)}" for r in [*v.undecided_resources, *v.unread][:FAILING_SHOWN]]
        console.print(table)
        for note in notes:
            console.print(f"  {note}")
        console.print()


VERDICT_STYLE = {"not satisfied": "bold red", "inconclusive": "yellow", "satisfied with exceptions": "cyan",
                 "satisfied": "green", "not assessed": "dim"}
