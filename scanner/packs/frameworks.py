"""Compliance frameworks: the catalogs shipped under policies/frameworks/ (one YAML file
per framework: id, name, version, controls with titles) and the rule -> control matrix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.inputs import resources
from scanner.inputs.problems import InputError, Problem
from scanner.inputs.schema_check import check
from scanner.inputs.yamlfile import load_yaml


@dataclass(frozen=True)
class ControlRef:
    """One rule -> control mapping and its basis: 'stated' by a named public source, or our 'judgment'."""

    framework: str
    id: str
    basis: str
    source: str | None = None


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    controls: dict[str, str]  # control id -> title
    file: str


def load_catalogs(paths: list[Path] | None = None) -> dict[str, Framework]:
    problems: list[Problem] = []
    catalogs: dict[str, Framework] = {}
    for path in paths if paths is not None else resources.framework_catalog_paths():
        try:
            doc = load_yaml(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        found = check(doc, "framework.schema.json", str(path))
        if found:
            problems.extend(found)
            continue
        fw = doc["framework"]
        controls: dict[str, str] = {}
        for entry in doc["controls"]:
            if entry["id"] in controls:
                problems.append(Problem(str(path), f"control {entry['id']} is listed twice", line=getattr(entry, "line", None)))
            controls[entry["id"]] = entry["title"]
        if fw["id"] in catalogs:
            problems.append(Problem(str(path), f"framework id {fw['id']} is also defined in {catalogs[fw['id']].file}"))
        catalogs[fw["id"]] = Framework(fw["id"], fw["name"], str(fw["version"]), controls, str(path))
    if problems:
        raise InputError(problems)
    return catalogs


def matrix_rows(rules, results=None, catalogs: dict[str, Framework] | None = None) -> list[dict[str, Any]]:
    """One row per (framework, control): its title, the mapped rules with their basis, and
    result counts when results are given. Sorted, so two runs diff cleanly."""
    catalogs = catalogs if catalogs is not None else load_catalogs()
    counts: dict[str, dict[str, int]] = {}
    for result in results or []:
        tally = counts.setdefault(result.rule_id, {})
        tally[result.status] = tally.get(result.status, 0) + 1
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in rules:
        for framework, refs in rule.controls.items():
            for ref in refs:
                row = rows.setdefault((framework, ref.id), {
                    "framework": framework, "control": ref.id,
                    "title": catalogs[framework].controls.get(ref.id, "") if framework in catalogs else "",
                    "rules": [], "bases": [], "pass": 0, "fail": 0, "waived": 0, "error": 0, "not_applicable": 0,
                })
                row["rules"].append(rule.id)
                row["bases"].append(f"{rule.id}:{ref.basis}" + (f" ({ref.source})" if ref.source else ""))
                for status, n in counts.get(rule.id, {}).items():
                    row[status] = row.get(status, 0) + n
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], _natural(k[1])))]


def _natural(control_id: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", control_id)]
