"""certscan.prom: the scan as Prometheus metrics, for node_exporter's textfile collector or a
Pushgateway. Built with prometheus_client (a CollectorRegistry, write_to_textfile,
push_to_gateway), which also escapes label values.

Names follow x509-certificate-exporter, so its dashboards and alerts work unchanged:
  x509_cert_not_after, x509_cert_not_before (Unix seconds), x509_cert_expired (0/1 at the
  scan's as_of), labels source, account, region, id, subject_CN, issuer_CN, serial_number
  (one series per certificate; SAN lists are left out to bound cardinality).
And the scan's own:
  certscan_findings{rule,severity}        unwaived failing results
  certscan_results{rule,status}           every result, by status (zeros included)
  certscan_collection_errors{source}      collection errors per source reached or failed
  certscan_scan_complete                  1 when the scan saw everything, else 0
  certscan_last_scan_timestamp_seconds    the scan's as_of (not the wall clock: reporters
                                          never read it, and a replayed scan says when it
                                          judged, which is what alerting on staleness needs)
The x509_* series need the inventory, so they come from a scan (`scan --format prometheus`);
the certscan_* series come from the results alone.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from scanner.model import STATUSES, Certificate
from scanner.inputs.problems import InputError, Problem
from scanner.report import ScanReport
from scanner.report.formats import OutputFormat
from scanner.report.escape import visible

PROM_FILE = "certscan.prom"
JOB = "certscan"
MAX_LABEL = 256  # a hostile certificate cannot make a series megabytes long
CERT_LABELS = ("source", "account", "region", "id", "subject_CN", "issuer_CN", "serial_number")
# CN=value inside an RFC 4514 name; commas and equals signs inside a value are backslash-escaped
_CN = re.compile(r"(?:^|,)\s*CN=((?:\\.|[^,\\])*)", re.IGNORECASE)


def _client():
    try:
        import prometheus_client
    except ImportError:
        raise InputError(Problem("--format", "prometheus needs the metrics extra: pip install 'certscan[metrics]'")) from None
    return prometheus_client


def label(value: Any) -> str:
    """A label value: controls and undecodable bytes made visible (the exposition format is
    UTF-8 text; prometheus_client escapes backslash, quote and newline), length bounded."""
    text = visible(value if value is not None else "")
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def common_name(name: str | None) -> str:
    """The CN of a distinguished name; a name without attributes (ACM's issuer 'Amazon') as is."""
    if not name:
        return ""
    match = _CN.search(name)
    if match:
        return re.sub(r"\\(.)", r"\1", match.group(1)).strip()
    return "" if "=" in name else name


def _cert_labels(cert: Certificate) -> tuple[str, ...]:
    return tuple(label(v) for v in (cert.source, cert.account or cert.vault, cert.region, cert.id,
                                    common_name(cert.subject), common_name(cert.issuer), cert.serial))


def build_registry(report: ScanReport):
    client = _client()
    registry = client.CollectorRegistry()
    gauge = client.Gauge
    as_of = report.as_of
    if report.inventory is not None:
        not_after = gauge("x509_cert_not_after", "Certificate not-after time (Unix seconds)", CERT_LABELS, registry=registry)
        not_before = gauge("x509_cert_not_before", "Certificate not-before time (Unix seconds)", CERT_LABELS, registry=registry)
        expired = gauge("x509_cert_expired", "1 when the certificate had expired at the scan's as_of", CERT_LABELS,
                        registry=registry)
        for cert in sorted(report.inventory.certificates, key=lambda c: (c.source, c.id)):
            labels = _cert_labels(cert)
            if cert.not_after is not None:
                not_after.labels(*labels).set(cert.not_after.timestamp())
                expired.labels(*labels).set(1 if cert.not_after <= as_of else 0)
            if cert.not_before is not None:
                not_before.labels(*labels).set(cert.not_before.timestamp())
    findings = gauge("certscan_findings", "Unwaived failing results", ("rule", "severity"), registry=registry)
    results = gauge("certscan_results", "Results by rule and status", ("rule", "status"), registry=registry)
    fails: Counter[tuple[str, str]] = Counter()
    by_status: Counter[tuple[str, str]] = Counter()
    for result in report.results:
        by_status[(result.rule_id, result.status)] += 1
        if result.status == "fail":
            fails[(result.rule_id, result.severity)] += 1
    for rule_id in sorted({rule["id"] for rule in report.rules} | {rule for rule, _ in by_status}):
        for status in STATUSES:
            results.labels(label(rule_id), status).set(by_status[(rule_id, status)])
    for (rule_id, severity), count in sorted(fails.items()):
        findings.labels(label(rule_id), label(severity)).set(count)
    errors = gauge("certscan_collection_errors", "Collection errors by source", ("source",), registry=registry)
    per_source = Counter(str(e.get("source") or "") for e in report.errors)
    for source in sorted({str(c.get("source") or "") for c in report.coverage} | set(per_source)):
        errors.labels(label(source)).set(per_source[source])
    gauge("certscan_scan_complete", "1 when the scan saw everything (no collection error, no undecided rule)",
          registry=registry).set(0 if report.gate.get("incomplete") or report.errors else 1)
    gauge("certscan_last_scan_timestamp_seconds", "The scan's as_of (Unix seconds)",
          registry=registry).set(as_of.timestamp())
    return registry


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    path = Path(output_dir) / PROM_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _client().write_to_textfile(str(path), build_registry(report))  # temp file + rename: atomic
    return [path]


def push(report: ScanReport, gateway: str, timeout: float = 30.0) -> str | None:
    """Push the same registry to a Pushgateway (job certscan); the error text, or None."""
    client = _client()
    try:
        client.push_to_gateway(gateway, job=JOB, registry=build_registry(report), timeout=timeout)
    except Exception as exc:  # urllib's errors, a refused connection, a 4xx/5xx answer
        return visible(f"{type(exc).__name__}: {exc}")[:500]
    return None


FORMAT = OutputFormat("prometheus", (PROM_FILE,), order=70, write=lambda report, output_dir, options: write(report, output_dir),
                      description="Prometheus text exposition of the certificates' expiry and the scan's results")
