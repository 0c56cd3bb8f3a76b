"""Rule messages: "{domain} {expiry}". Plain field substitution, parsed once; no
expressions, no format specs, no attribute access beyond one dotted step.

Besides the certificate fields, params and captures, a message may use {expiry}: the
expiry in words ("expired 35 days ago", "expires today", "expires in 12 days")."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scanner.model import FACT_FIELDS, expiry_in_words, format_time
from scanner.rules.facts import BUCKET, DAYS, lookup

# Message-only fields: words made from the record, for people (rules cannot test them).
EXPIRY = "expiry"


def _show(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in sorted(value.items())) or "none"
    return str(value)


class Template:
    def __init__(self, text: str, allowed_heads: frozenset[str]):
        self.text = text
        self.problems: list[str] = []
        self.parts: list[tuple[str, str | None, str | None]] = []  # literal, head, sub
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            self.problems.append(f"message template {text!r} is malformed: {exc}")
            parsed = [(text, None, None, None)]
        for literal, name, spec, conversion in parsed:
            if name is None:
                self.parts.append((literal, None, None))
                continue
            if spec or conversion:
                self.problems.append(f"message field {{{name}}}: format specs and conversions are not supported")
            head, _, sub = name.partition(".")
            if head not in allowed_heads:
                self.problems.append(f"message field {{{name}}} is not a certificate field, a param or a capture")
            self.parts.append((literal, head, sub or None))
        self.static = all(head is None for _, head, _ in self.parts)

    def bind(self, params: dict[str, Any]) -> Callable[[list], str]:
        """The template for one rule's params: a function of a certificate record. Literal
        text and {params.X} are joined once here; each field becomes one reader."""
        if self.static:
            text = self.text
            return lambda rec: text
        pieces: list[Any] = []  # literal strings (adjacent ones joined) and readers, in order

        def add(piece: Any) -> None:
            if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += piece
            elif piece != "":
                pieces.append(piece)

        for literal, head, sub in self.parts:
            add(literal)
            if head == "params":
                add(_show(params.get(sub) if sub else params))
            elif head is not None:
                add(_reader(head, sub, captured=head not in FACT_FIELDS and head != "resource_id"))
        parts = tuple(pieces)
        return lambda rec: "".join([piece if piece.__class__ is str else piece(rec) for piece in parts])


def _reader(head: str, sub: str | None, captured: bool = False) -> Callable[[list], str]:
    """Reads and shows one {head} or {head.sub} of a record (see rules.facts.lookup). A
    capture that kept nothing shows as "none", not "unknown": nothing was found."""
    if head == EXPIRY:
        return lambda rec: expiry_in_words(rec[DAYS], rec[BUCKET] == "EXPIRED")
    if sub is None:
        def whole(rec: list) -> str:
            value = lookup(rec, head)
            return value if value.__class__ is str else _show(value)
        return whole

    def part(rec: list) -> str:
        value = lookup(rec, head)
        if value is None and captured:
            return "none"
        if isinstance(value, list):
            value = [item.get(sub) if isinstance(item, dict) else getattr(item, sub, item) for item in value]
        elif isinstance(value, dict):
            value = value.get(sub)
        else:
            value = None
        return _show(value)

    return part


def allowed_heads(captures: set[str]) -> frozenset[str]:
    return FACT_FIELDS | {"params", "resource_id", EXPIRY} | frozenset(captures)
