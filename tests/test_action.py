"""The GitHub Action (action.yml): run for real against the example landing zone, its
argument handling, and the lint a reviewer relies on (no expression in run:, pinned actions,
zizmor, the GitHub schemas). How the runner is emulated: tests/action_support.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from scanner.model import SEVERITY_RANK
from tests.action_support import ACTION_FILE, INSTALL_STEP, REPO, WORKFLOW_FILE, CompositeRunner, load_action, \
    write_launcher
from tests.conftest import LANDING_ZONE

AS_OF = "--as-of 2026-06-01T00:00:00Z"
TOOLS = Path(sys.executable).parent  # zizmor and check-jsonschema live next to the interpreter
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
SHARDED_WORKFLOW_FILE = REPO / "examples" / "workflows" / "certscan-sharded.yml"
LINTED = [ACTION_FILE, WORKFLOW_FILE, SHARDED_WORKFLOW_FILE]
LINTED_IDS = ["action", "example-workflow", "sharded-workflow"]
OWN_FILES = ("certscan.sarif", "certscan-junit.xml", "certscan-results.json", "certscan-evidence.zip")


@pytest.fixture
def workspace(tmp_path):
    """A checked-out repository holding a saved inventory, as a user's workflow would have."""
    ws = tmp_path / "workspace"
    ws.mkdir()
    shutil.copy(LANDING_ZONE, ws / "inventory.json")
    return ws


@pytest.fixture
def action(tmp_path, workspace):
    return CompositeRunner(workspace, tmp_path / "runner-temp", write_launcher(tmp_path / "venv-bin" / "certscan"))


def results_of(workspace: Path, outputs: dict[str, str]) -> dict:
    return json.loads((workspace / outputs["results-file"]).read_text())


# --- the action, run for real -------------------------------------------------------------

def test_failing_scan_fails_the_step_after_writing_outputs_and_summary(action, workspace):
    run = action.run(sources="--inventory inventory.json", args=AS_OF, formats="json")

    assert run.exit_code == 1, run.log
    assert run.outputs["exit-code"] == "1"
    data = results_of(workspace, run.outputs)
    assert data["as_of"] == "2026-06-01T00:00:00Z"  # args reached certscan
    blocking = [r for r in data["results"]
                if r["status"] == "fail" and SEVERITY_RANK[r["severity"]] >= SEVERITY_RANK["high"]]
    assert blocking, "the landing zone has high and critical failures"
    assert run.outputs["findings"] == str(len(blocking))
    assert run.outputs["results-file"] == "certscan-reports/certscan-results.json"
    assert run.outputs["sarif-file"] == run.outputs["junit-file"] == run.outputs["evidence-file"] == ""

    assert f"FAIL — {len(blocking)} finding(s) at or above `high`" in run.summary
    for resource in {r["resource_id"] for r in blocking}:
        assert resource.replace("_", "\\_") in run.summary
    assert f"::error title=certscan::{len(blocking)} finding(s)" in run.log


def test_passing_scan_with_a_rule_pack_below_the_threshold(action, workspace):
    (workspace / "policy").mkdir()
    (workspace / "policy" / "org.yaml").write_text("""\
apiVersion: certscan/v1
kind: RulePack
metadata: {name: org, version: 0.1.0}
rules:
  - id: ORG-001
    title: Certificates name a domain of the organisation
    severity: low
    resource: "*"
    assert: {field: domain, op: matches, value: 'example\\.(com|org)$'}
    message: "{domain} is outside the organisation's domains"
""")
    run = action.run(sources="--inventory inventory.json", args=AS_OF, rules="policy/org.yaml", formats="json")

    assert run.exit_code == 0, run.log
    assert run.outputs["exit-code"] == "0"
    assert run.outputs["findings"] == "0"
    data = results_of(workspace, run.outputs)
    assert {r["rule_id"] for r in data["results"]} == {"ORG-001"}  # --rules replaced the shipped packs
    failing = {r["resource_id"] for r in data["results"] if r["status"] == "fail"}
    assert failing, "a low failure that does not gate"
    assert "PASS — 0 finding(s) at or above `high`" in run.summary
    assert f"### Failing certificates ({len(failing)})" in run.summary
    assert "0 of them have a failure at or above `high`" in run.summary


def test_fail_on_none_passes_and_says_so(action, workspace):
    run = action.run(sources="--inventory inventory.json", args=AS_OF, formats="json", **{"fail-on": "none"})
    assert run.exit_code == 0, run.log
    assert run.outputs["exit-code"] == "0" and run.outputs["findings"] == "0"
    assert "fail-on `none`: findings do not fail the job" in run.summary


