"""The view model of the human outputs: what the markdown and HTML reports, the console (scan
summary and triage), the GitHub job summary and the e-mail say, computed once from a
ScanReport: the gate's verdict, counts, risk level, expiry buckets with the escalation
matrix, failing rules and certificates, top accounts, owners to contact, certificates
expiring soon, coverage gaps, waivers. Each output renders these sections with its own
escaper (scanner.report.escape); none computes a section itself.

Everything comes from the results and their ``context`` (plus the saved summary), so a
report rebuilt from certscan-results.json (no inventory) says the same as a fresh one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.model import BUCKETS, SEVERITIES, SEVERITY_RANK, SUPERSEDED, CoverageGap, Result, parse_time
from scanner.evaluate.controls import ControlVerdict, verdict_totals
from scanner.report import ScanReport
from scanner.report.control_matrix import report_verdicts
from scanner.report.scope import build_scope

NO_OWNER = "(no owner tag)"
RISK_LEVELS = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "NONE"}


@dataclass(frozen=True)
class Escalation:
    priority: str  # a severity name
    action: str
    owner: str  # who acts, by role


# The SOP's escalation matrix, one row per expiry bucket.
ESCALATION: dict[str, Escalation] = {
    "EXPIRED": Escalation("critical", "Replace immediately", "Incident owner (on-call, opens an incident)"),
    "CRITICAL_7D": Escalation("high", "Renew within 24 hours", "Certificate owner; escalate to the team lead"),
    "WARNING_30D": Escalation("medium", "Schedule renewal this week", "Certificate owner"),
    "ATTENTION_90D": Escalation("low", "Plan renewal", "Certificate owner"),
    "VALID": Escalation("info", "None", "-"),
}


@dataclass
class BucketRow:
    bucket: str
    certificates: int
    escalation: Escalation
    owners: list[str]  # owner tags of the certificates in this bucket


@dataclass
class RuleRow:
    rule_id: str
    title: str
    severity: str  # the worst severity among its failing results
    failing: int
    waived: int
    errors: int
    remediation: str
    resources: list[str] = field(default_factory=list)  # of the failing results, in result order


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


@dataclass
class GroupRow:
    """Failing results grouped by account or by owner."""

    name: str
    failing: int
    worst: str
    by_severity: dict[str, int]
    rules: list[str]
    resources: list[str]


@dataclass
class ExpiringRow:
    resource_id: str
    domain: str | None
    source: str | None
    where: str
    not_after: str | None
    days_to_expiry: int | None
    bucket: str | None
    owner: str | None


@dataclass
class Gap:
    kind: str  # collection-error | incomplete-unit | undecided
    where: str
    detail: str


@dataclass
class Digest:
    scan_id: str
    as_of: datetime
    generated_at: datetime
    tool_version: str
    days: int
    certificates: int
    risk_level: str
    risk_reasons: list[str]
    buckets: list[BucketRow]
    severity_counts: dict[str, int]
    rules: list[RuleRow]
    accounts: list[GroupRow]
    owners: list[GroupRow]
    expiring: list[ExpiringRow]
    gaps: list[Gap]
    waivers: list[dict[str, Any]]
    status_counts: dict[str, int]
    findings: list[Result] = field(default_factory=list)  # fail, waived and error results, worst first
    gate: dict[str, Any] = field(default_factory=dict)  # exit_code, fail_on, findings, incomplete
    evaluations: int = 0  # results
    units: int = 0  # units reached
    bucket_counts: dict[str, int] = field(default_factory=dict)
    failing_certificates: list[FailingCertificate] = field(default_factory=list)
    coverage_gaps: list[CoverageGap] = field(default_factory=list)  # the model's gaps behind ``gaps``

    @property
    def expired_waivers(self) -> list[dict[str, Any]]:
        return [w for w in self.waivers if w.get("state") == "expired"]
    controls: list[ControlVerdict] = field(default_factory=list)  # the report's frameworks only
    control_totals: dict[str, dict[str, int]] = field(default_factory=dict)  # framework -> verdict -> n
    frameworks: dict[str, str] = field(default_factory=dict)  # framework id -> "name version"
    scope: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.gaps


def generated_at(report: ScanReport, given: datetime | None = None) -> datetime:
    """When the report was produced: the time the caller gives (a report rebuilt from saved
    results is produced now, which only the use case may read), else the scan's end, else its
    as_of. Never the wall clock: the same inputs give the same report."""
    return (given or report.finished_at or report.as_of).replace(microsecond=0)


def where_of(context: dict[str, Any]) -> str:
    """Where a resource lives, for grouping: the account (and region), the vault, or the source."""
    if context.get("account"):
        return str(context["account"])
    if context.get("vault"):
        return str(context["vault"])
    return {"file": "files", "tls": "endpoints"}.get(context.get("source") or "", context.get("source") or "unknown")


def location_of(context: dict[str, Any]) -> str:
    parts = [context.get("account"), context.get("region"), context.get("vault")]
    return "/".join(str(p) for p in parts if p) or where_of(context)


def worst(severities) -> str:
    return max(severities, key=SEVERITY_RANK.__getitem__, default="info")


def _by_severity_then_count(row: GroupRow) -> tuple:
    return (-SEVERITY_RANK[row.worst], -row.failing, row.name)


def _group(failing: list[Result], key) -> list[GroupRow]:
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in failing:
        groups[key(result)].append(result)
    rows = []
    for name, items in groups.items():
        rows.append(GroupRow(
            name=name, failing=len(items), worst=worst(r.severity for r in items),
            by_severity=dict(Counter(r.severity for r in items)),
            rules=sorted({r.rule_id for r in items}),
            resources=sorted({r.resource_id for r in items}),
        ))
    return sorted(rows, key=_by_severity_then_count)


def _resource_contexts(report: ScanReport) -> dict[str, dict[str, Any]]:
    """One context per resource (results of the same certificate share it)."""
    contexts: dict[str, dict[str, Any]] = {}
    for result in report.results:
        contexts.setdefault(result.resource_id, result.context)
    return contexts


def _bucket_counts(report: ScanReport, contexts: dict[str, dict[str, Any]]) -> dict[str, int]:
    saved = report.summary.get("certificates_by_bucket")
    if saved:
        return dict(saved)
    return dict(Counter(ctx.get("expiry_bucket") or "UNKNOWN" for ctx in contexts.values()
                        if ctx.get("status") != SUPERSEDED))


def _gaps(coverage_gaps: list[CoverageGap]) -> list[Gap]:
    gaps = []
    for gap in coverage_gaps:
        if gap.error is not None:
            error = gap.error
            where = " ".join(str(v) for v in (error.source, error.account, error.region, error.resource) if v)
            gaps.append(Gap(gap.kind, where or error.unit or "", f"{error.code}: {error.message}"))
        elif gap.result is not None:
            gaps.append(Gap(gap.kind, f"{gap.result.rule_id} {gap.result.resource_id}", gap.result.message))
        else:
            gaps.append(Gap(gap.kind, gap.unit or "", "collection of this unit did not finish"))
    return gaps


def _risk(severity_counts: dict[str, int], buckets: dict[str, int]) -> tuple[str, list[str]]:
    reasons = []
    level = "info"
    for bucket in BUCKETS:
        count = buckets.get(bucket, 0)
        if count and bucket != "VALID":
            priority = ESCALATION[bucket].priority
            reasons.append(f"{count} certificate(s) {bucket}")
            level = worst([level, priority])
    for severity in reversed(SEVERITIES):
        count = severity_counts.get(severity, 0)
        if count and severity != "info":
            reasons.append(f"{count} open {severity} finding(s)")
            level = worst([level, severity])
    return RISK_LEVELS[level], reasons


def _expiring(contexts: dict[str, dict[str, Any]], days: int) -> list[ExpiringRow]:
    rows = []
    for resource_id, ctx in contexts.items():
        left = ctx.get("days_to_expiry")
        if left is None or left > days:
            continue
        owner = ctx.get("owner")
        rows.append(ExpiringRow(resource_id, ctx.get("domain"), ctx.get("source"), location_of(ctx),
                                ctx.get("not_after"), left, ctx.get("expiry_bucket"), owner))
    return sorted(rows, key=lambda r: (r.days_to_expiry, r.resource_id))


def build_digest(report: ScanReport, days: int = 30, generated: datetime | None = None) -> Digest:
    contexts = _resource_contexts(report)
    failing = [r for r in report.results if r.status == "fail"]
    severity_counts = dict(Counter(r.severity for r in failing))
    bucket_counts = _bucket_counts(report, contexts)

    owners_by_bucket: dict[str, set[str]] = defaultdict(set)
    for ctx in contexts.values():
        if ctx.get("expiry_bucket") and ctx.get("status") != SUPERSEDED:
            owners_by_bucket[ctx["expiry_bucket"]].add(ctx.get("owner") or NO_OWNER)
    bucket_names = list(BUCKETS) + (["UNKNOWN"] if bucket_counts.get("UNKNOWN") else [])
    buckets = [BucketRow(name, bucket_counts.get(name, 0),
                         ESCALATION.get(name, Escalation("info", "Check why the expiry date is unknown", "Certificate owner")),
                         sorted(owners_by_bucket.get(name, set())))
               for name in bucket_names]

    rule_rows = []
    titles = {r["id"]: r for r in report.rules}
    per_rule: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        if result.status in ("fail", "waived", "error"):
            per_rule[result.rule_id].append(result)
    for rule_id, items in per_rule.items():
        fails = [r for r in items if r.status == "fail"]
        if not fails:
            continue
        rule = titles.get(rule_id, {})
        rule_rows.append(RuleRow(rule_id, rule.get("title", rule_id), worst(r.severity for r in fails), len(fails),
                                 sum(r.status == "waived" for r in items), sum(r.status == "error" for r in items),
                                 (rule.get("remediation") or "").strip(), [r.resource_id for r in fails]))
    rule_rows.sort(key=lambda r: (-SEVERITY_RANK[r.severity], -r.failing, r.rule_id))

    risk_level, reasons = _risk(severity_counts, bucket_counts)
    findings = sorted((r for r in report.results if r.status in ("fail", "waived", "error")),
                      key=lambda r: ({"fail": 0, "error": 1, "waived": 2}[r.status], -SEVERITY_RANK[r.severity],
                                     r.rule_id, r.resource_id))
    as_of = report.as_of if isinstance(report.as_of, datetime) else parse_time(report.as_of)
    coverage_gaps = report.gaps()
    controls = report_verdicts(report)
    return Digest(
        scan_id=report.scan_id, as_of=as_of, generated_at=generated_at(report, generated), tool_version=report.tool_version,
        days=days, certificates=report.summary.get("certificates", len(contexts)),
        risk_level=risk_level, risk_reasons=reasons, buckets=buckets,
        severity_counts=severity_counts, rules=rule_rows,
        accounts=_group(failing, lambda r: where_of(r.context)),
        owners=_group(failing, lambda r: r.context.get("owner") or NO_OWNER),
        expiring=_expiring(contexts, days), gaps=_gaps(coverage_gaps), waivers=list(report.waivers),
        status_counts=dict(sorted(Counter(r.status for r in report.results).items())), findings=findings,
        gate=dict(report.gate), evaluations=len(report.results), units=len(report.coverage),
        bucket_counts=bucket_counts, failing_certificates=failing_certificates(report.results),
        coverage_gaps=coverage_gaps,
        controls=controls, control_totals=verdict_totals(controls), frameworks=dict(report.framework_names),
        scope=build_scope(report),
    )
