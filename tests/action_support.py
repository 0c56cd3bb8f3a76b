"""Runs action.yml the way a GitHub runner runs a composite action, minus the network.

What is emulated, and how:
- Each `run:` step is executed with `bash --noprofile --norc -eo pipefail` (the runner's
  `shell: bash`), in GITHUB_WORKSPACE, with the variables a runner gives a step
  (GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files of its own, GITHUB_ACTION_PATH,
  GITHUB_WORKSPACE, RUNNER_TEMP) plus the step's declared `env:`.
- `${{ inputs.NAME }}`, `${{ github.action_path }}` and `${{ steps.ID.outputs.X }}` are
  substituted in `env:` and `with:` values only. A `run:` script must contain no expression
  at all; the runner refuses to run one that does.
- Steps run in order; after a failing step the rest are skipped unless their condition is
  `always()`, and the action's outputs are evaluated from the step outputs written so far
  (as the runner's composite handler does).

What is not run: `uses:` steps (actions/setup-python needs the network). With
`real_install=True` the `install` step runs for real: setup-python's `python-path` output is
the current interpreter, and pip reads the locked files from a local folder instead of the
index (PIP_NO_INDEX, PIP_FIND_LINKS: the wheelhouse `make` downloads from the same lock), so
the step's own commands, --require-hashes included, are what runs. Otherwise the install
step has a stand-in, honest about what it replaces: its outputs `certscan` and `python` are
set to a `certscan` launcher for this worktree's package under the current interpreter, and
to the current interpreter itself. `test_install_step_outputs_cover_what_the_scan_step_reads`
checks that those are exactly the outputs the real install step writes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
ACTION_FILE = REPO / "action.yml"
WORKFLOW_FILE = REPO / "examples" / "workflows" / "certscan.yml"

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_OUTPUT = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
INPUT = re.compile(r"inputs\.([A-Za-z0-9_-]+)")
STEP_KEYS = {"name", "id", "if", "shell", "env", "run", "uses", "with"}
INSTALL_STEP = "install"


def load_action() -> dict[str, Any]:
    return yaml.safe_load(ACTION_FILE.read_text())


def write_launcher(path: Path, python: str = sys.executable, package_root: Path = REPO) -> Path:
    """A `certscan` executable for this worktree's package under the given interpreter: what
    the install step's venv provides on a runner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{package_root}" exec "{python}" -m scanner "$@"\n')
    path.chmod(0o755)
    return path


def parse_output_file(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    for line in path.read_text().splitlines():
        if not line:
            continue
        assert "<<" not in line.split("=", 1)[0], "multi-line outputs are not emulated"
        name, _, value = line.partition("=")
        outputs[name] = value
    return outputs


@dataclass
class ActionRun:
    exit_code: int  # the composite's: 0, or the failing step's exit code
    outputs: dict[str, str]
    summary: str
    log: str
    steps_run: list[str] = field(default_factory=list)
    uses_skipped: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (uses, with)


class CompositeRunner:
    def __init__(self, workspace: Path, runner_temp: Path, certscan: Path | None = None, python: str = sys.executable,
                 action_path: Path = REPO, extra_env: dict[str, str] | None = None, real_install: bool = False):
        self.real_install = real_install
        self.action = load_action()
        self.workspace, self.runner_temp = workspace, runner_temp
        self.certscan, self.python, self.action_path = certscan, python, action_path
        self.extra_env = extra_env or {}
        workspace.mkdir(parents=True, exist_ok=True)
        runner_temp.mkdir(parents=True, exist_ok=True)

    def inputs_with_defaults(self, given: dict[str, str]) -> dict[str, str]:
        declared = self.action["inputs"]
        unknown = set(given) - set(declared)
        assert not unknown, f"inputs not declared by action.yml: {unknown}"
        return {name: str(given.get(name, spec.get("default", ""))) for name, spec in declared.items()}

    def substitute(self, text: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
        def value(match: re.Match) -> str:
            expr = match.group(1)
            if m := INPUT.fullmatch(expr):
                return inputs[m.group(1)]
            if expr == "github.action_path":
                return str(self.action_path)
            if m := STEP_OUTPUT.fullmatch(expr):
                return steps.get(m.group(1), {}).get(m.group(2), "")
            raise AssertionError(f"expression not emulated: {expr}")
        return EXPRESSION.sub(value, str(text))

    def base_env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
        env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
                    "GITHUB_ACTION_PATH": str(self.action_path), "RUNNER_TEMP": str(self.runner_temp)})
        env.update(self.extra_env)
        return env

    def run(self, on_uses: Callable[[str, dict[str, str]], None] | None = None, **given: str) -> ActionRun:
        """Runs the steps; ``on_uses(uses, with)`` is called where a `uses:` step would run."""
        inputs = self.inputs_with_defaults(given)
        steps: dict[str, dict[str, str]] = {}
        result = ActionRun(exit_code=0, outputs={}, summary="", log="")
        for index, step in enumerate(self.action["runs"]["steps"]):
            assert set(step) <= STEP_KEYS, f"step keys not emulated: {set(step) - STEP_KEYS}"
            assert step.get("if", "always()") == "always()", f"condition not emulated: {step['if']}"
            if result.exit_code and "if" not in step:
                continue  # success() is the default condition: skipped after a failure
            step_id = step.get("id", f"step{index}")
            if "uses" in step:
                with_values = {key: self.substitute(v, inputs, steps) for key, v in (step.get("with") or {}).items()}
                result.uses_skipped.append((step["uses"], with_values))
                if on_uses:
                    on_uses(step["uses"], with_values)
                if self.real_install and step["uses"].startswith("actions/setup-python@"):
                    steps[step_id] = {"python-path": self.python}
                continue
            if step_id == INSTALL_STEP and not self.real_install:
                steps[step_id] = {"certscan": str(self.certscan), "python": self.python}
                continue
            assert "${{" not in step["run"], f"step {step_id}: an expression inside run:"
            assert step.get("shell") == "bash", f"step {step_id}: only shell: bash is emulated"
            step_dir = self.runner_temp / f"_step_{index}"
            step_dir.mkdir(exist_ok=True)
            output_file, summary_file = step_dir / "output", step_dir / "summary"
            output_file.write_text("")
            summary_file.write_text("")
            env = self.base_env()
            env.update({name: self.substitute(v, inputs, steps) for name, v in (step.get("env") or {}).items()})
            env.update({"GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file)})
            script = step_dir / "script.sh"
            script.write_text(step["run"])
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600)
            result.log += proc.stdout + proc.stderr
            result.summary += summary_file.read_text()
            result.steps_run.append(step_id)
            steps[step_id] = parse_output_file(output_file)
            if proc.returncode != 0 and not result.exit_code:
                result.exit_code = proc.returncode
        result.outputs = {name: self.substitute(spec["value"], inputs, steps)
                          for name, spec in self.action["outputs"].items()}
        return result
