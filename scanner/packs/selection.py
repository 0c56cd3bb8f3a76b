"""--check / --skip-check: which of the loaded rules a scan evaluates (as checkov and Prowler
do). Patterns are rule ids or shell globs (ACM-*, *-00?), matched case-insensitively; a
pattern that matches no loaded rule is an error, never a silent no-op."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from scanner.inputs.problems import InputError, Problem


@dataclass(frozen=True)
class RuleSelection:
    check: tuple[str, ...] = ()  # empty: every loaded rule
    skip_check: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.check or self.skip_check)

    def to_dict(self) -> dict[str, Any]:
        return {"check": list(self.check), "skip_check": list(self.skip_check)}


def matches_id(pattern: str, rule_id: str) -> bool:
    return fnmatchcase(rule_id.casefold(), pattern.casefold())


def find_rule(rules: list, rule_id: str):
    """The rule a command-line id names: exact first, then ignoring case."""
    return next((r for r in rules if r.id == rule_id), None) or \
        next((r for r in rules if r.id.casefold() == rule_id.casefold()), None)


def select_rules(rules: list, selection: RuleSelection) -> list:
    if not selection:
        return rules
    problems = []
    for option, patterns in (("--check", selection.check), ("--skip-check", selection.skip_check)):
        for pattern in patterns:
            if not any(matches_id(pattern, rule.id) for rule in rules):
                problems.append(Problem(option, f"{pattern!r} matches no loaded rule (see certscan rules list)"))
    if problems:
        raise InputError(problems)
    chosen = [rule for rule in rules
              if (not selection.check or any(matches_id(p, rule.id) for p in selection.check))
              and not any(matches_id(p, rule.id) for p in selection.skip_check)]
    if not chosen:
        raise InputError(Problem("--skip-check", "every selected rule is skipped: nothing would be evaluated"))
    return chosen
