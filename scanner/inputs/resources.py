"""Files shipped with certscan: JSON Schemas and the built-in rule packs and catalogs."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


_REPO = Path(__file__).resolve().parents[2]
_IN_REPO = {"scanner.policies": _REPO / "policies", "scanner.schemas": _REPO / "schemas"}


def _root(package: str) -> Path:
    # A wheel carries the files inside the package; a source checkout (editable install, or
    # running from the repository root) has them beside it.
    if _IN_REPO[package].is_dir():
        return _IN_REPO[package]
    return Path(str(resources.files(package)))


def schema_path(name: str) -> Path:
    return _root("scanner.schemas") / name


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


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
