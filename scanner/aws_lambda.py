"""The AWS Lambda entry point, ``scanner.aws_lambda.handler``: answers ACM's EventBridge events
(delivered directly, through SQS or through SNS) as ``certscan event`` does, and runs a full
scan on the template's weekly schedule (an ``aws.events`` "Scheduled Event").

Configured by environment variables (all optional):
  CERTSCAN_RULES         comma list of rule packs (default: the shipped packs)
  CERTSCAN_ROUTES        routes YAML: notify each owner (secrets come from the environment)
  CERTSCAN_HISTORY       history store: SQLite file (e.g. on EFS) or postgresql:// URL
  CERTSCAN_ROLE_NAME     role assumed in an event's account (default OrganizationAccountAccessRole)
  CERTSCAN_OUTPUT_DIR    where outputs are written (default /tmp/certscan)
  CERTSCAN_FORMATS       comma list of output formats (default json)
  CERTSCAN_REGIONS       the weekly scan's regions (default: the function's region)
  CERTSCAN_ALL_ACCOUNTS  "true": the weekly scan covers every account of the Organization

One JSON line is logged per event (event id, type, certificate, outcome, failing rules,
exit code) and never a secret: no environment value, route URL or credential is logged.
Errors worth a retry are raised, so Lambda (or SQS) delivers the event again: a certificate
that could not be read for a passing reason (throttling, a 5xx, the network), a notification
not delivered, a history not written. A malformed event, or one AWS will answer the same way
again (access denied), is logged and returned, never retried.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, TextIO

from scanner.inputs.acm_event import read_text
from scanner.inputs.problems import InputError
from scanner.report.escape import visible

TRANSIENT = ("Throttl", "TooManyRequests", "RequestLimitExceeded", "SlowDown", "ServiceUnavailable",
             "InternalError", "InternalFailure", "InternalServerError", "EndpointConnectionError",
             "ConnectTimeout", "ReadTimeout", "ConnectionClosedError", "500", "502", "503", "504")


class RetryableError(RuntimeError):
    """Raised so the platform delivers the event again."""


def _settings(environ: Mapping[str, str]):
    from scanner.usecases.scan import ScanSettings
    return ScanSettings(
        rules=[r for r in environ.get("CERTSCAN_RULES", "").split(",") if r],
        output_dir=Path(environ.get("CERTSCAN_OUTPUT_DIR") or "/tmp/certscan"),
        formats=[f for f in (environ.get("CERTSCAN_FORMATS") or "json").split(",") if f],
        fail_on="none",  # a function has no gate: findings go to owners, the summary says them
        history=environ.get("CERTSCAN_HISTORY") or None,
    )


def _log(line: dict[str, Any], out: TextIO) -> None:
    print(json.dumps(line, sort_keys=True, default=str), file=out, flush=True)


def _transient(errors: list[dict[str, Any]]) -> bool:
    return any(any(word in str(e.get("code") or "") for word in TRANSIENT) for e in errors)


def handle(event: Any, environ: Mapping[str, str], out: TextIO) -> dict[str, Any]:
    """The handler's work, with its environment and log stream given (tests pass their own)."""
    from scanner.usecases import notify as notify_usecase
    from scanner.usecases.event import EventSources, run_event, summary

    routes = notify_usecase.load(environ["CERTSCAN_ROUTES"], environ=environ) if environ.get("CERTSCAN_ROUTES") else None
    settings = _settings(environ)
    if isinstance(event, dict) and event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        run = _weekly_scan(settings, environ)
        answered: list[dict[str, Any]] = [{"id": visible(str(event.get("id", ""))[:100]), "detail_type": "Scheduled Event"}]
    else:
        try:
            events = read_text(json.dumps(event), "lambda event")
        except (InputError, TypeError, ValueError) as exc:
            _log({"outcome": "rejected", "error": visible(str(exc)[:2000])}, out)
            return {"rejected": visible(str(exc)[:2000]), "events": []}  # a retry would fail the same way
        run = run_event(events, EventSources(role_name=environ.get("CERTSCAN_ROLE_NAME") or None), settings)
        answered = run.report.events or []
    delivery = notify_usecase.after_scan(run.report, routes, None)
    result = summary(run)
    result["notifications_failed"] = bool(delivery.failed)
    result["events"] = answered
    failing_of: dict[str, list[str]] = {}
    for item in result["failing"]:
        failing_of.setdefault(item["resource"], []).append(item["rule"])
    for answered_event in answered:
        _log({"event_id": answered_event.get("id"), "detail_type": answered_event.get("detail_type"),
              "certificate": answered_event.get("certificate_arn"), "outcome": answered_event.get("outcome"),
              "failing_rules": failing_of.get(answered_event.get("certificate_arn"), []),
              "errors": [e.get("code") for e in run.report.errors], "exit_code": result["exit_code"],
              "notifications_failed": result["notifications_failed"]}, out)
    if run.gate.incomplete and _transient(run.report.errors):
        raise RetryableError(f"certificate(s) could not be read for now: "
                             f"{', '.join(sorted({str(e.get('code')) for e in run.report.errors}))}")
    if delivery.failed:
        raise RetryableError("some notifications could not be delivered")
    if run.history is not None and run.history.error:
        raise RetryableError("the history store could not be written")
    return result


def _weekly_scan(settings, environ: Mapping[str, str]):
    from scanner.collect import SourceOptions
    from scanner.usecases.scan import run_scan
    regions = [r for r in (environ.get("CERTSCAN_REGIONS") or "").split(",") if r]
    sources = SourceOptions(aws=True, regions=regions, quiet=True,
                            all_accounts=(environ.get("CERTSCAN_ALL_ACCOUNTS") or "").lower() == "true",
                            role_name=environ.get("CERTSCAN_ROLE_NAME") or "OrganizationAccountAccessRole")
    return run_scan(sources, settings, events=[])


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Lambda's entry point: ``scanner.aws_lambda.handler``."""
    return handle(event, os.environ, sys.stdout)