def test_usage_error_is_exit_2_with_outputs_and_no_stale_files(action, workspace):
    reports = workspace / "certscan-reports"
    reports.mkdir()
    for name in OWN_FILES:  # left behind by an earlier scan in the same job
        (reports / name).write_text("stale")

    run = action.run(sources="--inventory inventory.json", args=AS_OF, formats="json", **{"fail-on": "severe"})

    assert run.exit_code == 2
    assert run.outputs["exit-code"] == "2"
    assert all(run.outputs[name] == "" for name in ("findings", "results-file", "sarif-file", "junit-file", "evidence-file"))
    assert not any((reports / name).exists() for name in OWN_FILES)
    assert "--fail-on" in run.log and "severe" in run.log  # certscan named the option
    assert "exit code 2" in run.summary


def test_partial_scan_is_exit_3_unless_allowed(action, workspace):
    inventory = json.loads(LANDING_ZONE.read_text())
    inventory["errors"].append({"source": "aws.acm", "account": "333333333333", "region": "eu-west-1",
                                "service": "acm", "code": "AccessDeniedException",
                                "message": "not authorized to perform acm:ListCertificates",
                                "unit": "aws.acm/333333333333/eu-west-1"})
    (workspace / "partial.json").write_text(json.dumps(inventory))
    common = dict(sources="--inventory partial.json", args=AS_OF, formats="json", **{"fail-on": "none"})

    run = action.run(**common)
    assert run.exit_code == 3, run.log
    assert run.outputs["exit-code"] == "3"
    assert run.outputs["results-file"]  # a partial scan leaves its results behind
    assert "INCOMPLETE" in run.summary
    assert "AccessDeniedException" in run.summary and "333333333333" in run.summary

    allowed = action.run(**common, **{"allow-partial": "true"})
    assert allowed.exit_code == 0, allowed.log
    assert "AccessDeniedException" in allowed.summary
    assert "`allow-partial` is set" in allowed.summary


def test_default_formats_write_every_file_the_outputs_name(action, workspace):
    run = action.run(sources="--inventory inventory.json", args=AS_OF, **{"fail-on": "none", "sarif-category": "landing-zone"})
    assert run.exit_code == 0, run.log
    for name in ("sarif-file", "junit-file", "evidence-file", "results-file"):
        assert run.outputs[name] and (workspace / run.outputs[name]).is_file(), name
    sarif = json.loads((workspace / run.outputs["sarif-file"]).read_text())
    assert {r["automationDetails"]["id"] for r in sarif["runs"]} == {"landing-zone/"}


