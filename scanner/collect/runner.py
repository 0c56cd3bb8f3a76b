"""Runs collectors: lists units, keeps this shard's share, collects units concurrently with
a progress bar on stderr, and assembles the Inventory with its coverage and errors."""

from __future__ import annotations

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime

from scanner.collect import Collector, SourceOptions, Unit, UnitResult
from scanner.collect.registry import build_collectors
from scanner.model import CollectionError, Coverage, Inventory
from scanner.model import _cert_key, _error_key  # the saved inventory's order

def in_shard(unit_key: str, shard: tuple[int, int] | None) -> bool:
    """Stable partition: a unit belongs to one shard whatever order units are listed in."""
    if shard is None:
        return True
    index, count = shard
    digest = int.from_bytes(hashlib.sha256(unit_key.encode("utf-8", "backslashreplace")).digest()[:8], "big")
    return digest % count == index - 1


def _safe_collect(collector: Collector, unit: Unit) -> UnitResult:
    try:
        return collector.collect(unit)
    except Exception as exc:  # a bug or an unexpected provider answer: record it, go on
        message = f"{type(exc).__name__}: {exc}"
        return UnitResult(errors=[CollectionError(source=collector.source, code="InternalError",
                                                  message=message if len(message) <= 300 else message[:300] + "…",
                                                  service=unit.service, account=unit.account, region=unit.region,
                                                  unit=unit.key)],
                          coverage=[Coverage(unit=unit.key, source=collector.source, service=unit.service,
                                             account=unit.account, region=unit.region, complete=False)])


def collect(options: SourceOptions, collected_at: datetime, collectors: list[Collector] | None = None) -> Inventory:
    collectors = collectors if collectors is not None else build_collectors(options)
    inventory = Inventory(collected_at=collected_at)
    if options.shard:
        inventory.metadata["shard"] = f"{options.shard[0]}/{options.shard[1]}"
    work: list[tuple[Collector, Unit]] = []
    for collector in collectors:
        units, errors = collector.units()
        # Every shard lists every unit, so a listing error is met (or not) by each shard on its
        # own: a subscription listing throttled in this shard only hides this shard's vaults.
        # Each shard keeps its listing errors, whatever their key; merge keeps one copy.
        inventory.errors.extend(errors)
        work.extend((collector, u) for u in units if in_shard(u.key, options.shard))

    show = not options.quiet and sys.stderr.isatty()
    progress = None
    if show:
        from rich.progress import Progress

        from scanner.report.escape import console as console_text
        progress = Progress(transient=True, console=_stderr_console())
        progress.start()
        task = progress.add_task("collecting", total=len(work))
    try:
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
            futures = {pool.submit(_safe_collect, c, u): u for c, u in work}
            for future in as_completed(futures):
                part = future.result()
                inventory.certificates.extend(part.certificates)
                inventory.errors.extend(part.errors)
                inventory.coverage.extend(part.coverage)
                if progress is not None:
                    # a unit's label names a file, endpoint or vault: outside text
                    progress.update(task, advance=1, description=console_text(futures[future].label))
        for collector in collectors:
            finish = getattr(collector, "finish", None)
            if finish is not None:
                inventory.errors.extend(finish(inventory.certificates))
        # Who read each source (account principals, tenants), for the evidence's scope.
        identities = [i for c in collectors if hasattr(c, "identities") for i in c.identities()]
        if identities:
            inventory.metadata["identities"] = identities
    finally:
        if progress is not None:
            progress.stop()
    # Units finish in any order: put the records in the order a saved inventory has, so what
    # is read from the lists (e.g. the gate's reasons) is the same run to run, and the same as
    # when this inventory is evaluated again from its file.
    inventory.certificates.sort(key=_cert_key)
    inventory.errors.sort(key=lambda e: (_error_key(e), e.unit or ""))
    inventory.coverage.sort(key=lambda c: c.unit)
    return inventory


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)
