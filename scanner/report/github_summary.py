"""The GitHub job summary ($GITHUB_STEP_SUMMARY): the gate's verdict, counts by severity and
expiry bucket, the failing certificates and the coverage gaps, in GitHub-flavoured markdown.

It reads a saved certscan-results.json (through ``results_json.read``), so the Action can
summarise any scan that left its results behind, exit code 1 and 3 included. Every value
that comes from an inventory (resource ids, domains, messages) is escaped: a certificate's
subject is outside data and must not be able to inject markdown or HTML into the summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.model import BUCKETS, SEVERITIES, SEVERITY_RANK, STATUSES, Result, days_in_words, format_time
from scanner.report import ScanReport, escape
from scanner.report.results_json import read

# GitHub caps a step summary at 1 MiB; long lists are cut well before that and point at the
# results file, which always holds everything.
MAX_CERTIFICATE_ROWS = 50
MAX_GAP_ROWS = 50

VERDICTS = {0: "✅ PASS", 1: "❌ FAIL", 3: "⚠️ INCOMPLETE"}
md_text = escape.markdown  # outside text made inert for a markdown cell or line


def table(headers: list[str], rows: list[list[str]], align_right: set[int] | None = None) -> list[str]:
    align_right = align_right or set()
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if i in align_right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


@dataclass
class FailingCertificate:
    """One certificate with at least one unwaived failure; its rules, worst first."""

    resource_id: str
    context: dict[str, Any]
    failures: list[Result] = field(default_factory=list)

    @property
    def worst(self) -> str:
        return max((r.severity for r in self.failures), key=SEVERITY_RANK.__getitem__)

    def sort_key(self) -> tuple[int, str]:
        return (-SEVERITY_RANK[self.worst], self.resource_id)


def failing_certificates(results: list[Result]) -> list[FailingCertificate]:
    by_resource: dict[str, FailingCertificate] = {}
    for result in results:
        if result.status != "fail":
            continue
        cert = by_resource.setdefault(result.resource_id, FailingCertificate(result.resource_id, result.context))
        cert.failures.append(result)
    for cert in by_resource.values():
        cert.failures.sort(key=lambda r: (-SEVERITY_RANK[r.severity], r.rule_id))
    return sorted(by_resource.values(), key=FailingCertificate.sort_key)


def gates(severity: str, fail_on: str) -> bool:
    return fail_on != "none" and fail_on in SEVERITY_RANK and SEVERITY_RANK[severity] >= SEVERITY_RANK[fail_on]


def _expiry(context: dict[str, Any]) -> str:
    bucket = context.get("expiry_bucket")
    days = context.get("days_to_expiry")
    if bucket is None:
        return "unknown"
    return md_text(bucket if days is None else f"{bucket} ({days_in_words(days)})")


def _headline(report: ScanReport) -> list[str]:
    gate = report.gate
    code = gate.get("exit_code")
    fail_on = gate.get("fail_on", "high")
    verdict = VERDICTS.get(code, f"exit code {code}")
    findings = f"{gate.get('findings', 0)} finding(s) at or above `{md_text(fail_on)}`"
    if code == 3:
        detail = "the scan could not read everything (see coverage gaps)"
        if fail_on != "none":
            detail += f"; {findings} in what it read"
    elif fail_on == "none":
        detail = "fail-on `none`: findings do not fail the job"
    else:
        detail = findings
    summary = report.summary
    return [
        f"## certscan: {verdict} — {detail}",
        "",
        f"Scan `{md_text(report.scan_id)}` as of {md_text(format_time(report.as_of))}"
        f" · certscan {md_text(report.tool_version)}"
        f" · {summary.get('certificates', 0)} certificate(s) · {len(report.results)} evaluation(s)"
        f" · {len(report.coverage)} unit(s) reached",
        "",
    ]


def _counts(report: ScanReport) -> list[str]:
    summary = report.summary
    by_sev = summary.get("failures_by_severity", {})
    severities = list(reversed(SEVERITIES))
    lines = ["### Failures by severity", ""]
    lines += table(severities, [[str(by_sev.get(s, 0)) for s in severities]], set(range(len(severities))))
    buckets = summary.get("certificates_by_bucket", {})
    names = list(BUCKETS) + (["UNKNOWN"] if buckets.get("UNKNOWN") else [])
    lines += ["", "### Certificates by expiry bucket", ""]
    lines += table(names, [[str(buckets.get(b, 0)) for b in names]], set(range(len(names))))
    by_status = summary.get("by_status", {})
    lines += ["", "### Results", ""]
    lines += table(list(STATUSES), [[str(by_status.get(s, 0)) for s in STATUSES]], set(range(len(STATUSES))))
    return lines + [""]


def _failing(report: ScanReport) -> list[str]:
    certs = failing_certificates(report.results)
    fail_on = report.gate.get("fail_on", "high")
    if not certs:
        return ["### Failing certificates", "", "None: no unwaived failure.", ""]
    blocking = sum(1 for c in certs if gates(c.worst, fail_on))
    lines = [f"### Failing certificates ({len(certs)})", ""]
    if fail_on == "none":
        lines.append("`fail-on: none`: listed for information; none of them fails the job.")
    else:
        lines.append(f"{blocking} of them have a failure at or above `{md_text(fail_on)}` "
                     "(in **bold**) and fail the job.")
    lines.append("")
    rows = []
    for cert in certs[:MAX_CERTIFICATE_ROWS]:
        rules = ", ".join(
            (f"**{md_text(r.rule_id)} ({r.severity})**" if gates(r.severity, fail_on)
             else f"{md_text(r.rule_id)} ({r.severity})")
            for r in cert.failures)
        worst = f"**{cert.worst}**" if gates(cert.worst, fail_on) else cert.worst
        rows.append([worst, md_text(cert.resource_id), md_text(cert.context.get("domain") or ""),
                     _expiry(cert.context), rules])
    lines += table(["Worst", "Certificate", "Domain", "Expiry", "Failed rules"], rows)
    if len(certs) > MAX_CERTIFICATE_ROWS:
        lines += ["", f"… and {len(certs) - MAX_CERTIFICATE_ROWS} more: every result is in "
                      "`certscan-results.json` and the SARIF file."]
    return lines + [""]


def _coverage_gaps(report: ScanReport) -> list[str]:
    lines = ["### Coverage gaps", ""]
    gaps = report.gaps()
    incomplete = [gap.unit for gap in gaps if gap.kind == "incomplete-unit"]
    undecided = [gap.result for gap in gaps if gap.kind == "undecided"]
    if not gaps:
        return lines + [f"None: all {len(report.coverage)} unit(s) reached were read completely.", ""]
    if report.errors:
        rows = [[md_text(e.get(k) or "") for k in ("source", "account", "region", "service", "code", "message")]
                for e in report.errors[:MAX_GAP_ROWS]]
        for row, error in zip(rows, report.errors):
            if not error.get("region") and error.get("resource"):
                row[2] = md_text(error["resource"])  # a vault, file or endpoint has no region
        lines += [f"{len(report.errors)} collection error(s):", ""]
        lines += table(["Source", "Account", "Region / resource", "Service", "Code", "Message"], rows)
        if len(report.errors) > MAX_GAP_ROWS:
            lines.append(f"\n… and {len(report.errors) - MAX_GAP_ROWS} more in `certscan-results.json`.")
        lines.append("")
    if incomplete:
        lines += [f"{len(incomplete)} unit(s) were only partly read:", ""]
        lines += [f"- {md_text(unit)}" for unit in incomplete[:MAX_GAP_ROWS]]
        lines.append("")
    if undecided:
        lines += [f"{len(undecided)} rule evaluation(s) could not decide (status `error`):", ""]
        rows = [[md_text(r.rule_id), md_text(r.resource_id), md_text(r.message)] for r in undecided[:MAX_GAP_ROWS]]
        lines += table(["Rule", "Certificate", "Why"], rows)
        lines.append("")
    if report.gate.get("exit_code") != 3:
        lines += ["`allow-partial` is set: these gaps do not fail the job.", ""]
    return lines


def _waivers(report: ScanReport) -> list[str]:
    waived = Counter(r.rule_id for r in report.results if r.status == "waived")
    expired = [w for w in report.waivers if w.get("state") == "expired"]
    if not (waived or expired):
        return []
    lines = ["### Waivers", ""]
    if waived:
        lines.append(f"{sum(waived.values())} result(s) waived: "
                     + ", ".join(f"{md_text(rule)} ×{n}" for rule, n in sorted(waived.items())) + ".")
    for w in expired:
        lines.append(f"- waiver {md_text(w.get('id'))} expired {md_text(w.get('expires'))}: it no longer waives "
                     f"{md_text(w.get('rule'))} on {md_text(w.get('resource'))}")
    return lines + [""]


def render(report: ScanReport) -> str:
    lines = _headline(report) + _counts(report) + _failing(report) + _coverage_gaps(report) + _waivers(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_file(results_file: str | Path) -> str:
    return render(read(results_file))
