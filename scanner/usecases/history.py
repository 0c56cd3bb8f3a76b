"""--history TARGET and certscan history: record a scan, find the previous one (for
``--baseline history``), and read the history back as per-scan trends and SLIs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.usecases import clock
from scanner.changes import Comparison
from scanner.history.slis import ScannedState, compute
from scanner.history.store import HistoryError, HistoryStore, RecordedScan, describe
from scanner.history.view import HistoryView, ScanPoint
from scanner.model import SUPERSEDED, expiry_bucket, format_time
from scanner.inputs.problems import InputError, Problem
from scanner.report import ScanReport
from scanner.usecases.diff import Scan, compare

EXIT_HISTORY = 5  # team-wide: the history store could not be written
HISTORY_BASELINE = "history"


@dataclass
class RecordOutcome:
    target: str  # printable (no password)
    recorded: bool = False  # False: already there (no-op), or failed
    error: str | None = None


def record_scan(target: str, report: ScanReport) -> RecordOutcome:
    """Record a finished scan; never raises: a failure is returned for the command to report
    (exit 5) after every other output has been written."""
    outcome = RecordOutcome(describe(target))
    try:
        store = HistoryStore(target)
        try:
            outcome.recorded = store.record(RecordedScan(
                scan_id=report.scan_id, as_of=report.as_of, tool_version=report.tool_version,
                complete=not report.gate.get("incomplete"), rules=[r["id"] for r in report.rules],
                coverage=report.coverage, errors=report.errors, results=report.results),
                report.inventory, clock.now())
        finally:
            store.close()
    except HistoryError as exc:
        outcome.error = str(exc)
    return outcome


def open_for_reading(target: str) -> HistoryStore:
    try:
        return HistoryStore(target)
    except HistoryError as exc:
        raise InputError(Problem("--history", str(exc))) from None


def _scan_of(store: HistoryStore, row) -> Scan:
    results = store.results(row.scan_id)
    scan = Scan.build(row.scan_id, row.as_of, f"history {store.shown}", results, row.rules)
    resources = scan.resources | {c.cert_id for c in store.certificates(row.scan_id)}
    return Scan(scan.ref, scan.results, scan.rule_ids, frozenset(resources))


def previous_scan(target: str, as_of: datetime) -> Scan | None:
    """The latest recorded scan before as_of (``--baseline history``); None in a new history.
    A history that cannot be read is bad input here (exit 2, before anything is collected)."""
    store = open_for_reading(target)
    try:
        rows = store.scans(before=as_of)
        return _scan_of(store, rows[-1]) if rows else None
    except HistoryError as exc:
        raise InputError(Problem("--history", str(exc))) from None
    finally:
        store.close()


def load_history(target: str, since: datetime | None = None) -> HistoryView:
    store = open_for_reading(target)
    try:
        rows = store.scans(since=since)
        states = [ScannedState(row, store.results(row.scan_id), store.certificates(row.scan_id)) for row in rows]
    except HistoryError as exc:
        raise InputError(Problem("--history", str(exc))) from None
    finally:
        store.close()
    view = HistoryView(describe(target), since)
    previous: Scan | None = None
    for state in states:
        row = state.scan
        scan = Scan.build(row.scan_id, row.as_of, view.target, state.results, row.rules)
        scan = Scan(scan.ref, scan.results, scan.rule_ids, scan.resources | {c.cert_id for c in state.certificates})
        comparison: Comparison | None = compare(previous, scan) if previous is not None else None
        buckets = Counter(expiry_bucket(c.not_after, row.as_of) if c.not_after else "UNKNOWN"
                          for c in state.certificates if c.status != SUPERSEDED)
        findings = Counter(r.severity for r in state.results if r.status == "fail")
        counts = comparison.counts() if comparison else None
        view.points.append(ScanPoint(
            row.scan_id, row.as_of, row.complete, len(state.certificates), dict(sorted(buckets.items())),
            dict(sorted(findings.items())),
            None if counts is None else counts["new"] + counts["unwaived"],
            None if counts is None else counts["resolved"] + counts["gone"],
            None if counts is None else counts["worsened"]))
        previous = scan
    view.slis = compute(states)
    return view
