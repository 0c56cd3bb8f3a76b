"""certscan-results.json (every result, with the scan's coverage and errors) and
certscan-inventory.json (accepted back by --inventory). Deterministic: no wall-clock
fields, sorted keys, results in (rule, resource) order.

Each thing is said once (schema_version 2): a rule's controls and its usual message (the
text its passing results share) in ``rules``, a certificate's context in ``resources``
(keyed by resource id), and each result carries rule_id, resource_id, status, severity,
fingerprint and only what is its own (a message other than the rule's usual one, a
waiver). ``read`` gives back exactly the Result objects that were written, and reads
schema_version 1 files (every result whole) as well."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scanner.inputs.inventory_file import inventory_bytes, save_inventory
from scanner.inputs.problems import InputError, Problem
from scanner.report.formats import OutputFormat
from scanner.inputs.yamlfile import load_json
from scanner.model import Result, format_time, parse_time, result_fingerprint
from scanner.report import INVENTORY_FILE, RESULTS_FILE, ScanReport
from scanner.report.atomic import JsonArray, JsonObject, dumps_json_bytes, write_json
from scanner.timings import phase

SCHEMA_VERSION = 2
CHUNK = 5_000  # results serialized at a time: the dicts of one chunk exist at once, never all
_QUIET = ("pass", "not_applicable")


def _rule_controls(rule: dict[str, Any]) -> dict[str, list[str]]:
    """A result's controls ({framework: [control id]}) as its rule's mappings give them."""
    return {framework: [ref["id"] for ref in refs] for framework, refs in (rule.get("controls") or {}).items()}


def _usual_messages(results: list[Result]) -> dict[str, str]:
    """Per rule, the message of its first passing (or not applicable) result: the rule's
    fixed pass text, which most of its results repeat."""
    usual: dict[str, str] = {}
    for result in results:
        if result.status in _QUIET and result.rule_id not in usual:
            usual[result.rule_id] = result.message
    return usual


def _resources(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Per resource, its context (shared by all its results: see rules.engine)."""
    contexts: dict[str, dict[str, Any]] = {}
    for result in results:
        contexts.setdefault(result.resource_id, result.context)
    return contexts


def _baseline_labels(report: ScanReport) -> dict[str, str] | None:
    """Against a baseline (scan --baseline), fingerprint -> new | existing | changed."""
    return None if report.baseline_summary is None else report.baseline_labels


def _rows(results: list[Result], controls: dict[str, dict], usual: dict[str, str],
          contexts: dict[str, dict], labels: dict[str, str] | None = None) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(results), CHUNK):
        rows = []
        for result in results[start:start + CHUNK]:
            rule_id, resource_id = result.rule_id, result.resource_id
            row = {"rule_id": rule_id, "resource_id": resource_id, "status": result.status,
                   "severity": result.severity, "fingerprint": result_fingerprint(rule_id, resource_id)}
            if result.message != usual.get(rule_id, ""):
                row["message"] = result.message
            expected = controls.get(rule_id)
            if result.controls is not expected and result.controls != expected:
                row["controls"] = result.controls
            context = contexts[resource_id]
            if result.context is not context and result.context != context:
                row["context"] = result.context
            if result.waiver is not None:
                row["waiver"] = result.waiver
            if labels is not None and result.status == "fail":  # each fail says whether it is new
                row["baseline"] = labels.get(row["fingerprint"], "new")
            rows.append(row)
        yield rows


def _resource_chunks(contexts: dict[str, dict]) -> Iterator[dict[str, dict]]:
    ids = sorted(contexts)
    for start in range(0, len(ids), CHUNK):
        yield {resource_id: contexts[resource_id] for resource_id in ids[start:start + CHUNK]}


