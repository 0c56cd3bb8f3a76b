"""certscan.sarif: SARIF 2.1.0 for GitHub code scanning, built with sarif-om.

What GitHub needs, and how it is met:
- each rule: id, name, short/full description, help (text and markdown: remediation and the
  mapped controls), helpUri, properties.tags (with "security", so that security-severity is
  read) and properties.security-severity (a numeric string);
- each result: a message that names the resource, a repository-relative file as its first
  location (the rule pack and the line where the rule is defined: a certificate has no file,
  the policy that judged it does), the resource as a logical location, and
  partialFingerprints from Result.fingerprint, stable across runs;
- only failing, unwaived results. GitHub ignores SARIF suppressions, so a waived result in
  this file would be an open alert; waived results are kept, with suppressions, in the
  evidence bundle's copy (``build(report, include_suppressed=True)``);
- upload limits: at most MAX_RESULTS results per run and MAX_GZIP_BYTES gzipped. Past them
  the most severe results are kept and the run says so (properties and a notification),
  as does stderr.
Serialised deterministically: sorted keys, None dropped, results in (rule, resource) order.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path
from typing import Any

import attr
import sarif_om as om

from scanner.model import SEVERITY_RANK, Result, format_time
from scanner.report.atomic import dumps_json_bytes, write_bytes
from scanner.report import ScanReport
from scanner.report.formats import OutputFormat

SARIF_FILE = "certscan.sarif"
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "certscanResource/v1"

# GitHub code scanning upload limits (results per run; the gzipped file).
MAX_RESULTS = 25_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_TAGS = 20  # GitHub reads at most 20 tags per rule
MAX_NOTIFICATIONS = 100  # per kind; the rest is summed up in one line (all are in the results file)

# GitHub reads security-severity as: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, < 4 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# Fields whose sarif-om default is a real SARIF default we still want written out.
_ALWAYS_WRITTEN = frozenset({"level", "kind"})


# --- serialisation -----------------------------------------------------------------------

_NO_DEFAULT = object()
_PLANS: dict[type, tuple | None] = {}
_SCALARS = (str, int, float, bool, type(None))


def _plan(cls: type) -> tuple | None:
    """Per sarif-om class, once: (attribute, SARIF property name, default to leave out)."""
    if cls not in _PLANS:
        plan = None
        if attr.has(cls):
            entries = []
            for f in attr.fields(cls):
                default = f.default.factory() if isinstance(f.default, attr.Factory) else f.default
                if f.name in _ALWAYS_WRITTEN or default is attr.NOTHING:
                    default = _NO_DEFAULT
                entries.append((f.name, f.metadata["schema_property_name"], default))
            plan = tuple(entries)
        _PLANS[cls] = plan
    return _PLANS[cls]


def to_plain(value: Any) -> Any:
    """sarif-om objects -> plain JSON data: schema property names, None and unset
    sentinels (index -1 and the like) dropped. Each class's fields are looked up once
    (attr.fields per object was most of writing a large SARIF)."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    plan = _plan(cls)
    if plan is not None:
        out = {}
        for name, prop, default in plan:
            item = getattr(value, name)
            if item is None or (default is not _NO_DEFAULT and item == default):
                continue
            out[prop] = to_plain(item)
        return out
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def dumps(log: dict[str, Any]) -> bytes:
    return dumps_json_bytes(log)


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


# --- rules ---------------------------------------------------------------------------------

