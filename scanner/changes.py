"""What changed between two scans: plain data, like model.py. ``usecases.diff.compare``
builds it; the diff output, the baseline gate and the reporters only read it.

A change is about one (rule, resource) result, matched across scans by its stable
``fingerprint``. Only results that fail, error or are waived on either side get one:

    new         fails (or errors) now, did not fail before (absent, pass, not applicable)
    resolved    failed (or was waived) before, passes or is not applicable now
    gone        failed before; the result is no longer there (the certificate left the
                inventory, or the rule is no longer evaluated: ``reason`` says which)
    persisting  fails now and before, same severity, expiry bucket and status
    changed     fails now and before, with a different severity, bucket or status
    waived      failed before, waived now
    unwaived    waived before, fails now (the waiver expired or was removed)

``worsened`` is a change whose severity rose (a ``changed`` result). What a baseline gate
counts: new, unwaived and worsened results (``Change.counts_against_baseline``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.model import SEVERITY_RANK, format_time

CHANGE_KINDS = ("new", "unwaived", "changed", "persisting", "waived", "resolved", "gone")
# The label each failing result of a scan carries against its baseline
# (certscan-results.json ``baseline``; SARIF ``baselineState`` new / unchanged / updated).
BASELINE_LABELS = {"new": "new", "unwaived": "new", "persisting": "existing", "changed": "changed"}
SARIF_BASELINE_STATE = {"new": "new", "existing": "unchanged", "changed": "updated"}


@dataclass(frozen=True)
class ScanRef:
    """One side of a comparison: which scan, when, read from where."""

    scan_id: str
    as_of: datetime
    source: str  # the file, bundle or history it was read from

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "as_of": format_time(self.as_of), "source": self.source}


@dataclass(frozen=True)
class Change:
    change: str
    rule_id: str
    resource_id: str
    fingerprint: str
    severity: str  # now (before, for resolved and gone)
    previous_severity: str | None
    status: str | None  # now; None when gone
    previous_status: str | None
    bucket: str | None
    previous_bucket: str | None
    message: str
    reason: str | None = None  # gone: why the result is no longer there
    waiver: str | None = None  # the waiver id, for waived / unwaived

    @property
    def worsened(self) -> bool:
        return (self.change == "changed" and self.previous_severity is not None
                and SEVERITY_RANK[self.severity] > SEVERITY_RANK[self.previous_severity])

    @property
    def counts_against_baseline(self) -> bool:
        """New or worse than in the baseline: what a baseline gate fails on."""
        return self.change in ("new", "unwaived") or self.worsened

    @property
    def open_now(self) -> bool:
        """A failing (or undecided) result in the newer scan."""
        return self.change in ("new", "unwaived", "changed", "persisting")

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change, "rule_id": self.rule_id, "resource_id": self.resource_id,
            "fingerprint": self.fingerprint, "severity": self.severity,
            "previous_severity": self.previous_severity, "status": self.status,
            "previous_status": self.previous_status, "bucket": self.bucket,
            "previous_bucket": self.previous_bucket, "worsened": self.worsened, "message": self.message,
            "reason": self.reason, "waiver": self.waiver,
        }


@dataclass
class Comparison:
    old: ScanRef
    new: ScanRef
    changes: list[Change] = field(default_factory=list)
    rules_only_old: list[str] = field(default_factory=list)
    rules_only_new: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {kind: 0 for kind in CHANGE_KINDS}
        for change in self.changes:
            counts[change.change] += 1
        counts["worsened"] = sum(1 for c in self.changes if c.worsened)
        return counts

    def of(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.change in kinds]

    @property
    def worsened(self) -> list[Change]:
        return [c for c in self.changes if c.worsened]

    def labels(self) -> dict[str, str]:
        """fingerprint -> new | existing | changed, for every result open in the newer scan."""
        return {c.fingerprint: BASELINE_LABELS[c.change] for c in self.changes if c.open_now}

    def gating(self, threshold: int | None) -> list[Change]:
        """New, unwaived or worsened failures at or above a severity rank (None: none)."""
        if threshold is None:
            return []
        return [c for c in self.changes if c.counts_against_baseline and c.status == "fail"
                and SEVERITY_RANK[c.severity] >= threshold]

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.old.to_dict(), "to": self.new.to_dict(), "counts": self.counts(),
            "rules_only_in_from": self.rules_only_old, "rules_only_in_to": self.rules_only_new,
            "changes": [c.to_dict() for c in self.changes],
        }
