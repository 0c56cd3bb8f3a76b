"""certscan diff OLD NEW: what changed between two scans (results files or evidence bundles).

Exit codes: 0 nothing new or worse at or above --fail-on (default none: never fails); 1 a
new, unwaived or worsened failure at or above --fail-on; 2 bad input.
"""

# No "from __future__ import annotations": typer reads these annotations at runtime.
import io
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.report.atomic import write_text
from scanner.inputs.problems import InputError, Problem
from scanner.report import changes as changes_report
from scanner.usecases.diff import run_diff


def diff(
    old: Annotated[str, typer.Argument(help="The older scan: certscan-results.json or certscan-evidence.zip.")],
    new: Annotated[str, typer.Argument(help="The newer scan: certscan-results.json or certscan-evidence.zip.")],
    format: Annotated[str, typer.Option("--format", help="text (default), json or markdown.")] = "text",
    output: Annotated[Optional[Path], typer.Option("--output", help="Write to this file instead of standard output.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 on a new or worsened failure at or above: critical|high|medium|low|info|none.")] = "none",
    persisting: Annotated[bool, typer.Option("--persisting/--no-persisting", help="List unchanged failures too (text).")] = True,
):
    """Compare two scans by result fingerprint: new, resolved, gone, persisting, changed,
    waived and unwaived findings."""
    if format not in changes_report.FORMATS:
        raise InputError(Problem("--format", f"{format!r} is not one of {', '.join(changes_report.FORMATS)}"))
    outcome = run_diff(old, new, fail_on)
    comparison = outcome.comparison
    if format == "json":
        text = changes_report.render_json(comparison)
    elif format == "markdown":
        text = changes_report.render_markdown(comparison)
    else:
        text = None
    if text is None and output is None:
        changes_report.print_text(comparison, Console(highlight=False), persisting)
    elif text is None:
        buffer = io.StringIO()
        changes_report.print_text(comparison, Console(file=buffer, width=120, no_color=True, highlight=False), persisting)
        write_text(output, buffer.getvalue())
    elif output is not None:
        write_text(output, text)
    else:
        typer.echo(text, nl=False)
    if outcome.gating:
        Console(stderr=True, highlight=False).print(
            f"{len(outcome.gating)} new or worsened failure(s) at or above {fail_on}")
    raise typer.Exit(outcome.exit_code)
