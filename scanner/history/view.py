"""What certscan history shows: one point per recorded scan and the SLIs (plain data, built
by scanner.usecases.history, rendered by scanner.report.history_view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.history.slis import SLIs
from scanner.model import format_time


@dataclass
class ScanPoint:
    """One recorded scan in the history report."""

    scan_id: str
    as_of: datetime
    complete: bool
    certificates: int
    buckets: dict[str, int]
    findings: dict[str, int]  # failing results per severity
    new: int | None  # since the previous scan (None for the first)
    resolved: int | None
    worsened: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "as_of": format_time(self.as_of), "complete": self.complete,
                "certificates": self.certificates, "buckets": self.buckets, "findings": self.findings,
                "new": self.new, "resolved": self.resolved, "worsened": self.worsened}


@dataclass
class HistoryView:
    target: str
    since: datetime | None
    points: list[ScanPoint] = field(default_factory=list)
    slis: SLIs = field(default_factory=SLIs)

    def to_dict(self) -> dict[str, Any]:
        return {"history": self.target, "since": format_time(self.since),
                "scans": [p.to_dict() for p in self.points], "slis": self.slis.to_dict()}
