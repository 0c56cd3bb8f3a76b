"""What the commands print to the terminal: the scan summary (counts by severity and expiry
bucket, the failing rules with their resources, coverage gaps, the gate's verdict), the
triage tables, rule and control listings, collection problems, files written.

Every string that came from outside (certificate fields, ids, paths, tags, messages, waiver
text, provider errors) goes through ``escape.console`` (aliased ``c``): Rich markup escaped,
control characters made visible. Markup in these functions is only ever our own."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scanner.report.layout import Column, print_records

from scanner.model import BUCKETS, SEVERITIES, days_in_words
from scanner.report import ScanReport
from scanner.report.digest import Digest, build_digest
from scanner.report.escape import console as c

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
BUCKET_STYLE = {"EXPIRED": "bold red", "CRITICAL_7D": "red", "WARNING_30D": "yellow",
                "ATTENTION_90D": "cyan", "VALID": "green", "UNKNOWN": "dim"}
MAX_RESOURCES_SHOWN = 5


def print_summary(report: ScanReport, console: Console, digest: Digest | None = None) -> None:
    """The scan's summary, from the view model the reports use."""
    d = digest or build_digest(report)
    console.print(f"[bold]certscan[/bold] scan {c(d.scan_id)}  as of {d.as_of.isoformat()}  "
                  f"certificates: {d.certificates}")

    counts = Table(title="Results", show_edge=False)
    counts.add_column("status")
    counts.add_column("count", justify="right")
    for status, n in d.status_counts.items():
        counts.add_row(c(status), str(n))
    console.print(counts)

    sev = Table(title="Failures by severity", show_edge=False)
    for name in reversed(SEVERITIES):
        sev.add_column(name, justify="right", style=SEVERITY_STYLE[name])
    sev.add_row(*[str(d.severity_counts.get(name, 0)) for name in reversed(SEVERITIES)])
    console.print(sev)

    buckets = d.bucket_counts
    bucket_table = Table(title="Certificates by expiry bucket", show_edge=False)
    names = [b for b in (*BUCKETS, "UNKNOWN") if b in buckets or b in BUCKETS]
    for name in names:
        bucket_table.add_column(name, justify="right", style=BUCKET_STYLE[name])
    bucket_table.add_row(*[str(buckets.get(name, 0)) for name in names])
    console.print(bucket_table)

    if d.rules:  # resource ids are never cut: a narrow terminal gets one block per rule
        rows = []
        for row in sorted(d.rules, key=lambda r: (-SEVERITIES.index(r.severity), r.rule_id)):
            shown = "\n".join(c(resource) for resource in row.resources[:MAX_RESOURCES_SHOWN])
            if len(row.resources) > MAX_RESOURCES_SHOWN:
                shown += f"\n… and {len(row.resources) - MAX_RESOURCES_SHOWN} more"
            rows.append([c(row.rule_id), f"[{SEVERITY_STYLE[row.severity]}]{row.severity}[/]", str(row.failing), shown])
        print_records(console, "Failing rules", FAILING_RULE_COLUMNS, rows)

    for w in d.expired_waivers:
        console.print(f"[yellow]waiver {c(w['id'])} expired {c(w['expires'])}: it no longer waives "
                      f"{c(w['rule'])} on {c(w['resource'])} ({c(w['matched'])} result(s))[/yellow]")

    gate = d.gate
    for reason in gate.get("incomplete", [])[:20]:
        console.print(f"[red]incomplete:[/red] {c(reason)}")
    verdict = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 3: "[red]INCOMPLETE[/red]"}.get(gate.get("exit_code"), "?")
    console.print(f"gate: {verdict}  fail-on={c(gate.get('fail_on'))}  findings at or above: "
                  f"{c(gate.get('findings', 0))}  exit code {c(gate.get('exit_code'))}")


def print_written(paths, console: Console) -> None:
    for path in paths:
        console.print(f"wrote {c(path)}", style="dim")


