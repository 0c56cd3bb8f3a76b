"""Rule messages: "{domain} expires in {days_to_expiry} days". Plain field substitution,
parsed once; no expressions, no format specs, no attribute access beyond one dotted step."""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

from scanner.model import FACT_FIELDS, format_time
from scanner.rules.facts import lookup


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

    def render(self, rec: list, params: dict[str, Any]) -> str:
        if self.static:
            return self.text
        out = []
        for literal, head, sub in self.parts:
            out.append(literal)
            if head is None:
                continue
            if head == "params":
                value = params.get(sub) if sub else params
            else:
                value = lookup(rec, head)
                if sub is not None:
                    if isinstance(value, list):
                        value = [item.get(sub) if isinstance(item, dict) else getattr(item, sub, item) for item in value]
                    elif isinstance(value, dict):
                        value = value.get(sub)
                    else:
                        value = None
            out.append(_show(value))
        return "".join(out)


def allowed_heads(captures: set[str]) -> frozenset[str]:
    return FACT_FIELDS | {"params", "resource_id"} | frozenset(captures)
