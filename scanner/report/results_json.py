"""certscan-results.json (every result, with the scan's coverage and errors) and
certscan-inventory.json (accepted back by --inventory). Deterministic: no wall-clock
fields, sorted keys, results in (rule, resource) order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.inputs.inventory_file import save_inventory
from scanner.model import Result, format_time, parse_time
from scanner.report.atomic import write_json
from scanner.inputs.problems import InputError, Problem
from scanner.report import INVENTORY_FILE, RESULTS_FILE, ScanReport
from scanner.inputs.yamlfile import load_json


def results_document(report: ScanReport) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "scan_id": report.scan_id,
        "as_of": format_time(report.as_of),
        "tool": {"name": "certscan", "version": report.tool_version},
        "gate": report.gate,
        "summary": report.summary,
        "packs": report.packs,
        "rules": report.rules,
        "waivers": report.waivers,
        "coverage": report.coverage,
        "errors": report.errors,
        "results": [r.to_dict() for r in report.results],
    }


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    paths = [write_json(output_dir / RESULTS_FILE, results_document(report))]
    if report.inventory is not None:
        save_inventory(report.inventory, output_dir / INVENTORY_FILE)
        paths.append(output_dir / INVENTORY_FILE)
    return paths


def read(path: str | Path) -> ScanReport:
    """Rebuild a ScanReport from a saved results file (no inventory)."""
    data = load_json(path)
    try:
        return ScanReport(
            scan_id=data["scan_id"], as_of=parse_time(data["as_of"]), rules=data["rules"], packs=data["packs"],
            results=[Result.from_dict(r) for r in data["results"]], coverage=data["coverage"],
            errors=data["errors"], waivers=data.get("waivers", []), gate=data.get("gate", {}),
            summary=data.get("summary", {}), tool_version=data.get("tool", {}).get("version", "unknown"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(Problem(str(path), f"not a certscan results file: {exc}")) from None
