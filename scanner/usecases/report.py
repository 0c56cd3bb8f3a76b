"""The report use case: the human reports (every human format of the registry, and the
findings JSON export) from a fresh scan or from a saved certscan-results.json.

Exit codes: 0 written; 3 a fresh scan could not see everything and partial scans are not
allowed (the reports are still written, and say what is missing); 5 a fresh scan could not be
recorded in its --history (when nothing else failed). Findings do not change the
exit code here: gating is `scan --fail-on`'s job."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scanner.collect import SourceOptions
from scanner.evaluate.gate import EXIT_INCOMPLETE, EXIT_OK
from scanner.inputs.problems import InputError, Problem
from scanner.report import ScanReport, findings
from scanner.report import formats as output_formats
from scanner.report.formats import ReportOptions
from scanner.packs.frameworks import framework_names
from scanner.report.results_json import read as read_results
from scanner.usecases import clock
from scanner.usecases.diff import load_baseline, with_baseline
from scanner.usecases.history import EXIT_HISTORY, RecordOutcome
from scanner.usecases.scan import ScanSettings, run_scan, sources_phrase


@dataclass(frozen=True)
class ReportRun:
    report: ScanReport
    written: list[Path]
    exit_code: int
    history: RecordOutcome | None = None


def fresh_scan(sources: SourceOptions, settings: ScanSettings) -> tuple[ScanReport, int, RecordOutcome | None]:
    """A scan for reporting: nothing gates on findings; an incomplete scan is exit 3 unless
    allowed; a history that could not be written is exit 5 (when the scan was complete)."""
    settings = replace(settings, fail_on="none")
    run = run_scan(sources, settings)
    code = EXIT_INCOMPLETE if run.gate.incomplete and not settings.allow_partial else EXIT_OK
    if code == EXIT_OK and run.history is not None and run.history.error:
        code = EXIT_HISTORY
    return run.report, code, run.history


def write_human_reports(report: ScanReport, output_dir: Path, options: ReportOptions) -> list[Path]:
    written = output_formats.write_reports(report, [f.name for f in output_formats.human()], output_dir, options)
    return [path for paths in written.values() for path in paths] + findings.write_json_export(report, output_dir)


def report_from_results(results_file: str, sources: SourceOptions, output_dir: Path,
                        options: ReportOptions, baseline: str | None = None, history: str | None = None) -> ReportRun:
    """``baseline`` (a results file, a bundle, or 'history' with ``history``): the reports lead
    with what changed since it."""
    if sources.any_source:
        raise InputError(Problem("--results", "renders a saved scan; it cannot be combined with SOURCES options"))
    report = read_results(results_file)
    if baseline:
        report = with_baseline(report, load_baseline(baseline, history, report.as_of), results_file)
    report.framework_names = framework_names()
    report.frameworks = list(options.frameworks)
    # a saved scan has no end time of this run: the report says when it was produced
    options = replace(options, generated_at=options.generated_at or clock.now())
    return ReportRun(report, write_human_reports(report, output_dir, options), EXIT_OK)


def report_from_scan(sources: SourceOptions, settings: ScanSettings, options: ReportOptions) -> ReportRun:
    if not sources.any_source:
        raise InputError(Problem(None, f"nothing to report: give --results FILE, or SOURCES ({sources_phrase()})"))
    settings = replace(settings, formats=[])
    report, code, recorded = fresh_scan(sources, settings)
    return ReportRun(report, write_human_reports(report, settings.output_dir, options), code, recorded)
