"""Provider failures as CollectionError records: one place decides what code and message a
denied, throttled, failing or unreachable AWS call leaves in the inventory."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from scanner.model import CollectionError

# What a caller may catch around an AWS call and turn into a CollectionError.
AWS_ERRORS = (ClientError, BotoCoreError)


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
        return text
    return str(exc) or type(exc).__name__


def aws_error(exc: BaseException, *, source: str, service: str, account: str | None = None,
              region: str | None = None, unit: str | None = None, resource: str | None = None,
              context: str | None = None) -> CollectionError:
    message = error_message(exc)
    if context:
        message = f"{context}: {message}"
    return CollectionError(source=source, code=error_code(exc), message=message, account=account,
                           region=region, service=service, resource=resource, unit=unit)
