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
from scanner.report.digest import Digest, build_digest

REPORT_FILE = "certscan-report.html"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;padding:0 1rem;color:#1f2328;max-width:80rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h3{font-size:1.05rem;margin-top:1.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f6f8fa}td.num{text-align:right}td.id{overflow-wrap:anywhere;min-width:16em}td.key,td.nowrap{white-space:nowrap}
.wide{width:100%}
.sev-critical,.risk-CRITICAL{background:#8b0000;color:#fff}.sev-high,.risk-HIGH{background:#d1242f;color:#fff}
.sev-medium,.risk-MEDIUM{background:#bf8700;color:#fff}.sev-low,.risk-LOW{background:#0969da;color:#fff}
.sev-info,.risk-NONE{background:#6e7781;color:#fff}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-weight:600;white-space:nowrap}
.status-fail{color:#d1242f;font-weight:600}.status-waived{color:#6e7781}.status-error{color:#bf8700;font-weight:600}
.v-not-satisfied{color:#d1242f;font-weight:600}.v-inconclusive{color:#bf8700;font-weight:600}
.v-satisfied-with-exceptions{color:#0969da;font-weight:600}.v-satisfied{color:#1a7f37;font-weight:600}
.v-not-assessed{color:#6e7781}
.note,.meta{color:#57606a}details summary{cursor:pointer}code{overflow-wrap:anywhere}
@media print{
 @page{margin:12mm}
 body{margin:0;padding:0;max-width:none;font-size:9pt}
 h1{font-size:14pt;margin:0 0 4pt}h2{font-size:11.5pt;margin-top:10pt;break-after:avoid}h3{break-after:avoid}
 table{font-size:8pt;width:100%}th,td{padding:2pt 4pt}td.id{min-width:15em}tr{break-inside:avoid}thead{display:table-header-group}
 .badge{border:1px solid #000;padding:0 3pt}
 .first-page{break-after:page}.appendix{break-before:page}
 details>summary{list-style:none}
}
"""


def e(value) -> str:
    return "-" if value is None else escape.html(value)


def _table(headers: Iterable[str], rows: Iterable[Iterable], numeric: Iterable[int] = (), wide: bool = False,
           ids: Iterable[int] = (), keys: bool = False, nowrap: Iterable[int] = ()) -> str:
    """``ids``: columns of long identifiers (ARNs, paths), which may break anywhere; other
    text breaks between words. ``keys``: the first column labels the row and never wraps."""
    numeric, ids, nowrap = set(numeric), set(ids), set(nowrap)
    headers = list(headers)
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ("num" if i in numeric else "id" if i in ids else
                   "nowrap" if i in nowrap or (keys and i == 0) else "")
            text = cell.html if isinstance(cell, _Raw) else e(cell)
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    css = ' class="wide"' if wide else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table{css}>{thead}<tbody>{''.join(body)}</tbody></table>"


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


LIST_SHOWN = 5  # items of a list shown in a cell; the rest are counted and folded into <details>
WORST_RISKS = 5


def _folded(items: list, what: str, shown: int = LIST_SHOWN) -> _Raw:
    """A list in a cell: short lists whole; long ones as their count and first items, with
    the full list in a <details> (and in the appendix, for print)."""
    items = [str(i) for i in items]
    if not items:
        return _Raw("-")
    if len(items) <= shown:
        return _Raw(", ".join(e(i) for i in items))
    return _Raw(f"<details><summary>{len(items)} {e(what)}</summary>" + ", ".join(e(i) for i in items) + "</details>")


def _verdict(verdict: str) -> _Raw:
    return _Raw(f'<span class="v-{e(verdict.replace(" ", "-"))}">{e(verdict)}</span>')


def _framework_title(d: Digest, framework: str) -> str:
    return f"{d.frameworks.get(framework, framework)} ({framework})"


def _scope(d: Digest) -> str:
    """Scope in a few rows: only what this scan had (a row for Azure only if Azure was read)."""
    scope = d.scope
    accounts = scope.get("aws_accounts") or []
    principals = sorted({a["identity"] for a in accounts if a.get("identity")})
    azure = [f"tenant {i.get('tenant_id') or '-'}, object {i.get('object_id') or '-'}"
             for i in scope.get("identities") or [] if i.get("source") == "azure"]
    overridden = [f"{p['rule']}.{p['name']}={p['value']}" for p in scope.get("parameters") or [] if p["overridden"]]
    frameworks = scope.get("frameworks")
    rows: list[tuple] = [("Sources", f"{', '.join(scope.get('sources') or []) or 'none'} "
                                     f"({scope.get('units', 0)} units read)")]
    if accounts:
        org = ", ".join(scope.get("aws_organizations") or [])
        rows.append(("AWS", _Raw(f"{len(accounts)} account(s)" + (f" of Organization {e(org)}" if org else "")
                                 + f" in {e(', '.join(scope.get('regions') or [])) or 'no region'}"
                                 + _details([a["account"] for a in accounts], "accounts"))))
        rows.append(("AWS identities", _folded(principals, "principals", 2) if principals
                     else _Raw("not recorded (a saved inventory or results file)")))
    if scope.get("azure_subscriptions") or scope.get("vaults") or azure:
        rows.append(("Azure", _Raw(f"{len(scope.get('vaults') or [])} Key Vault(s)"
                                   + (f" in {len(scope['azure_subscriptions'])} subscription(s)"
                                      if scope.get("azure_subscriptions") else "")
                                   + _details([*scope.get("azure_subscriptions", []), *scope.get("vaults", [])],
                                              "subscriptions and vaults"))))
        rows.append(("Azure identity", _folded(azure, "identities", 2) if azure else _Raw("not recorded")))
    if scope.get("paths"):
        rows.append(("Files", _Raw(f"{len(scope['paths'])} path(s)" + _details(scope["paths"], "paths"))))
    if scope.get("endpoints"):
        rows.append(("Endpoints", _Raw(f"{len(scope['endpoints'])} endpoint(s)"
                                       + _details(scope["endpoints"], "endpoints"))))
    rows += [
        ("Rule packs", ", ".join(f"{p['name']} {p['version']}" for p in scope.get("rule_packs") or []) or "none"),
        ("Parameters", ", ".join(overridden) or "the rules' defaults"),
        ("Frameworks", frameworks if isinstance(frameworks, str) else ", ".join(frameworks or [])),
        ("Coverage gaps", f"{len(scope.get('gaps') or [])}" + (" (see Coverage gaps)" if scope.get("gaps") else "")),
    ]
    return "<h2>Scope</h2>" + _table(["", ""], rows, keys=True, wide=True, ids=[1])


def _details(items: list, what: str) -> str:
    """The full list behind a count, folded (printed in the evidence manifest in full)."""
    if not items:
        return ""
    return f" <details><summary>list {e(what)}</summary>{', '.join(e(i) for i in items)}</details>"


def _verdict_summary(d: Digest) -> str:
    if not d.control_totals:
        return "<h2>Verdict per framework</h2><p>No rule maps to a control of the selected frameworks.</p>"
    verdicts = list(next(iter(d.control_totals.values())))
    return "<h2>Verdict per framework</h2>" + _table(
        ["Framework", "Controls", *verdicts],
        [(_framework_title(d, fw), sum(t.values()), *(t[v] for v in verdicts)) for fw, t in sorted(d.control_totals.items())],
        numeric=range(1, 2 + len(verdicts)), wide=True)


def _worst_risks(d: Digest, report: ScanReport) -> str:
    fails = [r for r in d.findings if r.status == "fail"][:WORST_RISKS]
    if not fails:
        return "<p>No open finding.</p>"
    return (f"<h3>Worst risks (the {len(fails)} most severe open findings)</h3>"
            + _table(["Severity", "Rule", "Resource", "Owner", "Message"],
                     [(_badge(r.severity), r.rule_id, r.resource_id, (r.context or {}).get("owner"), r.message)
                      for r in fails], wide=True, ids=[2], nowrap=[1, 3]))


def _rules_basis(v) -> str:
    return ", ".join(m["rule"] + (" (stated)" if m["basis"] == "stated" else "") for m in v.rules)


def _controls(d: Digest) -> str:
    parts = ["<h2>Controls</h2>",
             '<p class="note">Satisfied: the mapped rules judged at least one resource and none failed. Not '
             "satisfied: an unwaived fail. Satisfied with exceptions: every fail is waived. Inconclusive: a rule "
             "could not decide, or a unit it reads was not read. Not assessed: no mapped rule judged a resource. "
             "Rules marked (stated) are mapped by a public source; the others by certscan's judgment.</p>"]
    for framework in sorted(d.control_totals):
        totals = ", ".join(f"{n} {v}" for v, n in d.control_totals[framework].items() if n)
        parts.append(f"<h3>{e(_framework_title(d, framework))}: {e(totals)}</h3>")
        parts.append(_table(["Control", "Title", "Verdict", "Pass", "Fail", "Waived", "Error", "Rules",
                             "Failing resources"],
                            [(v.control, v.title, _verdict(v.verdict), v.counts["pass"], v.counts["fail"],
                              v.counts["waived"], v.counts["error"], _rules_basis(v),
                              _folded(v.failing_resources, "resources", 1))
                             for v in d.controls if v.framework == framework], numeric=[3, 4, 5, 6], wide=True,
                            ids=[8], nowrap=[0]))
    return "".join(parts)


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
        '<section class="first-page">',
        f"<h1>certscan {e(mode)} report</h1>",
        f'<p class="meta">As of <strong>{e(format_time(d.as_of))}</strong> · scan {e(d.scan_id)} · certscan '
        f"{e(d.tool_version)} · generated {e(format_time(d.generated_at))} · {e(d.certificates)} certificates · "
        f"results: {e(', '.join(f'{k} {v}' for k, v in sorted(d.status_counts.items())) or 'none')}</p>",
        _scope(d),
        _verdict_summary(d),
    ]
    if report.baseline is not None:  # with a baseline or history, what changed comes first
        parts.append(since_html(report.baseline, limit))
    parts += [
        f'<h2>Risk level: <span class="badge risk-{e(d.risk_level)}">{e(d.risk_level)}</span></h2>',
    ]
    if d.risk_reasons:
        parts.append("<p>" + "; ".join(e(r) for r in d.risk_reasons) + ".</p>")
    else:
        parts.append("<p>No expired or soon-expiring certificates and no open findings.</p>")
    if d.gaps:
        parts.append(f'<p class="note"><strong>Coverage incomplete</strong>: {len(d.gaps)} gap(s); '
                     "the real risk may be higher than shown.</p>")
    parts.append(_worst_risks(d, report))
    parts.append("</section>")

    parts.append("<h2>Expiry buckets and escalation</h2>")
    parts.append(_table(["Bucket", "Certificates", "Priority", "Action", "Who acts", "Certificate owners"], [
        (b.bucket, b.certificates, _badge(b.escalation.priority), b.escalation.action, b.escalation.owner,
         _folded(b.owners, "owners") if b.owners and b.bucket != "VALID" else "-") for b in d.buckets], numeric=[1]))

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
    if limit and len(d.accounts) > limit:
        parts.append(f'<p class="note">… and {len(d.accounts) - limit} more (the technical report lists all).</p>')

    parts.append("<h2>Owners to contact</h2>")
    parts.append(_table(["Owner", "Failing", "Worst", "Rules", "Resources"],
                        [(o.name, o.failing, _badge(o.worst), ", ".join(o.rules), _folded(o.resources, "resources", 2))
                         for o in d.owners[:limit]], numeric=[1], wide=True, ids=[4]))
    if limit and len(d.owners) > limit:
        parts.append(f'<p class="note">… and {len(d.owners) - limit} more (the technical report lists all).</p>')

    parts.append(f"<h2>Certificates expiring within {d.days} days (expired included)</h2>")
    expiring = [(days_in_words(x.days_to_expiry), x.bucket, x.resource_id, x.domain, x.where, x.owner)
                for x in d.expiring]
    shown = expiring if limit is None else expiring[:limit * 2]
    parts.append(_table(["Expiry", "Bucket", "Resource", "Domain", "Where", "Owner"], shown, wide=True, ids=[2, 3]))
    if len(shown) < len(expiring):
        parts.append(f'<p class="note">{len(expiring) - len(shown)} more in the appendix.</p>')

    parts.append("<h2>Coverage gaps</h2>")
    if d.gaps:
        parts.append(_table(["Kind", "Where", "Detail"], [(g.kind, g.where, g.detail) for g in d.gaps], wide=True,
                            ids=[1]))
    else:
        parts.append("<p>None: every unit was read and every rule could decide.</p>")

    if d.waivers:
        parts.append("<h2>Waivers</h2>")
        parts.append(_table(["Waiver", "Rule", "Resource", "State", "Expires", "Approved by", "Justification", "Matched"],
                            [(w.get("id"), w.get("rule"), w.get("resource"), w.get("state"), w.get("expires"),
                              w.get("approved_by"), w.get("justification"), w.get("matched")) for w in d.waivers],
                            numeric=[7], wide=True, ids=[2]))

    parts.append(_controls(d))

    parts.append('<section class="appendix"><h2>Appendix: findings</h2>')
    if d.findings:
        parts.append('<p class="note">Rule titles are in "Failing rules by severity"; the resource id names '
                     "its account and region.</p>")
        parts.append(_table(["Status", "Severity", "Rule", "Resource", "Owner", "Message", "Waiver"], [
            (_status(r.status, _label(report, r)), _badge(r.severity), r.rule_id, r.resource_id,
             (r.context or {}).get("owner"), r.message, (r.waiver or {}).get("id")) for r in d.findings],
            wide=True, ids=[3], nowrap=[2, 4]))
    else:
        parts.append("<p>No failing, waived or undecided result.</p>")
    if len(shown) < len(expiring):
        parts.append(f"<h2>Appendix: certificates expiring within {d.days} days</h2>")
        parts.append(_table(["Expiry", "Bucket", "Resource", "Domain", "Where", "Owner"], expiring, wide=True,
                            ids=[2, 3]))
    parts.append("</section></body></html>")
    return "\n".join(parts) + "\n"


def write(report: ScanReport, output_dir: Path, mode: str = "executive", days: int = 30,
          generated_at: datetime | None = None) -> list[Path]:
    return [write_text(Path(output_dir) / REPORT_FILE, render(report, mode, days, generated_at=generated_at))]


FORMAT = OutputFormat("html", (REPORT_FILE,), order=60, human=True,
                      write=lambda report, output_dir, options: write(report, output_dir, options.mode, options.days,
                                                          options.generated_at),
                      # the bundle's copy is the technical report, every finding listed, for printing
                      bundle=lambda report: {REPORT_FILE: render(report, mode="technical").encode("utf-8")},
                      description="the report as one self-contained page")
