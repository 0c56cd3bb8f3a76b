"""Reporters read a ScanReport and write files; each format is one module with one entry
point ``write(report: ScanReport, output_dir: Path) -> list[Path]``. They never reach back
into collection or evaluation: a ScanReport is plain data, and can be rebuilt from a saved
certscan-results.json (``report --results``), in which case ``inventory`` may be None."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.model import Inventory, Result

RESULTS_FILE = "certscan-results.json"
INVENTORY_FILE = "certscan-inventory.json"

# Evidence comes last: it bundles what the others wrote.
FORMATS: dict[str, str] = {
    "json": "scanner.report.results_json",
    "sarif": "scanner.report.sarif",
    "junit": "scanner.report.junit",
    "markdown": "scanner.report.markdown",
    "csv": "scanner.report.findings",
    "html": "scanner.report.html",
    "oscal": "scanner.report.oscal",
    "evidence": "scanner.evidence.bundle",
}
FORMAT_ORDER = ("json", "sarif", "junit", "markdown", "csv", "html", "oscal", "evidence")


@dataclass
class ScanReport:
    scan_id: str
    as_of: datetime
    rules: list[dict[str, Any]]  # Rule.to_dict() of every rule evaluated, sorted by id
    packs: list[dict[str, Any]]  # name, version, path, display_path, sha256, builtin
    results: list[Result]
    coverage: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)  # exit_code, fail_on, findings, incomplete
    summary: dict[str, Any] = field(default_factory=dict)
    inventory: Inventory | None = None
    tool_version: str = __version__
    # run facts: not part of the deterministic results file, kept for the evidence manifest
    arguments: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    waivers_file: str | None = None
    waivers_sha256: str | None = None  # of the waivers file as the scan read it
    sources: dict[str, Any] = field(default_factory=dict)
    sign_key: str | None = None  # path of the Ed25519 key that signs the evidence manifest (never its bytes)
    frameworks: list[str] = field(default_factory=list)  # frameworks the human reports show (empty: all)
    allow_partial: bool = False  # the gate setting, for the evidence manifest's replay command

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rules if r["id"] == rule_id), None)


def known_formats() -> list[str]:
    return [name for name in FORMAT_ORDER if name in FORMATS]


def write_reports(report: ScanReport, formats: list[str], output_dir: Path) -> dict[str, list[Path]]:
    written: dict[str, list[Path]] = {}
    for name in FORMAT_ORDER:
        if name in formats and name in FORMATS:
            module = importlib.import_module(FORMATS[name])
            written[name] = module.write(report, output_dir)
    return written
