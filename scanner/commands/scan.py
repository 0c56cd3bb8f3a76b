"""certscan scan: collect (or load), evaluate, write outputs, exit through the gate."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from scanner.commands.common import build_sources, parse_as_of, split_list, with_sources
from scanner.commands.invocation import invocation_arguments
from scanner.commands.notify import DigestOpt, print_delivery
from scanner.inputs.config import load_config, params_as_pairs, pick
from scanner.usecases.policy import check_frameworks
from scanner.evaluate.gate import FAIL_ON_CHOICES
from scanner.usecases.scan import RuleSelection, ScanSettings, run_scan
from scanner.inputs.problems import InputError, Problem
from scanner.report import escape
from scanner.report import formats as output_formats
from scanner.report.changes import print_since
from scanner.report.console import print_summary, print_written
from scanner.evidence.signing import load_private_key
from scanner.usecases import notify as notify_usecase

RulesOpt = Annotated[Optional[list[str]], typer.Option("--rules", help="Rule pack file or folder (repeatable); 'builtin' names the shipped packs.")]
ParamOpt = Annotated[Optional[list[str]], typer.Option("--param", help="Override a rule parameter: RULE.KEY=VALUE (repeatable).")]
WaiversOpt = Annotated[Optional[str], typer.Option("--waivers", help="Waivers YAML file.")]
ConfigOpt = Annotated[Optional[str], typer.Option("--config", help="Configuration YAML file.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Evaluate as of this date or ISO 8601 timestamp with a zone (default: now).")]
OutputDirOpt = Annotated[Optional[Path], typer.Option("--output-dir", help="Where reports are written (default ./reports).")]
FormatOpt = Annotated[Optional[list[str]], typer.Option("--format", help=f"Comma list: {','.join(output_formats.names())}.")]
FailOnOpt = Annotated[Optional[str], typer.Option("--fail-on", help="critical|high|medium|low|info|none (default high).")]
SignKeyOpt = Annotated[Optional[str], typer.Option("--sign-key", help="Ed25519 private key (PEM) that signs the evidence manifest (needs --format evidence).")]
BaselineOpt = Annotated[Optional[str], typer.Option("--baseline", help="Gate only on findings new or worse than in this certscan-results.json or certscan-evidence.zip; 'history': the previous scan in --history.")]
HistoryOpt = Annotated[Optional[str], typer.Option("--history", help="Record the scan into this history: a SQLite file, or a postgresql:// URL (exit 5 if it cannot be written).")]
CheckOpt = Annotated[Optional[list[str]], typer.Option("--check", help="Evaluate only these rules: ID or glob such as 'ACM-*' (repeatable, any case).")]
SkipCheckOpt = Annotated[Optional[list[str]], typer.Option("--skip-check", help="Do not evaluate these rules: ID or glob (repeatable, any case).")]
FrameworkOpt = Annotated[Optional[list[str]], typer.Option(
    "--framework", help="Framework whose controls the reports show (repeatable; default: every framework).")]
RulesOriginOpt = Annotated[Optional[str], typer.Option(
    "--rules-origin", help="Replaying an evidence bundle: its manifest.json, which names the bundled packs as the original scan did.")]
NotifyOpt = Annotated[Optional[str], typer.Option("--notify", help="Routes YAML: after the outputs are written, tell each owner about their findings (exit 4 if some could not be delivered).")]
PushgatewayOpt = Annotated[Optional[str], typer.Option("--pushgateway", help="Push the Prometheus metrics to this Pushgateway URL (job certscan; basic auth from CERTSCAN_PUSHGATEWAY_USER/_PASSWORD).")]
SarifAnchorOpt = Annotated[Optional[str], typer.Option("--sarif-anchor", help="In SARIF, point results of the shipped rules at this file of your repository, line 1 (the Action passes your rule pack, config or workflow file).")]
AllowPartialOpt = Annotated[Optional[bool], typer.Option("--allow-partial/--no-allow-partial", help="Do not exit 3 when a source could not be read.")]


def settings_from_options(config: dict[str, Any], rules, param, waivers, as_of, output_dir, format, fail_on,
                          allow_partial, sign_key: Optional[str] = None, check=None, skip_check=None,
                          baseline: Optional[str] = None, history: Optional[str] = None,
                          framework: Optional[list[str]] = None, rules_origin: Optional[str] = None) -> ScanSettings:
    fail_on = pick(fail_on, config, "fail_on", "high")
    if fail_on not in FAIL_ON_CHOICES:
        raise InputError(Problem("--fail-on", f"{fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}"))
    formats = split_list(format) or config.get("formats") or ["json"]
    if sign_key is not None:
        if "evidence" not in formats:
            raise InputError(Problem("--sign-key", "signs the evidence bundle: add evidence to --format"))
        load_private_key(sign_key)  # a bad key is exit 2 before anything is collected
    return ScanSettings(
        rules=list(pick(rules, config, "rules", [])),
        params=params_as_pairs(config) + list(param or []),
        waivers=pick(waivers, config, "waivers", None),
        as_of=parse_as_of(as_of),
        output_dir=Path(pick(output_dir, config, "output_dir", "reports")),
        formats=formats,
        fail_on=fail_on,
        allow_partial=bool(pick(allow_partial, config, "allow_partial", False)),
        arguments=invocation_arguments(),
        sign_key=sign_key,
        selection=RuleSelection(tuple(split_list(pick(check, config, "check", []))),
                                tuple(split_list(pick(skip_check, config, "skip_check", [])))),
        baseline=pick(baseline, config, "baseline", None),
        history=pick(history, config, "history", None),
        frameworks=check_frameworks(framework or config.get("frameworks")),
        rules_origin=rules_origin,
    )


@with_sources
def scan(
    source_args: dict,
    rules: RulesOpt = None,
    param: ParamOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    format: FormatOpt = None,
    fail_on: FailOnOpt = None,
    allow_partial: AllowPartialOpt = None,
    sign_key: SignKeyOpt = None,
    baseline: BaselineOpt = None,
    history: HistoryOpt = None,
    check: CheckOpt = None,
    skip_check: SkipCheckOpt = None,
    sarif_anchor: SarifAnchorOpt = None,
    framework: FrameworkOpt = None,
    rules_origin: RulesOriginOpt = None,
    notify: NotifyOpt = None,
    digest: DigestOpt = False,
    pushgateway: PushgatewayOpt = None,
):
    """Collect or load an inventory, evaluate the rule packs, write reports, gate on --fail-on."""
    cfg = load_config(config)
    settings = settings_from_options(cfg, rules, param, waivers, as_of, output_dir, format, fail_on, allow_partial,
                                     sign_key, check, skip_check, baseline, history, framework, rules_origin)
    settings.sarif_anchor = sarif_anchor
    routes = notify_usecase.load(notify) if notify else None  # a bad routes file is exit 2 before collecting
    if pushgateway:
        notify_usecase.check_pushgateway(pushgateway)
    sources = build_sources(cfg, **source_args)
    run = run_scan(sources, settings)
    console = Console()
    if run.report.baseline is not None:  # with a baseline, what changed leads
        print_since(run.report.baseline, console)
    print_summary(run.report, console)
    print_written([path for paths in run.written.values() for path in paths], Console(stderr=True))
    announce_history(run.history)
    delivery = notify_usecase.after_scan(run.report, routes, pushgateway, digest)
    print_delivery(delivery)
    raise typer.Exit(notify_usecase.exit_code(run.exit_code, delivery))


def announce_history(outcome) -> None:
    """Say where the scan was recorded, or why it could not be (exit 5)."""
    if outcome is None:
        return
    err = Console(stderr=True, highlight=False)
    if outcome.error:
        err.print(f"[red]error:[/red] the scan could not be recorded: {escape.console(outcome.error)} (exit 5 "
                  "unless the gate already failed)", soft_wrap=True)
    elif outcome.recorded:
        err.print(f"recorded in history {escape.console(outcome.target)}", style="dim", soft_wrap=True)
    else:
        err.print(f"already in history {escape.console(outcome.target)} (same scan id): nothing recorded",
                  style="dim", soft_wrap=True)
