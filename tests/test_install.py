"""certscan installed as users install it: a wheel built from this checkout, installed (not
editable) into a fresh virtual environment, run from a folder that has nothing of certscan's.

The wheel is built and installed offline: `pip wheel --no-build-isolation` with the dev
environment's setuptools, and `pip install --no-deps --no-index` of that wheel. certscan's
dependencies come from the dev environment's site-packages through a .pth line (a path line
only: the dev environment's own .pth files, among them the editable install's finder, are not
processed), so the only `scanner` the fresh environment can import is the installed wheel,
which test_the_installed_scanner_is_the_wheel_not_the_checkout checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from scanner.report.results_json import read as read_results
from tests.conftest import REPO

DEMO_INVENTORY = REPO / "examples" / "demo-inventory.json"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def shipped_rule_ids() -> set[str]:
    ids = set()
    for pack in (REPO / "policies").glob("*.yaml"):
        ids |= {rule["id"] for rule in yaml.safe_load(pack.read_text())["rules"]}
    return ids


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Built from a copy, so the build's own build/ and *.egg-info never touch the checkout.
    source = tmp_path_factory.mktemp("src") / "certscan"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "reports",
                                                                 "__pycache__", ".pytest_cache"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--wheel-dir", str(out), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("certscan-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin/ folder of a fresh virtual environment with the wheel installed."""
    venv = tmp_path_factory.mktemp("venv") / "certscan-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "certscan-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                           "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working folder with nothing of certscan's in it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def run(bin_dir: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(COLUMNS="120", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run([str(bin_dir / argv[0]), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_wheel_carries_every_module_policy_catalog_and_schema(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {module.relative_to(REPO).as_posix() for module in (REPO / "scanner").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)
    for source, shipped in (("policies", "scanner/policies"), ("policies/frameworks", "scanner/policies/frameworks"),
                            ("schemas", "scanner/schemas")):
        files = {p.name for p in (REPO / source).iterdir() if p.suffix in (".yaml", ".json", ".py")}
        assert files and {f"{shipped}/{name}" for name in files} <= names, source


def test_the_installed_scanner_is_the_wheel_not_the_checkout(installed, elsewhere):
    proc = run(installed, elsewhere, "python", "-c", "import scanner, scanner.policies; "
                                                     "print(scanner.__file__); print(scanner.policies.__file__)")
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.split():
        assert Path(line).is_relative_to(installed.parent), line
        assert not Path(line).is_relative_to(REPO)


def test_version(installed, elsewhere):
    proc = run(installed, elsewhere, "certscan", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"certscan {PYPROJECT['project']['version']}"


def test_shell_completion_is_offered(installed, elsewhere, monkeypatch):
    # Typer otherwise detects the shell from the parent process (pytest's here, a shell for users)
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    proc = run(installed, elsewhere, "certscan", "--show-completion", "bash")
    assert proc.returncode == 0, proc.stderr
    assert "_certscan_completion" in proc.stdout and "complete " in proc.stdout


def test_the_extras_name_every_source(wheel):
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert {"aws", "azure", "all"} <= extras
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any("boto3" in line and 'extra == "aws"' in line for line in requires)
    assert any("azure-identity" in line and 'extra == "azure"' in line for line in requires)
    (everything,) = [line for line in requires if line.startswith("Requires-Dist: certscan[") and 'extra == "all"' in line]
    named = set(everything.split("[", 1)[1].split("]", 1)[0].split(","))
    sources = subprocess.run([sys.executable, "-m", "scanner.collect.registry", "--extras"], capture_output=True,
                             text=True, check=True).stdout.strip().split(",")
    assert set(sources) | {"notify", "metrics"} <= named  # every source and every output


def test_rules_list_shows_every_shipped_rule(installed, elsewhere):
    proc = run(installed, elsewhere, "certscan", "rules", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = {rule["id"] for rule in json.loads(proc.stdout)}
    assert listed == shipped_rule_ids() and len(listed) > 10
    table = run(installed, elsewhere, "certscan", "rules", "list")
    assert table.returncode == 0 and all(rule_id in table.stdout for rule_id in listed)


def test_validate_loads_the_shipped_packs(installed, elsewhere):
    proc = run(installed, elsewhere, "certscan", "validate")
    assert proc.returncode == 0, proc.stderr
    packs = len(list((REPO / "policies").glob("*.yaml")))
    assert f"valid: {len(shipped_rule_ids())} rules in {packs} pack(s)" in proc.stdout


def test_scan_of_a_saved_inventory_writes_every_output(installed, elsewhere):
    shutil.copy(DEMO_INVENTORY, elsewhere / "saved.json")
    proc = run(installed, elsewhere, "certscan", "scan", "--inventory", "saved.json", "--as-of", "2026-06-01T00:00:00Z",
               "--format", "json,sarif,junit,evidence,markdown,html", "--output-dir", "out", "--fail-on", "none")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_results(elsewhere / "out" / "certscan-results.json")
    assert {pack["display_path"] for pack in report.packs} == {f"policies/{p.name}" for p in (REPO / "policies").glob("*.yaml")}
    assert report.results and {r.rule_id for r in report.results} <= shipped_rule_ids()
    bundle = zipfile.ZipFile(elsewhere / "out" / "certscan-evidence.zip")
    assert {f"rules/{p.name}" for p in (REPO / "policies").glob("*.yaml")} <= set(bundle.namelist())
    sarif = json.loads((elsewhere / "out" / "certscan.sarif").read_text())
    assert sarif["runs"][0]["results"]
