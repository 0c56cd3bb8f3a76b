"""The command line as typed, for the evidence manifest: captured by ``cli.run`` (which
knows its argv even when tests call it in-process) with the values of secret-looking
options (passwords, tokens) replaced by '***'."""

from __future__ import annotations

import sys
from contextvars import ContextVar, Token

_ARGV: ContextVar[list[str] | None] = ContextVar("certscan_argv", default=None)
SECRET_WORDS = ("password", "secret", "token", "credential")
REDACTED = "***"


def set_invocation(argv: list[str] | None) -> Token:
    return _ARGV.set(list(argv) if argv is not None else None)


def reset_invocation(token: Token) -> None:
    _ARGV.reset(token)


def _secret(option: str) -> bool:
    return option.startswith("-") and any(word in option.lower() for word in SECRET_WORDS)


def redact(argv: list[str]) -> list[str]:
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
        elif "=" in arg and _secret(arg.split("=", 1)[0]):
            out.append(arg.split("=", 1)[0] + "=" + REDACTED)
        else:
            out.append(arg)
            hide_next = _secret(arg)
    return out


def invocation_arguments() -> list[str]:
    argv = _ARGV.get()
    if argv is None:
        argv = sys.argv[1:]
    return ["certscan", *redact(argv)]
