"""Opt-in timing log of a command's phases (load, validate, evaluate, each writer).

``CERTSCAN_TIMINGS=1`` writes one JSON line per phase to stderr; ``CERTSCAN_TIMINGS=PATH``
appends them to that file. Never part of any result or report: timings differ run to run,
and results must not. Off by default, and then a phase costs one attribute check."""

from __future__ import annotations

import os
import resource
import sys
import time
from contextlib import contextmanager
from typing import Iterator

_ENV = "CERTSCAN_TIMINGS"


def _target() -> str | None:
    value = os.environ.get(_ENV, "").strip()
    if value in ("", "0", "false", "no"):
        return None
    return value


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _emit(line: str, target: str) -> None:
    if target in ("1", "true", "yes", "stderr"):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        return
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block: wall and CPU seconds, and the process's peak RSS after it."""
    target = _target()
    if target is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        # hand-built JSON: the names are ours, and this must not import the serializers it times
        _emit(f'{{"phase": "{name}", "wall_s": {time.perf_counter() - wall:.4f}, '
              f'"cpu_s": {time.process_time() - cpu:.4f}, "peak_rss_mb": {_peak_rss_mb()}}}', target)
