"""Saved inventories: read (validated against schemas/inventory.schema.json) and written."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from scanner.model import (Certificate, CollectionError, Coverage, Inventory, NaiveDatetimeError, format_time,
                           parse_time)
from scanner.outputs import write_json
from scanner.problems import InputError, Problem
from scanner.schema_check import check
from scanner.yamlfile import load_json


def load_inventory(path: str | Path) -> Inventory:
    name = str(path)
    data = load_json(path)
    problems = check(data, "inventory.schema.json", name)
    if problems:
        raise InputError(problems[:50] + ([Problem(name, f"... and {len(problems) - 50} more problems")]
                                          if len(problems) > 50 else []))
    try:
        return Inventory(
            collected_at=parse_time(data["collected_at"]),
            certificates=[Certificate.from_dict(c) for c in data["certificates"]],
            errors=[CollectionError.from_dict(e) for e in data["errors"]],
            coverage=[Coverage.from_dict(c) for c in data["coverage"]],
            metadata=dict(data.get("metadata") or {}),
        )
    except (ValueError, NaiveDatetimeError) as exc:
        raise InputError(Problem(name, f"bad timestamp: {exc}")) from None


def save_inventory(inventory: Inventory, path: str | Path) -> None:
    write_json(path, inventory.to_dict())


DEFAULT_MAX_SKEW = timedelta(hours=6)


def merge_inventories(parts: list[tuple[str, Inventory]], max_skew: timedelta = DEFAULT_MAX_SKEW) -> Inventory:
    """One inventory from shard inventories (name, inventory). Refuses shards that overlap on
    a unit or a certificate, or that were collected more than max_skew apart: a merged
    inventory must describe one moment of one estate, each unit exactly once. Every shard's
    coverage and errors are kept; an error without a unit (reported by every shard, e.g. the
    Organization listing) is kept once. collected_at is the earliest shard's."""
    problems: list[Problem] = []
    if not parts:
        raise InputError("merge needs at least one inventory")
    times = sorted(inv.collected_at for _, inv in parts)
    if times[-1] - times[0] > max_skew:
        spread = ", ".join(f"{name}: {format_time(inv.collected_at)}" for name, inv in parts)
        problems.append(Problem(None, f"shards were collected {times[-1] - times[0]} apart, more than the "
                                      f"allowed {max_skew} (--max-skew): {spread}"))
    unit_owner: dict[str, str] = {}
    cert_owner: dict[str, str] = {}
    merged = Inventory(collected_at=times[0])
    seen_errors: set[tuple] = set()
    shards = []
    for name, inv in parts:
        for unit in inv.coverage:
            if unit.unit in unit_owner:
                problems.append(Problem(name, f"unit {unit.unit} is also in {unit_owner[unit.unit]}: shards overlap"))
            unit_owner.setdefault(unit.unit, name)
        for cert in inv.certificates:
            if cert.id in cert_owner and cert_owner[cert.id] != name:
                problems.append(Problem(name, f"certificate {cert.id} is also in {cert_owner[cert.id]}: shards overlap"))
            cert_owner.setdefault(cert.id, name)
        merged.certificates.extend(inv.certificates)
        merged.coverage.extend(inv.coverage)
        for error in inv.errors:
            key = tuple(error.to_dict().values())
            if error.unit is None and key in seen_errors:
                continue
            seen_errors.add(key)
            merged.errors.append(error)
        shards.append({"file": name, "shard": inv.metadata.get("shard"), "collected_at": format_time(inv.collected_at),
                       "units": len(inv.coverage), "certificates": len(inv.certificates), "errors": len(inv.errors)})
    if problems:
        raise InputError(problems[:50])
    merged.metadata = {"merged_from": shards}
    return merged
