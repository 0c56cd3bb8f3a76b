"""certscan-expiring.csv: the certificates that expire within N days (expired ones
included), soonest first, with where they live and who owns them. Written by `triage`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from scanner.report.atomic import write_text
from scanner.report import ScanReport
from scanner.report.digest import Digest, build_digest
from scanner.report.findings import safe_cell

EXPIRING_FILE = "certscan-expiring.csv"
COLUMNS = ("days_to_expiry", "expiry_bucket", "resource_id", "domain", "source", "where", "not_after", "owner")


def render_csv(digest: Digest) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in digest.expiring:
        cells = [row.days_to_expiry, row.bucket, row.resource_id, row.domain, row.source, row.where,
                 row.not_after, row.owner]
        writer.writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


def write(report: ScanReport, output_dir: Path, days: int = 30, digest: Digest | None = None) -> list[Path]:
    return [write_text(Path(output_dir) / EXPIRING_FILE, render_csv(digest or build_digest(report, days)))]
