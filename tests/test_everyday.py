"""Issue 18's everyday-use complaints, each run through the installed `certscan` as a user
would: rules show, case-insensitive ids, --check/--skip-check, --shard with --inventory, the
config file against the command line, --as-of in a basic format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.report.results_json import read as read_results
from tests.conftest import LANDING_ZONE, REPO

CERTSCAN = str(Path(sys.executable).parent / "certscan")
AS_OF = ("--as-of", "2026-06-01T00:00:00Z")


def certscan(*argv, columns: int = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([CERTSCAN, *map(str, argv)], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


# --- rules show ------------------------------------------------------------------------------

def test_rules_show_prints_each_mapping_with_its_basis_and_source():
    proc = certscan("rules", "show", "ACM-003")
    assert proc.returncode == 0, proc.stderr
    assert "pci-dss-4.0 4.2.1 [stated] — source: AWS Security Hub ACM.1" in proc.stdout
    assert "pci-dss-4.0 4.2.1.1 [stated] — source: Prowler pci_4.0_aws" in proc.stdout
    assert "iso27001-2022 A.8.24 [judgment]" in proc.stdout


def test_rule_ids_on_the_command_line_ignore_case(tmp_path):
    assert certscan("rules", "show", "acm-003").stdout == certscan("rules", "show", "ACM-003").stdout
    shown = json.loads(certscan("rules", "show", "acm-003", "--param", "acm-003.days=45", "--json").stdout)
    assert shown["id"] == "ACM-003" and shown["params"]["days"]["value"] == 45
    missing = certscan("rules", "show", "ACM-999")
    assert missing.returncode == 2 and "no loaded rule has id 'ACM-999'" in missing.stderr


def test_rules_show_escapes_pack_text(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text("""\
apiVersion: certscan/v1
kind: RulePack
metadata: {name: hostile, version: "1.0.0"}
rules:
  - id: H-001
    title: "[bold red]title[/] \\x1b[31m"
    severity: low
    resource: file
    assert: {field: domain, op: exists}
    message: "m"
    remediation: "[link=https://evil.example]click[/link]"
    controls:
      soc2:
        - {id: CC6.7, basis: stated, source: "[red]Vendor[/red] \\u202e"}
