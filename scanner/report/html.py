"""certscan-report.html: the report as one self-contained page (inline CSS, no scripts, no
external resources; a Content-Security-Policy forbids loading anything). Every value is
HTML-escaped: resource names and tag values come from the scanned estate.

Same content as the markdown report, plus every finding (the page is for reading, it can be
long); ``mode`` only changes the title and how many rows the summary lists show.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

from scanner.model import SEVERITIES, days_in_words, format_time
from scanner.report.atomic import write_text
from scanner.report import ScanReport, escape
from scanner.report.changes import since_html
from scanner.report.formats import OutputFormat
from scanner.report.digest import Digest, build_digest, location_of

REPORT_FILE = "certscan-report.html"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;max-width:80rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right}
.sev-critical,.risk-CRITICAL{background:#8b0000;color:#fff}.sev-high,.risk-HIGH{background:#d1242f;color:#fff}
.sev-medium,.risk-MEDIUM{background:#bf8700;color:#fff}.sev-low,.risk-LOW{background:#0969da;color:#fff}
.sev-info,.risk-NONE{background:#6e7781;color:#fff}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-weight:600}
.status-fail{color:#d1242f;font-weight:600}.status-waived{color:#6e7781}.status-error{color:#bf8700;font-weight:600}
.note{color:#57606a}
"""


def e(value) -> str:
    return "-" if value is None else escape.html(value)


def _table(headers: Iterable[str], rows: Iterable[Iterable], numeric: Iterable[int] = ()) -> str:
    numeric = set(numeric)
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if isinstance(cell, _Raw):
                cells.append(f"<td>{cell.html}</td>")
            else:
                cells.append(f"<td class=\"num\">{e(cell)}</td>" if i in numeric else f"<td>{e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    """Markup built here from escaped parts (badges), never from input."""

    def __init__(self, html: str):
        self.html = html


def _badge(severity: str) -> _Raw:
    return _Raw(f'<span class="badge sev-{e(severity)}">{e(severity)}</span>')


def _status(status: str, baseline: str | None = None) -> _Raw:
    mark = f" ({e(baseline)})" if baseline else ""
    return _Raw(f'<span class="status-{e(status)}">{e(status)}</span>{mark}')


def _label(report: ScanReport, result) -> str | None:
    """new | existing | changed against the baseline, for a failing result."""
    if report.baseline_summary is None or result.status != "fail":
        return None
    return report.baseline_labels.get(result.fingerprint, "new")


def render(report: ScanReport, mode: str = "executive", days: int = 30, digest: Digest | None = None,
           generated_at: datetime | None = None) -> str:
    d = digest or build_digest(report, days, generated_at)
    limit = 10 if mode == "executive" else None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>certscan {e(mode)} report {e(d.scan_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>certscan {e(mode)} report</h1>",
        _table(["", ""], [("Generated", format_time(d.generated_at)), ("As of", format_time(d.as_of)),
                          ("Scan id", d.scan_id), ("Tool version", d.tool_version),
                          ("Certificates", d.certificates),
                          ("Results", ", ".join(f"{k} {v}" for k, v in sorted(d.status_counts.items())) or "none")]),
    ]
    if report.baseline is not None:  # with a baseline or history, what changed comes first
        parts.append(since_html(report.baseline, limit))
    parts += [
        f'<h2>Risk level: <span class="badge risk-{e(d.risk_level)}">{e(d.risk_level)}</span></h2>',
    ]
    if d.risk_reasons:
        parts.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in d.risk_reasons) + "</ul>")
    else:
        parts.append("<p>No expired or soon-expiring certificates and no open findings.</p>")
    if d.gaps:
        parts.append(f'<p class="note"><strong>Coverage incomplete</strong>: {len(d.gaps)} gap(s); '
                     "the real risk may be higher than shown.</p>")

    parts.append("<h2>Expiry buckets and escalation</h2>")
    parts.append(_table(["Bucket", "Certificates", "Priority", "Action", "Who acts", "Certificate owners"], [
        (b.bucket, b.certificates, _badge(b.escalation.priority), b.escalation.action, b.escalation.owner,
         ", ".join(b.owners) if b.owners and b.bucket != "VALID" else "-") for b in d.buckets], numeric=[1]))

    parts.append("<h2>Failing rules by severity</h2>")
    parts.append("<p>" + " · ".join(f"{e(s)}: {d.severity_counts.get(s, 0)}" for s in reversed(SEVERITIES)) + "</p>")
    if d.rules:
        parts.append(_table(["Severity", "Rule", "Title", "Failing", "Waived", "Undecided"],
                            [(_badge(r.severity), r.rule_id, r.title, r.failing, r.waived, r.errors) for r in d.rules],
                            numeric=[3, 4, 5]))

    parts.append("<h2>Top accounts</h2>")
    parts.append(_table(["Account / vault / source", "Failing", "Worst", *reversed(SEVERITIES)],
                        [(a.name, a.failing, _badge(a.worst), *(a.by_severity.get(s, 0) for s in reversed(SEVERITIES)))
                         for a in d.accounts[:limit]], numeric=[1, 3, 4, 5, 6, 7]))

    parts.append("<h2>Owners to contact</h2>")
    parts.append(_table(["Owner", "Failing", "Worst", "Rules", "Resources"],
                        [(o.name, o.failing, _badge(o.worst), ", ".join(o.rules), ", ".join(o.resources))
                         for o in d.owners[:limit]], numeric=[1]))

    parts.append(f"<h2>Certificates expiring within {d.days} days (expired included)</h2>")
    parts.append(_table(["Expiry", "Bucket", "Resource", "Domain", "Where", "Owner"],
                        [(days_in_words(x.days_to_expiry), x.bucket, x.resource_id, x.domain, x.where, x.owner)
                         for x in d.expiring]))

    parts.append("<h2>Coverage gaps</h2>")
    if d.gaps:
        parts.append(_table(["Kind", "Where", "Detail"], [(g.kind, g.where, g.detail) for g in d.gaps]))
    else:
        parts.append("<p>None: every unit was read and every rule could decide.</p>")

    if d.waivers:
        parts.append("<h2>Waivers</h2>")
        parts.append(_table(["Waiver", "Rule", "Resource", "State", "Expires", "Approved by", "Matched"],
                            [(w.get("id"), w.get("rule"), w.get("resource"), w.get("state"), w.get("expires"),
                              w.get("approved_by"), w.get("matched")) for w in d.waivers], numeric=[6]))

    parts.append("<h2>Findings</h2>")
    if d.findings:
        titles = {r["id"]: r.get("title", r["id"]) for r in report.rules}
        parts.append(_table(["Status", "Severity", "Rule", "Resource", "Where", "Owner", "Message", "Waiver"], [
            (_status(r.status, _label(report, r)), _badge(r.severity), f"{r.rule_id}: {titles.get(r.rule_id, r.rule_id)}", r.resource_id,
             location_of(r.context or {}), (r.context or {}).get("owner"), r.message,
             (r.waiver or {}).get("id")) for r in d.findings]))
    else:
        parts.append("<p>No failing, waived or undecided result.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(report: ScanReport, output_dir: Path, mode: str = "executive", days: int = 30,
          generated_at: datetime | None = None) -> list[Path]:
    return [write_text(Path(output_dir) / REPORT_FILE, render(report, mode, days, generated_at=generated_at))]


FORMAT = OutputFormat("html", (REPORT_FILE,), order=60, human=True,
                      write=lambda report, output_dir, options: write(report, output_dir, options.mode, options.days,
                                                          options.generated_at),
                      description="the report as one self-contained page")
