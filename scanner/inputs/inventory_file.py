"""Saved inventories: read (validated against schemas/inventory.schema.json) and written."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from scanner.model import (Certificate, CollectionError, Coverage, Inventory, NaiveDatetimeError, format_time,
                           parse_time)
from scanner.model import _cert_key, _error_key  # the saved inventory's order
from scanner.inputs.problems import InputError, Problem, json_path
from scanner.inputs.schema_check import check, is_valid
from scanner.inputs.yamlfile import load_json, visible_key
from scanner.report.atomic import JsonArray, dumps_json_bytes, write_json
from scanner.timings import phase


# Generous: a 1,000,000-certificate inventory is about 1.5 GB. Past this, a file is refused
# before it is read rather than filling memory (CERTSCAN_MAX_INVENTORY_BYTES overrides it).
MAX_INVENTORY_BYTES = 4 * 1024 ** 3
# metadata is the one free-form object of an inventory; everything else has a fixed shape.
MAX_METADATA_DEPTH = 32
CHUNK = 2_000  # certificates serialized at a time when an inventory is written


def max_inventory_bytes() -> int:
    value = os.environ.get("CERTSCAN_MAX_INVENTORY_BYTES", "")
    return int(value) if value.isdigit() else MAX_INVENTORY_BYTES


def load_inventory(path: str | Path) -> Inventory:
    name = str(path)
    with phase("load inventory: parse"):
        data = load_json(path, max_bytes=max_inventory_bytes())
    with phase("load inventory: validate"):
        problems = [] if is_valid(data, "inventory.schema.json") else check(data, "inventory.schema.json", name)
        if problems:
            raise InputError(problems[:50] + ([Problem(name, f"... and {len(problems) - 50} more problems")]
                                              if len(problems) > 50 else []))
        _check_metadata_depth(name, data.get("metadata"))
        _check_unique_ids(name, data["certificates"])
    with phase("load inventory: records"):
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


def _check_metadata_depth(name: str, metadata: Any) -> None:
    level = [(["metadata"], metadata)]
    for depth in range(MAX_METADATA_DEPTH + 1):
        level = [(path + [key], child) for path, node in level
                 for key, child in (node.items() if isinstance(node, dict) else
                                    enumerate(node) if isinstance(node, list) else ())
                 if isinstance(child, (dict, list))]
        if not level:
            return
    raise InputError(Problem(name, f"nested more than {MAX_METADATA_DEPTH} levels deep", path=json_path(level[0][0])))


def _check_unique_ids(name: str, certificates: list[dict]) -> None:
    """Two records with one id would give one resource two sets of results (and one of them
    would win every lookup by id): refuse, naming both."""
    ids = [c["id"] for c in certificates]
    if len(set(ids)) == len(ids):
        return
    first: dict[str, int] = {}
    problems = []
    for index, ident in enumerate(ids):
        if ident in first:
            problems.append(Problem(name, f"certificate id {visible_key(ident)} is also certificates[{first[ident]}]: "
                                          f"each certificate must appear once", path=f"certificates[{index}].id"))
        else:
            first[ident] = index
    raise InputError(problems[:50])


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    """Inventory.to_dict(), with the certificates serialized a chunk at a time as written."""
    certificates = sorted(inventory.certificates, key=_cert_key)
    return {**inventory.to_dict(certificates=False),
            "certificates": JsonArray([c.to_dict() for c in certificates[i:i + CHUNK]]
                                      for i in range(0, len(certificates), CHUNK))}


def save_inventory(inventory: Inventory, path: str | Path) -> None:
    """Written from the records as loaded or collected: they are valid by construction."""
    write_json(path, inventory_document(inventory))


def inventory_bytes(inventory: Inventory) -> bytes:
    return dumps_json_bytes(inventory_document(inventory))


DEFAULT_MAX_SKEW = timedelta(hours=6)


def merge_inventories(parts: list[tuple[str, Inventory]], max_skew: timedelta = DEFAULT_MAX_SKEW) -> Inventory:
    """One inventory from shard inventories (name, inventory). Refuses shards that overlap on
    a unit or a certificate, or that were collected more than max_skew apart: a merged
    inventory must describe one moment of one estate, each unit exactly once. Every shard's
    coverage and errors are kept; an error several shards report (met while listing units,
    which every shard does: the Organization's accounts, a subscription's vaults) is kept
    once. collected_at is the earliest shard's."""
    problems: list[Problem] = []
    if not parts:
        raise InputError("merge needs at least one inventory")
    times = sorted(inv.collected_at for _, inv in parts)
    if times[-1] - times[0] > max_skew:
        spread = ", ".join(f"{name}: {format_time(inv.collected_at)}" for name, inv in parts)
        problems.append(Problem(None, f"shards were collected {times[-1] - times[0]} apart, more than the "
                                      f"allowed {max_skew} (--max-skew-hours): {spread}"))
    problems += _shard_set_problems(parts)
    unit_owner: dict[str, str] = {}
    cert_owner: dict[str, str] = {}
    merged = Inventory(collected_at=times[0])
    seen_errors: set[tuple] = set()  # errors of the shards merged so far
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
        # An error another shard reported too was met while listing (a unit's own errors come
        # from the one shard that covers it: overlaps are refused above); keep one copy.
        this_shard = [(tuple(error.to_dict().values()), error) for error in inv.errors]
        merged.errors.extend(error for key, error in this_shard if key not in seen_errors)
        seen_errors.update(key for key, _ in this_shard)
        shards.append({"file": name, "shard": inv.metadata.get("shard"), "collected_at": format_time(inv.collected_at),
                       "units": len(inv.coverage), "certificates": len(inv.certificates), "errors": len(inv.errors)})
    if problems:
        raise InputError(problems[:50])
    # The order one unsharded collection gives (see collect.runner), so the gate's reasons match.
    merged.certificates.sort(key=_cert_key)
    merged.errors.sort(key=lambda e: (_error_key(e), e.unit or ""))
    merged.coverage.sort(key=lambda c: c.unit)
    merged.metadata = {"merged_from": shards}
    return merged


def _shard_set_problems(parts: list[tuple[str, Inventory]]) -> list[Problem]:
    """Inventories collected with --shard I/N say so (metadata.shard): every shard 1..N of each
    N must be there once. A shard job that failed, or an artifact left behind, would otherwise
    merge into an inventory that looks whole and never saw that shard's units."""
    by_count: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    problems: list[Problem] = []
    for name, inv in parts:
        label = inv.metadata.get("shard")
        if label is None:
            continue  # not a shard (a whole collection, or an earlier merge)
        try:
            index, count = (int(part) for part in str(label).split("/"))
        except ValueError:
            problems.append(Problem(name, f"metadata.shard {label!r}: expected I/N"))
            continue
        by_count[count][index].append(name)
    for count, seen in sorted(by_count.items()):
        for index, names in sorted(seen.items()):
            if len(names) > 1:
                problems.append(Problem(names[1], f"shard {index}/{count} is given twice (also {names[0]})"))
        missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
        if missing:
            problems.append(Problem(None, f"shard(s) {', '.join(missing)} missing: a merged inventory needs every "
                                          f"shard of the {count}, or it would not see their units"))
    return problems
