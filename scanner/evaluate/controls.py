"""A verdict per framework control: the one place it is decided. `certscan controls`,
controls.csv, the markdown and HTML reports and the OSCAL document all read it from here.
A pure function of the rules (as Rule.to_dict() gives them), the results and what could not
be read: no I/O, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def _natural(control_id: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", control_id)]



SATISFIED = "satisfied"
NOT_SATISFIED = "not satisfied"
WITH_EXCEPTIONS = "satisfied with exceptions"
INCONCLUSIVE = "inconclusive"
NOT_ASSESSED = "not assessed"
VERDICTS = (NOT_SATISFIED, INCONCLUSIVE, WITH_EXCEPTIONS, SATISFIED, NOT_ASSESSED)  # worst first
EVALUATED = ("pass", "fail", "waived", "error")  # a resource the rule judged (not_applicable is not)


@dataclass(frozen=True)
class ControlVerdict:
    framework: str
    control: str
    title: str
    verdict: str
    rules: list[dict[str, Any]]  # {rule, basis, source}, one per mapping
    counts: dict[str, int]  # pass, fail, waived, error, not_applicable over the mapped rules
    failing_resources: list[str]  # unwaived fails
    waived_resources: list[str]
    undecided_resources: list[str]  # error results
    unread: list[str]  # collection errors / incomplete units the mapped rules would have read
    rules_without_resources: list[str]  # mapped rules that judged nothing (no resource applied)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "control": self.control, "title": self.title, "verdict": self.verdict,
                "rules": self.rules, "counts": self.counts, "failing_resources": self.failing_resources,
                "waived_resources": self.waived_resources, "undecided_resources": self.undecided_resources,
                "unread": self.unread, "rules_without_resources": self.rules_without_resources}


def _reads(rule_sources: list[str], source: str) -> bool:
    """Would a rule of these sources have read a unit of `source`? ("aws" covers "aws.acm")."""
    if not rule_sources or "*" in rule_sources:
        return True
    return any(r == source or r.startswith(source + ".") or source.startswith(r + ".") for r in rule_sources)


def _unread_units(coverage: list[dict[str, Any]], errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(source, description) of every collection error and every incomplete unit without one."""
    unread = []
    errored = {e.get("unit") for e in errors if e.get("unit")}
    for error in errors:
        where = " ".join(str(error[k]) for k in ("account", "region", "resource") if error.get(k))
        unread.append((str(error.get("source") or ""),
                       f"{error.get('source')} {where} {error.get('code')}".replace("  ", " ").strip()))
    for unit in coverage:
        if not unit.get("complete", True) and unit.get("unit") not in errored:
            unread.append((str(unit.get("source") or ""), f"unit {unit.get('unit')} incomplete"))
    return unread


def control_verdicts(rules: list[dict[str, Any]], results, coverage: list[dict[str, Any]],
                     errors: list[dict[str, Any]], catalogs: dict[str, Any] | None = None,
                     frameworks: list[str] | None = None) -> list[ControlVerdict]:
    """A verdict for every (framework, control) a rule maps to: a pure function of the rules
    (as Rule.to_dict() gives them), the results, and what could not be read.

    not satisfied: an unwaived fail. inconclusive: no unwaived fail, but an error result or
    an unread unit of a source a mapped rule reads. satisfied with exceptions: every fail is
    waived by an active waiver. satisfied: at least one resource judged, nothing failed.
    not assessed: no mapped rule judged any resource. A mapped rule that found nothing to
    judge (no resource of its kind in scope) is listed, not held against the control."""
    catalogs = catalogs or {}
    per_rule: dict[str, dict[str, Any]] = {}
    for result in results:
        tally = per_rule.get(result.rule_id)
        if tally is None:
            tally = per_rule[result.rule_id] = {"counts": dict.fromkeys((*EVALUATED, "not_applicable"), 0),
                                                "fail": [], "waived": [], "error": []}
        tally["counts"][result.status] = tally["counts"].get(result.status, 0) + 1
        if result.status in ("fail", "waived", "error"):
            tally[result.status].append(result.resource_id)
    unread_units = _unread_units(coverage, errors)
    mappings: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for rule in rules:
        for framework, refs in (rule.get("controls") or {}).items():
            if frameworks and framework not in frameworks:
                continue
            for ref in refs:
                mappings.setdefault((framework, ref["id"]), []).append((rule, ref))
    verdicts = []
    for framework, control in sorted(mappings, key=lambda k: (k[0], _natural(k[1]))):
        mapped = mappings[(framework, control)]
        counts = dict.fromkeys((*EVALUATED, "not_applicable"), 0)
        failing: set[str] = set()
        waived: set[str] = set()
        undecided: set[str] = set()
        unread: set[str] = set()
        idle = []
        for rule, _ in mapped:
            tally = per_rule.get(rule["id"])
            if tally:
                for status, n in tally["counts"].items():
                    counts[status] = counts.get(status, 0) + n
                failing.update(tally["fail"])
                waived.update(tally["waived"])
                undecided.update(tally["error"])
            if not tally or not any(tally["counts"][s] for s in EVALUATED):
                idle.append(rule["id"])
            sources = list(rule.get("resource") or ["*"])
            unread.update(desc for source, desc in unread_units if _reads(sources, source))
        judged = sum(counts[s] for s in EVALUATED)
        if failing:
            verdict = NOT_SATISFIED
        elif undecided or unread:
            verdict = INCONCLUSIVE
        elif judged == 0:
            verdict = NOT_ASSESSED
        elif waived:
            verdict = WITH_EXCEPTIONS
        else:
            verdict = SATISFIED
        catalog = catalogs.get(framework)
        title = (catalog.controls.get(control, "") if catalog else "") or next(
            (str(ref.get("title") or "") for _, ref in mapped if ref.get("title")), "")
        verdicts.append(ControlVerdict(
            framework=framework, control=control, title=title,
            verdict=verdict,
            rules=[{"rule": rule["id"], "basis": ref.get("basis", "judgment"), "source": ref.get("source")}
                   for rule, ref in sorted(mapped, key=lambda m: m[0]["id"])],
            counts=counts, failing_resources=sorted(failing), waived_resources=sorted(waived),
            undecided_resources=sorted(undecided), unread=sorted(unread), rules_without_resources=sorted(set(idle))))
    return verdicts


def verdict_totals(verdicts: list[ControlVerdict]) -> dict[str, dict[str, int]]:
    """framework -> verdict -> number of controls, every verdict present (0 included)."""
    totals: dict[str, dict[str, int]] = {}
    for v in verdicts:
        totals.setdefault(v.framework, dict.fromkeys(VERDICTS, 0))[v.verdict] += 1
    return totals
