"""The terminal summary: counts by severity and expiry bucket, the failing rules with their
resources, coverage gaps, and the gate's verdict."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from scanner.model import BUCKETS, SEVERITIES
from scanner.report import ScanReport

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
BUCKET_STYLE = {"EXPIRED": "bold red", "CRITICAL_7D": "red", "WARNING_30D": "yellow",
                "ATTENTION_90D": "cyan", "VALID": "green", "UNKNOWN": "dim"}
MAX_RESOURCES_SHOWN = 5


def print_summary(report: ScanReport, console: Console) -> None:
    summary = report.summary
    console.print(f"[bold]certscan[/bold] scan {report.scan_id}  as of {report.as_of.isoformat()}  "
                  f"certificates: {summary.get('certificates', 0)}")

    counts = Table(title="Results", show_edge=False)
    counts.add_column("status")
    counts.add_column("count", justify="right")
    for status, n in summary.get("by_status", {}).items():
        counts.add_row(status, str(n))
    console.print(counts)

    sev = Table(title="Failures by severity", show_edge=False)
    for name in reversed(SEVERITIES):
        sev.add_column(name, justify="right", style=SEVERITY_STYLE[name])
    by_sev = summary.get("failures_by_severity", {})
    sev.add_row(*[str(by_sev.get(name, 0)) for name in reversed(SEVERITIES)])
    console.print(sev)

    buckets = summary.get("certificates_by_bucket", {})
    bucket_table = Table(title="Certificates by expiry bucket", show_edge=False)
    names = [b for b in (*BUCKETS, "UNKNOWN") if b in buckets or b in BUCKETS]
    for name in names:
        bucket_table.add_column(name, justify="right", style=BUCKET_STYLE[name])
    bucket_table.add_row(*[str(buckets.get(name, 0)) for name in names])
    console.print(bucket_table)

    failing: dict[str, list] = defaultdict(list)
    for result in report.results:
        if result.status == "fail":
            failing[result.rule_id].append(result)
    if failing:
        table = Table(title="Failing rules", show_edge=False)
        table.add_column("rule")
        table.add_column("severity")
        table.add_column("count", justify="right")
        table.add_column("resources")
        order = sorted(failing, key=lambda rid: (-max(SEVERITIES.index(r.severity) for r in failing[rid]), rid))
        for rule_id in order:
            items = failing[rule_id]
            worst = max((r.severity for r in items), key=SEVERITIES.index)
            shown = "\n".join(r.resource_id for r in items[:MAX_RESOURCES_SHOWN])
            if len(items) > MAX_RESOURCES_SHOWN:
                shown += f"\n… and {len(items) - MAX_RESOURCES_SHOWN} more"
            table.add_row(rule_id, f"[{SEVERITY_STYLE[worst]}]{worst}[/]", str(len(items)), shown)
        console.print(table)

    expired_waivers = [w for w in report.waivers if w["state"] == "expired"]
    for w in expired_waivers:
        console.print(f"[yellow]waiver {w['id']} expired {w['expires']}: it no longer waives "
                      f"{w['rule']} on {w['resource']} ({w['matched']} result(s))[/yellow]")

    gate = report.gate
    for reason in gate.get("incomplete", [])[:20]:
        console.print(f"[red]incomplete:[/red] {reason}")
    verdict = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 3: "[red]INCOMPLETE[/red]"}.get(gate.get("exit_code"), "?")
    console.print(f"gate: {verdict}  fail-on={gate.get('fail_on')}  findings at or above: {gate.get('findings', 0)}  "
                  f"exit code {gate.get('exit_code')}")
