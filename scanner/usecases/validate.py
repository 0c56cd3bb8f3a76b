"""certscan validate: every input checked in one run (config, rule packs and their catalogs,
waivers, and waivers against the loaded rules), every problem of every file reported
together; expired waivers are warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scanner.evaluate.waivers import expired_waivers, read_waivers, unmatched_waivers
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.inputs.problems import InputError, Problem
from scanner.model import Waiver, format_time
from scanner.rules.model import Rule
from scanner.packs.loader import load_rules, parse_param_overrides


@dataclass
class Validation:
    rules: list[Rule] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    waivers_file: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def validate(rules: list[str] | None, params: list[str] | None, waivers: str | None, config: str | None,
             as_of: datetime) -> Validation:
    out = Validation()
    cfg: dict = {}
    try:
        cfg = load_config(config)
    except InputError as exc:
        out.problems += exc.problems
    loaded_ok = True
    try:
        out.rules = load_rules(list(pick(rules, cfg, "rules", [])) or None,
                               parse_param_overrides(params_as_pairs(cfg) + list(params or [])))
    except InputError as exc:
        out.problems += exc.problems
        loaded_ok = False
    out.waivers_file = pick(waivers, cfg, "waivers", None)
    if out.waivers_file:
        try:
            out.waivers, problems = read_waivers(out.waivers_file)
            out.problems += problems
        except InputError as exc:
            out.problems += exc.problems
    if loaded_ok:  # with packs that did not load, "matches no loaded rule" would mislead
        out.problems += unmatched_waivers(out.waivers, [rule.id for rule in out.rules])
    for waiver in expired_waivers(out.waivers, as_of):
        out.warnings.append(Problem(waiver.file, f"waiver {waiver.id} expired {format_time(waiver.expires)}: "
                                                 "it no longer waives anything", line=waiver.line))
    return out
