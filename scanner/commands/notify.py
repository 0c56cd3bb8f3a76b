"""certscan notify: tell each owner about their findings, from a saved results file.

Exit codes: 0 every message delivered (or a dry run); 2 bad input (routes file, results
file, an unset ${VAR}); 4 some notifications could not be delivered (each failure is listed
with its route and the provider's error; the other destinations were still sent).
"""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.report.escape import console as esc
from scanner.usecases import notify as notify_usecase

RoutesOpt = Annotated[str, typer.Option("--routes", help="Routes YAML (kind: Routes): who is told about what, where.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print who would get what; send nothing.")]


def print_outcome(outcome: "notify_usecase.NotifyOutcome", out: Optional[Console] = None) -> None:
    """Who gets what (dry run) or what was delivered; failures on stderr, one per route."""
    out = out or Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    redact = outcome.routes.redact
    if not outcome.messages:
        out.print("notify: no findings to send")
    delivered = {id(m): d for m, d in zip(outcome.messages, outcome.deliveries)}
    for message in outcome.messages:
        delivery = delivered.get(id(message))
        if delivery is not None and not delivery.ok:
            continue  # said on stderr below, with the provider's error
        dest = esc(redact(message.destination.shown))
        routes = ", ".join(esc(r) for r in message.routes)
        escalation = f"; escalation: {', '.join(sorted(message.escalations))}" if message.escalations else ""
        verb = "would send to" if outcome.dry_run else "sent to"
        out.print(f"{verb} {dest} (route {routes}{escalation}): {len(message.entries)} certificate(s)")
        if outcome.dry_run:
            if message.destination.missing:
                out.print(f"  [yellow]not set:[/yellow] {', '.join(message.destination.missing)}")
            for entry in message.ordered():
                rules = ", ".join(esc(r) for r in sorted(entry.reasons))
                out.print(f"  {entry.bucket:<13} {esc(entry.domain or '-')}  {rules}")
                for resource in sorted(entry.resources):
                    out.print(f"  {'':<13} {esc(resource)}")
    for delivery in outcome.deliveries:
        if not delivery.ok:
            for route in delivery.routes:
                err.print(f"[red]not delivered:[/red] route {esc(route)}: {esc(redact(delivery.destination))}: "
                          f"{esc(redact(delivery.error or 'failed'))}")
    if outcome.deliveries:
        sent = sum(1 for d in outcome.deliveries if d.ok)
        err.print(f"notify: {sent} of {len(outcome.deliveries)} message(s) delivered")
    elif outcome.dry_run:
        err.print(f"notify: dry run, {len(outcome.messages)} message(s) not sent")


DigestOpt = Annotated[bool, typer.Option("--digest", help="With a baseline or history, send every finding, not only the new and worsened.")]


def notify(
    results: Annotated[str, typer.Option("--results", help="A saved certscan-results.json.")],
    routes: RoutesOpt,
    dry_run: DryRunOpt = False,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="Send only findings new or worse than in this results file or bundle ('history': the previous scan in --history).")] = None,
    history: Annotated[Optional[str], typer.Option("--history", help="A history (SQLite file or postgresql:// URL): send only what is new or worse since its previous scan.")] = None,
    digest: DigestOpt = False,
):
    """Send each owner one message with only their findings (Slack, Teams, e-mail, SNS, webhooks via Apprise)."""
    route_table = notify_usecase.load(routes, dry_run)
    outcome = notify_usecase.notify_results(results, route_table, dry_run, baseline, history, digest)
    print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)


def print_delivery(delivery: "notify_usecase.ScanDelivery") -> None:
    """What a scan (or triage) sent after its outputs were written."""
    if delivery.outcome is not None:
        print_outcome(delivery.outcome, Console(stderr=True, highlight=False, soft_wrap=True))
    if delivery.pushgateway:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        if delivery.push_error:
            err.print(f"[red]not delivered:[/red] Pushgateway {esc(delivery.pushgateway)}: {esc(delivery.push_error)}")
        else:
            err.print(f"pushed the metrics to {esc(delivery.pushgateway)}")
