"""controls.csv for the evidence bundle: one row per (framework, control) with its title, its
verdict (scanner.controls.control_verdicts), the rules mapped to it and the basis of each
mapping, the pass/fail/waived/error counts and the failing resources.

It reuses scanner.packs.frameworks.matrix_rows, which reads compiled rules; a ScanReport carries the
rules as dicts (they may come from a saved results file), so each is adapted here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from scanner.packs.frameworks import ControlRef, ControlVerdict, Framework, control_verdicts, load_catalogs, matrix_rows
from scanner.inputs.problems import InputError
from scanner.report import ScanReport
from scanner.report.escape import csv_cell

COLUMNS = ("framework", "control", "title", "verdict", "basis", "rules", "pass", "fail", "waived", "error",
           "not_applicable", "failing_resources")


@dataclass(frozen=True)
class _RuleMapping:
    id: str
    controls: dict[str, list[ControlRef]]


def rule_mappings(report: ScanReport) -> list[_RuleMapping]:
    return [_RuleMapping(rule["id"], {fw: [ControlRef(fw, ref["id"], ref.get("basis", "judgment"), ref.get("source"))
                                           for ref in refs]
                                      for fw, refs in (rule.get("controls") or {}).items()})
            for rule in report.rules]


def _catalogs() -> dict[str, Framework]:
    try:
        return load_catalogs()
    except InputError:  # titles are a convenience; a broken catalog must not stop the evidence
        return {}


def report_matrix_rows(report: ScanReport) -> list[dict[str, Any]]:
    return matrix_rows(rule_mappings(report), report.results, _catalogs())


def framework_names() -> dict[str, str]:
    return {fid: f"{fw.name} {fw.version}" for fid, fw in _catalogs().items()}


def report_verdicts(report: ScanReport, frameworks: list[str] | None = None) -> list[ControlVerdict]:
    """The verdict of every control the report's rules map to (only `frameworks`, if given,
    else the report's own selection, else all)."""
    return control_verdicts(report.rules, report.results, report.coverage, report.errors, _catalogs(),
                            frameworks or report.frameworks or None)


def render_csv(report: ScanReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    # every framework: the evidence keeps the whole matrix, whatever the reports show
    for v in control_verdicts(report.rules, report.results, report.coverage, report.errors, _catalogs()):
        bases = "; ".join(f"{m['rule']}:{m['basis']}" + (f" ({m['source']})" if m["source"] else "") for m in v.rules)
        writer.writerow([csv_cell(x) for x in (
            v.framework, v.control, v.title, v.verdict, bases, " ".join(sorted({m["rule"] for m in v.rules})),
            v.counts["pass"], v.counts["fail"], v.counts["waived"], v.counts["error"], v.counts["not_applicable"],
            " ".join(v.failing_resources))])
    return buffer.getvalue()
