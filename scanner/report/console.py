"""What the commands print to the terminal: the scan summary (counts by severity and expiry
bucket, the failing rules with their resources, coverage gaps, the gate's verdict), the
triage tables, rule and control listings, collection problems, files written.

Every string that came from outside (certificate fields, ids, paths, tags, messages, waiver
text, provider errors) goes through ``escape.console`` (aliased ``c``): Rich markup escaped,
control characters made visible. Markup in these functions is only ever our own."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from scanner.model import BUCKETS, SEVERITIES
from scanner.report import ScanReport
from scanner.report.escape import console as c

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
BUCKET_STYLE = {"EXPIRED": "bold red", "CRITICAL_7D": "red", "WARNING_30D": "yellow",
                "ATTENTION_90D": "cyan", "VALID": "green", "UNKNOWN": "dim"}
MAX_RESOURCES_SHOWN = 5


def print_summary(report: ScanReport, console: Console) -> None:
    summary = report.summary
    console.print(f"[bold]certscan[/bold] scan {c(report.scan_id)}  as of {report.as_of.isoformat()}  "
                  f"certificates: {summary.get('certificates', 0)}")

    counts = Table(title="Results", show_edge=False)
    counts.add_column("status")
    counts.add_column("count", justify="right")
    for status, n in summary.get("by_status", {}).items():
        counts.add_row(c(status), str(n))
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
            shown = "\n".join(c(r.resource_id) for r in items[:MAX_RESOURCES_SHOWN])
            if len(items) > MAX_RESOURCES_SHOWN:
                shown += f"\n… and {len(items) - MAX_RESOURCES_SHOWN} more"
            table.add_row(c(rule_id), f"[{SEVERITY_STYLE[worst]}]{worst}[/]", str(len(items)), shown)
        console.print(table)

    expired_waivers = [w for w in report.waivers if w["state"] == "expired"]
    for w in expired_waivers:
        console.print(f"[yellow]waiver {c(w['id'])} expired {c(w['expires'])}: it no longer waives "
                      f"{c(w['rule'])} on {c(w['resource'])} ({c(w['matched'])} result(s))[/yellow]")

    gate = report.gate
    for reason in gate.get("incomplete", [])[:20]:
        console.print(f"[red]incomplete:[/red] {c(reason)}")
    verdict = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 3: "[red]INCOMPLETE[/red]"}.get(gate.get("exit_code"), "?")
    console.print(f"gate: {verdict}  fail-on={c(gate.get('fail_on'))}  findings at or above: "
                  f"{c(gate.get('findings', 0))}  exit code {c(gate.get('exit_code'))}")


def print_written(paths, console: Console) -> None:
    for path in paths:
        console.print(f"wrote {c(path)}", style="dim")


def print_triage(d, mode: str, console: Console) -> None:
    """The triage digest: buckets with escalation, what expires soon, owners to contact, gaps."""
    console.print(f"[bold]certscan triage[/bold] scan {c(d.scan_id)} as of {d.as_of.isoformat()}  "
                  f"certificates: {d.certificates}  risk: [bold]{c(d.risk_level)}[/bold]")
    buckets = Table(title="Expiry buckets and escalation", show_edge=False)
    for column in ("bucket", "certificates", "priority", "action", "who acts"):
        buckets.add_column(column)
    for b in d.buckets:
        buckets.add_row(c(b.bucket), str(b.certificates), c(b.escalation.priority), c(b.escalation.action),
                        c(b.escalation.owner))
    console.print(buckets)
    limit = None if mode == "technical" else 15
    soon = Table(title=f"Expiring within {d.days} days ({len(d.expiring)})", show_edge=False)
    for column in ("days", "bucket", "resource", "owner"):
        soon.add_column(column)
    for row in d.expiring[:limit]:
        soon.add_row(str(row.days_to_expiry), c(row.bucket or "-"), c(row.resource_id), c(row.owner or "-"))
    console.print(soon)
    owners = Table(title="Owners to contact", show_edge=False)
    for column in ("owner", "failing", "worst", "rules"):
        owners.add_column(column)
    for row in d.owners[:limit]:
        owners.add_row(c(row.name), str(row.failing), c(row.worst), c(", ".join(row.rules)))
    console.print(owners)
    for gap in d.gaps[:20]:
        console.print(f"[red]gap:[/red] {c(gap.kind)} {c(gap.where)}: {c(gap.detail)}")


def print_collection_problems(inventory, console: Console) -> None:
    """Units that could not be read (errors first, then units incomplete without an error)."""
    gaps = inventory.gaps()
    errors = [gap.error for gap in gaps if gap.error is not None]
    for error in sorted(errors, key=lambda e: (e.source, e.account or "", e.region or "", e.code)):
        where = " ".join(part for part in (error.source, error.account, error.region, error.service) if part)
        console.print(f"[red]not collected:[/red] {c(where)}: {c(error.code)}: {c(error.message)}", soft_wrap=True)
    for gap in gaps:
        if gap.kind == "incomplete-unit":
            console.print(f"[red]incomplete:[/red] {c(gap.unit)}")


def rules_table(rules) -> Table:
    table = Table(show_edge=False)
    for col in ("id", "severity", "resource", "title", "pack"):
        table.add_column(col)
    for r in rules:
        table.add_row(c(r.id), c(r.severity), c(",".join(sorted(r.resources)) if r.resources else "*"), c(r.title),
                      c(r.pack.display_path))
    return table


def print_rule(rule, data: dict, console: Console) -> None:
    console.print(f"[bold]{c(rule.id)}[/bold]  {c(rule.title)}")
    console.print(f"severity: {c(rule.severity)}   resource: {c(', '.join(data['resource']))}   "
                  f"pack: {c(rule.pack.display_path)}:{rule.line}")
    if rule.description and rule.description != rule.title:
        console.print(c(rule.description))
    for name, p in data["params"].items():
        console.print(c(f"param {name}: {p['value']!r} (default {p['default']!r})"))
    for fw, refs in data["controls"].items():
        console.print(c(f"{fw}: " + ", ".join(f"{r['id']} [{r['basis']}]" for r in refs)))
    if rule.remediation:
        console.print(f"remediation: {c(rule.remediation.strip())}")


def controls_table(rows) -> Table:
    table = Table(show_edge=False)
    for col in ("framework", "control", "title", "rules", "pass", "fail", "waived"):
        table.add_column(col)
    for row in rows:
        table.add_row(c(row["framework"]), c(row["control"]), c(row["title"]), c(", ".join(row["bases"])),
                      str(row["pass"]), str(row["fail"]), str(row["waived"]))
    return table


FAILING_SHOWN = 3  # failing resources named per control on the console; --json lists all
VERDICT_STYLE = {"not satisfied": "bold red", "inconclusive": "yellow", "satisfied with exceptions": "cyan",
                 "satisfied": "green", "not assessed": "dim"}


def print_control_verdicts(verdicts, catalogs, console: Console) -> None:
    """One table per framework: each control's verdict, counts and rules (with basis), then
    its first failing resources (or what it could not read)."""
    from scanner.evaluate.controls import verdict_totals
    totals = verdict_totals(verdicts)
    for framework in sorted(totals):
        catalog = catalogs.get(framework)
        name = f"{catalog.name} {catalog.version}" if catalog else framework
        summary = ", ".join(f"{n} {verdict}" for verdict, n in totals[framework].items() if n)
        table = Table(title=f"{c(name)} ({c(framework)}): {summary}", title_justify="left", show_edge=False)
        for col in ("control", "verdict", "pass", "fail", "waived", "error", "rules (basis)"):
            table.add_column(col, overflow="fold")
        notes = []
        for v in (v for v in verdicts if v.framework == framework):
            style = VERDICT_STYLE.get(v.verdict, "")
            table.add_row(c(v.control), f"[{style}]{v.verdict}[/]" if style else v.verdict,
                          *(str(v.counts[s]) for s in ("pass", "fail", "waived", "error")),
                          c(", ".join(f"{m['rule']} {m['basis']}" for m in v.rules)))
            if v.failing_resources:
                more = len(v.failing_resources) - FAILING_SHOWN
                notes.append(f"{c(v.control)}: {len(v.failing_resources)} failing resource(s)"
                             + (f", the first {FAILING_SHOWN} (--json lists all)" if more > 0 else ""))
                notes += [f"  {c(r)}" for r in v.failing_resources[:FAILING_SHOWN]]
            if v.verdict == "inconclusive":
                notes.append(f"{c(v.control)}: inconclusive, could not judge or read:")
                notes += [f"  {c(r)}" for r in [*v.undecided_resources, *v.unread][:FAILING_SHOWN]]
        console.print(table)
        for note in notes:
            console.print(f"  {note}")
        console.print()