def rule_name(title: str, rule_id: str) -> str:
    """A readable identifier (SARIF's reportingDescriptor.name): the title in PascalCase."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or rule_id.replace("-", "")


def _control_lines(rule: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for framework, refs in sorted((rule.get("controls") or {}).items()):
        for ref in refs:
            basis = ref.get("basis", "judgment")
            if ref.get("source"):
                basis += f" ({ref['source']})"
            rows.append((framework, ref["id"], basis))
    return rows


def _md_cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def rule_help(rule: dict[str, Any]) -> om.MultiformatMessageString:
    remediation = (rule.get("remediation") or "").strip() or "See the rule description."
    controls = _control_lines(rule)
    text = [f"Remediation: {remediation}", ""]
    md = ["**Remediation**", "", remediation, ""]
    if controls:
        text.append("Mapped controls:")
        text += [f"- {fw} {cid}: {basis}" for fw, cid, basis in controls]
        md += ["**Mapped controls**", "", "| Framework | Control | Basis |", "| --- | --- | --- |"]
        md += [f"| {_md_cell(fw)} | {_md_cell(cid)} | {_md_cell(basis)} |" for fw, cid, basis in controls]
    pack = rule.get("pack") or {}
    if pack:
        where = f"Defined in {pack.get('file')} line {pack.get('line')} (pack {pack.get('name')} {pack.get('version')})."
        text += ["", where]
        md += ["", where]
    return om.MultiformatMessageString(text="\n".join(text).strip(), markdown="\n".join(md).strip())


def rule_tags(rule: dict[str, Any]) -> list[str]:
    tags = ["security", "certificate"]
    tags += sorted((rule.get("controls") or {}).keys())
    tags += list(rule.get("tags") or [])
    seen: list[str] = []
    for tag in tags:
        if tag not in seen:
            seen.append(tag)
    return seen[:MAX_TAGS]


def reporting_descriptor(rule: dict[str, Any]) -> om.ReportingDescriptor:
    severity = rule.get("severity", "medium")
    title = rule.get("title") or rule["id"]
    return om.ReportingDescriptor(
        id=rule["id"],
        name=rule_name(title, rule["id"]),
        short_description=om.MultiformatMessageString(text=title),
        full_description=om.MultiformatMessageString(text=(rule.get("description") or title).strip()),
        help=rule_help(rule),
        # Every shipped rule has a help_uri; a user rule without one gets none rather than a
        # made-up link (helpUri is optional in SARIF and for GitHub).
        help_uri=rule.get("help_uri"),
        default_configuration=om.ReportingConfiguration(level=LEVEL[severity]),
        properties={
            "tags": rule_tags(rule),
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "very-high",  # a deterministic check of recorded facts
            "severity": severity,
            "controls": {fw: [ref["id"] for ref in refs] for fw, refs in sorted((rule.get("controls") or {}).items())},
        },
    )


def _placeholder_rule(rule_id: str, severity: str) -> dict[str, Any]:
    # A result whose rule is not in the report (should not happen): still a valid, honest entry.
    return {"id": rule_id, "title": rule_id, "severity": severity, "controls": {}, "pack": {}}


# --- results -------------------------------------------------------------------------------

def artifact_uri(pack_file: str | None) -> str:
    """Rule pack paths are repository-relative (policies/aws.yaml). A pack outside the
    repository keeps an absolute file URI rather than a wrong relative one."""
    if not pack_file:
        return "certscan-rules"
    posix = pack_file.replace("\\", "/")
    if posix.startswith(("/", "../")) or re.match(r"^[A-Za-z]:/", posix):
        return Path(pack_file).resolve().as_uri()
    return posix


def result_message(result: Result) -> str:
    """The rule's message, always naming the resource (ARN, Key Vault id, path, host:port)."""
    if result.resource_id in result.message:
        return result.message
    return f"{result.resource_id}: {result.message}"


