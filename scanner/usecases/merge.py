"""The merge use case: shard inventories (saved by sharded collection jobs) read, joined into
one inventory and saved. The rules of joining are scanner.inputs.inventory_file's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scanner.inputs.inventory_file import DEFAULT_MAX_SKEW, load_inventory, merge_inventories, save_inventory
from scanner.model import Inventory


@dataclass(frozen=True)
class MergeRun:
    inputs: int
    merged: Inventory
    output: Path


def merge_files(paths: list[str], output: str | Path, max_skew: timedelta = DEFAULT_MAX_SKEW) -> MergeRun:
    """Bad or overlapping shards raise InputError; nothing is written then."""
    parts = [(path, load_inventory(path)) for path in paths]
    merged = merge_inventories(parts, max_skew)
    save_inventory(merged, output)
    return MergeRun(len(parts), merged, Path(output))
