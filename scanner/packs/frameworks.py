"""Compliance frameworks: the catalogs shipped under policies/frameworks/ (one YAML file
per framework: id, name, version, controls with titles), loaded when rule packs load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.inputs import resources
from scanner.inputs.problems import InputError, Problem
from scanner.inputs.schema_check import check
from scanner.inputs.yamlfile import load_yaml


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



def framework_names() -> dict[str, str]:
    """framework id -> "name version", for the reports' headings ({} if a catalog is broken:
    headings then show the ids)."""
    try:
        return {fid: f"{fw.name} {fw.version}" for fid, fw in load_catalogs().items()}
    except InputError:
        return {}


def check_frameworks(frameworks: list[str] | None, catalogs: dict[str, Framework] | None = None) -> list[str]:
    """The framework ids asked for (repeated options or comma lists), each checked against the
    shipped catalogs; an unknown id is exit 2 naming the known ones. [] means every framework."""
    wanted = [f.strip() for value in frameworks or [] for f in value.split(",") if f.strip()]
    if not wanted:
        return []
    catalogs = catalogs if catalogs is not None else load_catalogs()
    unknown = [f for f in wanted if f not in catalogs]
    if unknown:
        raise InputError(Problem("--framework", f"unknown framework {', '.join(map(repr, unknown))}; "
                                                f"known: {', '.join(sorted(catalogs))}"))
    return list(dict.fromkeys(wanted))
