"""certscan history --history TARGET: the recorded scans over time and the certificate SLIs.

Exit codes: 0 written; 2 bad input (an option, or a history that cannot be opened or read).
"""

# No "from __future__ import annotations": typer reads these annotations at runtime.
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.commands.common import parse_as_of
from scanner.report.atomic import write_text
from scanner.inputs.problems import InputError, Problem
from scanner.report import history_view
from scanner.usecases.history import load_history


def history(
    history: Annotated[str, typer.Option("--history", help="The history: a SQLite file, or a postgresql:// URL.")],
    since: Annotated[Optional[str], typer.Option("--since", help="Only scans as of this date (or ISO 8601 timestamp) or later.")] = None,
    format: Annotated[str, typer.Option("--format", help="text (default), json, markdown or html.")] = "text",
    output: Annotated[Optional[Path], typer.Option("--output", help="Write to this file instead of standard output.")] = None,
):
    """Per scan: certificates per expiry bucket, findings per severity, new and resolved since
    the previous scan; and the SLIs (expired while in use, rotation lead time, mean time to
    resolve, findings open longer than the escalation matrix allows)."""
    if format not in history_view.FORMATS:
        raise InputError(Problem("--format", f"{format!r} is not one of {', '.join(history_view.FORMATS)}"))
    try:
        since_at = parse_as_of(since)
    except InputError as exc:
        raise InputError([Problem("--since", p.message.replace("--as-of", "--since")) for p in exc.problems]) from None
    if history.strip() == "" or (not Path(history).exists() and "://" not in history):
        raise InputError(Problem("--history", f"{history!r}: no such history file"))
    view = load_history(history, since_at)
    if format == "text":
        if output is None:
            history_view.print_text(view, Console(highlight=False))
            return
        import io
        buffer = io.StringIO()
        history_view.print_text(view, Console(file=buffer, width=120, no_color=True, highlight=False))
        write_text(output, buffer.getvalue())
        return
    text = history_view.render(view, format)
    if output is not None:
        write_text(output, text)
    else:
        typer.echo(text, nl=False)
