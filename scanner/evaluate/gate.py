"""The gate: the exit code a pipeline acts on.

0  nothing unwaived at or above --fail-on
1  findings (unwaived fails) at or above --fail-on
2  usage, config or rule-pack error (raised before evaluation; see cli)
3  the scan could not see everything (a collection error, an incomplete unit, or a rule
   that could not decide: an `error` result) and --allow-partial was not given.
3 wins over 1: a partial scan's list of findings is not known to be the whole list.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.evaluate.evaluation import Evaluation
from scanner.model import SEVERITY_RANK, CoverageGap, coverage_gaps

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")


@dataclass(frozen=True)
class GateDecision:
    exit_code: int
    fail_on: str
    findings: int  # unwaived fails at or above fail_on
    incomplete: list[str]  # why the scan is partial


def decide(evaluation: Evaluation, fail_on: str = "high", allow_partial: bool = False) -> GateDecision:
    threshold = None if fail_on == "none" else SEVERITY_RANK[fail_on]
    findings = 0 if threshold is None else sum(
        1 for r in evaluation.results if r.status == "fail" and SEVERITY_RANK[r.severity] >= threshold)
    inventory = evaluation.inventory
    gaps = coverage_gaps(inventory.errors, inventory.coverage, evaluation.results)
    incomplete = [_reason(gap) for gap in gaps if gap.kind != "undecided"]
    undecided = sum(1 for gap in gaps if gap.kind == "undecided")
    if undecided:
        incomplete.append(f"{undecided} rule evaluation(s) could not decide (status error)")
    if incomplete and not allow_partial:
        code = EXIT_INCOMPLETE
    elif findings:
        code = EXIT_FINDINGS
    else:
        code = EXIT_OK
    return GateDecision(code, fail_on, findings, incomplete)


def _reason(gap: CoverageGap) -> str:
    error = gap.error
    if error is None:
        return f"unit {gap.unit} incomplete"
    return " ".join(part for part in (error.source, error.account, error.region, error.resource, f"{error.code}:")
                    if part) + f" {error.message}"
