"""certscan report and certscan triage: the human reports, from a fresh scan or a saved
results file, and the weekly triage (inventory + expiring + report, optionally e-mailed).

Exit codes: 0 written (and sent); 2 bad input, SMTP settings or delivery failure; 3 a fresh
scan could not see everything and --allow-partial was not given (the reports are still
written, and say what is missing). Findings do not change the exit code here: gating is
`scan --fail-on`'s job.
"""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from scanner.commands.common import build_sources, parse_as_of, sources_phrase, with_sources
from scanner.commands.invocation import invocation_arguments
from scanner.commands.scan import (AllowPartialOpt, AsOfOpt, ConfigOpt, FrameworkOpt, OutputDirOpt, ParamOpt, RulesOpt,
                                   WaiversOpt)
from scanner.packs.frameworks import check_frameworks
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.evaluate.gate import EXIT_INCOMPLETE, EXIT_OK
from scanner.notify.mail import Attachment, build_message, check_addresses, send, smtp_settings
from scanner.usecases.scan import ScanSettings, run_scan
from scanner.inputs.problems import InputError, Problem
from scanner.report import ScanReport
from scanner.report import expiring as expiring_export
from scanner.report import findings, html, markdown
from scanner.report.digest import Digest, build_digest
from scanner.report.results_json import read as read_results

ModeOpt = Annotated[str, typer.Option("--mode", help="executive (summary lists) or technical (every finding).")]
DaysOpt = Annotated[int, typer.Option("--days", min=0, help="List certificates expiring within this many days (expired included).")]
ResultsOpt = Annotated[Optional[str], typer.Option("--results", help="A saved certscan-results.json instead of a fresh scan.")]
_SMTP = "E-mail (SMTP)"
EmailOpt = Annotated[Optional[list[str]], typer.Option("--email", help="Send the report to this address (repeatable).", rich_help_panel=_SMTP)]
SmtpHostOpt = Annotated[Optional[str], typer.Option("--smtp-host", help="SMTP server (env CERTSCAN_SMTP_HOST).", rich_help_panel=_SMTP)]
SmtpPortOpt = Annotated[Optional[int], typer.Option("--smtp-port", help="Port (env CERTSCAN_SMTP_PORT; default 587, 465 with tls, 25 with none).", rich_help_panel=_SMTP)]
SmtpTlsOpt = Annotated[Optional[str], typer.Option("--smtp-tls", help="starttls (default) | tls (implicit) | none (env CERTSCAN_SMTP_TLS).", rich_help_panel=_SMTP)]
SmtpUserOpt = Annotated[Optional[str], typer.Option("--smtp-user", help="SMTP user (env CERTSCAN_SMTP_USER).", rich_help_panel=_SMTP)]
SmtpPasswordOpt = Annotated[Optional[str], typer.Option("--smtp-password", help="SMTP password; prefer env CERTSCAN_SMTP_PASSWORD (a command line is visible to other users).", rich_help_panel=_SMTP)]
SmtpFromOpt = Annotated[Optional[str], typer.Option("--smtp-from", help="Sender address (env CERTSCAN_SMTP_FROM).", rich_help_panel=_SMTP)]
SmtpCaOpt = Annotated[Optional[str], typer.Option("--smtp-ca-file", help="CA bundle that signs the SMTP server's certificate (env CERTSCAN_SMTP_CA_FILE).", rich_help_panel=_SMTP)]


def _check_mode(mode: str) -> str:
    if mode not in markdown.MODES:
        raise InputError(Problem("--mode", f"{mode!r} is not one of {', '.join(markdown.MODES)}"))
    return mode


def _fresh_scan(cfg: dict[str, Any], source_args: dict, rules, param, waivers, as_of, output_dir: Path,
                allow_partial: bool, formats: list[str], frameworks: list[str] | None = None) -> tuple[ScanReport, int]:
    settings = ScanSettings(
        rules=list(pick(rules, cfg, "rules", [])), params=params_as_pairs(cfg) + list(param or []),
        waivers=pick(waivers, cfg, "waivers", None), as_of=parse_as_of(as_of), output_dir=output_dir,
        formats=formats, fail_on="none", allow_partial=allow_partial, arguments=invocation_arguments(),
        frameworks=list(frameworks or []),
    )
    run = run_scan(build_sources(cfg, **source_args), settings)
    code = EXIT_INCOMPLETE if run.gate.incomplete and not allow_partial else EXIT_OK
    return run.report, code


def _write_human_reports(report: ScanReport, output_dir: Path, mode: str, days: int) -> list[Path]:
    return [
        *markdown.write(report, output_dir, mode=mode, days=days),
        *html.write(report, output_dir, mode=mode, days=days),
        *findings.write(report, output_dir),
        *findings.write_json_export(report, output_dir),
    ]


def _announce(paths: list[Path]) -> None:
    err = Console(stderr=True)
    for path in paths:
        err.print(f"wrote {path}", style="dim")


