"""Reading a waivers file (YAML, schemas/waivers.schema.json): every problem reported at
once, each with its line; the file's digest kept so the evidence bundle holds it as used.
Applying waivers is scanner.evaluate.waivers (pure)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from scanner.inputs.problems import InputError, Problem
from scanner.inputs.schema_check import check
from scanner.inputs.yamlfile import line_of, load_yaml
from scanner.model import NaiveDatetimeError, Waiver, parse_time


def waivers_sha256(path: str | Path) -> str:
    """The waivers file's digest when the scan reads it: the evidence bundle packs the file
    only if it still has these bytes (as rule packs are checked)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read file: {exc}")) from None


def load_waivers(path: str | Path) -> list[Waiver]:
    name = str(path)
    doc = load_yaml(path)
    problems = check(doc, "waivers.schema.json", name)
    if problems:
        raise InputError(problems)
    waivers = []
    seen: set[str] = set()
    for index, entry in enumerate(doc["waivers"]):
        line = line_of(doc, ["waivers", index])
        if entry["id"] in seen:
            problems.append(Problem(name, f"duplicate waiver id {entry['id']!r}", line=line, path=f"waivers[{index}].id"))
        seen.add(entry["id"])
        try:
            expires = parse_time(entry["expires"])
        except (ValueError, NaiveDatetimeError) as exc:
            problems.append(Problem(name, f"expires: {exc}", line=line_of(doc, ["waivers", index, "expires"]),
                                    path=f"waivers[{index}].expires"))
            continue
        waivers.append(Waiver(entry["id"], entry["rule"], entry["resource"], entry["justification"].strip(),
                              entry["approved_by"], expires, name, line))
    if problems:
        raise InputError(problems)
    return waivers
