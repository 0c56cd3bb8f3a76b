"""Files shipped with certscan: JSON Schemas and the built-in rule packs and catalogs."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


_REPO = Path(__file__).resolve().parent.parent
_IN_REPO = {"scanner.policies": _REPO / "policies", "scanner.schemas": _REPO / "schemas"}


def _root(package: str) -> Path:
    # A wheel carries the files inside the package; a source checkout (editable install, or
    # running from the repository root) has them beside it.
    if _IN_REPO[package].is_dir():
        return _IN_REPO[package]
    return Path(str(resources.files(package)))


def schema_path(name: str) -> Path:
    return _root("scanner.schemas") / name


SOURCES_SCHEMA = "sources.schema.json"  # written by scanner.collect.registry


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """A shipped schema, self-contained: what it takes from sources.schema.json (the source
    lists the registry generates) is put in place, so any validator can use it alone."""
    document = json.loads(schema_path(name).read_text(encoding="utf-8"))
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


def builtin_pack_paths() -> list[Path]:
    return sorted(_root("scanner.policies").glob("*.yaml"))


def framework_catalog_paths() -> list[Path]:
    return sorted((_root("scanner.policies") / "frameworks").glob("*.yaml"))


def builtin_display_path(path: Path) -> str:
    """How SARIF and reports name a shipped pack: its place in the certscan repository."""
    return f"policies/{path.name}"


def pack_file(pack: dict) -> Path:
    """The file behind a pack entry of a ScanReport: a shipped pack is named by its
    repository path (so outputs do not depend on where certscan is installed)."""
    if pack.get("builtin"):
        return _root("scanner.policies") / Path(str(pack["path"])).name
    return Path(str(pack["path"]))
