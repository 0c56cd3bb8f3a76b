"""certscan merge: one inventory from the inventories of sharded collection jobs."""

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from scanner.inputs.inventory_file import DEFAULT_MAX_SKEW, load_inventory, merge_inventories, save_inventory


def merge(
    inventories: Annotated[list[str], typer.Argument(help="Saved inventories of the shards (certscan-inventory.json).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the merged inventory.")],
    max_skew_hours: Annotated[float, typer.Option("--max-skew-hours", min=0,
                                                  help="Refuse shards collected further apart than this.")]
    = DEFAULT_MAX_SKEW.total_seconds() / 3600,
):
    """Merge shard inventories; refuses overlapping units and shards collected too far apart."""
    parts = [(path, load_inventory(path)) for path in inventories]
    merged = merge_inventories(parts, timedelta(hours=max_skew_hours))
    save_inventory(merged, output)
    Console(stderr=True).print(f"merged {len(parts)} inventories: {len(merged.coverage)} units, "
                               f"{len(merged.certificates)} certificates, {len(merged.errors)} errors -> {output}")
