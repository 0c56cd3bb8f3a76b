"""Loading rule packs: resolve paths, parse YAML, validate against the JSON Schema, check
what a schema cannot (duplicate ids, regexes, params, control ids, message fields), compile.
Every problem in every file is reported together; any problem is exit 2 for every command."""

from __future__ import annotations

import hashlib
from dataclasses import replace
import os
from pathlib import Path
from typing import Any

import yaml

from scanner.inputs import resources
from scanner.packs.frameworks import Framework, load_catalogs
from scanner.inputs.problems import InputError, Problem, json_path
from scanner.rules.conditions import ConditionCompiler
from scanner.rules.model import ControlRef, PackInfo, Rule
from scanner.rules.template import Template, allowed_heads
from scanner.inputs.schema_check import check, rule_indexes
from scanner.inputs.yamlfile import HostileYAML, line_of, load_yaml, parse_option_value

BUILTIN = "builtin"


def resolve_pack_paths(specs: list[str] | None) -> list[tuple[Path, bool]]:
    """(path, is_builtin) for each pack file. No specs: the shipped packs."""
    specs = list(specs or [BUILTIN])
    out: list[tuple[Path, bool]] = []
    problems = []
    for spec in specs:
        if spec == BUILTIN:
            out.extend((p, True) for p in resources.builtin_pack_paths())
            continue
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                problems.append(Problem(spec, "folder holds no rule pack (*.yaml, *.yml)"))
            out.extend((p, False) for p in found)
        elif path.is_file():
            out.append((path, False))
        else:
            problems.append(Problem(spec, "no such rule pack file or folder"))
    if problems:
        raise InputError(problems)
    return out


def parse_param_overrides(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """--param RULE.KEY=VALUE; VALUE is read as a YAML scalar or flow list (45, true, [a, b])."""
    overrides: dict[str, dict[str, Any]] = {}
    problems = []
    for pair in pairs or []:
        target, sep, raw = pair.partition("=")
        rule_id, dot, key = target.rpartition(".")
        if not sep or not dot or not rule_id or not key:
            problems.append(Problem("--param", f"{pair!r}: expected RULE.KEY=VALUE, e.g. ACM-003.days=45"))
            continue
        try:
            value = parse_option_value(raw) if raw.strip() else ""
        except HostileYAML as exc:  # NaN, infinity, a 4,301-digit number, an alias bomb
            problems.append(Problem("--param", f"{target}: {exc.problem}"))
            continue
        except yaml.YAMLError:
            value = raw
        overrides.setdefault(rule_id, {})[key] = value
    if problems:
        raise InputError(problems)
    return overrides


def _coerce(default: Any, value: Any) -> tuple[bool, Any]:
    """An override takes the type of the default; a comma list becomes a list."""
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool), value
    if isinstance(default, list):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif not isinstance(value, list):
            value = [value]
        return True, value
    if isinstance(default, str):
        return True, value if isinstance(value, str) else str(value)
    return True, value


