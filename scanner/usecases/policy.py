"""Use cases over the policy itself (no scan): validate packs and waivers, list or show
rules, the control matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.evaluate.waivers import expired_waivers, unmatched_waivers
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.packs import selection
from scanner.packs.waivers import read_waivers
from scanner.inputs.problems import InputError, Problem
from scanner.model import Waiver
from scanner.model import format_time
from scanner.evaluate.controls import ControlVerdict, verdict_totals
from scanner.evaluate.controls import control_verdicts as judge_controls
from scanner.packs.frameworks import Framework, check_frameworks, load_catalogs
from scanner.packs.loader import load_rules, parse_param_overrides
from scanner.report.control_matrix import matrix_rows
from scanner.report.results_json import read as read_results
from scanner.rules.model import Rule


def load_policy(rule_paths: list[str], params: list[str]) -> list[Rule]:
    return load_rules(rule_paths or None, parse_param_overrides(params))


@dataclass
class Validation:
    rules: list[Rule] = field(default_factory=list)
    packs: int = 0
    waivers: list[Waiver] | None = None  # None: no waivers file given
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # expired waivers


def validate(config_file: str | None, rule_paths: list[str] | None, params: list[str] | None,
             waivers_file: str | None, as_of: datetime) -> Validation:
    """Every input checked in one run: the config, the rule packs and their catalogs, the
    waivers, and the waivers against the loaded rules; every problem of every file is
    collected (exit 2 when any), an expired waiver is a warning."""
    out = Validation()
    cfg: dict = {}
    try:
        cfg = load_config(config_file)
    except InputError as exc:
        out.problems += exc.problems
    packs_loaded = True
    try:
        out.rules = load_policy(list(pick(rule_paths, cfg, "rules", [])), params_as_pairs(cfg) + list(params or []))
        out.packs = len({r.pack.path for r in out.rules})
    except InputError as exc:
        out.problems += exc.problems
        packs_loaded = False
    waivers_file = pick(waivers_file, cfg, "waivers", None)
    if waivers_file:
        try:
            out.waivers, problems = read_waivers(waivers_file)
            out.problems += problems
        except InputError as exc:
            out.waivers = []
            out.problems += exc.problems
    if packs_loaded:  # with packs that did not load, "matches no loaded rule" would mislead
        out.problems += unmatched_waivers(out.waivers or [], [rule.id for rule in out.rules])
    for waiver in expired_waivers(out.waivers or [], as_of):
        out.warnings.append(Problem(waiver.file, f"waiver {waiver.id} expired {format_time(waiver.expires)}: "
                                                 "it no longer waives anything", line=waiver.line))
    return out


def find_rule(rules: list[Rule], rule_id: str) -> Rule:
    """The rule a command-line id names, in any case."""
    rule = selection.find_rule(rules, rule_id)
    if rule is None:
        raise InputError(Problem(None, f"no loaded rule has id {rule_id!r} (see certscan rules list)"))
    return rule


def control_matrix(rule_paths: list[str], params: list[str], frameworks: list[str] | None,
                   results_file: str | None) -> list[dict[str, Any]]:
    """One row per (framework, control) with its rules and, given a results file, counts."""
    catalogs: dict[str, Framework] = load_catalogs()
    wanted = check_frameworks(frameworks, catalogs)
    rules = load_policy(rule_paths, params)
    rows = matrix_rows(rules, read_results(results_file).results if results_file else None)
    return [row for row in rows if row["framework"] in wanted] if wanted else rows


@dataclass(frozen=True)
class JudgedControls:
    scan_id: str
    as_of: str
    verdicts: list[ControlVerdict]
    catalogs: dict[str, Framework]

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "as_of": self.as_of, "totals": verdict_totals(self.verdicts),
                "controls": [v.to_dict() for v in self.verdicts]}


def control_verdicts(results_file: str, frameworks: list[str] | None) -> JudgedControls:
    """A verdict per control of the saved scan, for the frameworks asked for (else all)."""
    catalogs = load_catalogs()
    wanted = check_frameworks(frameworks, catalogs)
    saved = read_results(results_file)
    verdicts = judge_controls(saved.rules, saved.results, saved.coverage, saved.errors, catalogs, wanted)
    return JudgedControls(saved.scan_id, format_time(saved.as_of), verdicts, catalogs)
