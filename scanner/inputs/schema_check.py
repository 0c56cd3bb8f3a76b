"""JSON Schema validation that reports every error, each with its file, line and JSON path."""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from scanner.inputs import resources
from scanner.inputs.problems import Problem, json_path
from scanner.inputs.yamlfile import line_of

_validators: dict[str, Any] = {}
_compiled: dict[str, Any] = {}


def validator(schema_name: str):
    if schema_name not in _validators:
        schema = resources.schema(schema_name)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validators[schema_name] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return _validators[schema_name]


def is_valid(document: Any, schema_name: str) -> bool:
    """A compiled validator (fastjsonschema: Python code generated from the schema, about 30
    times faster than walking it) that only says yes or no. A document it refuses goes
    through check(), which names every problem; a valid one, the usual case, costs little."""
    if schema_name not in _compiled:
        import fastjsonschema
        schema = dict(resources.schema(schema_name))
        # the schemas use no keyword newer than draft 7; fastjsonschema knows drafts 4, 6, 7
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        _compiled[schema_name] = fastjsonschema.compile(schema, use_formats=False)
    try:
        _compiled[schema_name](document)
    except Exception:  # noqa: BLE001 - a refusal of any kind means: ask the full validator
        return False
    return True


def _describe(error: ValidationError) -> str:
    if error.context:  # anyOf / oneOf: say what the closest branch wanted
        error = best_match(error.context)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required key '{missing}'"
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key(s)")
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{error.instance!r} is not allowed; expected one of: {allowed}"
    if error.validator == "propertyNames" and isinstance(error.instance, dict):
        return f"keys {sorted(error.instance)} are not allowed here; expected exactly one of all, any, not or a field condition"
    if error.validator == "not":
        return "this combination of keys is not allowed here (see the schema: value/where/as depend on op)"
    return error.message


def _rule_id(document: Any, path: list) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        try:
            rule = document["rules"][path[1]]
            return rule.get("id") if isinstance(rule, dict) else None
        except (IndexError, KeyError, TypeError):
            return None
    return None


def check(document: Any, schema_name: str, file: str) -> list[Problem]:
    problems = []
    errors = sorted(validator(schema_name).iter_errors(document),
                    key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = list(error.absolute_path)
        problems.append(Problem(file, _describe(error), line=line_of(document, path),
                                path=json_path(path), rule_id=_rule_id(document, path)))
    return problems
