"""Evaluate an inventory: rules + waivers at as_of -> results. Pure: no clock, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.model import SUPERSEDED, Inventory, _cert_key, Result, Waiver, expiry_bucket, format_time
from scanner.rules.engine import evaluate
from scanner.rules.model import PackInfo, Rule
from scanner.evaluate.waivers import WaiverState, apply_waivers


@dataclass
class Evaluation:
    scan_id: str
    as_of: datetime
    inventory: Inventory
    rules: list[Rule]
    results: list[Result]
    waivers: list[WaiverState] = field(default_factory=list)

    @property
    def packs(self) -> list[PackInfo]:
        seen: dict[str, PackInfo] = {}
        for rule in self.rules:
            seen.setdefault(rule.pack.path, rule.pack)
        return sorted(seen.values(), key=lambda p: p.display_path)

    def counts(self) -> dict[str, Any]:
        by_status = Counter(r.status for r in self.results)
        failing = [r for r in self.results if r.status == "fail"]
        buckets = Counter()
        superseded = 0
        for cert in self.inventory.certificates:
            if cert.status == SUPERSEDED:  # a replaced Key Vault version is not a certificate in service
                superseded += 1
            elif cert.not_after is not None:
                buckets[expiry_bucket(cert.not_after, self.as_of)] += 1
            else:
                buckets["UNKNOWN"] += 1
        return {
            "certificates": len(self.inventory.certificates),
            "by_status": dict(sorted(by_status.items())),
            "failures_by_severity": dict(sorted(Counter(r.severity for r in failing).items())),
            "certificates_by_bucket": dict(sorted(buckets.items())),
            "superseded_versions": superseded,
            "collection_errors": len(self.inventory.errors),
        }


_ENCODER = json.JSONEncoder(sort_keys=True)  # the C encoder (no indent): what the id has always hashed
_CHUNK = 2_000


def _hash_inventory(digest: Any, inventory: Inventory) -> None:
    """Feed json.dumps(inventory.to_dict(), sort_keys=True) to the digest a chunk of
    certificates at a time: the same bytes, without every certificate as a dict at once."""
    marker = "\x00certificates"
    skeleton = {**inventory.to_dict(certificates=False), "certificates": marker}
    before, after = _ENCODER.encode(skeleton).split(_ENCODER.encode(marker))
    digest.update(before.encode() + b"[")
    certificates = sorted(inventory.certificates, key=_cert_key)
    for start in range(0, len(certificates), _CHUNK):
        chunk = _ENCODER.encode([c.to_dict() for c in certificates[start:start + _CHUNK]])
        digest.update((b", " if start else b"") + chunk[1:-1].encode())
    digest.update(b"]" + after.encode())


def scan_id_for(inventory: Inventory, rules: list[Rule], waivers: list[Waiver], as_of: datetime) -> str:
    """A content id: the same inventory, packs, parameters, waivers and as_of give the same id."""
    digest = hashlib.sha256()
    _hash_inventory(digest, inventory)
    for rule in rules:
        digest.update(f"{rule.id}|{rule.pack.sha256}|{json.dumps(rule.params, sort_keys=True)}".encode("utf-8", "backslashreplace"))
    for w in waivers:
        digest.update(f"{w.id}|{w.rule}|{w.resource}|{format_time(w.expires)}".encode("utf-8", "backslashreplace"))
    digest.update(format_time(as_of).encode())
    return digest.hexdigest()[:16]


def evaluate_inventory(inventory: Inventory, rules: list[Rule], waivers: list[Waiver], as_of: datetime,
                       scan_id: str = "") -> Evaluation:
    """The scan id is the caller's: computing it serialises the whole inventory, which is
    output work, not evaluation (see scan_id_for)."""
    results = evaluate(inventory.certificates, rules, as_of)
    results, states = apply_waivers(results, waivers, as_of)
    return Evaluation(scan_id, as_of, inventory, rules, results, states)
