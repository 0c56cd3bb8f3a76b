"""certscan summary: the markdown job summary of a saved scan, for $GITHUB_STEP_SUMMARY."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
import sys
from typing import Annotated

import typer

from scanner.report.github_summary import render_file


def summary(results: Annotated[str, typer.Option("--results", help="A certscan-results.json written by certscan scan.")]):
    """Print a markdown summary of a saved scan: verdict, counts by severity and expiry bucket,
    failing certificates, coverage gaps (the GitHub Action appends it to $GITHUB_STEP_SUMMARY)."""
    text = render_file(results)
    # UTF-8 whatever the locale: the summary holds non-ASCII marks and certificate names.
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(text.encode("utf-8", "backslashreplace"))
        buffer.flush()
    else:
        sys.stdout.write(text)