def sarif_result(result: Result, rule: dict[str, Any], rule_index: int) -> om.Result:
    pack = rule.get("pack") or {}
    line = pack.get("line") or 1
    ctx = result.context or {}
    properties = {
        "severity": result.severity,
        "security-severity": SECURITY_SEVERITY[result.severity],
        "resource": result.resource_id,
        "controls": result.controls,
        **{key: ctx.get(key) for key in ("source", "account", "region", "vault", "domain", "expiry_bucket",
                                         "days_to_expiry", "not_after", "owner") if ctx.get(key) is not None},
    }
    out = om.Result(
        rule_id=result.rule_id,
        rule_index=rule_index,
        level=LEVEL[result.severity],
        kind="fail",
        message=om.Message(text=result_message(result)),
        locations=[om.Location(
            physical_location=om.PhysicalLocation(
                artifact_location=om.ArtifactLocation(uri=artifact_uri(pack.get("file"))),
                region=om.Region(start_line=max(1, int(line))),
            ),
            logical_locations=[om.LogicalLocation(
                name=ctx.get("domain") or result.resource_id,
                fully_qualified_name=result.resource_id,
                kind="resource",
            )],
        )],
        partial_fingerprints={FINGERPRINT_KEY: result.fingerprint},
        properties=properties,
    )
    if result.status == "waived" and result.waiver:
        waiver = result.waiver
        out.suppressions = [om.Suppression(
            kind="external",
            justification=waiver.get("justification"),
            properties={"waiver": waiver.get("id"), "approved_by": waiver.get("approved_by"),
                        "expires": waiver.get("expires"), "original_status": waiver.get("original_status")},
        )]
    return out


def _accepted(result: dict[str, Any]) -> dict[str, Any]:
    # sarif-om 1.0.4 follows a pre-release schema whose Suppression has "state"; SARIF 2.1.0
    # calls it "status". Waivers are approved exceptions: accepted.
    for suppression in result.get("suppressions", []):
        suppression["status"] = "accepted"
    return result


def _notifications(report: ScanReport) -> list[om.Notification]:
    errors = []
    for error in report.errors:
        where = " ".join(str(error.get(k)) for k in ("source", "account", "region", "resource") if error.get(k))
        errors.append(om.Notification(level="error", message=om.Message(
            text=f"collection error {error.get('code')} at {where or error.get('unit')}: {error.get('message')}")))
    undecided = [om.Notification(level="warning", message=om.Message(
        text=f"{r.rule_id} could not decide for {r.resource_id}: {r.message}"),
        associated_rule=om.ReportingDescriptorReference(id=r.rule_id))
        for r in report.results if r.status == "error"]
    return _capped(errors, "collection errors") + _capped(undecided, "undecided results")


def _capped(notes: list[om.Notification], what: str) -> list[om.Notification]:
    if len(notes) <= MAX_NOTIFICATIONS:
        return notes
    rest = len(notes) - MAX_NOTIFICATIONS
    return notes[:MAX_NOTIFICATIONS] + [om.Notification(level=notes[0].level, message=om.Message(
        text=f"... and {rest} more {what} (every one is in certscan-results.json)"))]


# --- the log -------------------------------------------------------------------------------

def build(report: ScanReport, include_suppressed: bool = False, enforce_limits: bool = True) -> dict[str, Any]:
    """The SARIF log as plain data. include_suppressed adds waived results with their
    suppressions (the evidence copy); enforce_limits applies GitHub's upload limits."""
    rules = list(report.rules)
    known = {r["id"] for r in rules}
    wanted = {"fail", "waived"} if include_suppressed else {"fail"}
    selected = [r for r in report.results if r.status in wanted]
    for result in selected:
        if result.rule_id not in known:
            rules.append(_placeholder_rule(result.rule_id, result.severity))
            known.add(result.rule_id)
    rules.sort(key=lambda r: r["id"])
    index = {r["id"]: i for i, r in enumerate(rules)}
    # Results are converted once; truncation only chooses which of them go in.
    plain = [_accepted(to_plain(sarif_result(r, rules[index[r.rule_id]], index[r.rule_id]))) for r in selected]

    def assemble(chosen: list[int], truncation: dict[str, Any] | None) -> dict[str, Any]:
        notifications = _notifications(report)
        properties: dict[str, Any] = {"scanId": report.scan_id, "asOf": format_time(report.as_of),
                                      "waivedIncluded": include_suppressed}
        if truncation:
            properties["truncated"] = truncation
            notifications.insert(0, om.Notification(level="warning", message=om.Message(text=truncation["message"])))
        run = om.Run(
            tool=om.Tool(driver=om.ToolComponent(
                name="certscan", version=report.tool_version, semantic_version=report.tool_version,
                rules=[reporting_descriptor(r) for r in rules])),
            invocations=[om.Invocation(
                execution_successful=not report.gate.get("incomplete"),
                tool_execution_notifications=notifications or None)],
            column_kind="unicodeCodePoints",
            properties=properties,
        )
        log = to_plain(om.SarifLog(version=SARIF_VERSION, schema_uri=SARIF_SCHEMA_URI, runs=[run]))
        log["runs"][0]["results"] = [plain[i] for i in chosen]
        return log

    everything = list(range(len(selected)))
    log = assemble(everything, None)
    if not enforce_limits or (len(selected) <= MAX_RESULTS and gzipped_size(dumps(log)) <= MAX_GZIP_BYTES):
        return log
    return _truncated(selected, assemble)


