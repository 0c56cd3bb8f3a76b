"""JSON Schema validation that reports every error, each with its file, line and JSON path."""

from __future__ import annotations

import difflib
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from scanner.inputs import resources
from scanner.inputs.problems import Problem, json_path
from scanner.model import plural
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


_KINDS = {"string": "text", "object": "a mapping", "array": "a list", "integer": "a whole number",
          "number": "a number", "boolean": "true or false", "null": "null"}
MAX_SHOWN = 60  # characters of an outside value quoted in a message


def short(value: Any) -> str:
    """A value for a message: its repr, cut to MAX_SHOWN characters (a 1 MB string in a pack
    must not become a 1 MB error line)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def _kind(value: Any) -> str:
    for name, kinds in (("boolean", bool), ("object", dict), ("array", list), ("string", str),
                        ("integer", int), ("number", float), ("null", type(None))):
        if isinstance(value, kinds):
            return _KINDS[name]
    return type(value).__name__


def _one_of(values: list) -> str:
    return ", ".join(repr(v) for v in values)


def _did_you_mean(word: Any, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _branch(error: ValidationError) -> ValidationError:
    """The error of an anyOf/oneOf that speaks to what the user wrote: branches that wanted
    another kind of value (a string where a mapping was given) say nothing useful."""
    candidates = [e for e in error.context if e.validator != "type" or e.absolute_path != error.absolute_path] \
        or list(error.context)
    return best_match(candidates)


def _subschema(root: dict, path: list) -> Any:
    """The schema at a schema path of an error (local $refs followed), or None."""
    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/"):
            target: Any = root
            for part in node["$ref"][2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            node = target
        return node

    node: Any = root
    for key in path:
        if isinstance(node, dict) and key not in node:
            node = resolve(node)
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return resolve(node)


def _choice_words(error: ValidationError, root: dict) -> str | None:
    """An error met inside the then/else of an if: said as the choice the if makes (a rule's
    condition is a field test when it has 'field', else exactly one of all, any, not)."""
    path = list(error.absolute_schema_path)
    for branch in ("else", "then"):
        if branch not in path:
            continue
        cut = len(path) - 1 - path[::-1].index(branch)
        holder = _subschema(root, path[:cut])
        test = holder.get("if") if isinstance(holder, dict) else None
        if not isinstance(test, dict):
            return None
        if branch == "else" and test.get("required"):
            alternatives = (holder.get("else") or {}).get("propertyNames", {}).get("enum")
            return f"missing key {_one_of(test['required'])}" + \
                (f" (or write exactly one of {_one_of(alternatives)})" if alternatives else "")
        if branch == "then" and error.validator == "not" and isinstance(error.instance, dict):
            keyed = {name: spec.get("enum") for name, spec in (test.get("properties") or {}).items()
                     if isinstance(spec, dict)}
            when = ", ".join(f"{name} is {error.instance.get(name)!r}" for name in keyed if name in error.instance)
            forbidden = _required_keys(error.validator_value)
            present = [key for key in forbidden if key in error.instance]
            return f"{_one_of(present or forbidden)} not allowed when {when}" if when else None
    return None


def _required_keys(schema: Any) -> list[str]:
    """Keys a {required: [...]} or {anyOf: [{required: ...}, ...]} schema names."""
    if not isinstance(schema, dict):
        return []
    keys = list(schema.get("required") or [])
    for part in schema.get("anyOf") or []:
        keys += _required_keys(part)
    return keys


def _describe(error: ValidationError, root: dict | None = None) -> str:
    """One error of jsonschema's tree, in words."""
    if error.context:  # anyOf / oneOf: what the closest branch wanted
        return _describe(_branch(error), root)
    if root is not None:
        choice = _choice_words(error, root)
        if choice:
            return choice
    instance, expected = error.instance, error.validator_value
    if error.validator == "required":
        missing = [key for key in expected if isinstance(instance, dict) and key not in instance] or list(expected)
        return f"missing required key {_one_of(missing)}" if len(missing) == 1 else \
            f"missing required keys {_one_of(missing)}"
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = [key for key in instance if key not in allowed] if isinstance(instance, dict) else []
        hints = [f"unknown key {short(key)}{_did_you_mean(key, allowed)}" for key in extra]
        return "; ".join(hints) + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if error.validator == "enum":
        return f"{short(instance)} is not one of {_one_of(expected)}{_did_you_mean(instance, expected)}"
    if error.validator == "const":
        return f"{short(instance)}: expected {expected!r}"
    if error.validator == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(_KINDS.get(w, w) for w in wanted)}, got {_kind(instance)} {short(instance)}"
    if error.validator == "pattern":
        what = error.schema.get("description")
        return f"{short(instance)} should be {what}" if what else f"{short(instance)} is not in the expected form"
    if error.validator == "minLength":
        return f"{short(instance)} is too short: at least {plural(expected, 'character')}"
    if error.validator == "maxLength":
        return f"a value of {len(instance)} characters is too long: at most {expected}"
    if error.validator == "minItems":
        return f"needs at least {plural(expected, 'item')}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[error.validator]
        return f"{short(instance)} is out of range: expected {words} {expected}"
    if error.validator == "propertyNames" and isinstance(error.schema.get("propertyNames"), dict) \
            and "pattern" in error.schema["propertyNames"]:
        what = error.schema["propertyNames"].get("description", "in the expected form")
        return f"key {short(instance)} should be {what}"
    if error.validator == "not":
        return "this combination of keys is not allowed here (value, where and as depend on op)"
    return error.message if len(error.message) <= 2 * MAX_SHOWN else error.message[:2 * MAX_SHOWN] + "…"


