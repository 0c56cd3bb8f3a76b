"""The changes between two scans, for people and tools: ``certscan diff`` (text, JSON,
markdown) and the "Since the last scan" section that leads the markdown and HTML reports,
``triage`` and the job summary when a baseline or history is given.

Resource ids, messages and rule ids come from scanned estates and saved files: every one
passes through scanner.report.escape for the output it lands in.
"""

from __future__ import annotations

from typing import Iterable

from rich.console import Console

from scanner.changes import CHANGE_KINDS, Change, Comparison
from scanner.model import format_time
from scanner.report.atomic import dumps_json
from scanner.report import escape

FORMATS = ("text", "json", "markdown")
CHANGE_STYLE = {"new": "bold red", "unwaived": "red", "changed": "yellow", "persisting": "dim",
                "waived": "cyan", "resolved": "green", "gone": "green"}
HEADLINE = ("new", "worsened", "resolved")
SECTION_TITLE = "Since the last scan"


def _transition(change: Change) -> str:
    """from -> to, for what moved: severity, bucket, status."""
    parts = []
    if change.previous_severity and change.previous_severity != change.severity and change.change == "changed":
        parts.append(f"{change.previous_severity} → {change.severity}")
    if change.change == "changed" and change.previous_bucket != change.bucket:
        parts.append(f"{change.previous_bucket or '-'} → {change.bucket or '-'}")
    if change.change == "changed" and change.previous_status != change.status:
        parts.append(f"{change.previous_status} → {change.status}")
    if change.reason:
        parts.append(change.reason)
    if change.waiver:
        parts.append(f"waiver {change.waiver}")
    return "; ".join(parts)


def _summary_line(comparison: Comparison) -> str:
    counts = comparison.counts()
    return ", ".join(f"{counts[k]} {k}" for k in (*CHANGE_KINDS[:3], "worsened", *CHANGE_KINDS[3:]))


def _rules_lines(comparison: Comparison) -> list[str]:
    lines = []
    if comparison.rules_only_old:
        lines.append("rules only in the older scan: " + ", ".join(comparison.rules_only_old))
    if comparison.rules_only_new:
        lines.append("rules only in the newer scan: " + ", ".join(comparison.rules_only_new))
    return lines


# --- certscan diff --------------------------------------------------------------------------

def print_text(comparison: Comparison, console: Console, persisting: bool = True) -> None:
    """Grouped by change, worst first: one line per finding (severity, rule, resource), then
    what moved or its message, indented; lines wrap at the console's width."""
    old, new = comparison.old, comparison.new
    console.print(f"[bold]certscan diff[/bold] {escape.console(old.scan_id)} ({format_time(old.as_of)}) → "
                  f"{escape.console(new.scan_id)} ({format_time(new.as_of)})")
    console.print(escape.console(_summary_line(comparison)))
    for line in _rules_lines(comparison):
        console.print(f"[yellow]{escape.console(line)}[/yellow]")
    shown = [c for c in comparison.changes if persisting or c.change != "persisting"]
    if not shown:
        console.print("No failing, undecided or waived result in either scan." if not comparison.changes
                      else "Nothing changed.")
        return
    for kind in CHANGE_KINDS:
        items = [c for c in shown if c.change == kind]
        if not items:
            continue
        console.print()
        console.print(f"[{CHANGE_STYLE[kind]}]{kind.upper()} ({len(items)})[/]")
        for c in items:
            mark = " ↑" if c.worsened else ""
            console.print(f"  {c.severity:<8}{mark} {escape.console(c.rule_id)}  {escape.console(c.resource_id)}",
                          overflow="fold")
            detail = _transition(c) or c.message
            if detail:
                console.print(f"      [dim]{escape.console(detail)}[/dim]", overflow="fold")


def render_json(comparison: Comparison) -> str:
    return dumps_json(comparison.to_dict())


