"""The rule -> control matrix: one row per (framework, control) with its title, the rules
mapped to it and the basis of each mapping, and the pass/fail/waived counts, shown by
`certscan controls`; and controls.csv in the evidence bundle: the same with each control's
verdict (scanner.packs.frameworks.control_verdicts) and its failing resources.

Control titles travel with the rules (resolved from the catalogs when the packs loaded), so
nothing here reads a catalog. A ScanReport carries the rules as dicts (they may come from a
saved results file), so each is adapted to the compiled rules' shape.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from scanner.evaluate.controls import ControlVerdict, control_verdicts
from scanner.report import ScanReport
from scanner.report.escape import csv_cell
from scanner.rules.model import ControlRef

COLUMNS = ("framework", "control", "title", "verdict", "basis", "rules", "pass", "fail", "waived", "error",
           "not_applicable", "failing_resources")


@dataclass(frozen=True)
class _RuleMapping:
    id: str
    controls: dict[str, list[ControlRef]]


def rule_mappings(report: ScanReport) -> list[_RuleMapping]:
    return [_RuleMapping(rule["id"], {fw: [ControlRef(fw, ref["id"], ref.get("basis", "judgment"), ref.get("source"),
                                                      ref.get("title", ""))
                                           for ref in refs]
                                      for fw, refs in (rule.get("controls") or {}).items()})
            for rule in report.rules]


def matrix_rows(rules, results=None) -> list[dict[str, Any]]:
    """One row per (framework, control): its title, the mapped rules with their basis, and
    result counts when results are given. Sorted, so two runs diff cleanly."""
    counts: dict[str, dict[str, int]] = {}
    for result in results or []:
        tally = counts.setdefault(result.rule_id, {})
        tally[result.status] = tally.get(result.status, 0) + 1
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in rules:
        for framework, refs in rule.controls.items():
            for ref in refs:
                row = rows.setdefault((framework, ref.id), {
                    "framework": framework, "control": ref.id, "title": ref.title,
                    "rules": [], "bases": [], "pass": 0, "fail": 0, "waived": 0, "error": 0, "not_applicable": 0,
                })
                row["title"] = row["title"] or ref.title
                row["rules"].append(rule.id)
                row["bases"].append(f"{rule.id}:{ref.basis}" + (f" ({ref.source})" if ref.source else ""))
                for status, n in counts.get(rule.id, {}).items():
                    row[status] = row.get(status, 0) + n
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], _natural(k[1])))]


def _natural(control_id: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", control_id)]


def report_matrix_rows(report: ScanReport) -> list[dict[str, Any]]:
    return matrix_rows(rule_mappings(report), report.results)


def report_verdicts(report: ScanReport, frameworks: list[str] | None = None) -> list[ControlVerdict]:
    """The verdict of every control the report's rules map to (only `frameworks`, if given,
    else the report's own selection, else all)."""
    return control_verdicts(report.rules, report.results, report.coverage, report.errors, None,
                            frameworks or report.frameworks or None)


def render_csv(report: ScanReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    # every framework: the evidence keeps the whole matrix, whatever the reports show
    for v in control_verdicts(report.rules, report.results, report.coverage, report.errors):
        bases = "; ".join(f"{m['rule']}:{m['basis']}" + (f" ({m['source']})" if m["source"] else "") for m in v.rules)
        writer.writerow([csv_cell(x) for x in (
            v.framework, v.control, v.title, v.verdict, bases, " ".join(sorted({m["rule"] for m in v.rules})),
            v.counts["pass"], v.counts["fail"], v.counts["waived"], v.counts["error"], v.counts["not_applicable"],
            " ".join(v.failing_resources))])
    return buffer.getvalue()