def test_sign_key_signs_the_evidence_bundle_and_leaks_nowhere(action, workspace, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    key_file = action.runner_temp / "signing.pem"  # where a workflow step writes the secret
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    public = tmp_path / "signing.pub.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))

    run = action.run(sources="--inventory inventory.json", args=AS_OF, **{"fail-on": "none", "sign-key": str(key_file)})
    assert run.exit_code == 0, run.log
    bundle = workspace / run.outputs["evidence-file"]
    verify = subprocess.run([str(action.certscan), "evidence", "verify", str(bundle), "--public-key", str(public)],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with zipfile.ZipFile(bundle) as archive:
        texts = [archive.read(name) for name in archive.namelist()]
    texts += [p.read_bytes() for p in (workspace / "certscan-reports").iterdir()]
    texts += [run.log.encode(), run.summary.encode()]
    assert not any(b"PRIVATE KEY" in t for t in texts)


# --- how inputs become arguments (a recording certscan stands in) --------------------------

FAKE_CERTSCAN = """\
import json, os, sys
from pathlib import Path
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
plan = json.loads(os.environ.get("FAKE_PLAN", "{}"))
if sys.argv[1] == "summary":
    print("fake summary of " + sys.argv[sys.argv.index("--results") + 1])
    sys.exit(0)
out = Path(sys.argv[sys.argv.index("--output-dir") + 1])
out.mkdir(parents=True, exist_ok=True)
for name, text in plan.get("files", {}).items():
    (out / name).write_text(text)
sys.exit(plan.get("exit", 0))
"""


@pytest.fixture
def recorded(tmp_path, workspace):
    """Runs the action with a certscan that records its argv and writes what FAKE_PLAN says."""
    script = tmp_path / "fake_certscan.py"
    script.write_text(FAKE_CERTSCAN)
    launcher = tmp_path / "fake-bin" / "certscan"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    launcher.chmod(0o755)
    log = tmp_path / "argv.jsonl"

    def run(plan: dict | None = None, **inputs):
        log.write_text("")
        runner = CompositeRunner(workspace, tmp_path / "runner-temp", launcher,
                                 extra_env={"FAKE_LOG": str(log), "FAKE_PLAN": json.dumps(plan or {})})
        result = runner.run(**inputs)
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return result, calls
    return run


def test_inputs_become_arguments_without_shell_expansion(recorded, workspace):
    (workspace / "certs").mkdir()
    (workspace / "certs" / "a.pem").write_text("")
    result, calls = recorded(
        sources="--path certs/*.pem\n  --endpoint $(touch pwned):443 ;touch also-pwned",
        args="--as-of 2026-06-01 --param 'ACM-003.days=45'",
        rules="builtin\n  policy/org.yaml  policy/extra",
        waivers="waivers dir/waivers.yaml",
        config="certscan.yaml",
        **{"allow-partial": "true", "formats": "sarif,junit", "sign-key": "/tmp/runner/key with space.pem"},
    )
    assert result.exit_code == 0, result.log
    assert calls[0] == [
        "scan", "--path", "certs/*.pem", "--endpoint", "$(touch", "pwned):443", ";touch", "also-pwned",
        "--as-of", "2026-06-01", "--param", "'ACM-003.days=45'",
        "--rules", "builtin", "--rules", "policy/org.yaml", "--rules", "policy/extra",
        "--waivers", "waivers dir/waivers.yaml", "--config", "certscan.yaml", "--fail-on", "high",
        "--allow-partial", "--sign-key", "/tmp/runner/key with space.pem",
        "--format", "json,sarif,junit", "--output-dir", "certscan-reports",
    ]
    assert not (workspace / "pwned").exists() and not (workspace / "also-pwned").exists()


def test_sign_key_and_allow_partial_are_passed_only_when_set(recorded):
    result, calls = recorded(sources="--inventory inventory.json")
    assert result.exit_code == 0, result.log
    argv = calls[0]
    assert "--sign-key" not in argv and "--allow-partial" not in argv
    assert argv[argv.index("--format") + 1] == "json,sarif,junit,json,evidence"


def test_bad_allow_partial_is_exit_2_before_scanning(recorded):
    result, calls = recorded(sources="--inventory inventory.json", **{"allow-partial": "yes please"})
    assert result.exit_code == 2
    assert calls == []
    assert result.outputs["exit-code"] == "2" and result.outputs["results-file"] == ""
    assert "allow-partial must be true or false" in result.log


def test_file_outputs_and_sarif_category(recorded, workspace):
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "certscan"}}, "results": []}]}
    files = {"certscan.sarif": json.dumps(sarif), "certscan-junit.xml": "<testsuites/>",
             "certscan-evidence.zip": "zip", "certscan-results.json": json.dumps({"gate": {"findings": 4}})}
    result, calls = recorded({"files": files, "exit": 1}, sources="--inventory inventory.json",
                             **{"output-dir": "out/reports/", "sarif-category": "prod-accounts"})
    assert result.exit_code == 1
    assert result.outputs == {
        "exit-code": "1", "findings": "4", "sarif-file": "out/reports/certscan.sarif",
        "junit-file": "out/reports/certscan-junit.xml", "evidence-file": "out/reports/certscan-evidence.zip",
        "results-file": "out/reports/certscan-results.json"}
    written = json.loads((workspace / "out/reports/certscan.sarif").read_text())
    assert written["runs"][0]["automationDetails"] == {"id": "prod-accounts/"}
    assert written["runs"][0]["tool"] == sarif["runs"][0]["tool"]
    assert calls[1] == ["summary", "--results", "out/reports/certscan-results.json"]
    assert "fake summary of out/reports/certscan-results.json" in result.summary

    untouched, _ = recorded({"files": files}, sources="--inventory inventory.json")
    assert (workspace / untouched.outputs["sarif-file"]).read_text() == json.dumps(sarif)


# --- what a reviewer checks -----------------------------------------------------------------

def _run_scripts(doc: dict) -> list[tuple[str, str]]:
    steps = list(doc.get("runs", {}).get("steps", []))
    for job in (doc.get("jobs") or {}).values():
        steps += job.get("steps", [])
    return [(step.get("id") or step.get("name", "?"), step["run"]) for step in steps if "run" in step]


@pytest.mark.parametrize("path", LINTED, ids=LINTED_IDS)
def test_no_expression_is_expanded_inside_a_run_script(path):
    scripts = _run_scripts(yaml.safe_load(path.read_text()))
    if path == ACTION_FILE:
        assert len(scripts) >= 2
    for step, script in scripts:
        assert "${{" not in script, f"{path.name} step {step}: pass values through env:, not ${{{{ }}}} in run:"
        assert not re.search(r"(^|[;&|(]\s*)\s*eval\s", script, re.M), f"{path.name} step {step}: eval"


