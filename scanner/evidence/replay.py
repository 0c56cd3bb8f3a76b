"""Replaying an evidence bundle: the scan command that reproduces its results.json byte for
byte from the bundle's own files, and how that scan names the bundled rule packs as the
original scan did (--rules-origin manifest.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.inputs.problems import InputError, Problem
from scanner.model import format_time

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
REPLAY_OUTPUT = "../certscan-replay"  # beside the extracted bundle, so the folder still verifies


def pack_origins(manifest_file: str | Path) -> dict[str, dict[str, Any]]:
    """Resolved path of each bundled pack -> {path, display_path, builtin, sha256} as the
    evidence manifest records the original scan's packs."""
    path = Path(manifest_file)
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise InputError(Problem(str(path), f"--rules-origin: over {MAX_MANIFEST_BYTES} bytes"))
        manifest = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(Problem(str(path), f"--rules-origin: cannot read it: {exc.strerror or exc}")) from None
    except (ValueError, RecursionError):
        raise InputError(Problem(str(path), "--rules-origin: not JSON (expected an evidence manifest.json)")) from None
    packs = manifest.get("rule_packs") if isinstance(manifest, dict) else None
    if not isinstance(packs, list) or not all(isinstance(p, dict) and isinstance(p.get("file"), str) for p in packs):
        raise InputError(Problem(str(path), "--rules-origin: expected an evidence manifest.json with rule_packs[]"))
    root = path.resolve().parent
    return {str((root / p["file"]).resolve()): {"path": p.get("path") or p.get("display_path"),
                                                "display_path": p.get("display_path"),
                                                "builtin": bool(p.get("builtin")), "sha256": p.get("sha256")}
            for p in packs}


def replay_command(report, rule_files: list[str], waivers_file: str | None) -> list[str] | None:
    """The scan that reproduces results.json from the bundle, run from its root: every setting
    that shaped the results (packs as bundled and named as the scan named them, waivers,
    parameters, the rule selection, as_of, --fail-on, --allow-partial)."""
    if report.inventory is None:
        return None
    argv = ["certscan", "scan", "--inventory", "inventory.json"]
    for name in rule_files:
        argv += ["--rules", name]
    argv += ["--rules-origin", "manifest.json"]
    if waivers_file:
        argv += ["--waivers", waivers_file]
    selection = report.rule_selection or {}
    for option, key in (("--check", "check"), ("--skip-check", "skip_check")):
        for pattern in selection.get(key) or []:
            argv += [option, pattern]
    for rule in report.rules:
        for key, param in sorted((rule.get("params") or {}).items()):
            if param.get("value") != param.get("default"):
                argv += ["--param", f"{rule['id']}.{key}={json.dumps(param['value'])}"]
    argv += ["--as-of", format_time(report.as_of), "--fail-on", str(report.gate.get("fail_on") or "high")]
    argv += ["--allow-partial"] if report.allow_partial else ["--no-allow-partial"]
    argv += ["--format", "json", "--output-dir", REPLAY_OUTPUT]
    return argv
