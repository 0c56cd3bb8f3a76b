"""YAML and JSON documents that remember where each value came from, so that schema errors
can name the line. Safe loading only: no tags, no code."""

from __future__ import annotations

import json
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from scanner.inputs.problems import InputError, Problem


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict


class LineList(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


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


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _read(path: str | Path | Traversable) -> tuple[str, str]:
    name = str(path)
    try:  # a Traversable (a shipped file, see scanner.inputs.resources) reads itself
        return name, (Path(path) if isinstance(path, str) else path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Problem(name, f"cannot read file: {exc}")) from None


def load_yaml(path: str | Path | Traversable) -> Any:
    """Parse one YAML document with line information; a syntax error is an InputError."""
    name, text = _read(path)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError(Problem(name, f"invalid YAML: {what}", line=line)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(name, f"invalid YAML: {exc}")) from None


def load_json(path: str | Path | Traversable) -> Any:
    name, text = _read(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(name, f"invalid JSON: {exc.msg}", line=exc.lineno)) from None


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
