"""The condition language, compiled once into plain Python closures (no eval, no templates).

A condition is one of:
  {field: F, op: eq|ne|lt|le|gt|ge|in|not_in|contains|matches, value: V [, ignore_case: true]}
  {field: F, op: exists|absent}
  {field: F, op: any|all|none, where: CONDITION [, as: NAME]}   quantifiers over a list/dict field
  {all: [CONDITION, ...]}, {any: [CONDITION, ...]}, {not: CONDITION}
V may be {param: NAME}, resolved when the rule is compiled, or {param: NAME, at: FIELD} for a
schedule: a parameter listing [{from: TIMESTAMP, KEY: VALUE}, ...] (the first entry may omit
`from`: it holds before every later one), whose entry in force at the certificate's FIELD (a
timestamp) gives the value, e.g. the CA/B Forum maximum validity at not_before. Only
ordering operators take a schedule; ``as: NAME`` on such a leaf keeps the entry in force for
the message ({NAME.max_days}, {NAME.from}). Quantifiers see each item of a
list of records as that record, each item of a list of strings as {value}, and each entry of
a mapping (tags) as {key, value}. ``as: NAME`` keeps the items that decided a quantifier
(matching for any/none, not matching for all) so the message can name them: {NAME.record_name}.

Null handling: ordering operators (lt, le, gt, ge) on an unknown value give MissingValue and
the rule's result is ``error``: an unknown expiry must not pass or fail silently. Every other
operator treats null as a value: eq/in compare it, contains/matches are false for it.

A compiled condition is evaluated over a whole list of rows at once (certificate records, or
a quantifier's items) and gives one outcome per row, in order: True, False, or a MissingValue
(not raised: it is the outcome). Taking rows in bulk lets a leaf run as C-level map() calls
instead of one Python call per row, which is most of the cost of evaluating 100,000
certificates. all/any/not keep the short-circuit meaning of the row-at-a-time reading: a part
is evaluated only for the rows still undecided, so an unknown value behind a decided part is
never reported.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from itertools import compress
from typing import Any

import re2

from scanner.model import (CHAIN_FIELD_KINDS, DATETIME_FIELDS, FACT_FIELDS, FIELD_KINDS, ChainCertificate, NaiveDatetimeError,
                           ValidationRecord, format_time, parse_time)
from scanner.rules.facts import CAPTURES, CERT, DERIVED, capture as store_capture

Outcomes = list  # one per row: True, False or a MissingValue
Condition = Callable[[list], Outcomes]
Values = Callable[[list], Iterable[Any]]  # the value of one field for each row, in order

# How a quantifier sees the items of each list or mapping field: a validation record as its
# fields, a string (sans, in_use_by) as {value}, a tag as {key, value}. Items are read in
# place (no dict per item): this runs for every certificate.
ITEM_KINDS = {"validation": "record", "chain": "chain", "tags": "pair", "sans": "scalar", "in_use_by": "scalar"}
ITEM_KIND_FIELDS: dict[str, frozenset[str]] = {
    "record": frozenset(ValidationRecord.__dataclass_fields__),
    "chain": frozenset(ChainCertificate.__dataclass_fields__),
    "pair": frozenset({"key", "value"}),
    "scalar": frozenset({"value"}),
}

# Plausible ranges of numeric fields, checked for every value a rule compares them with
# (parameters too, which the schema cannot see): day counts within 100 years either way,
# key sizes up to 65,536 bits. A larger number is a typo or an attack, never a policy.
FIELD_RANGES: dict[str, tuple[int, int]] = {
    "days_to_expiry": (-36525, 36525), "validity_days": (-36525, 36525),
    "renew_days_before_expiry": (-36525, 36525), "key_size": (0, 65536),
}


def _regex_options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False  # a refused pattern is reported as a rule problem, not on stderr
    return options


def compile_pattern(pattern: str, ignore_case: bool = False) -> Callable[[str], bool]:
    """A `matches` pattern compiled with RE2, which runs in time linear in the text: a
    pattern such as ^(a+)+$ cannot hang a scan. Constructs RE2 cannot run in linear time
    (backreferences, lookaround) are refused: re2.error with RE2's reason. Returns whether
    the pattern is found anywhere in a text (re.search semantics)."""
    options = _regex_options(ignore_case)
    options.never_capture = True  # only "found or not" is asked: no groups to keep
    compiled = re2.compile(pattern, options)
    engine = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)
    if engine is None or anchor is None:  # another google-re2 layout: its public (slower) search
        return lambda text: compiled.search(text.encode("utf-8", "backslashreplace").decode("utf-8")) is not None
    # RE2's own Match on UTF-8 bytes: the public search() decodes match offsets back to str
    # positions, which costs ten times the match. A lone surrogate (a name that was not
    # UTF-8) is searched as its visible escape instead of failing to encode.
    match, unanchored = engine.Match, anchor.UNANCHORED

    def found(text: str) -> bool:
        data = text.encode("utf-8", "backslashreplace")
        return match(unanchored, data, 0, len(data))[0][0] >= 0

    return found


def regex_refusal(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else exc
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


_ORDERING = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_CERT_OF = operator.itemgetter(CERT)


class MissingValue(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _decided(outcome: Any) -> bool:
    return outcome is True or outcome is False


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_fold(v) for v in value]
    return value


def _as_dicts(items: list, kind: str) -> list[dict]:
    """Captured items in the form messages name them by: {record_name}, {key}, {value}."""
    if kind == "pair":
        return [{"key": k, "value": v} for k, v in items]
    if kind == "scalar":
        return [{"value": v} for v in items]
    return [item.__dict__ for item in items]  # a read-only view of the record's fields


def _top_level_values(head: str) -> Values:
    if head in DERIVED:
        derived = operator.itemgetter(DERIVED[head])
        return lambda rows: map(derived, rows)
    stored = operator.attrgetter("id" if head == "resource_id" else head)
    return lambda rows: map(stored, map(_CERT_OF, rows))


def _item_values(head: str, kind: str) -> Values:
    if kind == "pair":
        part = operator.itemgetter(0 if head == "key" else 1)
        return lambda rows: map(part, rows)
    if kind == "scalar":
        return iter
    attribute = operator.attrgetter(head)
    return lambda rows: map(attribute, rows)


def _values(path: str, kind: str | None) -> Values:
    """Reads a (dotted) field: from certificate records at the top level (kind None), from
    items inside a quantifier. Dotted steps go into mappings (tags.owner)."""
    head, *rest = path.split(".")
    base = _top_level_values(head) if kind is None else _item_values(head, kind)
    if not rest:
        return base

    def walk(value: Any) -> Any:
        for part in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return lambda rows: map(walk, base(rows))


def _never(rows: list) -> Outcomes:
    return [False] * len(rows)


def _uncertain(condition: Condition) -> Condition:
    """Marks a condition that can give MissingValue (an ordering on an unknown value), so
    that quantifiers over certain conditions can skip looking for it."""
    condition.uncertain = True  # type: ignore[attr-defined]
    return condition


def may_be_unknown(condition: Condition) -> bool:
    return getattr(condition, "uncertain", False)


class ConditionCompiler:
    """Compiles the conditions of one rule; collects every problem instead of stopping."""

    def __init__(self, params: dict[str, Any]):
        self.params = params
        self.problems: list[tuple[str, str]] = []  # (json path, message)
        self.captures: set[str] = set()

    def problem(self, path: str, message: str) -> Condition:
        self.problems.append((path, message))
        return _never

    def compile(self, cond: dict, path: str, item_kind: str | None = None) -> Condition:
        """item_kind: None at the top level (certificate records), else how items are held."""
        if "all" in cond:
            return _conjunction([self.compile(c, f"{path}.all[{i}]", item_kind) for i, c in enumerate(cond["all"])])
        if "any" in cond and "field" not in cond:
            return _disjunction([self.compile(c, f"{path}.any[{i}]", item_kind) for i, c in enumerate(cond["any"])])
        if "not" in cond:
            return _negation(self.compile(cond["not"], f"{path}.not", item_kind))
        return self._leaf(cond, path, item_kind)

    def _value(self, raw: Any, path: str) -> tuple[bool, Any]:
        if isinstance(raw, dict) and set(raw) == {"param", "at"}:
            ok, table = self._value({"param": raw["param"]}, path)
            if not ok:
                return False, None
            schedule, why = Schedule.build(table, raw["at"])
            if schedule is None:
                self.problem(f"{path}.value", f"parameter {raw['param']!r} is not a schedule: {why}")
                return False, None
            return True, schedule
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                self.problem(f"{path}.value", f"unknown parameter {name!r} (this rule's params: {known})")
                return False, None
            return True, self.params[name]
        return True, raw

    def _leaf(self, cond: dict, path: str, item_kind: str | None) -> Condition:
        field, op = cond["field"], cond["op"]
        head = field.split(".")[0]
        known = FACT_FIELDS if item_kind is None else ITEM_KIND_FIELDS[item_kind]
        if head not in known:
            what = "item field" if item_kind is not None else "certificate field"
            return self.problem(f"{path}.field", f"unknown {what} {field!r}; expected one of: "
                                + ", ".join(sorted(known)))
        top_level = item_kind is None
        raw_values = _values(field, item_kind)
        fold = bool(cond.get("ignore_case"))

        if op in ("exists", "absent"):
            want = op == "exists"
            return lambda rows: [(v is not None and v != "" and v != [] and v != {}) is want
                                 for v in raw_values(rows)]

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
            return _quantifier(op, raw_values, inner, capture, kind)

        ok, value = self._value(cond["value"], path)
        if not ok:
            return _never
        if isinstance(value, Schedule) or cond.get("as"):
            return self._scheduled(cond, path, value, raw_values)
        if top_level and "." in field and FIELD_KINDS[head] != "mapping":
            return self.problem(f"{path}.field", f"{head} has no parts: only a mapping field (tags) takes a dotted name")
        if top_level:
            kind = FIELD_KINDS[head] if "." not in field else "text"
        else:
            kind = CHAIN_FIELD_KINDS[head] if item_kind == "chain" else "text"
        mismatch = _kind_mismatch(op, field, kind, value)
        if mismatch:
            return self.problem(f"{path}.value", mismatch)
        if top_level and head in FIELD_RANGES:
            low, high = FIELD_RANGES[head]
            numbers = value if isinstance(value, list) else [value]
            wild = [v for v in numbers if isinstance(v, (int, float)) and not isinstance(v, bool) and not low <= v <= high]
            if wild:
                shown = f"{wild[0]}" if len(str(wild[0])) <= 20 else f"a number of {len(str(wild[0]))} digits"
                raw = cond["value"]
                via = f" (parameter {raw['param']})" if isinstance(raw, dict) and "param" in raw else ""
                return self.problem(f"{path}.value", f"{field} is compared with {shown}{via}, outside its plausible "
                                    f"range {low:,} to {high:,}")
        written = value  # a pattern is compiled as written: casefolding it would turn \S into \s
        if fold:
            value = _fold(value)
            values: Values = lambda rows: [v.casefold() if v.__class__ is str else _fold(v)  # noqa: E731
                                           for v in raw_values(rows)]
        else:
            values = raw_values

        if head in DATETIME_FIELDS and op in _ORDERING and isinstance(value, str):
            try:
                value = parse_time(value)  # compare instants, not strings
            except (ValueError, NaiveDatetimeError) as exc:
                return self.problem(f"{path}.value", f"{field} is compared with a timestamp: {exc}")

        if op in ("eq", "ne"):
            same = partial(operator.eq if op == "eq" else operator.ne, value)  # symmetric: value == v
            return lambda rows: list(map(same, values(rows)))
        if op in _ORDERING:
            compare = _ORDERING[op]
            missing = MissingValue(field)
            return _uncertain(lambda rows: [missing if v is None else compare(v, value) for v in values(rows)])
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                return self.problem(f"{path}.value", f"'{op}' needs a list, got {value!r}")
            return _membership(values, value, op == "in")
        if op == "contains":
            return lambda rows: [v is not None and value in v for v in values(rows)]
        if op == "matches":
            if not isinstance(written, str):
                return self.problem(f"{path}.value", f"'matches' needs a regular expression string, got {written!r}")
            try:
                found = compile_pattern(written, fold)
            except re2.error as exc:
                return self.problem(f"{path}.value", f"regular expression {written!r} does not compile with RE2 "
                                    f"(linear-time matching; no backreferences or lookaround): {regex_refusal(exc)}")

            def matches(value: Any) -> bool:
                if value is None:
                    return False
                if isinstance(value, list):
                    return any(isinstance(v, str) and found(v) for v in value)
                return found(str(value))

            def matching(rows: list) -> Outcomes:
                return [found(v) if v.__class__ is str else matches(v) for v in raw_values(rows)]

            return matching
        return self.problem(f"{path}.op", f"unknown operator {op!r}")


    def _scheduled(self, cond: dict, path: str, schedule: Any, values: Values) -> Condition:
        """An ordering leaf whose bound is the schedule entry in force at another field."""
        field, op, capture = cond["field"], cond["op"], cond.get("as")
        if not isinstance(schedule, Schedule):
            return self.problem(f"{path}.as", "'as' on a comparison keeps a schedule entry: the value must be "
                                "{param: NAME, at: FIELD}")
        if op not in _ORDERING:
            return self.problem(f"{path}.op", f"a schedule bound needs lt, le, gt or ge, not {op!r}")
        if FIELD_KINDS.get(field) != "number" or schedule.at not in DATETIME_FIELDS:
            return self.problem(f"{path}.value", f"a schedule compares a number field at a timestamp field "
                                f"(got {field} at {schedule.at})")
        if capture:
            if capture in FACT_FIELDS or capture == "params":
                return self.problem(f"{path}.as", f"'as: {capture}' would hide a field; choose another name")
            self.captures.add(capture)
        compare, at_values = _ORDERING[op], _values(schedule.at, None)
        missing, missing_at = MissingValue(field), MissingValue(schedule.at)

        def scheduled(rows: list) -> Outcomes:
            out: Outcomes = []
            for row, v, moment in zip(rows, values(rows), at_values(rows)):
                entry = None if moment is None else schedule.entry_at(moment)
                if capture:
                    store_capture(row, capture, [entry.shown] if entry else [])
                if moment is None:
                    out.append(missing_at)
                elif v is None:
                    out.append(missing)
                else:  # before the schedule's first date nothing was set: nothing to exceed
                    out.append(True if entry is None else compare(v, entry.value))
            return out

        return _uncertain(scheduled)


class _Entry:
    __slots__ = ("start", "value", "shown")

    def __init__(self, start: datetime | None, value: Any, shown: dict):
        self.start, self.value, self.shown = start, value, shown


class Schedule:
    """A parameter [{from: TIMESTAMP, KEY: NUMBER}, ...] read as the value in force at a time."""

    def __init__(self, at: str, entries: list[_Entry]):
        self.at, self.entries = at, entries
        self.starts = [e.start for e in entries]

    @classmethod
    def build(cls, table: Any, at: str) -> tuple[Schedule | None, str]:
        if not isinstance(table, list) or not table:
            return None, "expected a list of {from: TIMESTAMP, KEY: NUMBER} entries"
        entries: list[_Entry] = []
        for i, item in enumerate(table):
            keys = set(item) - {"from"} if isinstance(item, dict) else set()
            if len(keys) != 1:
                return None, f"entry {i} needs 'from' and exactly one value key, got {item!r}"
            (key,) = keys
            value = item[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
                return None, f"entry {i}: {key} must be a number, got {value!r}"
            if "from" not in item and i:
                return None, f"entry {i} has no 'from' (only the first entry may omit it)"
            try:
                start = parse_time(item["from"]) if "from" in item else None
            except (ValueError, TypeError, OverflowError, NaiveDatetimeError) as exc:
                return None, f"entry {i}: 'from' {item.get('from')!r} is not a timestamp ({exc})"
            if entries and entries[-1].start is not None and start <= entries[-1].start:
                return None, f"entry {i}: dates must increase"
            shown = {"from": format_time(start) if start else "the start", key: value}
            entries.append(_Entry(start, value, shown))
        return cls(at, entries), ""

    def entry_at(self, moment: datetime) -> _Entry | None:
        found = None
        for entry in self.entries:  # a handful of entries: a scan beats bisect's setup
            if entry.start is None or entry.start <= moment:
                found = entry
            else:
                break
        return found


_KIND_WORDS = {"text": "text", "number": "a number", "boolean": "true or false", "timestamp": "a timestamp",
               "list": "a list of text", "mapping": "a mapping", "records": "a list of records"}


def _fits(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind == "text":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return kind == "timestamp" and isinstance(value, (str, datetime))


def _kind_mismatch(op: str, field: str, kind: str, value: Any) -> str | None:
    """Why comparing this field with this value cannot work, or None. Caught when the rule
    is loaded: at scan time it would raise, or quietly never match."""
    holds = f"{field} holds {_KIND_WORDS[kind]}"
    if op in ("eq", "ne", "in", "not_in"):
        if kind in ("list", "mapping", "records"):
            return f"{holds}: compare its items with 'contains' or a quantifier (any, all, none)"
        if op in ("in", "not_in") and not isinstance(value, list):
            return None  # reported below: it needs a list
        values = value if op in ("in", "not_in") else [value]
        if kind == "timestamp" and any(v is not None for v in values):
            return f"{holds}: compare timestamps with lt, le, gt or ge (or test exists/absent)"
        wrong = [v for v in values if not _fits(kind, v)]
        return f"{holds}, so '{op}' {wrong[0]!r} can never match" if wrong else None
    if op in _ORDERING:
        if kind not in ("number", "text", "timestamp"):
            return f"{holds}: '{op}' orders numbers, text and timestamps"
        return None if value is not None and _fits(kind, value) else f"{holds}, so it cannot be ordered against {value!r}"
    if op == "contains":
        if kind not in ("text", "list"):
            return f"{holds}: 'contains' looks inside text or a list of text"
        return None if isinstance(value, str) else f"'contains' looks for text in {field}, got {value!r}"
    if op == "matches" and kind in ("mapping", "records"):
        return f"{holds}: match its items with a quantifier (any, all, none)"
    return None


def _membership(values: Values, choices: list, inside: bool) -> Condition:
    """in / not_in: a set lookup, or a list scan for values a set cannot hold (a list field)."""
    try:
        members = frozenset(choices)
    except TypeError:
        members = None

    def by_scan(found: list) -> Outcomes:
        return [(v in choices) is inside for v in found]

    def membership(rows: list) -> Outcomes:
        found = list(values(rows))
        if members is None:
            return by_scan(found)
        try:
            if inside:
                return list(map(members.__contains__, found))
            return [v not in members for v in found]
        except TypeError:  # an unhashable value (a list field): compare by equality instead
            return by_scan(found)

    return membership


def _conjunction(parts: list[Condition]) -> Condition:
    return _in_turn(parts, True)  # a row stays open while every part so far held


def _disjunction(parts: list[Condition]) -> Condition:
    return _in_turn(parts, False)  # a row stays open while no part so far held


def _in_turn(parts: list[Condition], still_open: bool) -> Condition:
    """all/any: each part sees only the rows the earlier parts left open."""
    if len(parts) == 1:
        return parts[0]
    first, rest = parts[0], parts[1:]

    certain = not any(map(may_be_unknown, parts))

    def in_turn(rows: list) -> Outcomes:
        out = first(rows)
        for part in rest:
            live = open_rows(out, still_open) if certain else [i for i, v in enumerate(out) if v is still_open]
            if len(live) == len(out):
                out = part(rows)
            elif live:
                for i, v in zip(live, part([rows[i] for i in live])):
                    out[i] = v
            else:
                break
        return out

    return in_turn if certain else _uncertain(in_turn)


def open_rows(outcomes: list[bool], value: bool = True) -> list[int]:
    """The positions holding `value` in a list of outcomes known to be True or False (C-level)."""
    n = len(outcomes)
    return list(compress(range(n), outcomes if value else map(operator.not_, outcomes)))


def _negation(inner: Condition) -> Condition:
    if may_be_unknown(inner):
        return _uncertain(lambda rows: [(not v) if v is True or v is False else v for v in inner(rows)])
    return lambda rows: [not v for v in inner(rows)]


def _read_in_turn(outcomes: list, stop: bool) -> Any:
    """any() (stop at True) or all() (stop at False) read item by item: an unknown reached
    before the deciding item is the outcome."""
    for v in outcomes:
        if v is stop:
            return stop
        if v is not (not stop):
            return v
    return not stop


def _quantifier(op: str, values: Values, inner: Condition, capture: str | None, kind: str) -> Condition:
    pairs = kind == "pair"
    want = op != "all"  # the outcome of an item that decides: True for any/none, False for all

    def spread(rows: list) -> tuple[list, list, list]:
        """Every item of every row in one list, with the row each came from."""
        if pairs:
            found = [v.items() if v and isinstance(v, dict) else () for v in values(rows)]
        else:
            found = [v or () for v in values(rows)]
        flat = [item for v in found for item in v]
        owners = [i for i, v in enumerate(found) for _ in v]
        return found, flat, owners

    def verdicts(rows: list, deciding: Any) -> Outcomes:
        if op == "any":
            return [i in deciding for i in range(len(rows))]
        return [i not in deciding for i in range(len(rows))]

    def certain(rows: list) -> Outcomes:
        _, flat, owners = spread(rows)
        outcome = inner(flat) if flat else []
        return verdicts(rows, {i for i, v in zip(owners, outcome) if v is want})

    def certain_captured(rows: list) -> Outcomes:
        _, flat, owners = spread(rows)
        outcome = inner(flat) if flat else []
        deciding: dict[int, list] = {}
        for i, item in [(i, item) for i, item, v in zip(owners, flat, outcome) if v is want]:
            deciding.setdefault(i, []).append(item)
        for i, items in deciding.items():
            store_capture(rows[i], capture, _as_dicts(items, kind))
        for i in [i for i, row in enumerate(rows) if row[CAPTURES] is not None and i not in deciding]:
            store_capture(rows[i], capture, [])  # drops a stale capture of the same name
        return verdicts(rows, deciding)

    def uncertain(rows: list) -> Outcomes:
        """Item by item, as any()/all() would read them: an unknown counts where it is reached."""
        found, flat, _ = spread(rows)
        outcome = inner(flat) if flat else []
        out: Outcomes = []
        at = 0
        for row, items in zip(rows, found):
            items = list(items)
            read = outcome[at:at + len(items)]
            at += len(items)
            lost = next((v for v in read if not _decided(v)), None)
            if capture is not None:  # every item is read (the message names all of them)
                if lost is not None:
                    out.append(lost)
                    continue
                picked = [item for item, v in zip(items, read) if v is want]
                store_capture(row, capture, _as_dicts(picked, kind) if picked else picked)
                out.append(bool(picked) if op == "any" else not picked)
            elif op == "all":
                out.append(_read_in_turn(read, False))
            else:
                decided = _read_in_turn(read, True)
                out.append(decided if op == "any" or not _decided(decided) else not decided)
        return out

    if may_be_unknown(inner):
        return _uncertain(uncertain)
    return certain if capture is None else certain_captured