""")
    proc = certscan("rules", "show", "h-001", "--rules", pack)
    assert proc.returncode == 0, proc.stderr
    assert "[bold red]title[/] \\x1b[31m" in proc.stdout
    assert "soc2 CC6.7 [stated] — source: [red]Vendor[/red] \\u202e" in proc.stdout
    assert "[link=https://evil.example]click[/link]" in proc.stdout
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout


# --- --check / --skip-check ------------------------------------------------------------------

def evaluated(out: Path) -> set[str]:
    return {r.rule_id for r in read_results(out / "certscan-results.json").results}


def test_check_and_skip_check_select_the_rules_a_scan_evaluates(tmp_path):
    out = tmp_path / "o"
    proc = certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", out,
                    "--check", "acm-*", "--check", "EXP-001", "--skip-check", "ACM-00[45]")
    assert proc.returncode == 0, proc.stderr
    ids = evaluated(out)
    assert ids and all(i.startswith("ACM-") or i == "EXP-001" for i in ids)
    assert "EXP-001" in ids and "ACM-003" in ids and not {"ACM-004", "ACM-005"} & ids
    report = read_results(out / "certscan-results.json")
    assert report.rule_selection == {"check": ["acm-*", "EXP-001"], "skip_check": ["ACM-00[45]"]}
    assert {r["id"] for r in report.rules} == ids


def test_skip_check_alone_keeps_every_other_rule(tmp_path):
    every, skipped = tmp_path / "a", tmp_path / "b"
    assert certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", every).returncode == 0
    assert certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", skipped,
                    "--skip-check", "tag-001").returncode == 0
    assert evaluated(every) - evaluated(skipped) == {"TAG-001"}
    assert evaluated(skipped) | {"TAG-001"} == evaluated(every)
    assert read_results(every / "certscan-results.json").rule_selection is None


def test_check_from_the_config_file_and_the_command_line_wins(tmp_path):
    config = tmp_path / "certscan.yaml"
    config.write_text("apiVersion: certscan/v1\nkind: Config\ncheck: [EXP-001]\nskip_check: []\n")
    out = tmp_path / "o"
    assert certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", out,
                    "--config", config).returncode == 0
    assert evaluated(out) == {"EXP-001"}
    assert certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", out,
                    "--config", config, "--check", "WILDCARD-001").returncode == 0
    assert evaluated(out) == {"WILDCARD-001"}


@pytest.mark.parametrize("argv, message", [
    (("--check", "WILDCARD-01"), "--check: 'WILDCARD-01' matches no loaded rule"),
    (("--skip-check", "nope-*"), "--skip-check: 'nope-*' matches no loaded rule"),
    (("--check", "EXP-001", "--skip-check", "EXP-*"), "nothing would be evaluated"),
])
def test_a_selection_that_matches_nothing_is_exit_2(tmp_path, argv, message):
    proc = certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--output-dir", tmp_path / "o", *argv)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


# --- sources, config and --as-of ---------------------------------------------------------------

def test_shard_with_inventory_is_exit_2(tmp_path):
    proc = certscan("scan", "--inventory", LANDING_ZONE, "--shard", "1/2", "--output-dir", tmp_path / "o")
    assert proc.returncode == 2 and "--shard" in proc.stderr and "--inventory" in proc.stderr, proc.stderr


def test_inventory_on_the_command_line_wins_over_the_configs_live_sources(tmp_path):
    config = tmp_path / "certscan.yaml"
    config.write_text("apiVersion: certscan/v1\nkind: Config\naws: {profile: prod, regions: [eu-west-1]}\n"
                      "fail_on: none\n")
    proc = certscan("scan", "--config", config, "--inventory", LANDING_ZONE, *AS_OF, "--output-dir", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    assert read_results(tmp_path / "o" / "certscan-results.json").results


@pytest.mark.parametrize("as_of", ["20261207", "20261207T000000Z", "2026/12/07", "yesterday"])
def test_as_of_in_another_format_is_a_format_error(tmp_path, as_of):
    proc = certscan("scan", "--inventory", LANDING_ZONE, "--as-of", as_of, "--output-dir", tmp_path / "o")
    assert proc.returncode == 2
    assert "is not a date like 2026-06-01" in proc.stderr and "time zone" not in proc.stderr, proc.stderr


def test_the_selection_is_in_the_evidence_manifest_and_its_replay(tmp_path):
    import zipfile

    import jsonschema

    from scanner.inputs import resources

    out = tmp_path / "o"
    proc = certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--fail-on", "none", "--output-dir", out,
                    "--format", "json,evidence", "--check", "ACM-*", "--skip-check", "acm-004")
    assert proc.returncode == 0, proc.stderr
    bundle = zipfile.ZipFile(out / "certscan-evidence.zip")
    manifest = json.loads(bundle.read("manifest.json"))
    jsonschema.Draft202012Validator(resources.schema("evidence-manifest.schema.json")).validate(manifest)
    assert manifest["rule_selection"] == {"check": ["ACM-*"], "skip_check": ["acm-004"]}
    replay = manifest["replay"]
    assert replay[replay.index("--check") + 1] == "ACM-*" and replay[replay.index("--skip-check") + 1] == "acm-004"
    # the replay, run inside the extracted bundle, evaluates the same rules
    bundle.extractall(tmp_path / "bundle")
    again = certscan(*replay[1:], "--fail-on", "none", "--output-dir", "replayed", cwd=tmp_path / "bundle")
    assert again.returncode == 0, again.stderr
    assert evaluated(tmp_path / "bundle" / "replayed") == evaluated(out)


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_scan_summary_never_cuts_a_resource_id(tmp_path, columns):
    """The scan summary's failing rules list whole ARNs at every width: a table when they fit,
    one block per rule when they do not (the demo's first screen used to end ARNs in '…')."""
    done = certscan("scan", "--inventory", REPO / "examples" / "demo-inventory.json", "--fail-on", "none",
                    "--format", "json", "--output-dir", tmp_path, columns=columns)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "certscan-results.json").read_text())
    failing = {r["resource_id"] for r in results["results"] if r["status"] == "fail"}
    summary = done.stdout[done.stdout.index("Failing rules"):]
    shown = {word for word in summary.split() if word.startswith(("arn:", "https://", "reports/"))}
    assert shown and shown <= failing, shown - failing  # every id shown is whole
    assert "…" not in "".join(line for line in summary.splitlines() if "arn:" in line)
