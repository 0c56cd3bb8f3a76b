"""The output formats, in one registry. A format is one module that declares ``FORMAT``
(an OutputFormat): its name on the command line, the files it writes, its order, whether
the evidence bundle carries it and what it contributes there, whether it is a human report,
and how to write it. Everything else -- the --format choices and help, the check of a
config's ``formats``, the order outputs are written in, the bundle's report files, the
demo's "every format" -- iterates this registry; adding a format is adding its module.

Modules are found under the packages in FORMAT_PACKAGES (an output lives in scanner/report/,
the evidence bundle in scanner/evidence/ once it moves there)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from scanner.report import ScanReport

FORMAT_PACKAGES = ("scanner.report", "scanner.evidence")


@dataclass(frozen=True)
class ReportOptions:
    """How the human reports are laid out (report/triage --mode, --days)."""

    mode: str = "executive"
    days: int = 30
    generated_at: datetime | None = None  # when the report is produced; None: the scan's end
    frameworks: tuple[str, ...] = ()  # whose controls the reports show; () = the report's own choice (all)


@dataclass(frozen=True)
class OutputFormat:
    name: str  # the --format value
    files: tuple[str, ...]  # what it writes into --output-dir
    order: int  # written in ascending order; the evidence bundle, which holds the others, last
    write: Callable[["ScanReport", Path, ReportOptions], list[Path]]
    human: bool = False  # a report for people (report/triage write these)
    # its entries in the evidence bundle (name -> bytes); None: the bundle does not carry it
    bundle: Callable[["ScanReport"], dict[str, bytes]] | None = None
    description: str = ""

    @property
    def in_bundle(self) -> bool:
        return self.bundle is not None


@lru_cache(maxsize=1)
def registry() -> dict[str, OutputFormat]:
    found: dict[str, OutputFormat] = {}
    for package_name in FORMAT_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            fmt = getattr(module, "FORMAT", None)
            if isinstance(fmt, OutputFormat):
                if fmt.name in found:
                    raise RuntimeError(f"format {fmt.name!r} is declared twice ({module.__name__})")
                found[fmt.name] = fmt
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def names() -> list[str]:
    """Every format name, in writing order."""
    return list(registry())


def human() -> list[OutputFormat]:
    return [fmt for fmt in registry().values() if fmt.human]


def bundled() -> list[OutputFormat]:
    return [fmt for fmt in registry().values() if fmt.in_bundle]


def unknown(requested: list[str]) -> list[str]:
    return [name for name in requested if name not in registry()]


def write_reports(report: "ScanReport", formats: list[str], output_dir: Path,
                  options: ReportOptions = ReportOptions()) -> dict[str, list[Path]]:
    """Write the requested formats in registry order; name -> files written."""
    from scanner.timings import phase

    written: dict[str, list[Path]] = {}
    for name, fmt in registry().items():
        if name in formats:
            with phase(f"write {name}"):
                written[name] = fmt.write(report, Path(output_dir), options)
    return written