def render_markdown(comparison: Comparison) -> str:
    md = escape.markdown
    old, new = comparison.old, comparison.new
    lines = [f"# certscan diff", "",
             f"From scan `{md(old.scan_id)}` ({format_time(old.as_of)}) to `{md(new.scan_id)}` ({format_time(new.as_of)}).", "",
             md(_summary_line(comparison)), ""]
    lines += [f"- {md(line)}" for line in _rules_lines(comparison)]
    if _rules_lines(comparison):
        lines.append("")
    for kind in CHANGE_KINDS:
        items = comparison.of(kind)
        if not items:
            continue
        lines += [f"## {kind.capitalize()} ({len(items)})", ""]
        lines += _md_table(items)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_table(changes: Iterable[Change]) -> list[str]:
    md = escape.markdown
    out = ["| Severity | Rule | Resource | What moved | Message |", "| --- | --- | --- | --- | --- |"]
    for c in changes:
        out.append(f"| {md(c.severity)}{' ↑' if c.worsened else ''} | {md(c.rule_id)} | {md(c.resource_id)} | "
                   f"{md(_transition(c)) or '-'} | {md(c.message) or '-'} |")
    return out


# --- "Since the last scan": the section that leads the human reports ------------------------

def headline(comparison: Comparison) -> dict[str, list[Change]]:
    return {"new": comparison.of("new", "unwaived"), "worsened": comparison.worsened,
            "resolved": comparison.of("resolved", "gone")}


def since_markdown(comparison: Comparison, limit: int | None = None) -> list[str]:
    parts = headline(comparison)
    old = comparison.old
    lines = [f"## {SECTION_TITLE}", "",
             f"Compared with scan `{escape.markdown(old.scan_id)}` as of {format_time(old.as_of)}: "
             f"**{len(parts['new'])} new**, **{len(parts['worsened'])} worsened**, "
             f"**{len(parts['resolved'])} resolved**.", ""]
    for name in HEADLINE:
        items = parts[name]
        if not items:
            continue
        shown = items if limit is None else items[:limit]
        lines += [f"### {name.capitalize()} ({len(items)})", ""]
        lines += _md_table(shown)
        if len(shown) < len(items):
            lines.append(f"\n… and {len(items) - len(shown)} more (certscan diff lists all).")
        lines.append("")
    return lines


def since_html(comparison: Comparison, limit: int | None = None) -> str:
    h = escape.html
    parts = headline(comparison)
    old = comparison.old
    out = [f"<h2>{SECTION_TITLE}</h2>",
           f"<p>Compared with scan <code>{h(old.scan_id)}</code> as of {h(format_time(old.as_of))}: "
           f"<strong>{len(parts['new'])} new</strong>, <strong>{len(parts['worsened'])} worsened</strong>, "
           f"<strong>{len(parts['resolved'])} resolved</strong>.</p>"]
    for name in HEADLINE:
        items = parts[name]
        if not items:
            continue
        shown = items if limit is None else items[:limit]
        rows = "".join(
            f"<tr><td>{h(c.severity)}{' ↑' if c.worsened else ''}</td><td>{h(c.rule_id)}</td><td>{h(c.resource_id)}</td>"
            f"<td>{h(_transition(c)) or '-'}</td><td>{h(c.message) or '-'}</td></tr>" for c in shown)
        out.append(f"<h3>{name.capitalize()} ({len(items)})</h3><table><thead><tr><th>Severity</th><th>Rule</th>"
                   f"<th>Resource</th><th>What moved</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>")
        if len(shown) < len(items):
            out.append(f"<p class=\"note\">… and {len(items) - len(shown)} more (certscan diff lists all).</p>")
    return "".join(out)


def print_since(comparison: Comparison, console: Console, limit: int = 15) -> None:
    parts = headline(comparison)
    console.print(f"[bold]{SECTION_TITLE}[/bold] (scan {escape.console(comparison.old.scan_id)}, "
                  f"{format_time(comparison.old.as_of)}): {len(parts['new'])} new, {len(parts['worsened'])} worsened, "
                  f"{len(parts['resolved'])} resolved")
    for name in HEADLINE:
        for c in parts[name][:limit]:
            console.print(f"  {name:<9} {c.severity:<8} {escape.console(c.rule_id)} {escape.console(c.resource_id)}",
                          overflow="fold")
        if len(parts[name]) > limit:
            console.print(f"  … and {len(parts[name]) - limit} more {name}")
