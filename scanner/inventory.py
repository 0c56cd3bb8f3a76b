"""Saved inventories: read (validated against schemas/inventory.schema.json) and written."""

from __future__ import annotations

from pathlib import Path

from scanner.model import Certificate, CollectionError, Coverage, Inventory, NaiveDatetimeError, parse_time
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
