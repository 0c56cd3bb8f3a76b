"""The certscan command line. Commands parse options and call the layers below; bad input
of any kind is exit 2 with every problem listed and no traceback."""

import sys

import typer
from rich.console import Console

from scanner import __version__
from scanner.commands.demo import demo
from scanner.commands.diff_cmd import diff
from scanner.commands.history_cmd import history
from scanner.commands.evidence_cmds import evidence_app
from scanner.commands.inventory_cmds import dns_check, expiring, inventory
from scanner.commands.invocation import reset_invocation, set_invocation
from scanner.commands.merge import merge
from scanner.commands.notify import notify
from scanner.commands.report_cmds import report, triage
from scanner.commands.rules_cmds import controls, rules_app, validate
from scanner.commands.scan import scan
from scanner.commands.event_cmd import event
from scanner.commands.summary import summary
from scanner.evaluate.gate import EXIT_USAGE
from scanner.inputs.problems import InputError
from scanner.report.escape import console as c

app = typer.Typer(
    name="certscan",
    help="Policy-as-code compliance scanner for TLS/X.509 certificates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
)
app.command()(scan)
app.command()(validate)
app.command()(controls)
app.command()(merge)
app.command()(summary)
app.command()(diff)
app.command()(history)
app.command()(demo)
app.add_typer(rules_app, name="rules")
app.command()(report)
app.command()(triage)
app.command()(notify)
app.command()(event)
app.add_typer(evidence_app, name="evidence")
app.command()(inventory)
app.command()(expiring)
app.command(name="dns-check")(dns_check)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version.")):
    if version:
        print(f"certscan {__version__}")
        raise typer.Exit(0)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this in-process)."""
    err = Console(stderr=True, highlight=False)
    token = set_invocation(argv if argv is not None else sys.argv[1:])
    try:
        code = app(args=argv, prog_name="certscan", standalone_mode=False)
    except InputError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {c(problem)}", markup=True, soft_wrap=True)
        return EXIT_USAGE
    except typer.Abort:
        err.print("aborted")
        return 130
    except typer.TyperException as exc:  # usage errors from the (vendored) click parser
        show = getattr(exc, "show", None)
        if show is not None:
            show(file=sys.stderr)
        else:
            err.print(f"error: {c(exc)}")
        return getattr(exc, "exit_code", EXIT_USAGE)
    except OSError as exc:  # an output that cannot be written: say which, no traceback
        err.print(f"[red]error:[/red] cannot write {c(exc.filename or 'an output file')}: {c(exc.strerror or exc)}",
                  markup=True, soft_wrap=True)
        return EXIT_USAGE
    finally:
        reset_invocation(token)
    return code if isinstance(code, int) else 0


def main() -> None:
    # A name that is not valid UTF-8 reaches the terminal as a visible escape, never as an
    # UnicodeEncodeError after the reports were written.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.exit(run())
