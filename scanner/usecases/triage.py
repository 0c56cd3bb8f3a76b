"""The triage use case: inventory, expiring certificates and the human reports in one run,
optionally e-mailed. Exit codes as for report; a delivery failure is an InputError (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.collect import SourceOptions
from scanner.inputs.problems import InputError, Problem
from scanner.notify.mail import Attachment, SmtpSettings, build_message, send
from scanner.report import ScanReport, findings, html, markdown
from scanner.report import expiring as expiring_export
from scanner.report.digest import Digest, build_digest
from scanner.report.formats import ReportOptions
from scanner.usecases.report import fresh_scan, write_human_reports
from scanner.usecases.scan import ScanSettings, sources_phrase


@dataclass(frozen=True)
class TriageRun:
    report: ScanReport
    digest: Digest
    written: list[Path]
    exit_code: int


def triage_subject(digest: Digest) -> str:
    failing = sum(digest.severity_counts.values())
    return (f"[certscan] risk {digest.risk_level}: {failing} open finding(s), {len(digest.expiring)} certificate(s) "
            f"expiring within {digest.days} days (as of {digest.as_of.date().isoformat()})")


def run_triage(sources: SourceOptions, settings: ScanSettings, options: ReportOptions) -> TriageRun:
    if not sources.any_source:
        raise InputError(Problem(None, f"nothing to triage: give SOURCES ({sources_phrase()})"))
    settings.formats = ["json"]
    report, code = fresh_scan(sources, settings)
    digest = build_digest(report, options.days, options.generated_at)
    paths = write_human_reports(report, settings.output_dir, options)
    paths += expiring_export.write(report, settings.output_dir, options.days, digest)
    return TriageRun(report, digest, paths, code)


def mail_triage(run: TriageRun, mail: SmtpSettings, recipients: list[str], options: ReportOptions) -> None:
    """Send the report (markdown text, HTML page, the two CSVs attached)."""
    text = markdown.render(run.report, options.mode, options.days, run.digest)
    page = html.render(run.report, options.mode, options.days, run.digest)
    message = build_message(mail.sender, recipients, triage_subject(run.digest), text, page, [
        Attachment(findings.CSV_FILE, findings.render_csv(run.report).encode("utf-8")),
        Attachment(expiring_export.EXPIRING_FILE, expiring_export.render_csv(run.digest).encode("utf-8")),
    ])
    send(mail, recipients, message)
