"""Tell the owners: one message per recipient with only their findings, sent with Apprise.

plan()     results + routes -> one Message per destination. A destination gets the unwaived
           failures of every route that names it (``notify``), plus, through ``escalate_to``,
           those of certificates in the buckets it escalates. One entry per certificate per
           owner (keyed by the certificate's SHA-256 fingerprint where the source gives one,
           else its resource id): a certificate failing three rules is one entry with three
           reasons. Entries are grouped worst bucket first.
render()   the message text (plain text; Apprise converts it for each service). Every outside
           string goes through escape.visible: a certificate cannot forge lines or send
           terminal escapes.
deliver()  sends each message through Apprise; a destination that fails is recorded with the
           provider's error (redacted) and the others still go. Nothing here raises for a
           failed delivery: the caller turns failures into exit code 4.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.model import BUCKETS, SEVERITY_RANK, Result, expiry_in_words
from scanner.report import ScanReport
from scanner.report.escape import visible
from scanner.notify.routes import Destination, Route, Routes

EXIT_UNDELIVERED = 4  # team-wide: some notifications could not be delivered
MAX_ENTRIES = 200  # per message; the rest is counted, not listed (a chat message has limits)
_BUCKET_RANK = {bucket: rank for rank, bucket in enumerate(BUCKETS)}
NO_BUCKET = "UNKNOWN_EXPIRY"


@dataclass
class Reason:
    rule_id: str
    severity: str
    message: str
    remediation: str
    controls: dict[str, list[str]]


@dataclass
class Entry:
    """One certificate, for one owner, in one message."""

    key: tuple[str, str]  # (fingerprint or resource id, owner)
    domain: str | None
    owner: str | None
    bucket: str
    days: int | None
    not_after: str | None
    resources: dict[str, str] = field(default_factory=dict)  # resource id -> where (source account/region)
    reasons: dict[str, Reason] = field(default_factory=dict)  # rule id -> reason
    waivers: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> waiver in force

    @property
    def worst(self) -> str:
        return max((r.severity for r in self.reasons.values()), key=lambda s: SEVERITY_RANK.get(s, -1), default="info")

    def sort_key(self) -> tuple:
        return (_BUCKET_RANK.get(self.bucket, len(BUCKETS)), -SEVERITY_RANK.get(self.worst, -1),
                self.days if self.days is not None else 1 << 30, min(self.resources), self.key)


@dataclass
class Message:
    destination: Destination
    routes: list[str] = field(default_factory=list)  # names of the routes that reach this destination
    escalations: set[str] = field(default_factory=set)  # buckets this destination is told about by escalation
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def ordered(self) -> list[Entry]:
        return sorted(self.entries.values(), key=Entry.sort_key)


@dataclass
class Delivery:
    destination: str  # shown (redacted)
    routes: list[str]
    entries: int
    ok: bool
    error: str | None = None


def _where(context: dict[str, Any]) -> str:
    parts = [context.get("source"), context.get("account") or context.get("vault"), context.get("region")]
    return " ".join(str(p) for p in parts if p) or "-"


def _known_bucket(value: Any) -> str | None:
    return value if isinstance(value, str) and value in _BUCKET_RANK else None


def _entry_key(result: Result) -> tuple[str, str]:
    """One entry per certificate per owner: copies of a certificate (same fingerprint) are one."""
    context = result.context or {}
    return (str(context.get("fingerprint_sha256") or result.resource_id), str(context.get("owner") or ""))


def _entry_for(message: Message, result: Result) -> Entry:
    context = result.context or {}
    owner = context.get("owner")
    key = _entry_key(result)
    entry = message.entries.get(key)
    if entry is None:
        # a results file is outside data: take only values of the expected kind
        bucket = context.get("expiry_bucket")
        days = context.get("days_to_expiry")
        entry = message.entries[key] = Entry(
            key, context.get("domain"), owner, _known_bucket(bucket) or NO_BUCKET,
            days if isinstance(days, int) and not isinstance(days, bool) else None, context.get("not_after"))
    entry.resources.setdefault(result.resource_id, _where(context))
    return entry


def plan(report: ScanReport, routes: Routes, only: Callable[[Result], bool] | None = None) -> list[Message]:
    """Messages by destination, sorted by what they show. ``only`` narrows the failures sent
    (new and worsened ones against a baseline); waivers in force are always shown."""
    rules = {rule["id"]: rule for rule in report.rules}
    messages: dict[str, Message] = {}

    def reach(dest: Destination, route: Route) -> Message:
        message = messages.get(dest.key)
        if message is None:
            message = messages[dest.key] = Message(dest)
        if route.name not in message.routes:
            message.routes.append(route.name)
        return message

    failing: list[tuple[Result, list[Route]]] = []
    waived: list[tuple[Result, list[Route]]] = []
    for result in report.results:
        if result.status == "fail" and (only is None or only(result)):
            failing.append((result, routes.routes_for(result)))
        elif result.status == "waived":
            waived.append((result, routes.routes_for(result)))
    for result, hits in failing:
        bucket = (result.context or {}).get("expiry_bucket")
        bucket = _known_bucket(bucket)  # outside data: only a known bucket escalates
        for route in hits:
            targets = {d.key for d in route.notify}
            escalated = list(route.escalate_to.get(bucket, ())) if bucket else []
            for dest in [*route.notify, *escalated]:
                message = reach(dest, route)
                if dest.key not in targets:
                    message.escalations.add(bucket)
                rule = rules.get(result.rule_id) or {}
                _entry_for(message, result).reasons.setdefault(result.rule_id, Reason(
                    result.rule_id, result.severity, result.message, rule.get("remediation") or "",
                    result.controls or _rule_controls(rule)))
    # waivers in force, on the entries a recipient already has (they explain what is not listed)
    for result, hits in waived:
        for route in hits:
            for dest in [*route.notify, *(d for ds in route.escalate_to.values() for d in ds)]:
                message = messages.get(dest.key)
                key = _entry_key(result)
                if message is not None and key in message.entries:
                    message.entries[key].waivers.setdefault(result.rule_id, result.waiver or {})
    return sorted((m for m in messages.values() if m.entries), key=lambda m: m.destination.shown)


def _rule_controls(rule: dict[str, Any]) -> dict[str, list[str]]:
    return {fw: [ref["id"] if isinstance(ref, dict) else str(ref) for ref in refs]
            for fw, refs in (rule.get("controls") or {}).items()}


def title(message: Message) -> str:
    entries = list(message.entries.values())
    counts = {b: sum(1 for e in entries if e.bucket == b) for b in (*BUCKETS, NO_BUCKET)}
    worst = next((b for b in (*BUCKETS, NO_BUCKET) if counts[b]), NO_BUCKET)
    return f"[certscan] {len(entries)} certificate(s) need action (worst: {worst})"


def render(message: Message, report: ScanReport) -> tuple[str, str]:
    """(title, body) in plain text."""
    show = visible
    entries = message.ordered()
    lines = [f"certscan scan {show(report.scan_id)} as of {report.as_of.strftime('%Y-%m-%dT%H:%M:%SZ')}",
             f"route(s): {', '.join(show(r) for r in message.routes)}"]
    if message.escalations:
        lines.append("escalated to you for: " + ", ".join(b for b in BUCKETS if b in message.escalations))
    if report.gate.get("incomplete"):
        lines.append("note: the scan could not see everything; there may be more findings than these")
    bucket = None
    for entry in entries[:MAX_ENTRIES]:
        if entry.bucket != bucket:
            bucket = entry.bucket
            count = sum(1 for e in entries if e.bucket == bucket)
            lines += ["", f"== {bucket} ({count}) =="]
        lines.append(f"* {show(entry.domain or '(no domain)')}: {expiry_in_words(entry.days, entry.bucket == 'EXPIRED')}"
                     + (f" (not after {show(entry.not_after)})" if entry.not_after else ""))
        for resource, where in sorted(entry.resources.items()):
            lines.append(f"  resource: {show(resource)}")
            lines.append(f"  where: {show(where)}")
        if entry.owner:
            lines.append(f"  owner: {show(entry.owner)}")
        for reason in sorted(entry.reasons.values(), key=lambda r: (-SEVERITY_RANK.get(r.severity, -1), r.rule_id)):
            lines.append(f"  - {show(reason.rule_id)} [{show(reason.severity)}]: {show(reason.message)}")
            if reason.remediation:
                lines.append(f"    fix: {show(reason.remediation)}")
            controls = "; ".join(f"{show(fw)} {', '.join(show(c) for c in ids)}"
                                 for fw, ids in sorted(reason.controls.items()) if ids)
            if controls:
                lines.append(f"    controls: {controls}")
        for rule_id, waiver in sorted(entry.waivers.items()):
            lines.append(f"  waived: {show(rule_id)} by {show(waiver.get('id', '?'))}"
                         f" (approved by {show(waiver.get('approved_by', '?'))}, until {show(waiver.get('expires', '?'))})"
                         f": {show(waiver.get('justification', ''))}")
    if len(entries) > MAX_ENTRIES:
        lines += ["", f"... and {len(entries) - MAX_ENTRIES} more certificate(s): see the scan's report"]
    return title(message), "\n".join(lines) + "\n"


Sender = Callable[[str, str, str], tuple[bool, str | None]]


def apprise_sender(url: str, title_text: str, body: str) -> tuple[bool, str | None]:
    """Send one message with Apprise; (ok, the provider's error as Apprise logged it)."""
    from scanner.notify.routes import apprise_module
    apprise = apprise_module()

    logger = logging.getLogger("apprise")
    records: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING and len(records) < 20:
                records.append(record.getMessage()[:1000])

    # Apprise's log may quote URLs and server answers; it goes to the report (redacted), never
    # straight to stderr through logging's last-resort handler.
    saved = logger.propagate, logger.handlers[:], logger.level
    logger.handlers, logger.propagate = [_Keep()], False
    logger.setLevel(logging.WARNING)
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            return False, "Apprise cannot use this URL: " + ("; ".join(records) or "unknown scheme or malformed URL")
        ok = bool(sender.notify(body=body, title=title_text, body_format=apprise.NotifyFormat.TEXT))
    except Exception as exc:  # a plugin bug must not stop the other destinations
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        logger.propagate, logger.handlers = saved[0], saved[1]
        logger.setLevel(saved[2])
    return ok, None if ok else ("; ".join(records) or "the service did not accept the notification")


def deliver(messages: Iterable[Message], report: ScanReport, routes: Routes,
            send: Sender = apprise_sender) -> list[Delivery]:
    out = []
    for message in messages:
        subject, body = render(message, report)
        ok, error = send(message.destination.url, subject, body)
        out.append(Delivery(message.destination.shown, list(message.routes), len(message.entries), ok,
                            None if ok else routes.redact(visible(error or "failed"))))
    return out


def undelivered(deliveries: list[Delivery]) -> bool:
    return any(not d.ok for d in deliveries)


@dataclass
class NotifyOutcome:
    messages: list[Message]
    deliveries: list[Delivery]  # empty on a dry run
    dry_run: bool
    routes: Routes

    @property
    def exit_code(self) -> int:
        return EXIT_UNDELIVERED if undelivered(self.deliveries) else 0


def load(routes_file: str, dry_run: bool = False, environ: Any = None) -> Routes:
    """Routes with secrets from the environment; in a dry run an unset variable is allowed
    (nothing is sent, and the destination is shown with ***)."""
    import os

    from scanner.notify.routes import load_routes
    return load_routes(routes_file, os.environ if environ is None else environ, allow_missing=dry_run)


def new_or_worse(report: ScanReport) -> Callable[[Result], bool] | None:
    """With a baseline (scan --baseline, notify --baseline/--history), only the failures new
    or worse than in it are sent: the owners heard of the others last time. None: no baseline."""
    comparison = report.baseline
    if comparison is None:
        return None
    sendable = {c.fingerprint for c in comparison.changes if c.counts_against_baseline}
    return lambda result: result.fingerprint in sendable


def notify_results(results_file: str, routes: Routes, dry_run: bool = False, baseline: str | None = None,
                   history: str | None = None, digest: bool = False) -> NotifyOutcome:
    """certscan notify: a saved results file, against a baseline (a results file or bundle, or
    the previous scan in --history) when one is given."""
    from scanner.report.results_json import read as read_results
    from scanner.usecases.diff import load_baseline, with_baseline

    report = read_results(results_file)
    if baseline is None and history:
        baseline = "history"  # --history alone: what changed since the previous recorded scan
    if baseline is not None:
        report = with_baseline(report, load_baseline(baseline, history, report.as_of), results_file)
    return notify(report, routes, dry_run=dry_run, only=None if digest else new_or_worse(report))


def notify(report: ScanReport, routes: Routes, dry_run: bool = False,
           only: Callable[[Result], bool] | None = None, send: Sender = apprise_sender) -> NotifyOutcome:
    messages = plan(report, routes, only)
    deliveries = [] if dry_run else deliver(messages, report, routes, send)
    return NotifyOutcome(messages, deliveries, dry_run, routes)


@dataclass
class ScanDelivery:
    """What a scan sent after writing its outputs: notifications and a Pushgateway push."""

    outcome: NotifyOutcome | None = None
    push_error: str | None = None
    pushgateway: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.push_error) or (self.outcome is not None and self.outcome.exit_code != 0)


def check_pushgateway(url: str) -> str:
    """Exit 2 before the scan for a Pushgateway URL that cannot be used or holds credentials."""
    from scanner.report import prometheus
    return prometheus.check_gateway(url)


def after_scan(report: ScanReport, routes: Routes | None, pushgateway: str | None,
               digest: bool = False) -> ScanDelivery:
    """Called once the scan's outputs are written, so a delivery failure never loses them.
    Against a baseline only new and worsened findings are sent, unless ``digest``."""
    delivery = ScanDelivery(pushgateway=pushgateway)
    if routes is not None:
        delivery.outcome = notify(report, routes, only=None if digest else new_or_worse(report))
    if pushgateway:
        from scanner.report import prometheus
        delivery.push_error = prometheus.push(report, pushgateway)
    return delivery


def exit_code(gate_code: int, delivery: ScanDelivery) -> int:
    """The gate's verdict (1 findings, 3 incomplete) wins: a failing pipeline already fails, and
    its reason is the certificates. 4 only when the gate passed and something was not delivered."""
    if gate_code == 0 and delivery.failed:
        return EXIT_UNDELIVERED
    return gate_code