# Consequences of one mistake, said once: at a location with an unknown or missing key, the
# errors of the schema's if/else branches and property counts only repeat it (a typo of
# "field" also fails "exactly one of all, any, not" and "too many properties").
_CONSEQUENCES = {"maxProperties", "minProperties", "propertyNames", "not", "if", "then", "else"}


def check(document: Any, schema_name: str, file: str) -> list[Problem]:
    """Every schema problem of a document, one per location and mistake, in words."""
    by_location: dict[tuple, list[ValidationError]] = {}
    for error in validator(schema_name).iter_errors(document):
        by_location.setdefault(tuple(error.absolute_path), []).append(error)
    problems = []
    for location in sorted(by_location, key=lambda parts: [str(p) for p in parts]):
        errors = by_location[location]
        if any(e.validator in ("additionalProperties", "required") for e in errors):
            errors = [e for e in errors if e.validator not in _CONSEQUENCES
                      and not _CONSEQUENCES & {p for p in e.relative_schema_path if isinstance(p, str)}] or errors
        path = list(location)
        seen: set[str] = set()
        for error in errors:
            message = _describe(error, validator(schema_name).schema)
            if message in seen:
                continue
            seen.add(message)
            problems.append(Problem(file, message, line=line_of(document, path), path=json_path(path),
                                    rule_id=_rule_id(document, path)))
    return sorted(problems, key=lambda p: (p.line or 0, p.path or ""))


def rule_indexes(problems: list[Problem], key: str = "rules") -> tuple[set[int], bool]:
    """The rules[N] (or other key's entries) that schema problems are in, and whether any
    problem lies outside them (so a loader can still check the entries that are well formed,
    and report every problem at once)."""
    indexes, elsewhere = set(), False
    for problem in problems:
        match = re.match(rf"{re.escape(key)}\[(\d+)\]", problem.path or "")
        if match:
            indexes.add(int(match.group(1)))
        else:
            elsewhere = True
    return indexes, elsewhere


def _rule_id(document: Any, path: list) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        try:
            rule = document["rules"][path[1]]
            return rule.get("id") if isinstance(rule, dict) else None
        except (IndexError, KeyError, TypeError):
            return None
    return None


