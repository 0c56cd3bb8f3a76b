"""Use cases over the policy itself (no scan): validate packs and waivers, list or show
rules, the control matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.packs.waivers import load_waivers
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


@dataclass(frozen=True)
class Validation:
    rules: list[Rule]
    packs: int
    waivers: list[Waiver] | None  # None: no waivers file given


def validate(rule_paths: list[str], params: list[str], waivers_file: str | None) -> Validation:
    """Every problem raises InputError (exit 2), all at once per file."""
    rules = load_policy(rule_paths, params)
    waivers = load_waivers(waivers_file) if waivers_file else None
    return Validation(rules, len({r.pack.path for r in rules}), waivers)


def find_rule(rules: list[Rule], rule_id: str) -> Rule:
    rule = next((r for r in rules if r.id == rule_id), None)
    if rule is None:
        raise InputError(Problem(None, f"no loaded rule has id {rule_id!r}", rule_id=rule_id))
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
