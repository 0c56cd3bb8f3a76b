"""certscan-report.md: the SOP's executive report (mode "executive"), or the same with every
finding listed per rule (mode "technical", for the engineers who fix them).

Sections: generated time and as_of, risk level, expiry buckets with the escalation matrix
(priority, action, who acts, and the owners of the certificates in each bucket), failing
rules by severity, top accounts, owners to contact, certificates expiring within --days,
coverage gaps, waivers. Every value from the scanned estate is escaped: a tag value must
not be able to inject markdown or HTML into the report.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

from scanner.model import SEVERITIES, days_in_words, format_time
from scanner.report.atomic import write_text
from scanner.report import ScanReport, escape
from scanner.report.changes import since_markdown
from scanner.report.formats import OutputFormat
from scanner.report.digest import Digest, build_digest, location_of

REPORT_FILE = "certscan-report.md"
MODES = ("executive", "technical")
EXECUTIVE_LIMIT = 10  # rows per list in the executive mode; technical lists everything

def md(value) -> str:
    """Markdown-escaped text for a table cell or a line (scanner.report.escape); "-" for none."""
    return escape.markdown(value) or "-"


def table(headers: Iterable[str], rows: Iterable[Iterable]) -> list[str]:
    headers = list(headers)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return out


def _limited(items: list, limit: int | None) -> tuple[list, int]:
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def render(report: ScanReport, mode: str = "executive", days: int = 30, digest: Digest | None = None,
           generated_at: datetime | None = None) -> str:
    d = digest or build_digest(report, days, generated_at)
    limit = EXECUTIVE_LIMIT if mode == "executive" else None
    title = "executive report" if mode == "executive" else "technical report"
    lines = [f"# certscan {title}", ""]
    lines += table(["", ""], [
        ("Generated", format_time(d.generated_at)), ("As of", format_time(d.as_of)), ("Scan id", d.scan_id),
        ("Tool version", d.tool_version), ("Certificates", d.certificates),
        ("Results", ", ".join(f"{k} {v}" for k, v in sorted(d.status_counts.items())) or "none"),
    ])
    if report.baseline is not None:  # with a baseline or history, what changed comes first
        lines += [""] + since_markdown(report.baseline, limit)
    lines += ["", f"## Risk level: {d.risk_level}", ""]
    if d.risk_reasons:
        lines += [f"- {md(reason)}" for reason in d.risk_reasons]
    else:
        lines.append("No expired or soon-expiring certificates and no open findings.")
    if d.gaps:
        lines += ["", f"**Coverage incomplete**: {len(d.gaps)} gap(s) (see Coverage gaps); "
                      "the real risk may be higher than shown."]

    lines += ["", "## Expiry buckets and escalation", ""]
    lines += table(["Bucket", "Certificates", "Priority", "Action", "Who acts", "Certificate owners"], [
        (b.bucket, b.certificates, b.escalation.priority, b.escalation.action, b.escalation.owner,
         ", ".join(b.owners) if b.owners and b.bucket != "VALID" else "-")
        for b in d.buckets])

    lines += ["", "## Failing rules by severity", ""]
    lines += [" · ".join(f"{sev}: {d.severity_counts.get(sev, 0)}" for sev in reversed(SEVERITIES)), ""]
    if d.rules:
        lines += table(["Severity", "Rule", "Title", "Failing", "Waived", "Undecided"],
                       [(r.severity, r.rule_id, r.title, r.failing, r.waived, r.errors) for r in d.rules])
    else:
        lines.append("No rule fails.")

    lines += ["", "## Top accounts", ""]
    shown, more = _limited(d.accounts, limit)
    if shown:
        lines += table(["Account / vault / source", "Failing", "Worst", *reversed(SEVERITIES)],
                       [(a.name, a.failing, a.worst, *(a.by_severity.get(s, 0) for s in reversed(SEVERITIES)))
                        for a in shown])
        if more:
            lines.append(f"\n… and {more} more (technical report lists all).")
    else:
        lines.append("No account has a failing result.")

    lines += ["", "## Owners to contact", ""]
    shown, more = _limited(d.owners, limit)
    if shown:
        lines += table(["Owner", "Failing", "Worst", "Rules", "Resources"],
                       [(o.name, o.failing, o.worst, ", ".join(o.rules), _short_list(o.resources, limit))
                        for o in shown])
        if more:
            lines.append(f"\n… and {more} more.")
    else:
        lines.append("Nobody: no failing result.")

    lines += ["", f"## Certificates expiring within {d.days} days (expired included)", ""]
    shown, more = _limited(d.expiring, limit and limit * 2)
    if shown:
        lines += table(["Expiry", "Bucket", "Resource", "Domain", "Where", "Owner"],
                       [(days_in_words(e.days_to_expiry), e.bucket, e.resource_id, e.domain, e.where, e.owner) for e in shown])
        if more:
            lines.append(f"\n… and {more} more.")
    else:
        lines.append("None.")

    lines += ["", "## Coverage gaps", ""]
    if d.gaps:
        shown, more = _limited(d.gaps, limit and limit * 2)
        lines += table(["Kind", "Where", "Detail"], [(g.kind, g.where, g.detail) for g in shown])
        if more:
            lines.append(f"\n… and {more} more.")
    else:
        lines.append("None: every unit was read and every rule could decide.")

    if d.waivers:
        lines += ["", "## Waivers", ""]
        lines += table(["Waiver", "Rule", "Resource", "State", "Expires", "Approved by", "Matched"],
                       [(w.get("id"), w.get("rule"), w.get("resource"), w.get("state"), w.get("expires"),
                         w.get("approved_by"), w.get("matched")) for w in d.waivers])

    if mode == "technical":
        lines += ["", "## Findings", ""]
        lines += _technical_findings(report, d)
    return "\n".join(lines).rstrip() + "\n"


def _short_list(items: list[str], limit: int | None) -> str:
    shown, more = _limited(items, limit and 3)
    return ", ".join(shown) + (f" (+{more} more)" if more else "")


def _technical_findings(report: ScanReport, d: Digest) -> list[str]:
    if not d.findings:
        return ["No failing, waived or undecided result."]
    rules = {r["id"]: r for r in report.rules}
    lines: list[str] = []
    by_rule: dict[str, list] = {}
    for result in d.findings:
        by_rule.setdefault(result.rule_id, []).append(result)
    for rule_id in sorted(by_rule):
        rule = rules.get(rule_id, {})
        lines += [f"### {md(rule_id)}: {md(rule.get('title', rule_id))}", ""]
        if rule.get("remediation"):
            lines += [f"Remediation: {md(rule['remediation'])}", ""]
        if rule.get("help_uri"):
            lines += [f"Reference: {md(rule['help_uri'])}", ""]
        lines += table(["Status", "Severity", "Resource", "Where", "Owner", "Message", "Waiver"], [
            (_status(report, r), r.severity, r.resource_id, _where(r.context), r.context.get("owner"), r.message,
             _waiver_note(r.waiver)) for r in by_rule[rule_id]])
        lines.append("")
    return lines


def _status(report: ScanReport, result) -> str:
    """The status, marked new | existing | changed against the baseline for a failing result."""
    if report.baseline_summary is None or result.status != "fail":
        return result.status
    return f"{result.status} ({report.baseline_labels.get(result.fingerprint, 'new')})"


def _where(context: dict) -> str:
    return location_of(context or {})


def _waiver_note(waiver: dict | None) -> str:
    if not waiver:
        return "-"
    if waiver.get("expired"):
        return f"{waiver.get('id')} expired {waiver.get('expired')}"
    return f"{waiver.get('id')} until {waiver.get('expires')} ({waiver.get('approved_by')}): {waiver.get('justification')}"


def write(report: ScanReport, output_dir: Path, mode: str = "executive", days: int = 30,
          generated_at: datetime | None = None) -> list[Path]:
    return [write_text(Path(output_dir) / REPORT_FILE, render(report, mode, days, generated_at=generated_at))]


FORMAT = OutputFormat(
    "markdown", (REPORT_FILE,), order=40, human=True,
    write=lambda report, output_dir, options: write(report, output_dir, options.mode, options.days,
                                                          options.generated_at),
    bundle=lambda report: {REPORT_FILE: render(report, mode="technical").encode("utf-8")},
    description="the executive or technical report in markdown")