FAILING_RULE_COLUMNS = [Column("rule"), Column("severity"), Column("count", justify="right"), Column("resources")]
EXPIRING_COLUMNS = [Column("expiry"), Column("bucket"), Column("resource"), Column("owner")]
OWNER_COLUMNS = [Column("owner"), Column("failing", justify="right"), Column("worst"), Column("rules", identifier=False)]


def _more(count: int, file: str | None) -> str | None:
    """The line under a capped list: how many are not shown, and where they all are."""
    if count <= 0:
        return None
    return f"… and {count} more" + (f" (full list in {c(file)})" if file else " (--mode technical lists them all)")


def print_triage(d, mode: str, console: Console, expiring_file: str | None = None,
                 findings_file: str | None = None) -> None:
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
    expiring = d.expiring[:limit]
    more = len(d.expiring) - len(expiring)
    print_records(console, f"Expiring within {d.days} days ({len(d.expiring)})", EXPIRING_COLUMNS,
                  [[c(days_in_words(row.days_to_expiry)), c(row.bucket or "-"), c(row.resource_id), c(row.owner or "-")]
                   for row in expiring],
                  _more(more, expiring_file))
    owners = d.owners[:limit]
    print_records(console, f"Owners to contact ({len(d.owners)})", OWNER_COLUMNS,
                  [[c(row.name), str(row.failing), c(row.worst), c(", ".join(row.rules))] for row in owners],
                  _more(len(d.owners) - len(owners), findings_file))
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


RULE_COLUMNS = [Column("id"), Column("severity"), Column("resource", optional=True),
                Column("title", identifier=False), Column("pack", optional=True)]


def print_rules(console: Console, rules) -> str:
    """`rules list`: ids whole; titles wrap between words (see report.layout)."""
    cells = [[c(r.id), c(r.severity), c(",".join(sorted(r.resources)) if r.resources else "*"), c(r.title),
              c(r.pack.display_path)] for r in rules]
    return print_records(console, f"{len(rules)} rules", RULE_COLUMNS, cells)


def print_rule(rule, data: dict, console: Console) -> None:
    """`rules show`: pack text (titles, control sources, remediation) is outside text, all
    escaped, so a "[stated]" or a control sequence prints as written."""
    console.print(f"[bold]{c(rule.id)}[/bold]  {c(rule.title)}", soft_wrap=True)
    console.print(f"severity: {c(rule.severity)}   resource: {c(', '.join(data['resource']))}   "
                  f"pack: {c(rule.pack.display_path)}:{rule.line}", soft_wrap=True)
    if rule.description and rule.description != rule.title:
        console.print(c(rule.description.strip()), soft_wrap=True)
    for name, p in data["params"].items():
        console.print(c(f"param {name}: {p['value']!r} (default {p['default']!r})"), soft_wrap=True)
    if data["controls"]:
        console.print("controls:")
    for framework, refs in data["controls"].items():
        for ref in refs:
            source = f" — source: {c(ref['source'])}" if ref.get("source") else ""
            console.print(f"  {c(framework)} {c(ref['id'])} {c('[' + str(ref['basis']) + ']')}{source}", soft_wrap=True)
    if rule.remediation:
        console.print(f"remediation: {c(rule.remediation.strip())}", soft_wrap=True)


CONTROL_COLUMNS = [Column("framework"), Column("control"), Column("title", identifier=False, optional=True),
                   Column("rules", identifier=False), Column("pass", justify="right"),
                   Column("fail", justify="right"), Column("waived", justify="right")]


def print_controls(console: Console, rows) -> str:
    """`controls`: framework and control ids whole; titles and rule lists wrap between words."""
    cells = [[c(row["framework"]), c(row["control"]), c(row["title"]), c(", ".join(row["bases"])),
              str(row["pass"]), str(row["fail"]), str(row["waived"])] for row in rows]
    return print_records(console, None, CONTROL_COLUMNS, cells)


