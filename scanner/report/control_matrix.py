"""controls.csv for the evidence bundle: one row per (framework, control) with its title, the
rules mapped to it and the basis of each mapping, and the pass/fail/waived counts.

It reuses scanner.packs.frameworks.matrix_rows, which reads compiled rules; a ScanReport carries the
rules as dicts (they may come from a saved results file), so each is adapted here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from scanner.packs.frameworks import ControlRef, Framework, load_catalogs, matrix_rows
from scanner.inputs.problems import InputError
from scanner.report import ScanReport

COLUMNS = ("framework", "control", "title", "basis", "rules", "pass", "fail", "waived", "error", "not_applicable")


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


def render_csv(report: ScanReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report_matrix_rows(report):
        writer.writerow([row["framework"], row["control"], row["title"], "; ".join(row["bases"]),
                         " ".join(sorted(set(row["rules"]))), row["pass"], row["fail"], row["waived"],
                         row["error"], row["not_applicable"]])
    return buffer.getvalue()
