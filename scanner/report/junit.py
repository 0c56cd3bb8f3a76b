"""certscan-junit.xml: JUnit XML for a CI test tab, valid against the strict Ant JUnit schema.

<testsuites> holds one <testsuite> per rule (name = rule id, package = certscan.<pack>, id
from 0) and in it one <testcase> per evaluated resource (classname = rule id, name = the
resource id): a pass is an empty testcase, a fail has <failure type="SEVERITY">, a waived
result <skipped> with the waiver, an undecided one <error>. not_applicable results are left
out. The strict schema wants hostname, timestamp (no zone), time, properties, system-out
and system-err on every suite: the timestamp is the scan's as_of (deterministic), the
hostname 'localhost' (the resources scanned are elsewhere anyway), times 0 (evaluation is
not timed per rule). Built with ElementTree, never by string concatenation.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import timezone
from pathlib import Path
from typing import Any

from scanner.model import Result, format_time
from scanner.report.atomic import write_bytes
from scanner.report import ScanReport
from scanner.report.formats import OutputFormat

JUNIT_FILE = "certscan-junit.xml"
HOSTNAME = "localhost"
INCLUDED = ("pass", "fail", "waived", "error")

# Characters XML 1.0 cannot carry at all; they are dropped from messages.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: Any) -> str:
    return _INVALID_XML.sub("", "" if text is None else str(text))


def junit_timestamp(report: ScanReport) -> str:
    """as_of in UTC as YYYY-MM-DDTHH:MM:SS: the schema allows no zone and no fraction."""
    return report.as_of.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _package(rule: dict[str, Any]) -> str:
    name = (rule.get("pack") or {}).get("name") or "rules"
    return f"certscan.{name}"


def _details(result: Result, rule: dict[str, Any]) -> str:
    ctx = result.context or {}
    lines = [result.message, "", f"resource: {result.resource_id}"]
    for key in ("source", "account", "region", "vault", "domain", "not_after", "days_to_expiry",
                "expiry_bucket", "owner"):
        if ctx.get(key) is not None:
            lines.append(f"{key}: {ctx[key]}")
    if result.controls:
        lines.append("controls: " + "; ".join(f"{fw} {', '.join(ids)}" for fw, ids in sorted(result.controls.items())))
    if rule.get("remediation"):
        lines.append(f"remediation: {rule['remediation'].strip()}")
    return "\n".join(lines)


def _testcase(parent: ET.Element, result: Result, rule: dict[str, Any]) -> None:
    case = ET.SubElement(parent, "testcase", {"name": clean(result.resource_id), "classname": clean(result.rule_id),
                                              "time": "0"})
    if result.status == "fail":
        failure = ET.SubElement(case, "failure", {"message": clean(result.message), "type": result.severity})
        failure.text = clean(_details(result, rule))
    elif result.status == "waived":
        waiver = result.waiver or {}
        skipped = ET.SubElement(case, "skipped", {"message": clean(
            f"waived by {waiver.get('id')}: {waiver.get('justification')}")})
        skipped.text = clean("\n".join([
            f"waiver: {waiver.get('id')}", f"approved by: {waiver.get('approved_by')}",
            f"expires: {waiver.get('expires')}", f"justification: {waiver.get('justification')}",
            f"original status: {waiver.get('original_status')}", "", _details(result, rule)]))
    elif result.status == "error":
        error = ET.SubElement(case, "error", {"message": clean(result.message), "type": "undecided"})
        error.text = clean(_details(result, rule))


def build(report: ScanReport) -> ET.ElementTree:
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        if result.status in INCLUDED:
            by_rule[result.rule_id].append(result)
    rules = {r["id"]: r for r in report.rules}
    for rule_id in by_rule:
        rules.setdefault(rule_id, {"id": rule_id, "pack": {}})
    root = ET.Element("testsuites")
    timestamp = junit_timestamp(report)
    for suite_id, rule_id in enumerate(sorted(rules)):
        rule = rules[rule_id]
        results = sorted(by_rule.get(rule_id, []), key=lambda r: r.resource_id)
        pack = rule.get("pack") or {}
        suite = ET.SubElement(root, "testsuite", {
            "name": rule_id, "package": _package(rule), "id": str(suite_id),
            "timestamp": timestamp, "hostname": HOSTNAME,
            "tests": str(len(results)),
            "failures": str(sum(r.status == "fail" for r in results)),
            "errors": str(sum(r.status == "error" for r in results)),
            "skipped": str(sum(r.status == "waived" for r in results)),
            "time": "0",
        })
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("scan_id", report.scan_id), ("as_of", format_time(report.as_of)),
            ("tool_version", report.tool_version), ("rule_id", rule_id), ("rule_title", rule.get("title")),
            ("rule_severity", rule.get("severity")), ("rule_pack", pack.get("name")),
            ("rule_pack_version", pack.get("version")), ("rule_pack_file", pack.get("file")),
            ("rule_pack_line", pack.get("line")),
        ):
            if value is not None:
                ET.SubElement(properties, "property", {"name": name, "value": clean(value)})
        for result in results:
            _testcase(suite, result, rule)
        ET.SubElement(suite, "system-out").text = ""
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root, space="  ")
    return ET.ElementTree(root)


def render(report: ScanReport) -> bytes:
    tree = build(report)
    buffer = io.BytesIO()
    tree.write(buffer, encoding="UTF-8", xml_declaration=True)
    return buffer.getvalue() + b"\n"


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    return [write_bytes(Path(output_dir) / JUNIT_FILE, render(report))]


FORMAT = OutputFormat("junit", (JUNIT_FILE,), order=30, write=lambda report, output_dir, options: write(report, output_dir),
                      bundle=lambda report: {JUNIT_FILE: render(report)}, description="JUnit XML, one test per result")