def load_rules(specs: list[str] | None = None, overrides: dict[str, dict[str, Any]] | None = None,
               catalogs: dict[str, Framework] | None = None,
               origins: dict[str, dict[str, Any]] | None = None) -> list[Rule]:
    """All rules of the given packs, compiled, sorted by id. Raises InputError with every problem.

    ``origins`` (replaying an evidence bundle): pack file as given -> how the original scan
    named it (path, display_path, builtin, sha256), so the replay's results name the packs
    as the original's did; a file whose sha256 differs from its origin is refused."""
    overrides = overrides or {}
    folded: dict[str, dict[str, Any]] = {}  # rule ids on the command line match whatever their case
    for rule_id, values in overrides.items():
        folded.setdefault(rule_id.casefold(), {}).update(values)
    catalogs = catalogs if catalogs is not None else load_catalogs()
    problems: list[Problem] = []
    rules: list[Rule] = []
    seen: dict[str, tuple[str, int]] = {}
    try:
        paths = resolve_pack_paths(specs)
    except InputError as exc:
        raise InputError(exc.problems) from None
    for path, builtin in paths:
        file = str(path)
        try:
            raw = path.read_bytes()
            doc = load_yaml(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        except OSError as exc:
            problems.append(Problem(file, f"cannot read file: {exc}"))
            continue
        found = check(doc, "rulepack.schema.json", file)
        problems.extend(found)
        # Rules the schema accepts are still compiled and checked when others in the file are
        # not: every problem of every file is reported in one run.
        malformed, _ = rule_indexes(found)
        if not (isinstance(doc, dict) and isinstance(doc.get("rules"), list)):
            continue
        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        display = resources.builtin_display_path(path) if builtin else _repo_relative(path)
        digest = hashlib.sha256(raw).hexdigest()
        origin = (origins or {}).get(str(Path(file).resolve()))
        if origin is not None:
            if origin.get("sha256") != digest:
                problems.append(Problem(file, f"sha256 {digest} differs from the {origin.get('sha256')} its origin "
                                              "records (--rules-origin): not the pack the scan used"))
                continue
            builtin, display = bool(origin.get("builtin")), str(origin.get("display_path"))
            file = str(origin.get("path") or display)
        pack = PackInfo(str(metadata.get("name", "")), str(metadata.get("version", "")), file, display, digest, builtin)
        for index, spec in enumerate(doc["rules"]):
            if index in malformed:
                continue
            line = line_of(doc, ["rules", index]) or 0
            rule_id = spec["id"]
            if rule_id in seen:
                other_file, other_line = seen[rule_id]
                problems.append(Problem(file, f"duplicate rule id (first defined at {other_file}:{other_line})",
                                        line=line, path=f"rules[{index}].id", rule_id=rule_id))
                continue
            seen[rule_id] = (file, line)
            rule, rule_problems = _compile_rule(spec, doc, index, pack, line, folded.get(rule_id.casefold(), {}), catalogs)
            problems.extend(rule_problems)
            if rule is not None:
                rules.append(rule)
    loaded_ids = {rule_id.casefold() for rule_id in seen}
    for rule_id in sorted(r for r in overrides if r.casefold() not in loaded_ids):
        problems.append(Problem("--param", f"no loaded rule has id {rule_id}", rule_id=rule_id))
    if problems:
        raise InputError(problems)
    return sorted(rules, key=lambda r: r.id)


def _repo_relative(path: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def _compile_rule(spec: dict, doc: Any, index: int, pack: PackInfo, line: int,
                  override: dict[str, Any], catalogs: dict[str, Framework]) -> tuple[Rule | None, list[Problem]]:
    rule_id = spec["id"]
    base = ["rules", index]
    problems: list[Problem] = []

    def add(path_parts: list, message: str, file: str = pack.path) -> None:
        problems.append(Problem(file, message, line=line_of(doc, base + path_parts) or line,
                                path=json_path(base + path_parts), rule_id=rule_id))

    defaults = dict(spec.get("params") or {})
    params = dict(defaults)
    for key, value in override.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            problems.append(Problem("--param", f"rule {rule_id} has no parameter {key!r} (its params: {known})", rule_id=rule_id))
            continue
        ok, value = _coerce(defaults[key], value)
        if not ok:
            problems.append(Problem("--param", f"{rule_id}.{key} expects a value like {defaults[key]!r}, got {value!r}", rule_id=rule_id))
            continue
        params[key] = value

    compiler = ConditionCompiler(params)

    def compile_at(key_path: list, cond: dict):
        return compiler.compile(cond, ".".join(str(p) for p in key_path))

    applies = compile_at(["applies"], spec["applies"]) if "applies" in spec else None
    check_fn = compile_at(["assert"], spec["assert"])
    inconclusive = None
    escalate = []
    for i, entry in enumerate(spec.get("escalate") or []):
        escalate.append((compile_at(["escalate", i, "when"], entry["when"]), entry["severity"]))
    heads = allowed_heads(compiler.captures)
    if "inconclusive" in spec:
        when = compile_at(["inconclusive", "when"], spec["inconclusive"]["when"])
        heads = allowed_heads(compiler.captures)
        template = Template(spec["inconclusive"]["message"], heads)
        for msg in template.problems:
            add(["inconclusive", "message"], msg)
        inconclusive = (when, template)
    for cond_path, message in compiler.problems:
        parts = [int(p) if p.isdigit() else p for p in
                 cond_path.replace("[", ".").replace("]", "").split(".") if p]
        add(parts, message)

    message = Template(spec["message"], heads)
    for msg in message.problems:
        add(["message"], msg)
    pass_message = Template(spec.get("pass_message") or spec["title"], heads)
    for msg in pass_message.problems:
        add(["pass_message"], msg)

    controls: dict[str, list[ControlRef]] = {}
    for framework, entries in sorted((spec.get("controls") or {}).items()):
        if framework not in catalogs:
            add(["controls", framework], f"unknown framework {framework!r}; catalogs: {', '.join(sorted(catalogs))}")
            continue
        refs = []
        for i, entry in enumerate(entries):
            ref = (ControlRef(framework, entry, "judgment") if isinstance(entry, str)
                   else ControlRef(framework, entry["id"], entry["basis"], entry.get("source")))
            if ref.id not in catalogs[framework].controls:
                add(["controls", framework, i], f"unknown control id {ref.id!r} in framework {framework} "
                    f"({catalogs[framework].file})")
                continue
            refs.append(replace(ref, title=catalogs[framework].controls[ref.id]))
        controls[framework] = refs

    if problems:
        return None, problems
    resource = spec["resource"]
    resources_ = None if resource == "*" or (isinstance(resource, list) and "*" in resource) else frozenset(
        [resource] if isinstance(resource, str) else resource)
    rule = Rule(
        id=rule_id, title=spec["title"], description=spec.get("description", spec["title"]),
        severity=spec["severity"], resources=resources_, defaults=defaults, params=params,
        applies=applies, check=check_fn, inconclusive=inconclusive, escalate=escalate,
        message=message, pass_message=pass_message, remediation=spec.get("remediation", ""),
        help_uri=spec.get("help_uri"), tags=list(spec.get("tags") or []), controls=controls,
        pack=pack, line=line,
        control_ids={fw: [r.id for r in refs] for fw, refs in controls.items()},
    )
    return rule, []
