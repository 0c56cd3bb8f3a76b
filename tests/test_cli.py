"""The command line contract: exit codes, rule selection, rules/controls output, config."""

import json

import pytest

from tests.conftest import LANDING_ZONE
from tests.results_support import load_results

SCAN = ("scan", "--inventory", LANDING_ZONE, "--as-of", "2026-06-01T00:00:00Z")


@pytest.mark.parametrize("fail_on, code", [("none", 0), ("critical", 1), ("high", 1), ("low", 1)])
def test_fail_on_thresholds(cli, tmp_path, fail_on, code):
    assert cli(*SCAN, "--fail-on", fail_on, "--output-dir", tmp_path).code == code


def test_default_fail_on_is_high(cli, tmp_path):
    result = cli(*SCAN, "--output-dir", tmp_path)
    assert result.code == 1
    assert "fail-on=high" in result.out


def test_only_lower_severities_pass_at_high(cli, tmp_path, write_inventory):
    wildcard = {"id": "w", "source": "file", "domain": "*.example.com", "not_after": "2027-06-01T00:00:00Z",
                "key_algorithm": "EC", "key_size": 256}
    path = write_inventory([wildcard])
    assert cli("scan", "--inventory", path, "--as-of", "2026-06-01", "--output-dir", tmp_path / "o").code == 0
    assert cli("scan", "--inventory", path, "--as-of", "2026-06-01", "--fail-on", "low",
               "--output-dir", tmp_path / "o").code == 1


def test_partial_inventory_exits_3_unless_allowed(cli, tmp_path, write_inventory):
    error = {"source": "aws.acm", "account": "333333333333", "region": "eu-west-1", "service": "acm",
             "code": "AccessDeniedException", "message": "not authorized", "unit": "aws.acm/333333333333/eu-west-1"}
    path = write_inventory([], errors=[error])
    result = cli("scan", "--inventory", path, "--fail-on", "none", "--output-dir", tmp_path / "o")
    assert result.code == 3
    assert "AccessDeniedException" in result.out
    data = load_results(tmp_path / "o" / "certscan-results.json")  # written even on exit 3
    assert data["errors"][0]["code"] == "AccessDeniedException"
    assert (tmp_path / "o" / "certscan-inventory.json").exists()
    assert cli("scan", "--inventory", path, "--fail-on", "none", "--allow-partial", "--output-dir", tmp_path / "o").code == 0


def test_saved_inventory_round_trips(cli, tmp_path):
    cli(*SCAN, "--fail-on", "none", "--output-dir", tmp_path / "a")
    cli("scan", "--inventory", tmp_path / "a" / "certscan-inventory.json", "--as-of", "2026-06-01T00:00:00Z",
        "--fail-on", "none", "--output-dir", tmp_path / "b")
    first = load_results(tmp_path / "a" / "certscan-results.json")
    second = load_results(tmp_path / "b" / "certscan-results.json")
    assert first["results"] == second["results"]


def test_rules_replace_or_add_to_builtin(cli, tmp_path, write_file):
    mine = write_file("mine.yaml", """\
apiVersion: certscan/v1
kind: RulePack
metadata: {name: mine, version: 0.1.0}
rules:
  - id: ORG-001
    title: Certificates are issued for example.com only
    severity: high
    resource: "*"
    assert: {field: domain, op: matches, value: 'example\\.(com|org)$'}
    message: "{domain} is outside the organisation's domains"
""")
    only = cli(*SCAN, "--rules", mine, "--fail-on", "none", "--output-dir", tmp_path / "a")
    assert only.code == 0
    rule_ids = {r["rule_id"] for r in load_results(tmp_path / "a" / "certscan-results.json")["results"]}
    assert rule_ids == {"ORG-001"}
    both = cli(*SCAN, "--rules", "builtin", "--rules", mine, "--fail-on", "none", "--output-dir", tmp_path / "b")
    rule_ids = {r["rule_id"] for r in load_results(tmp_path / "b" / "certscan-results.json")["results"]}
    assert {"ORG-001", "ACM-003", "TAG-001"} <= rule_ids
    assert both.code == 0


