"""certscan event: answer ACM EventBridge events (a file or stdin) by scanning their certificates."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.commands.notify import print_delivery
from scanner.commands.scan import (AllowPartialOpt, AsOfOpt, CheckOpt, ConfigOpt, FailOnOpt, FormatOpt, HistoryOpt,
                                   NotifyOpt, OutputDirOpt, ParamOpt, RulesOpt, SkipCheckOpt, WaiversOpt,
                                   announce_history, settings_from_options)
from scanner.inputs.acm_event import MAX_EVENT_BYTES, read_text
from scanner.inputs.config import load_config
from scanner.inputs.problems import InputError, Problem
from scanner.report import escape
from scanner.report.console import print_summary, print_written
from scanner.usecases import notify as notify_usecase
from scanner.usecases.event import EventSources, run_event

EventFileArg = Annotated[str, typer.Argument(help="EventBridge event JSON: one event, a list, or an SQS / SNS delivery; '-' reads stdin.")]


def read_events(path: str):
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_EVENT_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_EVENT_BYTES + 1)
    except OSError as exc:
        raise InputError(Problem(name, f"cannot read file: {exc.strerror or exc}")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Problem(name, f"not UTF-8 at byte {exc.start}")) from None
    return read_text(text, name)


def event(
    file: EventFileArg = "-",
    profile: Annotated[Optional[str], typer.Option("--profile", help="AWS profile that answers the events.")] = None,
    management_profile: Annotated[Optional[str], typer.Option("--management-profile", help="Profile from which --role-name is assumed in each event's account.")] = None,
    role_name: Annotated[Optional[str], typer.Option("--role-name", help="Role assumed in an event's account when the credentials belong to another. [default: OrganizationAccountAccessRole]")] = None,
    dns_resolver: Annotated[Optional[str], typer.Option("--dns-resolver", help="IP[:PORT] of the DNS resolver for validation records outside Route 53.")] = None,
    rules: RulesOpt = None,
    param: ParamOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    format: FormatOpt = None,
    fail_on: FailOnOpt = None,
    allow_partial: AllowPartialOpt = None,
    history: HistoryOpt = None,
    check: CheckOpt = None,
    skip_check: SkipCheckOpt = None,
    notify: NotifyOpt = None,
):
    """Answer ACM EventBridge events: scan the certificates they name, evaluate, report, notify."""
    cfg = load_config(config)
    settings = settings_from_options(cfg, rules, param, waivers, as_of, output_dir, format, fail_on, allow_partial,
                                     None, check, skip_check, None, history)
    routes = notify_usecase.load(notify) if notify else None  # bad routes: exit 2 before reading AWS
    events = read_events(file)
    sources = EventSources(profile=management_profile or profile or cfg.get("management_profile") or cfg.get("profile"),
                           role_name=role_name or cfg.get("role_name"),
                           dns_resolver=dns_resolver or cfg.get("dns_resolver"))
    run = run_event(events, sources, settings)
    console = Console()
    err = Console(stderr=True, highlight=False)
    for answered in run.report.events or []:
        text = (f"{answered['detail_type']} {answered['id']} at {answered['time']}: "
                f"{answered['certificate_arn']} {answered['outcome']}")
        err.print(escape.console(text), soft_wrap=True,
                  style="yellow" if answered["outcome"] != "collected" else "dim")
    print_summary(run.report, console)
    print_written([path for paths in run.written.values() for path in paths], err)
    announce_history(run.history)
    delivery = notify_usecase.after_scan(run.report, routes, None)
    print_delivery(delivery)
    raise typer.Exit(notify_usecase.exit_code(run.exit_code, delivery))