def _truncated(selected: list[Result], assemble) -> dict[str, Any]:
    """Keep the most severe results that fit both limits (binary search on how many),
    written in their usual (rule, resource) order."""
    ranked = sorted(range(len(selected)), key=lambda i: (-SEVERITY_RANK[selected[i].severity], i))

    def attempt(count: int) -> dict[str, Any]:
        omitted = len(selected) - count
        message = (f"certscan kept the {count} most severe of {len(selected)} failing results "
                   f"(GitHub code scanning accepts at most {MAX_RESULTS} results per run and "
                   f"{MAX_GZIP_BYTES} bytes gzipped); {omitted} omitted. Every result is in "
                   f"certscan-results.json and the evidence bundle.")
        return assemble(sorted(ranked[:count]), {
            "total": len(selected), "kept": count, "omitted": omitted,
            "lowestSeverityKept": selected[ranked[count - 1]].severity if count else None, "message": message})

    high = min(len(selected), MAX_RESULTS)
    best = attempt(high)
    high_size = gzipped_size(dumps(best))
    if high_size <= MAX_GZIP_BYTES:  # only the count limit was in the way
        return best
    # Compressed size grows about linearly with the count: interpolate (Illinois false
    # position) between a count that fits and one that does not; each probe serialises the
    # whole log, so a few probes beat a bisection. Stops within 1% of the most that fits.
    low, best = 0, attempt(0)
    excess_low = gzipped_size(dumps(best)) - MAX_GZIP_BYTES
    excess_high = high_size - MAX_GZIP_BYTES
    kept_side = 0
    while high - low > max(1, high // 100):
        share = -excess_low / (excess_high - excess_low)
        probe = min(high - 1, max(low + 1, low + int((high - low) * share)))
        log = attempt(probe)
        excess = gzipped_size(dumps(log)) - MAX_GZIP_BYTES
        if excess <= 0:
            low, excess_low, best = probe, excess, log
            if kept_side < 0:
                excess_high /= 2
            kept_side = -1
        else:
            high, excess_high = probe, excess
            if kept_side > 0:
                excess_low /= 2
            kept_side = 1
    return best


def truncation_of(log: dict[str, Any]) -> dict[str, Any] | None:
    return log["runs"][0].get("properties", {}).get("truncated")


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    log = build(report)
    truncated = truncation_of(log)
    if truncated:
        print(f"warning: {truncated['message']}", file=sys.stderr)
    return [write_bytes(Path(output_dir) / SARIF_FILE, dumps(log))]


FORMAT = OutputFormat(
    "sarif", (SARIF_FILE,), order=20, write=lambda report, output_dir, options: write(report, output_dir),
    # the bundle's copy keeps waived results (with suppressions) and is never cut to upload limits
    bundle=lambda report: {SARIF_FILE: dumps(build(report, include_suppressed=True, enforce_limits=False))},
    description="SARIF 2.1.0 for GitHub code scanning")
