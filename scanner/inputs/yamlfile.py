"""YAML and JSON documents that remember where each value came from, so that schema errors
can name the line. Safe loading only: no tags, no code.

YAML written by someone else is data, not a program: a file larger than its cap, aliases
that would expand past a small budget (a "billion laughs" bomb), nesting deeper than
MAX_DEPTH, NaN or infinities, and integers too long to be a real setting are refused with
the file and line, before anything (the schema checker included) walks the value."""

from __future__ import annotations

import json
import math
import os
import re
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import orjson
import yaml

from scanner.inputs.problems import InputError, Problem, json_path


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict


class LineList(list):
    line: int = 0
    item_lines: list


# Input caps (stated in the README under "Untrusted input").
MAX_YAML_BYTES = 2 * 1024 * 1024  # a rule pack, waivers file or config: the shipped packs are ~30 KB
MAX_DEPTH = 64  # nested mappings/lists; ~30 levels of all/any inside a rule
MAX_ALIAS_EXPANSION = 10_000  # nodes that aliases may add when expanded (the shipped packs add ~50)
MAX_INT_DIGITS = 30  # far past any real key size or day count; Python refuses > 4,300 with a traceback


class HostileYAML(yaml.MarkedYAMLError):
    """A document refused for its shape (size of expansion, depth, a number), not its syntax."""


def _subtree_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in `node` once every alias inside it is expanded; memoized, so linear in the graph."""
    key = id(node)
    if key not in memo:
        memo[key] = 1  # a node that reaches itself (a recursive alias) counts once, not forever
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_subtree_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_subtree_size(k, memo) + _subtree_size(v, memo) for k, v in node.value)
    return memo[key]


class _Loader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            self._expanded += _subtree_size(node, self._sizes)
            if self._expanded > MAX_ALIAS_EXPANSION:
                raise HostileYAML(None, None, f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values "
                                  "(refused: an alias bomb is not a setting)", event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise HostileYAML(None, None, f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Keep timestamps as the text the user wrote: a date must go through parse_time, which
# refuses a time without a zone instead of reading it as local time.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = value_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isdigit() for ch in str(node.value))
    if digits > MAX_INT_DIGITS:
        raise HostileYAML(None, None, f"an integer of {digits:,} digits is not a plausible setting "
                          f"(at most {MAX_INT_DIGITS})", node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    if len(str(node.value)) > 64:
        raise HostileYAML(None, None, "a number longer than 64 characters is not a plausible setting", node.start_mark)
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise HostileYAML(None, None, f"{str(node.value)[:20]!s} is not a finite number (NaN and infinities are "
                          "refused: they compare false with everything)", node.start_mark)
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _read(path: str | Path | Traversable, max_bytes: int | None = None) -> tuple[str, str]:
    name = str(path)
    try:  # a Traversable (a shipped file, see scanner.inputs.resources) opens itself
        with (Path(path) if isinstance(path, str) else path).open("rb") as handle:
            data = handle.read(max_bytes + 1) if max_bytes is not None else handle.read()
        if max_bytes is not None and len(data) > max_bytes:
            raise InputError(Problem(name, f"file is larger than {max_bytes:,} bytes, the cap for this kind of "
                                           "input (see README: Untrusted input)"))
        return name, data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Problem(name, f"cannot read file: {exc}")) from None


def load_yaml(path: str | Path | Traversable, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse one YAML document with line information; a syntax error is an InputError."""
    name, text = _read(path, max_bytes)
    return parse_yaml(text, name)


