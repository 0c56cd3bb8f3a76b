"""The scan use case, end to end: collect -> inventory -> evaluate -> results -> report -> gate.
The commands, the demo and the Action all call this; it holds no logic of its own beyond
putting the layers in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from scanner.usecases import clock
from scanner.collect import SourceOptions, registry
from scanner.collect.runner import collect
from scanner.evaluate.evaluation import Evaluation, evaluate_inventory, scan_id_for
from scanner.evaluate.gate import GateDecision, decide
from scanner.inputs.inventory_file import load_inventory
from scanner.model import Inventory
from scanner.timings import phase
from scanner.report import ScanReport, formats as output_formats
from scanner.packs.loader import load_rules, parse_param_overrides
from scanner.evidence.replay import pack_origins
from scanner.packs.frameworks import framework_names
from scanner.packs.waivers import load_waivers, waivers_sha256
from scanner.evaluate.waivers import unmatched_waivers
from scanner.inputs.problems import InputError
from scanner.packs.selection import RuleSelection, select_rules
from scanner.usecases.diff import against_baseline, baseline_fields, load_baseline
from scanner.usecases.history import EXIT_HISTORY, RecordOutcome, record_scan


@dataclass
class ScanSettings:
    rules: list[str] = field(default_factory=list)
    rules_origin: str | None = None  # an evidence manifest naming the packs as the original scan did
    params: list[str] = field(default_factory=list)
    waivers: str | None = None
    as_of: datetime | None = None
    output_dir: Path = Path("reports")
    formats: list[str] = field(default_factory=lambda: ["json"])
    fail_on: str = "high"
    allow_partial: bool = False
    arguments: list[str] = field(default_factory=list)
    sign_key: str | None = None  # Ed25519 private key file that signs the evidence manifest
    selection: RuleSelection = field(default_factory=RuleSelection)  # --check / --skip-check
    sarif_anchor: str | None = None  # SARIF locations of shipped rules (see report.sarif)
    baseline: str | None = None  # results file, evidence bundle, or "history" (the previous recorded scan)
    history: str | None = None  # SQLite file or postgresql:// URL the scan is recorded into
    frameworks: list[str] = field(default_factory=list)  # shown in the human reports; [] = all

@dataclass
class ScanRun:
    report: ScanReport
    evaluation: Evaluation
    gate: GateDecision
    written: dict[str, list[Path]]
    history: RecordOutcome | None = None

    @property
    def exit_code(self) -> int:
        """The gate's code; 5 when the gate passed but the history could not be written
        (a failing or incomplete scan keeps its own code: the history error is on stderr)."""
        if self.gate.exit_code == 0 and self.history is not None and self.history.error:
            return EXIT_HISTORY
        return self.gate.exit_code

def now() -> datetime:
    return clock.now()

def check_formats(formats: list[str]) -> list[str]:
    unknown = output_formats.unknown(formats)
    if unknown:
        raise InputError(f"--format: unknown format(s) {', '.join(unknown)}; "
                         f"available: {', '.join(output_formats.names())}")
    return formats

def sources_phrase() -> str:
    """The options that name something to scan, for messages: '--inventory, --aws, ...'."""
    return ", ".join(["--inventory", *(source.flag for source in registry.sources())])


def gather(sources: SourceOptions, started: datetime) -> Inventory:
    if sources.inventory and sources.live:
        raise InputError("--inventory evaluates a saved inventory; it cannot be combined with live sources")
    if sources.inventory:
        return load_inventory(sources.inventory)
    if not sources.live:
        raise InputError(f"nothing to scan: give --inventory FILE, {registry.source_flags()}")
    return collect(sources, collected_at=started)

def build_report(evaluation: Evaluation, gate: GateDecision, **run: Any) -> ScanReport:
    inventory = evaluation.inventory
    return ScanReport(
        scan_id=evaluation.scan_id,
        as_of=evaluation.as_of,
        rules=[rule.to_dict() for rule in evaluation.rules],
        # a shipped pack is named by its repository path, not where certscan is installed
        packs=[{"name": p.name, "version": p.version, "path": p.display_path if p.builtin else p.path,
                "display_path": p.display_path,
                "sha256": p.sha256, "builtin": p.builtin} for p in evaluation.packs],
        results=evaluation.results,
        coverage=[c.to_dict() for c in sorted(inventory.coverage, key=lambda c: c.unit)],
        errors=inventory.to_dict(certificates=False)["errors"],
        waivers=[w.to_dict() for w in evaluation.waivers],
        gate={"exit_code": gate.exit_code, "fail_on": gate.fail_on, "findings": gate.findings,
              "incomplete": gate.incomplete},
        summary=evaluation.counts(),
        inventory=inventory,
        **run,
    )

def run_scan(sources: SourceOptions, settings: ScanSettings,
             collector: Callable[[datetime], Inventory] | None = None, **report_fields: Any) -> ScanRun:
    """Bad input raises InputError before anything is collected. ``collector`` replaces the
    sources' collection (the event use case reads just the certificates of its events);
    ``report_fields`` are further ScanReport fields (its ``events``)."""
    started = now()
    formats = check_formats(settings.formats)
    origins = pack_origins(settings.rules_origin) if settings.rules_origin else None
    loaded = load_rules(settings.rules or None, parse_param_overrides(settings.params), origins=origins)
    waivers_digest = waivers_sha256(settings.waivers) if settings.waivers else None  # before parsing
    waivers = load_waivers(settings.waivers) if settings.waivers else []
    unmatched = unmatched_waivers(waivers, [rule.id for rule in loaded])  # against every loaded rule, not the selection
    if unmatched:
        raise InputError(unmatched)
    rules = select_rules(loaded, settings.selection)
    sources.rule_ids = frozenset(rule.id for rule in rules)
    as_of = settings.as_of or started
    baseline = load_baseline(settings.baseline, settings.history, as_of)  # bad input before collecting
    with phase("load inventory" if sources.inventory else "collect"):
        inventory = collector(started) if collector is not None else gather(sources, started)
    with phase("scan id"):
        scan_id = scan_id_for(inventory, rules, waivers, as_of)
    with phase("evaluate"):
        evaluation = evaluate_inventory(inventory, rules, waivers, as_of, scan_id)
    with phase("gate and report model"):
        comparison = against_baseline(baseline, evaluation) if settings.baseline else None
        counted = None if comparison is None else frozenset(
            c.fingerprint for c in comparison.changes if c.counts_against_baseline)
        gate = decide(evaluation, settings.fail_on, settings.allow_partial, counted=counted)
        report = build_report(evaluation, gate, arguments=settings.arguments, started_at=started,
                              finished_at=now(), waivers_file=settings.waivers, waivers_sha256=waivers_digest,
                              sources=inventory.metadata.get("sources", {}), sign_key=settings.sign_key,
                              rule_selection=settings.selection.to_dict() if settings.selection else None,
                              sarif_anchor=settings.sarif_anchor, **baseline_fields(comparison),
                              frameworks=list(settings.frameworks), allow_partial=settings.allow_partial,
                              framework_names=framework_names(), **report_fields)
    if gate.incomplete and "json" not in formats:
        formats = ["json", *formats]  # a partial scan always leaves its results and errors behind
    written = output_formats.write_reports(report, formats, settings.output_dir)
    # last: a history that cannot be written never costs the outputs above
    recorded = record_scan(settings.history, report) if settings.history else None
    return ScanRun(report, evaluation, gate, written, recorded)

