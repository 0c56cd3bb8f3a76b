"""Provider failures as CollectionError records: one place decides what code and message a
denied, throttled, failing or unreachable AWS call leaves in the inventory."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from scanner.model import CollectionError

MALFORMED = "MalformedResponse"
MAX_MESSAGE = 300  # a provider's message is quoted, never a whole HTML page


class MalformedResponse(Exception):
    """A successful (2xx) answer whose body is not what the operation returns: an HTML page,
    truncated JSON, another document. For the unit it is a collection error, never "no
    certificates"."""


# What a caller may catch around an AWS call and turn into a CollectionError.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError, MalformedResponse)


def check_answer(operation_model: Any = None, response_dict: Any = None, **_: Any) -> None:
    """botocore before-parse hook: refuse a 2xx body that cannot be the operation's answer,
    before botocore reads it. botocore itself reads an unparsable JSON body as {} (so an HTML
    page would be an empty list), an XML document with another root as an empty answer, and
    a value of the wrong type with an AttributeError from deep inside its parser."""
    if operation_model is None or response_dict is None:
        return
    if not 200 <= int(response_dict.get("status_code") or 0) < 300:
        return
    shape = operation_model.output_shape
    if shape is None or operation_model.has_streaming_output:
        return
    body = response_dict.get("body") or b""
    protocol = operation_model.metadata.get("protocol")
    operation = operation_model.name
    if protocol in ("json", "rest-json"):
        if not body.strip() and protocol == "rest-json":
            return
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedResponse(f"{operation}: the answer is not JSON ({_preview(body)})") from None
        where = _json_mismatch(document, shape, operation)
        if where:
            raise MalformedResponse(f"{operation}: the answer does not have the operation's shape ({where})")
    elif protocol in ("query", "ec2", "rest-xml"):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise MalformedResponse(f"{operation}: the answer is not XML ({_preview(body)})") from None
        tag = root.tag.rpartition("}")[2]
        if protocol != "rest-xml" and tag != f"{operation}Response":
            raise MalformedResponse(f"{operation}: the answer is a <{tag[:40]}> document, not {operation}'s answer")


_JSON_KINDS = {"structure": dict, "map": dict, "list": list, "string": str, "boolean": bool,
               "integer": int, "long": int, "float": (int, float), "double": (int, float),
               "timestamp": (int, float, str), "blob": str}


def _json_mismatch(value: Any, shape: Any, path: str, depth: int = 0) -> str | None:
    """Where a JSON answer's value has another type than its shape says, or None. Walked
    before botocore's parser, which would raise deep inside on a wrong type."""
    if value is None:
        return None
    kind = _JSON_KINDS.get(shape.type_name)
    if kind is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return f"{path} is {type(value).__name__}, not {shape.type_name}"
    if depth > 32:
        return None
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value:
                found = _json_mismatch(value[wire], member, f"{path}.{wire}", depth + 1)
                if found:
                    return found
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            found = _json_mismatch(item, shape.member, f"{path}[{index}]", depth + 1)
            if found:
                return found
    elif shape.type_name == "map":
        for key, item in value.items():
            found = _json_mismatch(item, shape.value, f"{path}.{key}", depth + 1)
            if found:
                return found
    return None


def _preview(body: bytes) -> str:
    text = body[:80].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"{len(body)} bytes starting {text!r}" if body else "empty body"


def expect(answer: Any, key: str, kind: type, operation: str) -> Any:
    """answer[key], which an answer of this operation always holds; MalformedResponse if not."""
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, kind):
        raise MalformedResponse(f"{operation}: the answer has no {key} ({kind.__name__}); the body was not "
                                f"a {operation} answer")
    return value


def expect_items(items: list, keys: tuple[str, ...], operation: str) -> list:
    """Each item of a listing is a mapping holding its identifying keys as text."""
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in keys):
            raise MalformedResponse(f"{operation}: an item lacks {', '.join(keys)}")
    return items


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = error.get("Code")
        if code:
            return str(code)
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return str(status) if status else "ClientError"
    if isinstance(exc, NoCredentialsError):
        return "NoCredentials"
    if isinstance(exc, (MalformedResponse, ResponseParserError)):
        return MALFORMED
    return type(exc).__name__  # EndpointConnectionError, ReadTimeoutError, ...


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        text = error.get("Message") or str(exc)
        operation = getattr(exc, "operation_name", None)
        attempts = (exc.response.get("ResponseMetadata") or {}).get("RetryAttempts")
        if operation:
            text = f"{operation}: {text}"
        if attempts:
            text += f" (after {attempts} retries)"
        return text[:MAX_MESSAGE]
    text = str(exc) or type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def aws_error(exc: BaseException, *, source: str, service: str, account: str | None = None,
              region: str | None = None, unit: str | None = None, resource: str | None = None,
              context: str | None = None) -> CollectionError:
    message = error_message(exc)
    if context:
        message = f"{context}: {message}"
    return CollectionError(source=source, code=error_code(exc), message=message, account=account,
                           region=region, service=service, resource=resource, unit=unit)
