"""Read-only commands over a collected (or saved) inventory: ``inventory``, ``expiring`` and
``dns-check`` (scanner.usecases.inventory). No rules run. Exit 3 when collection was
incomplete (unless --allow-partial), 2 on bad input, else 0."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from scanner.commands.common import build_sources, parse_as_of, split_list, with_sources
from scanner.inputs.config import load_config, pick
from scanner.model import Inventory
from scanner.report import inventory_view
from scanner.report.console import print_collection_problems, print_written
from scanner.usecases.inventory import collect_for_listing, listing_exit_code

ConfigOpt = Annotated[Optional[str], typer.Option("--config", help="Configuration YAML file.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Days to expiry as of this date or ISO 8601 timestamp with a zone (default: now).")]
ExportJsonOpt = Annotated[Optional[Path], typer.Option("--export-json", help="Write the listed certificates as an inventory JSON (accepted by --inventory).")]
ExportCsvOpt = Annotated[Optional[Path], typer.Option("--export-csv", help="Write the listed certificates as CSV.")]
AllowPartialOpt = Annotated[Optional[bool], typer.Option("--allow-partial/--no-allow-partial", help="Do not exit 3 when a source could not be read.")]


def _load(source_args: dict, config: Optional[str], as_of: Optional[str]) -> tuple[dict[str, Any], Inventory, datetime]:
    """Bad input raises InputError before anything is collected."""
    cfg = load_config(config)
    moment = parse_as_of(as_of)
    listing = collect_for_listing(build_sources(cfg, **source_args), moment)
    return cfg, listing.inventory, listing.as_of


def _finish(inventory: Inventory, cfg: dict[str, Any], allow_partial: Optional[bool]) -> None:
    print_collection_problems(inventory, Console(stderr=True, highlight=False))
    raise typer.Exit(listing_exit_code(inventory, bool(pick(allow_partial, cfg, "allow_partial", False))))


def _export(inventory: Inventory, rows, moment: datetime, view: dict[str, Any],
            export_json: Optional[Path], export_csv: Optional[Path]) -> None:
    written = []
    if export_json:
        written.append(inventory_view.export_json(export_json, inventory, rows, moment, view))
    if export_csv:
        written.append(inventory_view.export_csv(export_csv, rows))
    print_written(written, Console(stderr=True, highlight=False))


@with_sources
def inventory(
    source_args: dict,
    status: Annotated[Optional[list[str]], typer.Option("--status", help="Only these statuses (repeatable or comma list), e.g. ISSUED,EXPIRED.")] = None,
    in_use_only: Annotated[bool, typer.Option("--in-use-only", help="Only certificates in use.")] = False,
    export_json: ExportJsonOpt = None,
    export_csv: ExportCsvOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    allow_partial: AllowPartialOpt = None,
):
    """List certificates, soonest expiry first, coloured by expiry bucket."""
    cfg, inv, moment = _load(source_args, config, as_of)
    statuses = split_list(status)
    rows = inventory_view.select(inv, moment, statuses=statuses, in_use_only=in_use_only)
    Console().print(inventory_view.certificate_table(rows, f"{len(rows)} of {len(inv.certificates)} certificates"))
    _export(inv, rows, moment, {"command": "inventory", "status": statuses, "in_use_only": in_use_only},
            export_json, export_csv)
    _finish(inv, cfg, allow_partial)


@with_sources
def expiring(
    source_args: dict,
    days: Annotated[int, typer.Option("--days", min=0, help="Certificates expiring within N days (already expired included).")],
    export_json: ExportJsonOpt = None,
    export_csv: ExportCsvOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    allow_partial: AllowPartialOpt = None,
):
    """Certificates that expire within N days, and those already expired."""
    cfg, inv, moment = _load(source_args, config, as_of)
    rows = inventory_view.select(inv, moment, within_days=days)
    Console().print(inventory_view.certificate_table(rows, f"{len(rows)} certificates expire within {days} days or have expired"))
    _export(inv, rows, moment, {"command": "expiring", "days": days}, export_json, export_csv)
    _finish(inv, cfg, allow_partial)


@with_sources
def dns_check(
    source_args: dict,
    config: ConfigOpt = None,
    allow_partial: AllowPartialOpt = None,
):
    """ACM DNS validation records: is each required CNAME published, and what to do if not."""
    cfg, inv, _ = _load(source_args, config, None)
    rows = inventory_view.dns_rows(inv)
    Console().print(inventory_view.dns_table(rows))
    _finish(inv, cfg, allow_partial)
