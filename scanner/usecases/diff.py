"""certscan diff and the baseline of scan/report/triage: read two scans, compare them by
result fingerprint, and judge the changes.

A scan is read from a certscan-results.json or from an evidence bundle (its results.json),
always through ``results_json.read``; the comparison itself is a pure function of the two
scans (``compare``), so a baseline from a file, a bundle or the history store gives the same
changes.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from scanner.changes import Change, Comparison, ScanRef
from scanner.evaluate.gate import EXIT_FINDINGS, EXIT_OK, FAIL_ON_CHOICES
from scanner.model import SEVERITY_RANK, Result
from scanner.inputs.problems import InputError, Problem
from scanner.report import ScanReport
from scanner.report.results_json import read as read_results

BUNDLE_RESULTS = "results.json"
# A results.json larger than this inside a bundle is refused rather than inflated: a bundle
# is outside data, and a small zip can claim a huge member.
MAX_BUNDLE_RESULTS_BYTES = 2 * 1024**3
FAILING = ("fail", "error")
QUIET = ("pass", "not_applicable")


@dataclass
class Scan:
    """A scan to compare: its results, the rules it evaluated, the resources its inventory held."""

    ref: ScanRef
    results: list[Result]
    rule_ids: frozenset[str]
    resources: frozenset[str]

    @classmethod
    def of(cls, report: ScanReport, source: str) -> Scan:
        return cls.build(report.scan_id, report.as_of, source, report.results,
                         [r["id"] for r in report.rules], report.inventory)

    @classmethod
    def build(cls, scan_id: str, as_of, source: str, results: list[Result], rule_ids, inventory=None) -> Scan:
        resources = {r.resource_id for r in results}
        if inventory is not None:
            resources.update(c.id for c in inventory.certificates)
        rules = frozenset(rule_ids) or frozenset(r.rule_id for r in results)
        return cls(ScanRef(scan_id, as_of, source), list(results), rules, frozenset(resources))


def load_scan(path: str | Path) -> Scan:
    """A certscan-results.json or a certscan-evidence.zip; bad input is an InputError."""
    name = str(path)
    if not Path(path).is_file():
        raise InputError(Problem(name, "no such file (expected a certscan-results.json or a certscan-evidence.zip)"))
    if zipfile.is_zipfile(path):
        return Scan.of(_read_bundle(path), name)
    return Scan.of(read_results(path), name)


def _read_bundle(path: str | Path) -> ScanReport:
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(BUNDLE_RESULTS)
            except KeyError:
                raise InputError(Problem(name, f"an evidence bundle without {BUNDLE_RESULTS}")) from None
            if info.file_size > MAX_BUNDLE_RESULTS_BYTES:
                raise InputError(Problem(name, f"{BUNDLE_RESULTS} claims {info.file_size} bytes, more than the "
                                               f"{MAX_BUNDLE_RESULTS_BYTES} certscan reads"))
            with tempfile.TemporaryDirectory(prefix="certscan-bundle-") as folder:
                target = Path(folder) / BUNDLE_RESULTS
                with archive.open(info) as member, open(target, "wb") as out:
                    copied = 0
                    while chunk := member.read(1 << 20):
                        copied += len(chunk)
                        if copied > MAX_BUNDLE_RESULTS_BYTES:  # the header lied about the size
                            raise InputError(Problem(name, f"{BUNDLE_RESULTS} is larger than it says"))
                        out.write(chunk)
                try:
                    return read_results(target)
                except InputError as exc:  # name the bundle and its member, not the temporary copy
                    raise InputError([Problem(f"{name}:{BUNDLE_RESULTS}", p.message, p.line, p.path, p.rule_id)
                                      for p in exc.problems]) from None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise InputError(Problem(name, f"cannot read the evidence bundle: {exc}")) from None


def _bucket(result: Result) -> str | None:
    return (result.context or {}).get("expiry_bucket")


def _waiver_id(result: Result) -> str | None:
    return (result.waiver or {}).get("id")


def compare(old: Scan, new: Scan) -> Comparison:
    """Every result that fails, errors or is waived in either scan, with its change; sorted
    by change kind, then severity (worst first), rule and resource."""
    before = {r.fingerprint: r for r in old.results}
    after = {r.fingerprint: r for r in new.results}
    old_rules, new_rules = old.rule_ids, new.rule_ids
    changes: list[Change] = []
    for fingerprint in before.keys() | after.keys():
        change = _change(before.get(fingerprint), after.get(fingerprint), new, new_rules)
        if change is not None:
            changes.append(change)
    order = {kind: i for i, kind in enumerate(("new", "unwaived", "changed", "persisting", "waived", "resolved", "gone"))}
    changes.sort(key=lambda c: (order[c.change], -SEVERITY_RANK[c.severity], c.rule_id, c.resource_id))
    return Comparison(old.ref, new.ref, changes, sorted(old_rules - new_rules), sorted(new_rules - old_rules))


def _change(was: Result | None, now: Result | None, new: Scan, new_rules: frozenset[str]) -> Change | None:
    was_status = was.status if was else None
    now_status = now.status if now else None
    kind = None
    if now_status in FAILING:
        if was_status in FAILING:
            same = (was.severity, _bucket(was), was.status) == (now.severity, _bucket(now), now.status)
            kind = "persisting" if same else "changed"
        elif was_status == "waived":
            kind = "unwaived"
        else:
            kind = "new"
    elif now_status == "waived":
        if was_status in FAILING:
            kind = "waived"
    elif now_status in QUIET:
        if was_status in (*FAILING, "waived"):
            kind = "resolved"
    elif was_status in (*FAILING, "waived"):  # no result now
        kind = "gone"
    if kind is None:
        return None
    shown = now if now is not None and kind not in ("resolved",) else was
    reason = None
    if kind == "gone":
        if was.resource_id not in new.resources:
            reason = "the certificate is not in the newer inventory"
        elif was.rule_id not in new_rules:
            reason = "the rule is not evaluated in the newer scan"
        else:
            reason = "the newer scan has no result for it"
    was_open = was_status in (*FAILING, "waived")  # "previous" describes an earlier finding, not a pass
    return Change(
        change=kind, rule_id=shown.rule_id, resource_id=shown.resource_id, fingerprint=shown.fingerprint,
        severity=shown.severity, previous_severity=was.severity if was_open else None,
        status=now_status, previous_status=was_status,
        bucket=_bucket(now) if now else None, previous_bucket=_bucket(was) if was_open else None,
        message=shown.message, reason=reason,
        waiver=_waiver_id(now) if kind == "waived" else (_waiver_id(was) if kind == "unwaived" else None),
    )


@dataclass
class DiffOutcome:
    comparison: Comparison
    gating: list[Change]  # new, unwaived or worsened failures at or above --fail-on
    exit_code: int


def run_diff(old_path: str | Path, new_path: str | Path, fail_on: str = "none") -> DiffOutcome:
    """Exit 1 when a new, unwaived or worsened failure is at or above fail_on, else 0."""
    if fail_on not in FAIL_ON_CHOICES:
        raise InputError(Problem("--fail-on", f"{fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}"))
    problems: list[Problem] = []
    scans = []
    for path in (old_path, new_path):  # report both files' problems at once
        try:
            scans.append(load_scan(path))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    comparison = compare(*scans)
    gating = comparison.gating(None if fail_on == "none" else SEVERITY_RANK[fail_on])
    return DiffOutcome(comparison, gating, EXIT_FINDINGS if gating else EXIT_OK)


# --- scan --baseline ----------------------------------------------------------------------

def load_baseline(spec: str | None, history: str | None, as_of) -> Scan | None:
    """The baseline a scan is judged against: a results file or bundle, or with 'history'
    the latest scan recorded before as_of (None in an empty history: every finding is new)."""
    if spec is None:
        return None
    from scanner.usecases.history import HISTORY_BASELINE, previous_scan  # the store only when asked

    if spec == HISTORY_BASELINE:
        if not history:
            raise InputError(Problem("--baseline", "'history' means the previous scan in the history: give --history TARGET"))
        return previous_scan(history, as_of)
    return load_scan(spec)


def against_baseline(baseline: Scan | None, evaluation) -> Comparison:
    """Compare a fresh evaluation with its baseline; no baseline (a new history) compares
    with an empty scan of the same rules, so every finding is new."""
    rule_ids = [rule.id for rule in evaluation.rules]
    current = Scan.build(evaluation.scan_id, evaluation.as_of, "this scan", evaluation.results, rule_ids,
                         evaluation.inventory)
    if baseline is None:
        baseline = Scan(ScanRef("(none)", evaluation.as_of, "empty history"), [], frozenset(rule_ids), frozenset())
    return compare(baseline, current)


def baseline_fields(comparison: Comparison | None) -> dict:
    """The ScanReport fields that carry a comparison into every output."""
    if comparison is None:
        return {}
    return {"baseline": comparison, "baseline_labels": comparison.labels(),
            "baseline_summary": {"from": comparison.old.to_dict(), "counts": comparison.counts(),
                                 "rules_only_in_from": comparison.rules_only_old,
                                 "rules_only_in_to": comparison.rules_only_new}}


def with_baseline(report: ScanReport, baseline: Scan | None, source: str) -> ScanReport:
    """A saved scan (report --results) with its comparison against a baseline attached."""
    import dataclasses

    current = Scan.of(report, source)
    if baseline is None:
        baseline = Scan(ScanRef("(none)", report.as_of, "empty history"), [], current.rule_ids, frozenset())
    return dataclasses.replace(report, **baseline_fields(compare(baseline, current)))