def parse_option_value(text: str) -> Any:
    """A command-line value read as YAML (45, true, [a, b]) with the same limits as a file.
    Raises HostileYAML for a refused value, yaml.YAMLError for text that is not YAML."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader


def parse_yaml(text: str, name: str) -> Any:
    """The same safe, bounded parse for YAML text that did not come from a file (--param)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except RecursionError:  # a flow collection nested past the parser's own stack
        raise InputError(Problem(name, f"invalid YAML: nesting deeper than {MAX_DEPTH} levels")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError(Problem(name, f"invalid YAML: {what}", line=line)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(name, f"invalid YAML: {exc}")) from None


# A \uD800-\uDFFF escape: half of a surrogate pair, or a lone one (which no output can encode).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


class _Marked(dict):
    duplicate: str | None = None


def _marking_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = _Marked(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        out.duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
    return out


def _first_path(document: Any, found) -> list | None:
    """The JSON path of the first node (depth first, in document order) where found(node) holds."""
    stack: list[tuple[list, Any]] = [([], document)]
    while stack:
        path, node = stack.pop()
        if found(node):
            return path
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((path + [key], child) for key, child in reversed(list(children)))
    return None


def _has_surrogate(node: Any) -> bool:
    texts = [node] if isinstance(node, str) else list(node) if isinstance(node, dict) else []
    return any(_LONE_SURROGATE.search(text) for text in texts)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _position_of_error(name: str, raw: bytes, what: str) -> Problem:
    """orjson refuses NaN, Infinity and lone surrogates too, and says where."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Problem(name, f"invalid JSON: {what} (line {exc.lineno} column {exc.colno})", line=exc.lineno)
    return Problem(name, f"invalid JSON: {what}")


def load_json(path: str | Path | Traversable, max_bytes: int | None = None) -> Any:
    """Parse strict JSON: a repeated key in an object, NaN, Infinity, a lone surrogate
    (\\ud800, which no UTF-8 output can carry) and nesting past the parser's limit are
    refused with where they are, never read as "the last one wins" or a crash later.

    Parsed by the standard library's C scanner with a hook that sees each object's keys: as
    fast as orjson on inventories (0.11 s at 10,000 certificates for both), and orjson keeps
    the last of repeated keys without a word."""
    name = str(path)
    try:
        if not isinstance(path, (str, Path)):  # a Traversable (a shipped file) reads itself
            raw = path.read_bytes()
        else:
            with open(path, "rb") as handle:
                if max_bytes is not None:
                    size = os.fstat(handle.fileno()).st_size
                    if size > max_bytes:
                        raise InputError(Problem(name, f"is {size:,} bytes, more than the {max_bytes:,} allowed"))
                raw = handle.read()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise InputError(Problem(name, f"cannot read file: {exc.strerror or exc}")) from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(Problem(name, f"invalid JSON: not UTF-8 at byte {exc.start}", line=line)) from None
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(name, f"invalid JSON: {exc.msg}", line=exc.lineno)) from None
    except _DuplicateKey as exc:
        marked = json.loads(text, object_pairs_hook=_marking_keys)
        where = _first_path(marked, lambda node: isinstance(node, _Marked) and node.duplicate is not None) or []
        raise InputError(Problem(name, f"invalid JSON: key {visible_key(exc.key)} appears more than once in one object",
                                 path=json_path(where))) from None
    except RecursionError:
        raise InputError(Problem(name, "invalid JSON: nested too deeply for the parser")) from None
    except ValueError as exc:  # NaN, Infinity, -Infinity
        raise InputError(_position_of_error(name, raw, f"{exc} is not a JSON number")) from None
    # The standard library reads an escaped lone surrogate (\\ud800) into a string that no
    # UTF-8 output can encode; orjson refuses it and says where. Only files with such an
    # escape pay for the second look.
    if _SURROGATE_ESCAPE.search(raw):
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            where = _first_path(document, _has_surrogate)
            raise InputError(Problem(name, f"invalid JSON: a lone surrogate escape (\\ud800-\\udfff) in a string, "
                                           f"which no output can carry (line {exc.lineno} column {exc.colno})",
                                     line=exc.lineno, path=json_path(where) if where is not None else None)) from None
    return document


def visible_key(key: str) -> str:
    """A key from the input, quoted and short: it may be anything."""
    shown = json.dumps(key[:80])
    return shown + ("..." if len(key) > 80 else "")


def line_of(document: Any, path) -> int | None:
    """The line of the deepest value along a JSON path that has one."""
    line = getattr(document, "line", None)
    node = document
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
        else:
            break
        node = node[part]
    return line