def test_rules_show_json(cli):
    result = cli("rules", "show", "ACM-003", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["id"] == "ACM-003" and data["severity"] == "medium" and data["resource"] == ["aws.acm"]
    assert data["params"] == {"days": {"default": 30, "value": 30}}
    pci = data["controls"]["pci-dss-4.0"]
    assert {"id": "4.2.1", "basis": "stated",
            "source": "AWS Security Hub ACM.1 related requirements (PCI DSS v4.0.1/4.2.1)"} in [
        {k: v for k, v in ref.items() if k != "title"} for ref in pci]
    # the control's title from the framework catalog, resolved when the pack loaded
    assert next(ref for ref in pci if ref["id"] == "4.2.1")["title"].startswith("Strong cryptography protects PAN")
    assert data["remediation"]
    assert json.loads(cli("rules", "show", "ACM-003", "--json", "--param", "ACM-003.days=45").out)["params"]["days"]["value"] == 45


def test_rules_show_text_and_unknown(cli):
    result = cli("rules", "show", "TAG-001")
    assert result.code == 0 and "param keys" in result.out and "remediation" in result.out
    assert cli("rules", "show", "NOPE-001").code == 2


def test_rules_list_names_every_rule(cli):
    result = cli("rules", "list", "--json")
    ids = [r["id"] for r in json.loads(result.out)]
    assert {"ACM-003", "IAM-001", "DNS-001", "WILDCARD-001", "TAG-001"} <= set(ids)


def test_every_rule_maps_to_controls_with_a_basis(cli):
    for rule in json.loads(cli("rules", "list", "--json").out):
        assert rule["controls"], rule["id"]
        assert (rule["help_uri"] or "").startswith("https://"), rule["id"]  # SARIF helpUri for GitHub
        assert "pci-dss-4.0" in rule["controls"] and "iso27001-2022" in rule["controls"], rule["id"]
        for refs in rule["controls"].values():
            for ref in refs:
                assert ref["basis"] in ("stated", "judgment")
                assert ref["basis"] == "judgment" or ref.get("source"), (rule["id"], ref)


def test_controls_matrix_with_results(cli, tmp_path):
    cli(*SCAN, "--fail-on", "none", "--output-dir", tmp_path)
    result = cli("controls", "--framework", "pci-dss-4.0", "--results", tmp_path / "certscan-results.json", "--json")
    rows = {row["control"]: row for row in json.loads(result.out)["controls"]}
    assert rows["4.2.1"]["title"] and "ACM-003" in {m["rule"] for m in rows["4.2.1"]["rules"]}
    assert rows["4.2.1"]["counts"]["fail"] > 0 and rows["4.2.1"]["counts"]["pass"] > 0
    assert rows["4.2.1"]["verdict"] == "not satisfied" and rows["4.2.1"]["failing_resources"]
    assert cli("controls", "--framework", "nope").code == 2


def test_config_file_and_command_line_precedence(cli, tmp_path, write_file):
    config = write_file("certscan.yaml", f"""\
apiVersion: certscan/v1
kind: Config
fail_on: none
output_dir: {tmp_path / 'from-config'}
params:
  ACM-003: {{days: 10}}
""")
    result = cli(*SCAN, "--config", config)
    assert result.code == 0
    data = load_results(tmp_path / "from-config" / "certscan-results.json")
    api = next(r for r in data["results"] if r["rule_id"] == "ACM-003" and r["context"]["domain"] == "api.example.com")
    assert api["status"] == "pass"  # 19 days left, window 10 days from the config
    assert cli(*SCAN, "--config", config, "--fail-on", "high", "--output-dir", tmp_path / "o").code == 1


def test_version(cli):
    assert cli("--version").out.startswith("certscan ")
