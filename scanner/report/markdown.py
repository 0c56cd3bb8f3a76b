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
    lines += _scope_section(d.scope, limit)
    lines += _verdict_summary(d)
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
        lines += table(["Waiver", "Rule", "Resource", "State", "Expires", "Approved by", "Justification", "Matched"],
                       [(w.get("id"), w.get("rule"), w.get("resource"), w.get("state"), w.get("expires"),
                         w.get("approved_by"), w.get("justification"), w.get("matched")) for w in d.waivers])

    lines += _controls_section(d, limit)

    if mode == "technical":
        lines += ["", "## Findings", ""]
        lines += _technical_findings(report, d)
    return "\n".join(lines).rstrip() + "\n"


def _listed(items: list, limit: int | None, what: str) -> str:
    """A list in one cell: all of it, or past the limit its count and the first few."""
    if not items:
        return "none"
    if limit is None or len(items) <= limit:
        return ", ".join(map(str, items))
    return f"{len(items)} {what}: " + ", ".join(map(str, items[:3])) + f" (+{len(items) - 3} more; the technical report and the evidence manifest list all)"


def _scope_section(scope: dict, limit: int | None) -> list[str]:
    accounts = scope.get("aws_accounts") or []
    principals = sorted({a["identity"] for a in accounts if a.get("identity")})
    azure = [f"tenant {i.get('tenant_id')} object {i.get('object_id')}" for i in scope.get("identities") or []
             if i.get("source") == "azure"]
    overridden = [f"{p['rule']}.{p['name']}={p['value']}" for p in scope.get("parameters") or [] if p["overridden"]]
    rows = [
        ("As of", scope.get("as_of")),
        ("Sources", f"{', '.join(scope.get('sources') or []) or 'none'} ({scope.get('units', 0)} units)"),
        ("AWS Organization", ", ".join(scope.get("aws_organizations") or []) or "-"),
        ("AWS accounts", _listed([a["account"] for a in accounts], limit, "accounts")),
        ("Regions", _listed(scope.get("regions") or [], limit, "regions")),
        ("AWS identities", _listed(principals, limit, "principals")),
        ("Azure subscriptions", _listed(scope.get("azure_subscriptions") or [], limit, "subscriptions")),
        ("Azure identities", _listed(azure, limit, "identities")),
        ("Key Vaults", _listed(scope.get("vaults") or [], limit, "vaults")),
        ("Paths", _listed(scope.get("paths") or [], limit, "paths")),
        ("Endpoints", _listed(scope.get("endpoints") or [], limit, "endpoints")),
        ("Rule packs", ", ".join(f"{p['name']} {p['version']} (sha256 {str(p['sha256'])[:12]}…)"
                                 for p in scope.get("rule_packs") or []) or "none"),
        ("Parameters", ", ".join(overridden) or "the rules' defaults"),
        ("Frameworks", scope.get("frameworks") if isinstance(scope.get("frameworks"), str)
         else ", ".join(scope.get("frameworks") or [])),
        ("Coverage gaps", f"{len(scope.get('gaps') or [])}" + (" (see Coverage gaps)" if scope.get("gaps") else "")),
    ]
    return ["", "## Scope", "", *table(["", ""], rows)]


def _framework_title(d: Digest, framework: str) -> str:
    return f"{d.frameworks.get(framework, framework)} ({framework})"


def _verdict_summary(d: Digest) -> list[str]:
    if not d.control_totals:
        return []
    verdicts = list(next(iter(d.control_totals.values())))
    lines = ["", "## Verdict per framework", ""]
    lines += table(["Framework", "Controls", *verdicts],
                   [(_framework_title(d, fw), sum(totals.values()), *(totals[v] for v in verdicts))
                    for fw, totals in sorted(d.control_totals.items())])
    return lines


def _controls_section(d: Digest, limit: int | None) -> list[str]:
    lines = ["", "## Controls", "",
             "A control is *satisfied* when its rules judged at least one resource and none failed; *not "
             "satisfied* on any unwaived fail; *satisfied with exceptions* when every fail is waived; "
             "*inconclusive* when a rule could not decide or a unit it reads was not read; *not assessed* "
             "when no mapped rule judged a resource."]
    for framework in sorted(d.control_totals):
        totals = ", ".join(f"{n} {v}" for v, n in d.control_totals[framework].items() if n)
        lines += ["", f"### {md(_framework_title(d, framework))}: {md(totals)}", ""]
        lines += table(["Control", "Title", "Verdict", "Pass", "Fail", "Waived", "Error", "Rules (basis)",
                        "Failing resources"],
                       [(v.control, v.title, v.verdict, v.counts["pass"], v.counts["fail"], v.counts["waived"],
                         v.counts["error"], ", ".join(f"{m['rule']} {m['basis']}" for m in v.rules),
                         _short_list(v.failing_resources, limit) or "-")
                        for v in d.controls if v.framework == framework])
    return lines


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
