"""The condition language, compiled once into plain Python closures (no eval, no templates).

A condition is one of:
  {field: F, op: eq|ne|lt|le|gt|ge|in|not_in|contains|matches, value: V [, ignore_case: true]}
  {field: F, op: exists|absent}
  {field: F, op: any|all|none, where: CONDITION [, as: NAME]}   quantifiers over a list/dict field
  {all: [CONDITION, ...]}, {any: [CONDITION, ...]}, {not: CONDITION}
V may be {param: NAME}, resolved when the rule is compiled. Quantifiers see each item of a
list of records as that record, each item of a list of strings as {value}, and each entry of
a mapping (tags) as {key, value}. ``as: NAME`` keeps the items that decided a quantifier
(matching for any/none, not matching for all) so the message can name them: {NAME.record_name}.

Null handling: ordering operators (lt, le, gt, ge) on an unknown value raise MissingValue and
the rule's result is ``error``: an unknown expiry must not pass or fail silently. Every other
operator treats null as a value: eq/in compare it, contains/matches are false for it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from scanner.model import DATETIME_FIELDS, FACT_FIELDS, NaiveDatetimeError, ValidationRecord, parse_time
from scanner.rules.facts import CERT, DERIVED, capture as store_capture, field_reader

Predicate = Callable[[Any], bool]  # over a certificate record (rules.facts) or a quantifier's item

# How a quantifier sees the items of each list or mapping field: a validation record as its
# fields, a string (sans, in_use_by) as {value}, a tag as {key, value}. Items are read in
# place (no dict per item): this runs for every certificate.
ITEM_KINDS = {"validation": "record", "tags": "pair", "sans": "scalar", "in_use_by": "scalar"}
ITEM_KIND_FIELDS: dict[str, frozenset[str]] = {
    "record": frozenset(ValidationRecord.__dataclass_fields__),
    "pair": frozenset({"key", "value"}),
    "scalar": frozenset({"value"}),
}

_ORDERING = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


class MissingValue(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_fold(v) for v in value]
    return value


def _item(item: Any) -> dict:
    if isinstance(item, dict):
        return item
    if isinstance(item, ValidationRecord):
        return item.__dict__  # read-only view of the record's fields
    return {"value": item}


def _items(value: Any, kind: str) -> Iterator[Any]:
    """The items of a field as the quantifier's getters read them (see ITEM_KINDS); lazily,
    so that any/none can stop at the first deciding item."""
    if not value:
        return iter(())
    if kind == "pair":
        return iter(value.items()) if isinstance(value, dict) else iter(())
    if kind == "scalar":
        return iter(value)
    return (_item(item) for item in value)


def _as_dicts(items: list, kind: str) -> list[dict]:
    """Captured items in the form messages name them by: {record_name}, {key}, {value}."""
    if kind == "pair":
        return [{"key": k, "value": v} for k, v in items]
    if kind == "scalar":
        return [{"value": v} for v in items]
    return items


def _item_reader(head: str, kind: str) -> Callable[[Any], Any]:
    if kind == "pair":
        return operator.itemgetter(0 if head == "key" else 1)
    if kind == "scalar":
        return lambda item: item
    return lambda item: item.get(head)


def _getter(path: str, kind: str | None) -> Callable[[Any], Any]:
    """Reads a (dotted) field: from a certificate record at the top level (kind None), from
    an item inside a quantifier. Dotted steps go into mappings (tags.owner)."""
    head, *rest = path.split(".")
    base = field_reader(head) if kind is None else _item_reader(head, kind)
    if not rest:
        return base

    def get(rec: Any) -> Any:
        value = base(rec)
        for part in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


class ConditionCompiler:
    """Compiles the conditions of one rule; collects every problem instead of stopping."""

    def __init__(self, params: dict[str, Any]):
        self.params = params
        self.problems: list[tuple[str, str]] = []  # (json path, message)
        self.captures: set[str] = set()

    def problem(self, path: str, message: str) -> Predicate:
        self.problems.append((path, message))
        return lambda rec: False

    def compile(self, cond: dict, path: str, item_kind: str | None = None) -> Predicate:
        """item_kind: None at the top level (a certificate record), else how items are held."""
        if "all" in cond:
            return _conjunction([self.compile(c, f"{path}.all[{i}]", item_kind) for i, c in enumerate(cond["all"])])
        if "any" in cond and "field" not in cond:
            return _disjunction([self.compile(c, f"{path}.any[{i}]", item_kind) for i, c in enumerate(cond["any"])])
        if "not" in cond:
            inner = self.compile(cond["not"], f"{path}.not", item_kind)
            return lambda rec: not inner(rec)
        return self._leaf(cond, path, item_kind)

    def _value(self, raw: Any, path: str) -> tuple[bool, Any]:
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                self.problem(f"{path}.value", f"unknown parameter {name!r} (this rule's params: {known})")
                return False, None
            return True, self.params[name]
        return True, raw

    def _leaf(self, cond: dict, path: str, item_kind: str | None) -> Predicate:
        field, op = cond["field"], cond["op"]
        head = field.split(".")[0]
        known = FACT_FIELDS if item_kind is None else ITEM_KIND_FIELDS[item_kind]
        if head not in known:
            what = "item field" if item_kind is not None else "certificate field"
            return self.problem(f"{path}.field", f"unknown {what} {field!r}; expected one of: "
                                + ", ".join(sorted(known)))
        top_level = item_kind is None
        get = _getter(field, item_kind)
        fold = bool(cond.get("ignore_case"))

        if op in ("exists", "absent"):
            want = op == "exists"
            return lambda rec: _present(get(rec)) is want

        if op in ("any", "all", "none"):
            if not top_level or head not in ITEM_KINDS:
                return self.problem(f"{path}.field", f"'{op}' quantifies over a list or mapping field: "
                                    + ", ".join(sorted(ITEM_KINDS)))
            kind = ITEM_KINDS[head]
            inner = self.compile(cond["where"], f"{path}.where", kind)
            capture = cond.get("as")
            if capture:
                if not top_level:
                    return self.problem(f"{path}.as", "'as' is only allowed on a top-level quantifier")
                if capture in FACT_FIELDS or capture == "params":
                    return self.problem(f"{path}.as", f"'as: {capture}' would hide a field; choose another name")
                self.captures.add(capture)
            return _quantifier(op, get, inner, capture, kind)

        ok, value = self._value(cond["value"], path)
        if not ok:
            return lambda rec: False
        if fold:
            value = _fold(value)

        if fold:
            def read(rec: Any) -> Any:
                return _fold(get(rec))
        else:
            read = get

        if head in DATETIME_FIELDS and op in _ORDERING and isinstance(value, str):
            try:
                value = parse_time(value)  # compare instants, not strings
            except (ValueError, NaiveDatetimeError) as exc:
                return self.problem(f"{path}.value", f"{field} is compared with a timestamp: {exc}")

        # Straight-line closures for the commonest shape (a stored top-level field, no case
        # folding): one C-level attribute read, no intermediate call.
        stored = operator.attrgetter(head) if (top_level and not fold and "." not in field
                                               and head not in DERIVED and head != "resource_id") else None
        # ... and for a plain field of a record item (a validation record's dns_status)
        item_plain = item_kind == "record" and not fold and "." not in field
        if op == "eq":
            if stored is not None:
                return lambda rec: stored(rec[CERT]) == value
            if item_plain:
                return lambda item: item.get(head) == value
            return lambda rec: read(rec) == value
        if op == "ne":
            if stored is not None:
                return lambda rec: stored(rec[CERT]) != value
            if item_plain:
                return lambda item: item.get(head) != value
            return lambda rec: read(rec) != value
        if op in _ORDERING:
            compare = _ORDERING[op]
            if not isinstance(value, (int, float, str, datetime)) or isinstance(value, bool):
                return self.problem(f"{path}.value", f"'{op}' needs a number or a string, got {value!r}")

            def ordered(rec: dict) -> bool:
                found = read(rec)
                if found is None:
                    raise MissingValue(field)
                return compare(found, value)

            return ordered
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                return self.problem(f"{path}.value", f"'{op}' needs a list, got {value!r}")
            try:
                choices: Any = frozenset(value)
            except TypeError:
                choices = value
            if op == "in":
                if stored is not None:
                    return lambda rec: stored(rec[CERT]) in choices
                if item_plain:
                    return lambda item: item.get(head) in choices
                return lambda rec: read(rec) in choices
            if stored is not None:
                return lambda rec: stored(rec[CERT]) not in choices
            if item_plain:
                return lambda item: item.get(head) not in choices
            return lambda rec: read(rec) not in choices
        if op == "contains":
            def contains(rec: dict) -> bool:
                found = read(rec)
                return found is not None and value in found
            return contains
        if op == "matches":
            if not isinstance(value, str):
                return self.problem(f"{path}.value", f"'matches' needs a regular expression string, got {value!r}")
            try:
                pattern = re.compile(value, re.IGNORECASE if fold else 0)
            except re.error as exc:
                return self.problem(f"{path}.value", f"regular expression {value!r} does not compile: {exc}")

            def matches(rec: dict) -> bool:
                found = get(rec)
                if found is None:
                    return False
                if isinstance(found, list):
                    return any(isinstance(v, str) and pattern.search(v) for v in found)
                return pattern.search(str(found)) is not None

            return matches
        return self.problem(f"{path}.op", f"unknown operator {op!r}")


# Small blocks get straight-line closures: a generator per evaluation costs more than the test.
def _conjunction(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda rec: a(rec) and b(rec)
    if len(parts) == 3:
        a, b, c = parts
        return lambda rec: a(rec) and b(rec) and c(rec)
    return lambda rec: all(p(rec) for p in parts)


def _disjunction(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda rec: a(rec) or b(rec)
    if len(parts) == 3:
        a, b, c = parts
        return lambda rec: a(rec) or b(rec) or c(rec)
    return lambda rec: any(p(rec) for p in parts)


def _quantifier(op: str, get: Callable[[Any], Any], inner: Predicate, capture: str | None, kind: str) -> Predicate:
    if capture is None:
        if op == "any":
            return lambda rec: any(map(inner, _items(get(rec), kind)))
        if op == "all":
            return lambda rec: all(map(inner, _items(get(rec), kind)))
        return lambda rec: not any(map(inner, _items(get(rec), kind)))

    def captured(rec: Any) -> bool:
        items = _items(get(rec), kind)
        if op == "all":
            deciding = [item for item in items if not inner(item)]
        else:
            deciding = [item for item in items if inner(item)]
        store_capture(rec, capture, _as_dicts(deciding, kind) if deciding else deciding)
        if op == "all":
            return not deciding
        return bool(deciding) if op == "any" else not deciding

    return captured