def results_document(report: ScanReport) -> dict[str, Any]:
    """The results file as a document to write (its results and resources are streamed:
    write it with scanner.report.atomic, once)."""
    results = report.results
    known = {rule["id"] for rule in report.rules}
    usual = {rule_id: text for rule_id, text in _usual_messages(results).items() if rule_id in known}
    contexts = _resources(results)
    controls = {}
    rules = []
    for rule in report.rules:
        controls[rule["id"]] = _rule_controls(rule)
        rules.append({**rule, "pass_message": usual[rule["id"]]} if rule["id"] in usual else rule)
    # A result's controls object is its rule's, shared by all its results: keep that object,
    # so _rows compares by identity (one equality test per rule, not per result).
    pending = set(controls)
    for result in results:
        if result.rule_id in pending and result.controls == controls[result.rule_id]:
            controls[result.rule_id] = result.controls
            pending.discard(result.rule_id)
            if not pending:
                break
    selection = {"rule_selection": report.rule_selection} if report.rule_selection else {}
    document = {
        **selection,
        "schema_version": SCHEMA_VERSION,
        "scan_id": report.scan_id,
        "as_of": format_time(report.as_of),
        "tool": {"name": "certscan", "version": report.tool_version},
        "gate": report.gate,
        "summary": report.summary,
        "packs": report.packs,
        "rules": rules,
        "waivers": report.waivers,
        "coverage": report.coverage,
        "errors": report.errors,
        "resources": JsonObject(_resource_chunks(contexts)),
        "results": JsonArray(_rows(results, controls, usual, contexts, _baseline_labels(report))),
    }
    if report.baseline_summary is not None:
        document["baseline"] = report.baseline_summary
    if report.events is not None:
        document["events"] = report.events
    return document


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    with phase("write json: results"):
        paths = [write_json(output_dir / RESULTS_FILE, results_document(report))]
    if report.inventory is not None:
        with phase("write json: inventory"):
            save_inventory(report.inventory, output_dir / INVENTORY_FILE)
        paths.append(output_dir / INVENTORY_FILE)
    return paths


def _results_v2(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Result]]:
    rules, usual, controls = [], {}, {}
    for rule in data["rules"]:
        rule = dict(rule)
        if "pass_message" in rule:
            usual[rule["id"]] = rule.pop("pass_message")
        controls[rule["id"]] = _rule_controls(rule)
        rules.append(rule)
    contexts = data["resources"]
    results = []
    for row in data["results"]:
        rule_id, resource_id = row["rule_id"], row["resource_id"]
        results.append(Result(
            rule_id, resource_id, row["status"], row["severity"],
            row["message"] if "message" in row else usual.get(rule_id, ""),
            row["controls"] if "controls" in row else controls.get(rule_id, {}),
            row["context"] if "context" in row else contexts[resource_id],
            row.get("waiver")))
    return rules, results


def read(path: str | Path) -> ScanReport:
    """Rebuild a ScanReport from a saved results file (no inventory): schema_version 2, or
    1 (results files and evidence bundles written before it)."""
    data = load_json(path)
    try:
        version = data.get("schema_version")
        if version == 1:
            rules, results = data["rules"], [Result.from_dict(r) for r in data["results"]]
        elif version == SCHEMA_VERSION:
            rules, results = _results_v2(data)
        else:
            raise InputError(Problem(str(path), f"not a certscan results file this version reads: schema_version "
                                                f"{version!r} (expected 1 or {SCHEMA_VERSION})"))
        return ScanReport(
            scan_id=data["scan_id"], as_of=parse_time(data["as_of"]), rules=rules, packs=data["packs"],
            results=results, coverage=data["coverage"],
            errors=data["errors"], waivers=data.get("waivers", []), gate=data.get("gate", {}),
            summary=data.get("summary", {}), tool_version=data.get("tool", {}).get("version", "unknown"),
            rule_selection=data.get("rule_selection"),
            baseline_summary=data.get("baseline"),
            events=data.get("events"),
            baseline_labels={result_fingerprint(r["rule_id"], r["resource_id"]): r["baseline"] for r in data["results"]
                             if isinstance(r.get("baseline"), str)},
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(Problem(str(path), f"not a certscan results file: {type(exc).__name__} {exc}")) from None


def bundle_entries(report: ScanReport) -> dict[str, bytes]:
    entries = {"results.json": dumps_json_bytes(results_document(report))}
    if report.inventory is not None:
        entries["inventory.json"] = inventory_bytes(report.inventory)
    return entries


FORMAT = OutputFormat("json", (RESULTS_FILE, INVENTORY_FILE), order=10,
                      write=lambda report, output_dir, options: write(report, output_dir), bundle=bundle_entries,
                      description="every result, coverage and errors; the inventory (accepted back by --inventory)")
