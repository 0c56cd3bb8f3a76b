"""certscan history: per scan, certificates per expiry bucket and findings per severity, new
and resolved since the previous scan; and the SLIs. Text (rich), JSON, markdown, and one
self-contained HTML page whose trend chart is inline SVG (no script, nothing loaded).

Scan ids, rule ids, resource ids and domains come from the store, which is outside data: each
passes through scanner.report.escape for its output."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scanner.history.slis import ALLOWED_OPEN_DAYS, SLIs
from scanner.model import BUCKETS, SEVERITIES, format_time
from scanner.report.atomic import dumps_json
from scanner.report import escape
from scanner.history.view import HistoryView

FORMATS = ("text", "json", "markdown", "html")
BUCKET_ORDER = (*BUCKETS, "UNKNOWN")
BUCKET_COLOURS = {"EXPIRED": "#8b0000", "CRITICAL_7D": "#d1242f", "WARNING_30D": "#bf8700",
                  "ATTENTION_90D": "#0969da", "VALID": "#1a7f37", "UNKNOWN": "#6e7781"}
MAX_ROWS = 50  # per SLI detail list in the human outputs (JSON has all)


def _date(moment) -> str:
    return format_time(moment) or "-"


def _share(slis: SLIs) -> str:
    share = slis.expired_in_use_share
    return "-" if share is None else f"{share * 100:.1f} %"


def _days(value) -> str:
    return "-" if value is None else f"{value} d"


def sli_rows(slis: SLIs) -> list[tuple[str, str]]:
    lead = slis.lead_time()
    rows = [
        ("Expired while in use", f"{len(slis.expired_in_use)} of {len(slis.reached_expiry)} that reached expiry "
                                 f"({_share(slis)})"),
        ("Rotation lead time", "no rotation seen" if not lead["rotations"] else
         f"{lead['rotations']} rotation(s): mean {_days(lead['mean_days'])}, median {_days(lead['median_days'])}, "
         f"min {_days(lead['min_days'])} before expiry"),
    ]
    mttr = slis.mttr()
    rows += [(f"Mean time to resolve ({sev})", f"{m['mean_days']} d over {m['resolved']} finding(s)")
             for sev, m in mttr.items()] or [("Mean time to resolve", "no finding resolved")]
    rows.append(("Open longer than the escalation matrix allows", str(len(slis.overdue))))
    return rows


def _scan_cells(point) -> list[str]:
    return [
        point.as_of.date().isoformat(), point.scan_id + ("" if point.complete else " (incomplete)"),
        str(point.certificates),
        *(str(point.buckets.get(b, 0)) for b in BUCKETS),
        *(str(point.findings.get(s, 0)) for s in reversed(SEVERITIES)),
        "-" if point.new is None else str(point.new),
        "-" if point.resolved is None else str(point.resolved),
    ]


SCAN_HEADERS = ["as of", "scan", "certs", "EXPIRED", "≤7d", "≤30d", "≤90d", "VALID",
                "crit", "high", "med", "low", "info", "new", "resolved"]


# --- text ------------------------------------------------------------------------------------

def print_text(view: HistoryView, console: Console) -> None:
    console.print(f"[bold]certscan history[/bold] {escape.console(view.target)}: {len(view.points)} scan(s)"
                  + (f" since {_date(view.since)}" if view.since else ""))
    if not view.points:
        console.print("No scan recorded" + (" since then." if view.since else " yet."))
        return
    # three narrow tables rather than one wide one: each fits an 80-column terminal
    scans = Table(title="Scans", show_edge=False)
    for header in ("as of", "scan", "certificates", "new", "resolved", "worsened"):
        scans.add_column(header, justify="left" if header in ("as of", "scan") else "right", overflow="fold")
    buckets = Table(title="Certificates per expiry bucket", show_edge=False)
    buckets.add_column("as of")
    for bucket in BUCKETS:
        buckets.add_column(bucket, justify="right")
    findings = Table(title="Failing results per severity", show_edge=False)
    findings.add_column("as of")
    for severity in reversed(SEVERITIES):
        findings.add_column(severity, justify="right")
    for point in view.points:
        day = point.as_of.date().isoformat()
        scans.add_row(day, escape.console(point.scan_id) + ("" if point.complete else " (incomplete)"),
                      str(point.certificates), *("-" if n is None else str(n)
                                                 for n in (point.new, point.resolved, point.worsened)))
        buckets.add_row(day, *(str(point.buckets.get(b, 0)) for b in BUCKETS))
        findings.add_row(day, *(str(point.findings.get(s, 0)) for s in reversed(SEVERITIES)))
    console.print(scans)
    console.print(buckets)
    console.print(findings)
    slis = Table(title="SLIs", show_edge=False)
    slis.add_column("indicator")
    slis.add_column("value", overflow="fold")
    for name, value in sli_rows(view.slis):
        slis.add_row(name, escape.console(value))
    console.print(slis)
    if view.slis.overdue:
        overdue = Table(title="Open longer than allowed", show_edge=False)
        for header in ("severity", "open", "allowed", "rule", "resource"):
            overdue.add_column(header, overflow="fold")
        for f in view.slis.overdue[:MAX_ROWS]:
            overdue.add_row(escape.console(f.severity), f"{f.age_days:g} d", f"{f.allowed_days} d", escape.console(f.rule_id),
                            escape.console(f.resource_id))
        console.print(overdue)


def render_json(view: HistoryView) -> str:
    return dumps_json(view.to_dict())


# --- markdown ----------------------------------------------------------------------------------

def render_markdown(view: HistoryView) -> str:
    md = escape.markdown
    lines = ["# certscan history", "", f"History {md(view.target)}: {len(view.points)} scan(s)"
             + (f" since {_date(view.since)}" if view.since else "") + ".", ""]
    if view.points:
        lines += ["## Scans", "", "| " + " | ".join(SCAN_HEADERS) + " |", "|" + "---|" * len(SCAN_HEADERS)]
        lines += ["| " + " | ".join(md(c) for c in _scan_cells(p)) + " |" for p in view.points]
    lines += ["", "## SLIs", "", "| Indicator | Value |", "|---|---|"]
    lines += [f"| {md(name)} | {md(value)} |" for name, value in sli_rows(view.slis)]
    lines += _md_details(view.slis)
    return "\n".join(lines).rstrip() + "\n"


def _detail_tables(slis: SLIs) -> list[tuple[str, list[str], list[list[str]]]]:
    """The SLIs' details as (title, headers, rows of plain text), for markdown and HTML."""
    tables = []
    if slis.reached_expiry:
        tables.append(("Certificates that reached expiry", ["Certificate", "Domain", "Expired", "Seen expired", "In use"],
                       [[c.cert_id, c.domain or "-", _date(c.not_after), _date(c.seen_at), "yes" if c.in_use else "no"]
                        for c in slis.reached_expiry[:MAX_ROWS]]))
    if slis.rotations:
        tables.append(("Rotations", ["Kind", "Old", "New", "Domain", "Old expiry", "Seen", "Lead"],
                       [[r.kind, r.old_id, r.new_id, r.domain or "-", _date(r.old_not_after), _date(r.seen_at),
                         f"{r.lead_days} d"] for r in slis.rotations[:MAX_ROWS]]))
    if slis.overdue:
        allowed = ", ".join(f"{k} {v} d" for k, v in ALLOWED_OPEN_DAYS.items())
        tables.append((f"Findings open longer than the escalation matrix allows ({allowed})",
                       ["Severity", "Open", "Rule", "Resource", "Since"],
                       [[f.severity, f"{f.age_days:g} d", f.rule_id, f.resource_id, _date(f.opened_at)]
                        for f in slis.overdue[:MAX_ROWS]]))
    return tables


