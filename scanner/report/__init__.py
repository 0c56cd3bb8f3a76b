"""Reporters read a ScanReport and write files; each format is one module that declares
``FORMAT`` (see scanner.report.formats, the registry). They never reach back
into collection or evaluation: a ScanReport is plain data, and can be rebuilt from a saved
certscan-results.json (``report --results``), in which case ``inventory`` may be None."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner import __version__
from scanner.model import CollectionError, Coverage, CoverageGap, Inventory, Result, coverage_gaps

RESULTS_FILE = "certscan-results.json"
INVENTORY_FILE = "certscan-inventory.json"


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
    rule_selection: dict[str, Any] | None = None  # --check / --skip-check patterns, when given
    sarif_anchor: str | None = None  # --sarif-anchor: the file of the user's repository shipped rules point at
    # against a baseline (scan --baseline): the comparison in-process (scanner.changes.Comparison);
    # the labels (fingerprint -> new | existing | changed) and summary also survive a results file
    baseline: Any = None
    baseline_labels: dict[str, str] = field(default_factory=dict)
    baseline_summary: dict[str, Any] | None = None
    # certscan event: the EventBridge events answered (id, detail_type, time, certificate_arn, outcome)
    events: list[dict[str, Any]] | None = None
    frameworks: list[str] = field(default_factory=list)  # frameworks the human reports show (empty: all)
    allow_partial: bool = False  # the gate setting, for the evidence manifest's replay command
    framework_names: dict[str, str] = field(default_factory=dict)  # id -> "name version", for headings

    def gaps(self) -> list[CoverageGap]:
        """What this scan could not see or decide (scanner.model.coverage_gaps)."""
        return coverage_gaps([CollectionError.from_dict(e) for e in self.errors],
                             [Coverage.from_dict(c) for c in self.coverage], self.results)

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rules if r["id"] == rule_id), None)
