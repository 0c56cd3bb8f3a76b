"""Findings exports: certscan-findings.csv (the `csv` format) and certscan-findings.json.

A finding is a result someone has to act on or know about: fail, waived (with its waiver)
and error (the rule could not decide). Passes and not-applicable results stay in
certscan-results.json. Rows are sorted worst first, so a spreadsheet opens on what matters.
CSV cells that a spreadsheet would run as a formula (=, +, -, @ ...) are quoted with a
leading apostrophe: tag values and messages come from the scanned estate, not from us.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from scanner.model import SEVERITY_RANK, format_time
from scanner.report.atomic import write_json, write_text
from scanner.report import ScanReport, escape
from scanner.report.formats import OutputFormat

CSV_FILE = "certscan-findings.csv"
JSON_FILE = "certscan-findings.json"
FINDING_STATUSES = ("fail", "error", "waived")

COLUMNS = ("status", "severity", "rule_id", "rule_title", "resource_id", "source", "account", "region", "vault",
           "domain", "not_after", "days_to_expiry", "expiry_bucket", "owner", "message", "controls", "remediation",
           "waiver_id", "waiver_approved_by", "waiver_expires", "waiver_justification", "fingerprint")


def finding_rows(report: ScanReport) -> list[dict[str, Any]]:
    rules = {r["id"]: r for r in report.rules}
    rows = []
    for result in report.results:
        if result.status not in FINDING_STATUSES:
            continue
        ctx = result.context or {}
        rule = rules.get(result.rule_id, {})
        waiver = result.waiver or {}
        rows.append({
            "status": result.status, "severity": result.severity, "rule_id": result.rule_id,
            "rule_title": rule.get("title"), "resource_id": result.resource_id,
            "source": ctx.get("source"), "account": ctx.get("account"), "region": ctx.get("region"),
            "vault": ctx.get("vault"), "domain": ctx.get("domain"), "not_after": ctx.get("not_after"),
            "days_to_expiry": ctx.get("days_to_expiry"), "expiry_bucket": ctx.get("expiry_bucket"),
            "owner": ctx.get("owner"), "message": result.message,
            "controls": "; ".join(f"{fw}: {', '.join(ids)}" for fw, ids in sorted(result.controls.items())),
            "remediation": (rule.get("remediation") or "").strip(),
            "waiver_id": waiver.get("id"), "waiver_approved_by": waiver.get("approved_by"),
            "waiver_expires": waiver.get("expires") or waiver.get("expired"),
            "waiver_justification": waiver.get("justification"), "fingerprint": result.fingerprint,
        })
    order = {status: i for i, status in enumerate(FINDING_STATUSES)}
    rows.sort(key=lambda r: (order[r["status"]], -SEVERITY_RANK[r["severity"]], r["rule_id"], r["resource_id"]))
    return rows


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    return escape.csv_cell(value) if isinstance(value, str) else value


def render_csv(report: ScanReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in finding_rows(report):
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def findings_document(report: ScanReport) -> dict[str, Any]:
    return {"scan_id": report.scan_id, "as_of": format_time(report.as_of),
            "tool": {"name": "certscan", "version": report.tool_version}, "findings": finding_rows(report)}


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    return [write_text(Path(output_dir) / CSV_FILE, render_csv(report))]


def write_json_export(report: ScanReport, output_dir: Path) -> list[Path]:
    return [write_json(Path(output_dir) / JSON_FILE, findings_document(report))]


FORMAT = OutputFormat("csv", (CSV_FILE,), order=50, human=True,
                      write=lambda report, output_dir, options: write(report, output_dir),
                      bundle=lambda report: {CSV_FILE: render_csv(report).encode("utf-8")},
                      description="findings (fail, waived, error) for a spreadsheet")