@pytest.mark.parametrize("path", LINTED, ids=LINTED_IDS)
def test_actions_are_pinned_to_a_full_commit_sha_with_the_version_in_a_comment(path):
    pins = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", path.read_text(), re.M)
    assert pins
    for ref, rest in pins:
        if ref.startswith("./"):
            continue  # this repository's own action
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned to a 40-hex commit"
        assert re.search(r"#\s*v\d+(\.\d+)*", rest), f"{path.name}: {ref} has no version comment"


def test_zizmor_offline_finds_nothing():
    proc = subprocess.run([str(TOOLS / "zizmor"), "--offline", "--format", "json", *map(str, LINTED)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("schema, path", [("vendor.github-actions", ACTION_FILE),
                                          ("vendor.github-workflows", WORKFLOW_FILE),
                                          ("vendor.github-workflows", SHARDED_WORKFLOW_FILE)],
                         ids=LINTED_IDS)
def test_github_schemas_accept_the_files(schema, path):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_install_step_outputs_cover_what_the_scan_step_reads():
    """The tests stand in for the install step (see action_support); this keeps the stand-in
    honest: the real step writes exactly the outputs the scan step reads."""
    steps = {step.get("id"): step for step in load_action()["runs"]["steps"]}
    written = set(re.findall(r"printf '([a-z-]+)=%s\\n'", steps[INSTALL_STEP]["run"]))
    read = {m for v in steps["scan"]["env"].values() for m in re.findall(r"steps\.install\.outputs\.([a-z-]+)", v)}
    assert read and read == written


def test_setup_python_caches_pip_keyed_on_the_actions_own_pyproject(action, workspace):
    """setup-python hashes cache-dependency-path inside the workspace only: when it runs, a
    copy of the action's pyproject.toml must be there; afterwards the workspace is as before."""
    seen = {}

    def at_setup_python(uses, given):
        key_file = workspace / given["cache-dependency-path"]
        seen.update(uses=uses, given=given, key=key_file.read_bytes() if key_file.is_file() else None)

    before = sorted(p.name for p in workspace.iterdir())
    run = action.run(on_uses=at_setup_python, sources="--inventory inventory.json", args=AS_OF, formats="json",
                     **{"fail-on": "none"})
    assert run.exit_code == 0, run.log
    assert seen["uses"].startswith("actions/setup-python@")
    assert seen["given"]["cache"] == "pip"
    assert seen["given"]["python-version"] == "3.11"
    assert seen["key"] == (REPO / "pyproject.toml").read_bytes()
    assert sorted(p.name for p in workspace.iterdir()) == sorted(before + ["certscan-reports"])


def test_every_package_ships_in_a_non_editable_install():
    """The action installs its checkout with `pip install PATH`, not -e: a package missing from
    pyproject's explicit list would be missing on the runner."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(module.parent.relative_to(REPO).parts) for module in (REPO / "scanner").rglob("*.py")}
    assert found <= listed, f"not shipped: {sorted(found - listed)}"


def test_sharded_workflow_collects_every_shard_and_gates_on_their_merge():
    """The matrix covers shards 1..N with N taken from the matrix itself, each shard's
    inventory is uploaded under a name the gate job downloads, and the gate job merges them
    before it evaluates the merged inventory."""
    from fnmatch import fnmatch

    doc = yaml.safe_load(SHARDED_WORKFLOW_FILE.read_text())
    collect, gate = doc["jobs"]["collect"], doc["jobs"]["gate"]
    shards = collect["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and len(shards) > 1
    scan = next(s for s in collect["steps"] if s.get("uses") == "./")
    assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in scan["with"]["sources"]
    assert "json" in scan["with"]["formats"].split(",")
    upload = next(s for s in collect["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == f"{scan['with']['output-dir']}/certscan-inventory.json"

    assert gate["needs"] == "collect"
    download = next(s for s in gate["steps"] if "download-artifact" in s.get("uses", ""))
    assert all(fnmatch(upload["with"]["name"].replace("${{ matrix.shard }}", str(n)), download["with"]["pattern"])
               for n in shards)
    merge = next(s for s in gate["steps"] if "run" in s and " merge " in s["run"])
    assert f"{download['with']['path']}/*/certscan-inventory.json" in merge["run"]
    evaluate = next(s for s in gate["steps"] if s.get("uses") == "./")
    output = re.search(r"--output (\S+)", merge["run"]).group(1)
    assert evaluate["with"]["sources"] == f"--inventory {output}"
    assert gate["steps"].index(merge) < gate["steps"].index(evaluate)
