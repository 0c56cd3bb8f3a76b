"""certscan report and certscan triage: options parsed here, the work in
scanner.usecases.report and scanner.usecases.triage.

Exit codes: 0 written (and sent); 2 bad input, SMTP settings or --email delivery failure; 4 some
--notify messages could not be delivered (when nothing else failed); 5 the scan could not be
recorded in --history (likewise, and 5 wins over 4); 3 a fresh
scan could not see everything and --allow-partial was not given (the reports are still
written, and say what is missing). Findings do not change the exit code here: gating is
`scan --fail-on`'s job.
"""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from scanner.commands.common import build_sources, parse_as_of, with_sources
from scanner.commands.invocation import invocation_arguments
from scanner.commands.notify import DigestOpt, print_delivery
from scanner.commands.scan import (AllowPartialOpt, AsOfOpt, BaselineOpt, ConfigOpt, FrameworkOpt, HistoryOpt, NotifyOpt,
                                   OutputDirOpt, ParamOpt, RulesOpt, WaiversOpt, announce_history)
from scanner.usecases.policy import check_frameworks
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.inputs.problems import InputError, Problem
from scanner.notify.mail import check_addresses, smtp_settings
from scanner.report import markdown
from scanner.report.changes import print_since
from scanner.report.console import print_triage, print_written
from scanner.report.escape import console as c
from scanner.report.formats import ReportOptions
from scanner.usecases.report import report_from_results, report_from_scan
from scanner.usecases.scan import ScanSettings
from scanner.usecases import notify as notify_usecase
from scanner.usecases.triage import mail_triage, run_triage

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


def _settings(cfg: dict[str, Any], rules, param, waivers, as_of, output_dir: Path, allow_partial,
              baseline=None, history=None, frameworks: list[str] | None = None) -> ScanSettings:
    return ScanSettings(
        rules=list(pick(rules, cfg, "rules", [])), params=params_as_pairs(cfg) + list(param or []),
        waivers=pick(waivers, cfg, "waivers", None), as_of=parse_as_of(as_of), output_dir=output_dir,
        allow_partial=bool(pick(allow_partial, cfg, "allow_partial", False)), arguments=invocation_arguments(),
        baseline=pick(baseline, cfg, "baseline", None), history=pick(history, cfg, "history", None),
        frameworks=list(frameworks or []),
    )


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
    baseline: BaselineOpt = None,
    history: HistoryOpt = None,
    framework: FrameworkOpt = None,
):
    """Write the markdown and HTML reports and the findings exports (CSV, JSON), from a
    fresh scan (SOURCES) or from a saved certscan-results.json (--results)."""
    cfg = load_config(config)
    frameworks = check_frameworks(framework or cfg.get("frameworks"))
    options = ReportOptions(_check_mode(mode), days, frameworks=tuple(frameworks))
    out = Path(pick(output_dir, cfg, "output_dir", "reports"))
    sources = build_sources(cfg, **source_args)
    if results:
        run = report_from_results(results, sources, out, options, pick(baseline, cfg, "baseline", None),
                                  pick(history, cfg, "history", None))
    else:
        run = report_from_scan(sources, _settings(cfg, rules, param, waivers, as_of, out, allow_partial, baseline,
                                                  history, frameworks), options)
    print_written(run.written, Console(stderr=True))
    announce_history(run.history)
    raise typer.Exit(run.exit_code)


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
    baseline: BaselineOpt = None,
    history: HistoryOpt = None,
    smtp_host: SmtpHostOpt = None,
    smtp_port: SmtpPortOpt = None,
    smtp_tls: SmtpTlsOpt = None,
    smtp_user: SmtpUserOpt = None,
    smtp_password: SmtpPasswordOpt = None,
    smtp_from: SmtpFromOpt = None,
    smtp_ca_file: SmtpCaOpt = None,
    notify: NotifyOpt = None,
    digest: DigestOpt = False,
):
    """Inventory, expiring certificates and the report in one run; --email sends the report,
    --notify tells each owner about their findings."""
    options = ReportOptions(_check_mode(mode), days)
    cfg = load_config(config)
    routes = notify_usecase.load(notify) if notify else None  # exit 2 before collecting
    out = Path(pick(output_dir, cfg, "output_dir", "reports"))
    recipients = check_addresses(list(email or []))
    # SMTP settings are checked before anything is collected: a typo is exit 2 at once.
    mail = smtp_settings(smtp_host, smtp_port, smtp_tls, smtp_user, smtp_password, smtp_from, smtp_ca_file) \
        if recipients else None
    run = run_triage(build_sources(cfg, **source_args),
                     _settings(cfg, rules, param, waivers, as_of, out, allow_partial, baseline, history), options)
    if run.report.baseline is not None:  # with a baseline or history, what changed leads
        print_since(run.report.baseline, Console(highlight=False))
    written = [str(path) for path in run.written]
    print_triage(run.digest, mode, Console(highlight=False),
                 expiring_file=next((p for p in written if p.endswith("certscan-expiring.csv")), None),
                 findings_file=next((p for p in written if p.endswith("certscan-findings.csv")), None))
    print_written(run.written, Console(stderr=True))
    announce_history(run.history)
    if mail is not None:
        mail_triage(run, mail, recipients, options)
        Console(stderr=True).print(f"sent the {mode} report to {c(', '.join(recipients))} via "
                                   f"{c(mail.host)}:{mail.port}")
    delivery = notify_usecase.after_scan(run.report, routes, None, digest)
    print_delivery(delivery)
    raise typer.Exit(notify_usecase.exit_code(run.exit_code, delivery))
