"""The configuration file (--config): the same settings as the command line, in YAML.
An option given on the command line wins over the file; the file wins over the defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.inputs.problems import InputError
from scanner.inputs.schema_check import check
from scanner.inputs.yamlfile import load_yaml


def load_config(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    doc = load_yaml(path)
    problems = check(doc, "config.schema.json", str(path))
    if problems:
        raise InputError(problems)
    return dict(doc)


def pick(cli_value: Any, config: dict[str, Any], key: str, default: Any) -> Any:
    """Command line, then config file, then default. Empty lists count as not given."""
    if cli_value is not None and cli_value != []:
        return cli_value
    return config.get(key, default)


def params_as_pairs(config: dict[str, Any]) -> list[str]:
    """Config params in the --param form, so both go through one parser."""
    pairs = []
    for rule_id, values in (config.get("params") or {}).items():
        for key, value in values.items():
            pairs.append(f"{rule_id}.{key}={json.dumps(value)}")
    return pairs
