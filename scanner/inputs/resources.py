"""Files shipped with certscan: JSON Schemas and the built-in rule packs and catalogs.

They are read through importlib.resources from the packages scanner.policies,
scanner.policies.frameworks and scanner.schemas (the repository's policies/ and schemas/
folders, mapped into the package by pyproject.toml), so a wheel, `pip install .`, pipx and an
editable checkout all find them the same way. What is returned is a Traversable: read it with
read_bytes()/read_text(); where a filesystem path is really needed, use as_file()."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

POLICIES = "scanner.policies"
FRAMEWORKS = "scanner.policies.frameworks"
SCHEMAS = "scanner.schemas"


def _yaml_files(package: str) -> list[Traversable]:
    return sorted((entry for entry in resources.files(package).iterdir()
                   if entry.is_file() and entry.name.endswith((".yaml", ".yml"))),
                  key=lambda entry: entry.name)


def schema_file(name: str) -> Traversable:
    return resources.files(SCHEMAS).joinpath(name)


SOURCES_SCHEMA = "sources.schema.json"  # written by scanner.collect.registry


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """A shipped schema, self-contained: what it takes from sources.schema.json (the source
    lists the registry generates) is put in place, so any validator can use it alone."""
    document = json.loads(schema_file(name).read_text(encoding="utf-8"))
    if name == SOURCES_SCHEMA:
        return document
    return _flatten(_inline(document, schema(SOURCES_SCHEMA)))


def _inline(node: Any, sources: dict[str, Any], here: dict[str, Any] | None = None) -> Any:
    if isinstance(node, list):
        return [_inline(item, sources, here) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and (ref.startswith(SOURCES_SCHEMA + "#/$defs/") or (here is sources and ref.startswith("#/$defs/"))):
        target = sources["$defs"][ref.rsplit("/", 1)[1]]
        return _inline(target, sources, sources)
    return {key: _inline(value, sources, here) for key, value in node.items()}


def _flatten(node: Any) -> Any:
    """{properties, allOf: [{type: object, properties}], unevaluatedProperties: false} as the
    equivalent {properties, additionalProperties: false}: one level, understood everywhere."""
    if isinstance(node, list):
        return [_flatten(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _flatten(value) for key, value in node.items()}
    parts = node.get("allOf")
    if node.get("unevaluatedProperties") is False and isinstance(parts, list) and all(
            isinstance(p, dict) and set(p) <= {"type", "properties"} and p.get("type", "object") == "object"
            for p in parts):
        properties = dict(node.get("properties") or {})
        for part in parts:
            properties.update(part.get("properties") or {})
        node = {key: value for key, value in node.items() if key not in ("allOf", "unevaluatedProperties")}
        node["properties"] = properties
        node["additionalProperties"] = False
    return node


def builtin_pack_paths() -> list[Traversable]:
    return _yaml_files(POLICIES)


def framework_catalog_paths() -> list[Traversable]:
    return _yaml_files(FRAMEWORKS)


def builtin_display_path(path: Traversable) -> str:
    """How SARIF and reports name a shipped pack: its place in the certscan repository."""
    return f"policies/{path.name}"


def pack_file(pack: dict) -> Traversable:
    """The file behind a pack entry of a ScanReport: a shipped pack is found in the installed
    package by its name (so outputs do not depend on where certscan is installed)."""
    if pack.get("builtin"):
        return resources.files(POLICIES).joinpath(PurePosixPath(str(pack["path"]).replace("\\", "/")).name)
    return Path(str(pack["path"]))