def _md_details(slis: SLIs) -> list[str]:
    md = escape.markdown
    lines: list[str] = []
    for title, headers, rows in _detail_tables(slis):
        lines += ["", f"### {md(title)}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return lines


# --- HTML with an inline SVG trend --------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;max-width:80rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
.legend span{display:inline-block;margin-right:1rem}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem}
"""


def trend_svg(view: HistoryView, width: int = 720, height: int = 240) -> str:
    """Certificates per expiry bucket, one stacked bar per scan. Built only from numbers and
    dates this module formats, plus escaped scan ids in the tooltips."""
    h = escape.html
    points = view.points
    if not points:
        return ""
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(sum(p.buckets.values()) for p in points) or 1
    slot = plot_w / len(points)
    bar = max(4.0, min(48.0, slot * 0.6))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Certificates per expiry bucket over time">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#57606a"/>',
             f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>']
    for i, point in enumerate(points):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for bucket in reversed(BUCKET_ORDER):
            count = point.buckets.get(bucket, 0)
            if not count:
                continue
            size = plot_h * count / peak
            y -= size
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{size:.1f}" '
                         f'fill="{BUCKET_COLOURS[bucket]}"><title>{h(point.as_of.date().isoformat())} '
                         f'{h(point.scan_id)}: {bucket} {count}</title></rect>')
        if len(points) <= 20 or i % max(1, len(points) // 10) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="10" text-anchor="middle">'
                         f'{h(point.as_of.date().isoformat())}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(view: HistoryView) -> str:
    h = escape.html
    legend = "".join(f'<span><span class="swatch" style="background:{BUCKET_COLOURS[b]}"></span>{b}</span>'
                     for b in BUCKET_ORDER)
    rows = "".join("<tr>" + "".join(f"<td>{h(c)}</td>" for c in _scan_cells(p)) + "</tr>" for p in view.points)
    sli = "".join(f"<tr><td>{h(n)}</td><td>{h(v)}</td></tr>" for n, v in sli_rows(view.slis))
    details = "".join(_html_details(view.slis))
    return "".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>certscan history</title><style>{_CSS}</style></head><body>",
        "<h1>certscan history</h1>",
        f"<p>History {h(view.target)}: {len(view.points)} scan(s)"
        + (f" since {h(_date(view.since))}" if view.since else "") + ".</p>",
        "<h2>Certificates per expiry bucket</h2>", trend_svg(view), f'<p class="legend">{legend}</p>',
        "<h2>Scans</h2><table><thead><tr>" + "".join(f"<th>{h(x)}</th>" for x in SCAN_HEADERS)
        + f"</tr></thead><tbody>{rows}</tbody></table>",
        f"<h2>SLIs</h2><table><thead><tr><th>Indicator</th><th>Value</th></tr></thead><tbody>{sli}</tbody></table>",
        details, "</body></html>\n"])


def _html_details(slis: SLIs) -> list[str]:
    h = escape.html
    out: list[str] = []
    for title, headers, rows in _detail_tables(slis):
        out.append(f"<h3>{h(title)}</h3><table><thead><tr>" + "".join(f"<th>{h(x)}</th>" for x in headers)
                   + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{h(cell)}</td>" for cell in row) + "</tr>" for row in rows]
        out.append("</tbody></table>")
    return out


def render(view: HistoryView, format: str) -> str:
    if format == "json":
        return render_json(view)
    if format == "markdown":
        return render_markdown(view)
    if format == "html":
        return render_html(view)
    raise ValueError(format)
