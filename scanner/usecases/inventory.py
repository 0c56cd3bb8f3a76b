"""The read-only use cases over a collected (or saved) inventory: list it, list what expires,
check DNS validation records. No rules run; the exit code says whether collection was whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scanner.collect import SourceOptions
from scanner.evaluate.gate import EXIT_INCOMPLETE, EXIT_OK
from scanner.model import Inventory
from scanner.usecases.scan import gather, now


@dataclass(frozen=True)
class Listing:
    inventory: Inventory
    as_of: datetime  # days to expiry are counted from here


def collect_for_listing(sources: SourceOptions, as_of: datetime | None) -> Listing:
    """Bad input raises InputError before anything is collected."""
    started = now()
    return Listing(gather(sources, started), as_of or started)


def listing_exit_code(inventory: Inventory, allow_partial: bool) -> int:
    """3 when a unit could not be read (the list is not the whole list), unless allowed."""
    return EXIT_INCOMPLETE if not inventory.complete and not allow_partial else EXIT_OK
