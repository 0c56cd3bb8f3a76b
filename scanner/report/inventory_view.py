"""Read-only views of an inventory for the ``inventory``, ``expiring`` and ``dns-check``
commands: selection, console tables and the JSON / CSV exports. Reads facts only; the
derived days_to_expiry and expiry_bucket are computed for the given as_of."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from scanner.model import Certificate, Inventory, days_to_expiry, expiry_bucket, format_time
from scanner.report.atomic import write_json, write_text
from scanner.report import escape
from scanner.report.console import BUCKET_STYLE

DNS_STATUS_ORDER = {"missing": 0, "mismatch": 1, "unknown": 2, "present": 3}
DNS_STATUS_STYLE = {"missing": "bold red", "mismatch": "red", "unknown": "yellow", "present": "green"}

CSV_COLUMNS = ("id", "source", "account", "region", "vault", "name", "domain", "sans", "is_wildcard", "status",
               "type", "not_before", "not_after", "days_to_expiry", "expiry_bucket", "in_use", "in_use_by",
               "key_algorithm", "key_size", "renewal_eligibility", "renewal_status", "validation_method",
               "dns_status", "tags", "issuer", "serial")


@dataclass(frozen=True)
class Row:
    certificate: Certificate
    days: int | None
    bucket: str | None


def rows_for(certificates: list[Certificate], as_of: datetime) -> list[Row]:
    """Sorted by days to expiry (unknown expiry last), then source and id."""
    rows = []
    for cert in certificates:
        if cert.not_after is None:
            rows.append(Row(cert, None, None))
        else:
            rows.append(Row(cert, days_to_expiry(cert.not_after, as_of), expiry_bucket(cert.not_after, as_of)))
    return sorted(rows, key=lambda r: (r.days is None, r.days if r.days is not None else 0, r.certificate.source,
                                       r.certificate.id))


def select(inventory: Inventory, as_of: datetime, *, statuses: list[str] | None = None, in_use_only: bool = False,
           within_days: int | None = None) -> list[Row]:
    wanted = {s.upper() for s in statuses or []}
    rows = []
    for row in rows_for(inventory.certificates, as_of):
        cert = row.certificate
        if wanted and (cert.status or "").upper() not in wanted:
            continue
        if in_use_only and cert.in_use is not True:
            continue
        if within_days is not None and (row.days is None or row.days > within_days):
            continue
        rows.append(row)
    return rows


def where(cert: Certificate) -> str:
    return cert.region or cert.vault or ("global" if cert.source == "aws.iam" else "")


def certificate_table(rows: list[Row], title: str) -> Table:
    table = Table(title=title, show_edge=False)
    for name, justify in (("days", "right"), ("bucket", "left"), ("source", "left"), ("account", "left"),
                          ("region", "left"), ("domain", "left"), ("status", "left"), ("in use", "left"),
                          ("not after", "left"), ("id", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        cert = row.certificate
        style = BUCKET_STYLE.get(row.bucket or "UNKNOWN", "")
        table.add_row(
            "?" if row.days is None else str(row.days),
            f"[{style}]{row.bucket or 'UNKNOWN'}[/]",
            *(escape.console(value) for value in (cert.source, cert.account or "", where(cert), cert.domain or "",
                                                  cert.status or "")),
            {True: "yes", False: "no", None: "?"}[cert.in_use],
            (format_time(cert.not_after) or "?")[:10], escape.console(cert.id),
        )
    return table


# -- DNS validation records --------------------------------------------------------------------
@dataclass(frozen=True)
class DnsRow:
    certificate: Certificate
    domain: str
    record_name: str | None
    record_type: str | None
    record_value: str | None
    status: str
    detail: str | None

    @property
    def action(self) -> str:
        cname = f"{self.record_name} {self.record_type or 'CNAME'} {self.record_value}"
        if self.status == "present":
            return "none"
        if self.status == "missing":
            return f"create {cname}"
        if self.status == "mismatch":
            return f"replace the record at {self.record_name} with {self.record_type or 'CNAME'} {self.record_value}"
        return f"check by hand: {self.detail or 'the record could not be looked up'}"


def dns_rows(inventory: Inventory) -> list[DnsRow]:
    rows = []
    for cert in inventory.certificates:
        if cert.validation_method != "DNS":
            continue
        for record in cert.validation:
            rows.append(DnsRow(cert, record.domain, record.record_name, record.record_type, record.record_value,
                               record.dns_status, record.detail))
    return sorted(rows, key=lambda r: (DNS_STATUS_ORDER.get(r.status, 9), r.domain, r.certificate.id))


def dns_table(rows: list[DnsRow]) -> Table:
    table = Table(title="ACM DNS validation records", show_edge=False)
    for name in ("domain", "account", "required CNAME", "DNS status", "action"):
        table.add_column(name, overflow="fold")
    for row in rows:
        style = DNS_STATUS_STYLE.get(row.status, "")
        table.add_row(escape.console(row.domain), escape.console(row.certificate.account or ""),
                      escape.console(f"{row.record_name or '?'} -> {row.record_value or '?'}"),
                      f"[{style}]{escape.console(row.status)}[/]", escape.console(row.action))
    return table


# -- exports --------------------------------------------------------------------------------------
def export_json(path: str | Path, inventory: Inventory, rows: list[Row], as_of: datetime,
                view: dict[str, Any]) -> Path:
    """A saved-inventory document (accepted back by --inventory) holding the selected
    certificates with their days and bucket at as_of, and the full errors and coverage."""
    document = inventory.to_dict()
    document["certificates"] = [row.certificate.facts(as_of) for row in rows]
    document["metadata"] = {**document.get("metadata", {}), "view": {**view, "as_of": format_time(as_of)}}
    return write_json(path, document)


def _cell(value: Any) -> Any:
    # a spreadsheet must not run a tag value as a formula, nor show raw control characters
    return escape.csv_cell(value) if isinstance(value, str) else value


def csv_record(row: Row) -> dict[str, Any]:
    cert = row.certificate
    statuses = sorted({r.dns_status for r in cert.validation}, key=lambda s: DNS_STATUS_ORDER.get(s, 9))
    values: dict[str, Any] = {
        **{name: getattr(cert, name, None) for name in CSV_COLUMNS if hasattr(cert, name)},
        "sans": " ".join(cert.sans),
        "in_use_by": " ".join(cert.in_use_by),
        "tags": "; ".join(f"{k}={v}" for k, v in sorted(cert.tags.items())),
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
        "days_to_expiry": row.days,
        "expiry_bucket": row.bucket,
        "dns_status": " ".join(statuses),
    }
    return {name: _cell("" if values.get(name) is None else values[name]) for name in CSV_COLUMNS}


def export_csv(path: str | Path, rows: list[Row]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_record(row))
    return write_text(path, buffer.getvalue())
