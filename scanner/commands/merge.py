"""certscan merge: one inventory from the inventories of sharded collection jobs."""

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from scanner.inputs.inventory_file import DEFAULT_MAX_SKEW
from scanner.report.escape import console as c
from scanner.usecases.merge import merge_files


def merge(
    inventories: Annotated[list[str], typer.Argument(help="Saved inventories of the shards (certscan-inventory.json).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the merged inventory.")],
    max_skew_hours: Annotated[float, typer.Option("--max-skew-hours", min=0,
                                                  help="Refuse shards collected further apart than this.")]
    = DEFAULT_MAX_SKEW.total_seconds() / 3600,
):
    """Merge shard inventories; refuses overlapping units and shards collected too far apart."""
    run = merge_files(inventories, output, timedelta(hours=max_skew_hours))
    merged = run.merged
    Console(stderr=True).print(f"merged {run.inputs} inventories: {len(merged.coverage)} units, "
                               f"{len(merged.certificates)} certificates, {len(merged.errors)} errors -> {c(output)}")
