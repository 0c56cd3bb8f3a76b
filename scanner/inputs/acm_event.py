"""ACM's EventBridge events, as certscan reads them: one event, a list of events, or events
inside the envelopes that deliver them (an SQS message batch, an SNS notification, SNS
records of a Lambda invocation, or an SNS notification carried by SQS).

Shapes as AWS documents them (ACM user guide, "Amazon EventBridge support for ACM"):
``{"version": "0", "id", "detail-type", "source": "aws.acm", "account", "time", "region",
"resources": [certificate ARN], "detail": {...}}``. Everything in an event is outside text:
a field that is missing or of the wrong kind is bad input (exit 2) naming its JSON path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner.inputs.problems import InputError, Problem, json_path
from scanner.model import parse_time

DETAIL_TYPES = (
    "ACM Certificate Approaching Expiration",
    "ACM Certificate Expired",
    "ACM Certificate Renewal Action Required",
    "ACM Certificate Available",
)
MAX_EVENT_BYTES = 1_048_576  # an SQS batch holds 10 messages of at most 256 KiB
MAX_EVENTS = 100
MAX_NESTING = 3  # SQS body -> SNS notification -> event: deeper is not a delivery AWS makes
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):certificate/[A-Za-z0-9-]{1,128}$")


@dataclass(frozen=True)
class AcmEvent:
    id: str
    detail_type: str
    account: str
    region: str
    time: datetime
    certificate_arn: str
    where: str  # JSON path of the event in its input, e.g. Records[0].body.Message

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "detail_type": self.detail_type, "account": self.account, "region": self.region,
                "time": self.time.isoformat().replace("+00:00", "Z"), "certificate_arn": self.certificate_arn}


def read_text(text: str, name: str) -> list[AcmEvent]:
    """Every ACM event in ``text`` (the contents of file ``name``), in input order."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES:
        raise InputError(Problem(name, f"more than {MAX_EVENT_BYTES:,} bytes: not an EventBridge delivery"))
    document = _json(text, name, "(top level)")
    events: list[AcmEvent] = []
    _walk(document, [], name, events, 0)
    if not events:
        raise InputError(Problem(name, "no ACM event found: expected an EventBridge event, a list of them, "
                                       "or an SQS / SNS delivery of one"))
    return events


def _json(text: str, name: str, where: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(name, f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})",
                                 path=where)) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(Problem(name, f"invalid JSON: {exc}", path=where)) from None


def _fail(name: str, path: list, message: str) -> InputError:
    return InputError(Problem(name, message, path=json_path(path)))


def _walk(node: Any, path: list, name: str, out: list[AcmEvent], depth: int) -> None:
    if len(out) > MAX_EVENTS:
        raise _fail(name, path, f"more than {MAX_EVENTS} events in one input")
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, [*path, index], name, out, depth)
        return
    if not isinstance(node, dict):
        raise _fail(name, path, f"expected an event object, found {type(node).__name__}")
    if "Records" in node:  # SQS or SNS records of a Lambda invocation
        records = node["Records"]
        if not isinstance(records, list):
            raise _fail(name, [*path, "Records"], "expected a list of SQS or SNS records")
        for index, record in enumerate(records):
            where = [*path, "Records", index]
            if isinstance(record, dict) and isinstance(record.get("Sns"), dict):
                _inner(record["Sns"], "Message", [*where, "Sns"], name, out, depth)
            elif isinstance(record, dict) and "body" in record:
                _inner(record, "body", where, name, out, depth)
            else:
                raise _fail(name, where, "expected an SQS record (body) or an SNS record (Sns.Message)")
        return
    if node.get("Type") == "Notification" and "Message" in node:  # an SNS notification (e.g. in SQS)
        _inner(node, "Message", path, name, out, depth)
        return
    out.append(_event(node, path, name))


def _inner(holder: dict, key: str, path: list, name: str, out: list[AcmEvent], depth: int) -> None:
    where = [*path, key]
    text = holder.get(key)
    if not isinstance(text, str):
        raise _fail(name, where, "expected the delivered event as a JSON string")
    if depth >= MAX_NESTING:
        raise _fail(name, where, f"envelopes nested more than {MAX_NESTING} deep")
    _walk(_json(text, name, json_path(where)), where, name, out, depth + 1)


def _text(node: dict, key: str, path: list, name: str, pattern: re.Pattern | None = None, what: str = "") -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise _fail(name, [*path, key], "missing" if key not in node else "expected a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise _fail(name, [*path, key], f"expected {what}")
    return value


def _event(node: dict, path: list, name: str) -> AcmEvent:
    source = node.get("source")
    if source != "aws.acm":
        raise _fail(name, [*path, "source"], "expected 'aws.acm' (an ACM event)" if "source" in node else
                    "missing: expected an EventBridge event with source 'aws.acm'")
    detail_type = _text(node, "detail-type", path, name)
    if detail_type not in DETAIL_TYPES:
        raise _fail(name, [*path, "detail-type"], f"unknown ACM event type {detail_type[:80]!r}: expected one of "
                                                  + ", ".join(DETAIL_TYPES))
    event_id = _text(node, "id", path, name)
    account = _text(node, "account", path, name, ACCOUNT, "a 12-digit AWS account id")
    region = _text(node, "region", path, name, REGION, "an AWS region name such as eu-west-1")
    moment = _text(node, "time", path, name)
    try:
        when = parse_time(moment)
    except ValueError:
        raise _fail(name, [*path, "time"], "expected an ISO 8601 time with a zone, e.g. 2026-01-01T06:51:08Z") from None
    resources = node.get("resources")
    if not isinstance(resources, list) or len(resources) != 1:
        raise _fail(name, [*path, "resources"], "expected a list holding the one certificate ARN")
    arn = resources[0]
    found = ACM_ARN.match(arn) if isinstance(arn, str) and len(arn) <= 2048 else None
    if not found:
        raise _fail(name, [*path, "resources", 0], "expected an ACM certificate ARN")
    if found.group(1) != region or found.group(2) != account:
        raise _fail(name, [*path, "resources", 0], "the certificate ARN is not in the event's account and region")
    if not isinstance(node.get("detail"), dict):
        raise _fail(name, [*path, "detail"], "expected an object")
    return AcmEvent(id=event_id, detail_type=detail_type, account=account, region=region, time=when,
                    certificate_arn=arn, where=json_path(path))
