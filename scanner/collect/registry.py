"""The sources, found once: every module of this package that declares ``SOURCE_SPEC = Source(...)``.

Everything that names sources derives from here: the SOURCES options of scan, inventory,
triage and report (commands.common), SourceOptions' attributes, which collectors a scan
builds and the "install the extra" hints, the evidence manifest's identities, the messages
that list the source options, and ``schemas/sources.schema.json`` (record source names for
inventories and rule packs, each source's configuration file fragment, the manifest's
identity keys), which the other schemas reference and ``python -m scanner.collect.registry``
writes. A test holds that file to the registry.

A source module imports its SDK where it uses it (not at module level), so the registry, and
with it the command line, sees every source whether or not its extra is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import scanner.collect as collect_package
from scanner.collect import Collector, Option, Source, SourceOptions
from scanner.inputs.problems import InputError, Problem

# modules of this package that are machinery, not sources
_MACHINERY = frozenset({"registry", "runner"})
SOURCES_SCHEMA = "sources.schema.json"


@lru_cache(maxsize=None)
def sources() -> tuple[Source, ...]:
    found: list[Source] = []
    for info in sorted(pkgutil.iter_modules(collect_package.__path__), key=lambda m: m.name):
        if info.name in _MACHINERY:
            continue
        name = f"{collect_package.__name__}.{info.name}"
        if not _declares_source(name):
            continue  # a source's helper (aws_acm, aws_org...): importing it would load its SDK
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # a helper that needs its source's SDK at import time (aws_org needs boto3); a
            # source module itself never does, and a missing module of certscan is a bug
            if (exc.name or "").startswith("scanner"):
                raise
            continue
        declared = getattr(module, "SOURCE_SPEC", None)
        if isinstance(declared, Source):
            found.append(declared)
    _check(found)
    return tuple(found)


def _declares_source(name: str) -> bool:
    """Whether a module's text declares SOURCE_SPEC, read without importing it: `certscan
    --help` and a scan of a saved inventory then never import boto3 or the Azure SDK.
    (A module shipped without its source text is imported, as before.)"""
    spec = importlib.util.find_spec(name)
    origin = getattr(spec, "origin", None) or ""
    if not origin.endswith(".py"):
        return True
    try:
        return "SOURCE_SPEC" in Path(origin).read_text(encoding="utf-8")
    except OSError:
        return True


def _check(found: list[Source]) -> None:
    """Two sources may not claim one switch, record source name, option or flag."""
    seen: dict[str, str] = {}
    for source in found:
        claims = [source.key, *source.names, *(o.field for o in source.all_options),
                  *(f for o in source.all_options for f in o.flags)]
        for claim in claims:
            if seen.setdefault(claim, source.key) != source.key:
                raise RuntimeError(f"sources {seen[claim]} and {source.key} both declare {claim!r}")


@lru_cache(maxsize=None)
def option_fields() -> dict[str, Option]:
    return {option.field: option for source in sources() for option in source.all_options}


def record_sources() -> tuple[str, ...]:
    """Every value a record's ``source`` may have, in registry order."""
    return tuple(name for source in sources() for name in source.names)


def source_of(record_source: str) -> Source | None:
    return next((s for s in sources() if record_source in s.names), None)


def source_flags() -> str:
    """The options that select a source, for messages: '--aws, --azure, --path or --endpoint'."""
    flags = [source.flag for source in sources()]
    return ", ".join(flags[:-1]) + f" or {flags[-1]}" if len(flags) > 1 else "".join(flags)


def identity_keys() -> list[str]:
    """The evidence manifest's identity lists, in registry order (a key two sources share,
    such as regions, once)."""
    return list(dict.fromkeys(key for source in sources() for key in source.identities))


def identities(coverage: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Who and what was scanned, per manifest key, from the coverage entries (dicts)."""
    out: dict[str, set[str]] = {key: set() for key in identity_keys()}
    for entry in coverage:
        source = source_of(str(entry.get("source", "")))
        if source is None:
            continue
        for key, attribute in source.identities.items():
            if entry.get(attribute):
                out[key].add(str(entry[attribute]))
    return {key: sorted(values) for key, values in out.items()}


def build_collectors(options: SourceOptions) -> list[Collector]:
    collectors: list[Collector] = []
    for source in sources():
        if not source.selected(options):
            continue
        try:
            for module in source.requires:
                importlib.import_module(module)
            collectors.extend(source.build(options))
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("scanner"):
                raise
            hint = f" ({source.install_hint})" if source.install_hint else ""
            raise InputError(Problem(source.flag, f"{exc.name} is not installed{hint}")) from None
    return collectors


# --- the schema fragment every other schema takes its source lists from -------------------

_CONFIG_KINDS: dict[str, dict[str, Any]] = {
    "switch": {"type": "boolean"},
    "text": {"type": "string"},
    "list": {"type": "array", "items": {"type": "string"}},
    "csv": {"type": "array", "items": {"type": "string"}},
}


def _config_properties(source: Source) -> dict[str, Any]:
    return {option.config: _CONFIG_KINDS[option.kind] for option in source.options if option.config}


def sources_schema() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for source in sources():
        if source.section:
            config[source.key] = {"type": "object", "additionalProperties": False,
                                  "properties": _config_properties(source)}
        else:
            config.update(_config_properties(source))
    names = list(record_sources())
    keys = identity_keys()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://certscan.dev/schemas/{SOURCES_SCHEMA}",
        "title": "certscan sources (generated from scanner.collect.registry: python -m scanner.collect.registry)",
        "$defs": {
            "source": {"enum": names},
            "resource": {"anyOf": [{"enum": [*names, "*"]},
                                   {"type": "array", "minItems": 1, "items": {"enum": [*names, "*"]}}]},
            "config": {"type": "object", "properties": config},
            "identities": {
                "type": "object",
                "required": ["sources", *keys, "units"],
                "properties": {"sources": {"$ref": "#/$defs/strings"},
                               **{key: {"$ref": "#/$defs/strings"} for key in keys},
                               "units": {"type": "integer", "minimum": 0},
                               "details": {"type": "object"}},
            },
            "strings": {"type": "array", "items": {"type": "string"}},
        },
    }


def render_sources_schema() -> str:
    return json.dumps(sources_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Writes schemas/sources.schema.json; --check says whether it is up to date; --extras
    prints the install extras of every source, comma-separated (for pip install 'certscan[...]')."""
    argv = argv if argv is not None else sys.argv[1:]
    if "--extras" in argv:
        print(",".join(dict.fromkeys(s.extra for s in sources() if s.extra)))
        return 0
    target = Path(__file__).resolve().parents[2] / "schemas" / SOURCES_SCHEMA  # the checkout's schemas/
    text = render_sources_schema()
    if "--check" in argv:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date: run python -m scanner.collect.registry", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