DEMO_FINDINGS_SHOWN = 15
FINDING_COLUMNS = [Column("severity"), Column("rule"), Column("domain"), Column("bucket", optional=True),
                   Column("account"), Column("resource", optional=True)]


def print_demo_findings(report: ScanReport, console: Console, findings_file: str | None) -> str:
    """The demo's worst findings, each with its domain, expiry bucket and account, ids whole;
    the rest counted, with the file that lists them all."""
    failing = sorted((r for r in report.results if r.status == "fail"),
                     key=lambda r: (-SEVERITIES.index(r.severity), r.rule_id, r.resource_id))
    shown = failing[:DEMO_FINDINGS_SHOWN]
    cells = []
    for r in shown:
        ctx = r.context or {}
        cells.append([f"[{SEVERITY_STYLE[r.severity]}]{c(r.severity)}[/]", c(r.rule_id), c(ctx.get("domain") or ""),
                      c(ctx.get("expiry_bucket") or ""), c(ctx.get("account") or ctx.get("vault") or ""),
                      c(r.resource_id)])
    more = len(failing) - len(shown)
    footer = None
    if more:
        footer = f"… and {more} more" + (f" (full list in {c(findings_file)})" if findings_file else "")
    return print_records(console, f"Findings ({len(failing)}), worst first", FINDING_COLUMNS, cells, footer)


def print_demo_close(report: ScanReport, console: Console, output_dir: str) -> None:
    """What the gate line means in the demo, and what to run next."""
    findings = sum(1 for r in report.results if r.status == "fail")
    blocking = sum(1 for r in report.results if r.status == "fail" and SEVERITIES.index(r.severity) >= SEVERITIES.index("high"))
    verdict = f"would fail (exit 1) on {blocking} of them" if blocking else "would pass"
    console.print(f"gate: fail-on=none means the demo reports its {findings} findings but fails on none of them "
                  f"(exit {report.gate.get('exit_code')}). A real gate uses --fail-on high, the default: this estate "
                  f"{verdict}.", soft_wrap=True)
    console.print("[bold]Next:[/bold]")
    out = c(output_dir)
    for line in (f"certscan report --results {out}/certscan-results.json --mode technical --output-dir {out}",
                 f"certscan triage --inventory {out}/certscan-inventory.json --days 30",
                 "certscan rules show ACM-003",
                 "certscan scan --aws --profile YOUR_PROFILE --regions all     # your own account"):
        console.print(f"  {line}", soft_wrap=True)


VERDICT_COLUMNS = [Column("control"), Column("verdict", identifier=False), Column("pass", justify="right"),
                   Column("fail", justify="right"), Column("waived", justify="right"),
                   Column("error", justify="right"), Column("rules (basis)", identifier=False)]
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
        rows, notes = [], []
        for v in (v for v in verdicts if v.framework == framework):
            style = VERDICT_STYLE.get(v.verdict, "")
            rows.append([c(v.control), f"[{style}]{v.verdict}[/]" if style else v.verdict,
                         *(str(v.counts[s]) for s in ("pass", "fail", "waived", "error")),
                         c(", ".join(f"{m['rule']} {m['basis']}" for m in v.rules))])
            if v.failing_resources:
                more = len(v.failing_resources) - FAILING_SHOWN
                notes.append(f"{c(v.control)}: {len(v.failing_resources)} failing resource(s)"
                             + (f", the first {FAILING_SHOWN} (--json lists all)" if more > 0 else ""))
                notes += [f"  {c(r)}" for r in v.failing_resources[:FAILING_SHOWN]]
            if v.verdict == "inconclusive":
                notes.append(f"{c(v.control)}: inconclusive, could not judge or read:")
                notes += [f"  {c(r)}" for r in [*v.undecided_resources, *v.unread][:FAILING_SHOWN]]
        print_records(console, f"{c(name)} ({c(framework)}): {summary}", VERDICT_COLUMNS, rows)
        for note in notes:
            console.print(f"  {note}")
        console.print()
