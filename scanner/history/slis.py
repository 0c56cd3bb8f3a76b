"""The certificate SLIs, computed from recorded scans (pure: no store, no clock).

Each is defined in the README ("Weekly scans"); in short:

- expired while in use: a certificate (its id and not_after) *reached expiry* when a scan
  first saw it with not_after <= that scan's as_of; it *expired while in use* when that scan
  also saw it in use. Count, and share of the certificates that reached expiry.
- rotation lead time: for each certificate replaced, the whole days from the first scan that
  sees the replacement to the old certificate's not_after (negative: replaced after it
  expired). Replaced means: the same identity (ARN, IAM id, Key Vault vault + name, file
  path, host:port) now has a later not_after, or a new certificate for the same domain has
  taken over (some of) its users (in_use_by). Measured at the scan, so with weekly scans it
  errs up to a week short.
- mean time to resolve by severity: for each finding (fingerprint) that failed and later
  stopped failing (passes, or its certificate or rule is gone), the time from the first scan
  where it failed to the first where it no longer did, grouped by its last failing severity.
  A finding that becomes waived is not counted as resolved; absence from an incomplete scan
  resolves nothing.
- findings open too long: failing in the latest scan, open (failing since) longer than the
  escalation matrix allows for their severity (ALLOWED_OPEN_DAYS).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import mean, median
from typing import Any

from scanner.history.store import CertificateRow, ScanRow
from scanner.model import SEVERITIES, SEVERITY_RANK, SUPERSEDED, Result, days_to_expiry, format_time

# The escalation matrix, read as time limits: EXPIRED / critical "replace immediately" and
# CRITICAL_7D / high "renew within 24 hours" get one day; WARNING_30D / medium "schedule
# renewal this week" seven; ATTENTION_90D / low "plan renewal" the 90 days of its window;
# info has no limit.
ALLOWED_OPEN_DAYS = {"critical": 1, "high": 1, "medium": 7, "low": 90}
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class ScannedState:
    """One recorded scan with what the SLIs read of it."""

    scan: ScanRow
    results: list[Result]
    certificates: list[CertificateRow]


@dataclass(frozen=True)
class Rotation:
    kind: str  # renewed (same identity, later not_after) | replaced (a new certificate took over its users)
    old_id: str
    new_id: str
    domain: str | None
    old_not_after: datetime
    seen_at: datetime
    lead_days: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["old_not_after"], out["seen_at"] = format_time(self.old_not_after), format_time(self.seen_at)
        return out


@dataclass(frozen=True)
class ExpiredCertificate:
    cert_id: str
    domain: str | None
    not_after: datetime
    seen_at: datetime  # the first scan that saw it expired
    in_use: bool

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["not_after"], out["seen_at"] = format_time(self.not_after), format_time(self.seen_at)
        return out


@dataclass(frozen=True)
class OpenFinding:
    rule_id: str
    resource_id: str
    severity: str
    opened_at: datetime
    age_days: float
    allowed_days: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["opened_at"] = format_time(self.opened_at)
        return out


@dataclass
class SLIs:
    reached_expiry: list[ExpiredCertificate] = field(default_factory=list)
    rotations: list[Rotation] = field(default_factory=list)
    resolve_days: dict[str, list[float]] = field(default_factory=dict)  # severity -> durations
    overdue: list[OpenFinding] = field(default_factory=list)

    @property
    def expired_in_use(self) -> list[ExpiredCertificate]:
        return [c for c in self.reached_expiry if c.in_use]

    @property
    def expired_in_use_share(self) -> float | None:
        return len(self.expired_in_use) / len(self.reached_expiry) if self.reached_expiry else None

    def lead_time(self) -> dict[str, Any]:
        leads = [r.lead_days for r in self.rotations]
        if not leads:
            return {"rotations": 0, "mean_days": None, "median_days": None, "min_days": None}
        return {"rotations": len(leads), "mean_days": round(float(mean(leads)), 1), "median_days": float(median(leads)),
                "min_days": min(leads)}

    def mttr(self) -> dict[str, dict[str, Any]]:
        return {sev: {"resolved": len(self.resolve_days[sev]), "mean_days": round(float(mean(self.resolve_days[sev])), 1)}
                for sev in reversed(SEVERITIES) if self.resolve_days.get(sev)}

    def to_dict(self) -> dict[str, Any]:
        share = self.expired_in_use_share
        return {
            "expired_while_in_use": {"count": len(self.expired_in_use), "reached_expiry": len(self.reached_expiry),
                                     "share": None if share is None else round(share, 4),
                                     "certificates": [c.to_dict() for c in self.reached_expiry]},
            "rotation_lead_time": {**self.lead_time(), "events": [r.to_dict() for r in self.rotations]},
            "mean_time_to_resolve": self.mttr(),
            "open_too_long": {"count": len(self.overdue), "allowed_days": ALLOWED_OPEN_DAYS,
                              "findings": [f.to_dict() for f in self.overdue]},
        }


def _in_service(cert: CertificateRow) -> bool:
    return cert.status != SUPERSEDED


def compute(states: list[ScannedState]) -> SLIs:
    """SLIs over scans in as_of order."""
    slis = SLIs()
    slis.reached_expiry = _reached_expiry(states)
    slis.rotations = _rotations(states)
    slis.resolve_days, slis.overdue = _resolution(states)
    return slis


def _reached_expiry(states: list[ScannedState]) -> list[ExpiredCertificate]:
    seen: dict[tuple[str, datetime], ExpiredCertificate] = {}
    for state in states:
        as_of = state.scan.as_of
        for cert in state.certificates:
            if cert.not_after is None or not _in_service(cert) or cert.not_after > as_of:
                continue
            seen.setdefault((cert.cert_id, cert.not_after),
                            ExpiredCertificate(cert.cert_id, cert.domain, cert.not_after, as_of, bool(cert.in_use)))
    return sorted(seen.values(), key=lambda c: (c.seen_at, c.cert_id))


def _rotations(states: list[ScannedState]) -> list[Rotation]:
    out: list[Rotation] = []
    done: set[tuple[str, datetime]] = set()  # an old certificate is replaced once
    for prev, cur in zip(states, states[1:]):
        as_of = cur.scan.as_of
        before = {c.identity: c for c in prev.certificates if _in_service(c)}
        after = {c.identity: c for c in cur.certificates if _in_service(c)}
        for identity, old in sorted(before.items()):
            new = after.get(identity)
            if (new is None or old.not_after is None or new.not_after is None or new.not_after <= old.not_after
                    or (old.cert_id, old.not_after) in done):
                continue
            done.add((old.cert_id, old.not_after))
            out.append(Rotation("renewed", old.cert_id, new.cert_id, old.domain, old.not_after, as_of,
                                days_to_expiry(old.not_after, as_of)))
        newcomers = [c for identity, c in sorted(after.items()) if identity not in before]
        for identity, old in sorted(before.items()):
            if not old.in_use_by or not old.domain or old.not_after is None or (old.cert_id, old.not_after) in done:
                continue
            still = set(after[identity].in_use_by) if identity in after else set()
            moved = set(old.in_use_by) - still
            taker = next((c for c in newcomers if c.domain and c.domain.lower() == old.domain.lower()
                          and moved & set(c.in_use_by)), None)
            if taker is None:
                continue
            done.add((old.cert_id, old.not_after))
            out.append(Rotation("replaced", old.cert_id, taker.cert_id, old.domain, old.not_after, as_of,
                                days_to_expiry(old.not_after, as_of)))
    return out


def _resolution(states: list[ScannedState]) -> tuple[dict[str, list[float]], list[OpenFinding]]:
    resolve_days: dict[str, list[float]] = {}
    # fingerprint -> (opened at, last failing severity, rule, resource)
    open_since: dict[str, tuple[datetime, str, str, str]] = {}
    for state in states:
        as_of = state.scan.as_of
        status = {r.fingerprint: r for r in state.results}
        for fingerprint, (opened, severity, rule_id, resource_id) in list(open_since.items()):
            result = status.get(fingerprint)
            if result is None and not state.scan.complete:
                continue  # not seen is not fixed: the scan could not see everything
            if result is None or result.status == "pass":
                resolve_days.setdefault(severity, []).append((as_of - opened).total_seconds() / DAY_SECONDS)
                del open_since[fingerprint]
            elif result.status == "waived":
                del open_since[fingerprint]  # accepted, not fixed
            elif result.status == "fail":
                open_since[fingerprint] = (opened, result.severity, rule_id, resource_id)
        for fingerprint, result in status.items():
            if result.status == "fail" and fingerprint not in open_since:
                open_since[fingerprint] = (as_of, result.severity, result.rule_id, result.resource_id)
    overdue: list[OpenFinding] = []
    if states:
        last = states[-1]
        failing_now = {r.fingerprint for r in last.results if r.status == "fail"}
        for fingerprint, (opened, severity, rule_id, resource_id) in open_since.items():
            allowed = ALLOWED_OPEN_DAYS.get(severity)
            age = (last.scan.as_of - opened).total_seconds() / DAY_SECONDS
            if fingerprint in failing_now and allowed is not None and age > allowed:
                overdue.append(OpenFinding(rule_id, resource_id, severity, opened, round(age, 2), allowed))
    overdue.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -f.age_days, f.rule_id, f.resource_id))
    return resolve_days, overdue