@with_sources
def report(
    source_args: dict,
    results: ResultsOpt = None,
    rules: RulesOpt = None,
    param: ParamOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    mode: ModeOpt = "executive",
    days: DaysOpt = 30,
    allow_partial: AllowPartialOpt = None,
    framework: FrameworkOpt = None,
):
    """Write the markdown and HTML reports and the findings exports (CSV, JSON), from a
    fresh scan (SOURCES) or from a saved certscan-results.json (--results)."""
    _check_mode(mode)
    cfg = load_config(config)
    frameworks = check_frameworks(framework or cfg.get("frameworks"))
    out = Path(pick(output_dir, cfg, "output_dir", "reports"))
    if results:
        if build_sources(cfg, **source_args).any_source:
            raise InputError(Problem("--results", "renders a saved scan; it cannot be combined with SOURCES options"))
        scan_report, code = read_results(results), EXIT_OK
        scan_report.frameworks = frameworks
    else:
        if not build_sources(cfg, **source_args).any_source:
            raise InputError(Problem(None, f"nothing to report: give --results FILE, or SOURCES ({sources_phrase()})"))
        scan_report, code = _fresh_scan(cfg, source_args, rules, param, waivers, as_of, out,
                                        bool(pick(allow_partial, cfg, "allow_partial", False)), [], frameworks)
    _announce(_write_human_reports(scan_report, out, mode, days))
    raise typer.Exit(code)


@with_sources
def triage(
    source_args: dict,
    days: DaysOpt = 30,
    mode: ModeOpt = "executive",
    email: EmailOpt = None,
    rules: RulesOpt = None,
    param: ParamOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    allow_partial: AllowPartialOpt = None,
    smtp_host: SmtpHostOpt = None,
    smtp_port: SmtpPortOpt = None,
    smtp_tls: SmtpTlsOpt = None,
    smtp_user: SmtpUserOpt = None,
    smtp_password: SmtpPasswordOpt = None,
    smtp_from: SmtpFromOpt = None,
    smtp_ca_file: SmtpCaOpt = None,
):
    """Inventory, expiring certificates and the report in one run; --email sends the report."""
    _check_mode(mode)
    cfg = load_config(config)
    out = Path(pick(output_dir, cfg, "output_dir", "reports"))
    recipients = check_addresses(list(email or []))
    # SMTP settings are checked before anything is collected: a typo is exit 2 at once.
    mail = smtp_settings(smtp_host, smtp_port, smtp_tls, smtp_user, smtp_password, smtp_from, smtp_ca_file) \
        if recipients else None
    if not build_sources(cfg, **source_args).any_source:
        raise InputError(Problem(None, f"nothing to triage: give SOURCES ({sources_phrase()})"))
    scan_report, code = _fresh_scan(cfg, source_args, rules, param, waivers, as_of, out,
                                     bool(pick(allow_partial, cfg, "allow_partial", False)), ["json"])
    digest = build_digest(scan_report, days)
    paths = _write_human_reports(scan_report, out, mode, days)
    paths += expiring_export.write(scan_report, out, days, digest)
    _print_triage(digest, mode)
    _announce(paths)
    if mail is not None:
        text = markdown.render(scan_report, mode, days, digest)
        page = html.render(scan_report, mode, days, digest)
        message = build_message(mail.sender, recipients, triage_subject(digest), text, page, [
            Attachment(findings.CSV_FILE, findings.render_csv(scan_report).encode("utf-8")),
            Attachment(expiring_export.EXPIRING_FILE, expiring_export.render_csv(digest).encode("utf-8")),
        ])
        send(mail, recipients, message)
        Console(stderr=True).print(f"sent the {mode} report to {', '.join(recipients)} via {mail.host}:{mail.port}")
    raise typer.Exit(code)


def triage_subject(digest: Digest) -> str:
    failing = sum(digest.severity_counts.values())
    return (f"[certscan] risk {digest.risk_level}: {failing} open finding(s), {len(digest.expiring)} certificate(s) "
            f"expiring within {digest.days} days (as of {digest.as_of.date().isoformat()})")


def _print_triage(d: Digest, mode: str) -> None:
    console = Console(highlight=False)
    console.print(f"[bold]certscan triage[/bold] scan {d.scan_id} as of {d.as_of.isoformat()}  "
                  f"certificates: {d.certificates}  risk: [bold]{d.risk_level}[/bold]")
    buckets = Table(title="Expiry buckets and escalation", show_edge=False)
    for column in ("bucket", "certificates", "priority", "action", "who acts"):
        buckets.add_column(column)
    for b in d.buckets:
        buckets.add_row(b.bucket, str(b.certificates), b.escalation.priority, b.escalation.action, b.escalation.owner)
    console.print(buckets)
    limit = None if mode == "technical" else 15
    soon = Table(title=f"Expiring within {d.days} days ({len(d.expiring)})", show_edge=False)
    for column in ("days", "bucket", "resource", "owner"):
        soon.add_column(column)
    for row in d.expiring[:limit]:
        soon.add_row(str(row.days_to_expiry), row.bucket or "-", row.resource_id, row.owner or "-")
    console.print(soon)
    owners = Table(title="Owners to contact", show_edge=False)
    for column in ("owner", "failing", "worst", "rules"):
        owners.add_column(column)
    for row in d.owners[:limit]:
        owners.add_row(row.name, str(row.failing), row.worst, ", ".join(row.rules))
    console.print(owners)
    for gap in d.gaps[:20]:
        console.print(f"[red]gap:[/red] {gap.kind} {gap.where}: {gap.detail}")
