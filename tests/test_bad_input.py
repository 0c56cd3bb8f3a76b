"""Every malformed input is exit 2 with one clear message per problem (file, line or JSON
path, rule id, what was expected), all problems at once, and never a traceback."""


import pytest

from tests.conftest import LANDING_ZONE

GOOD_RULE = """\
  - id: T-001
    title: test rule
    severity: medium
    resource: aws.acm
    params: {days: 30}
    assert: {field: days_to_expiry, op: gt, value: {param: days}}
    message: "{domain} expires in {days_to_expiry} days"
    controls:
      pci-dss-4.0: ["4.2.1"]
"""


def pack(*rules: str) -> str:
    return "apiVersion: certscan/v1\nkind: RulePack\nmetadata: {name: t, version: 1.0.0}\nrules:\n" + "".join(rules)


def assert_clean_error(result, *fragments):
    assert result.code == 2, result
    assert "Traceback" not in result.err and "Traceback" not in result.out
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)


def test_good_pack_is_valid(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE))
    result = cli("validate", "--rules", path)
    assert result.code == 0, result
    assert "valid: 1 rules" in result.out


def test_invalid_yaml_names_file_and_line(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE) + "  - id: [unclosed\n")
    assert_clean_error(cli("validate", "--rules", path), f"{path}:", "invalid YAML")
    line = int(cli("validate", "--rules", path).err.split(f"{path}:")[1].split(":")[0])
    assert line >= 13


def test_unknown_operator_names_path_line_and_rule(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE.replace("op: gt", "op: bigger")))
    result = cli("validate", "--rules", path)
    assert_clean_error(result, f"{path}:10", "rule T-001", "rules[0].assert.op", "'bigger' is not one of")


def test_duplicate_rule_ids(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE, GOOD_RULE))
    assert_clean_error(cli("validate", "--rules", path), "rule T-001", "duplicate rule id", f"first defined at {path}:5")


def test_duplicate_across_packs_and_builtin(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE.replace("T-001", "ACM-003")))
    assert_clean_error(cli("validate", "--rules", "builtin", "--rules", path), "rule ACM-003", "duplicate rule id",
                       "policies/aws.yaml")


def test_regex_that_does_not_compile(cli, write_file):
    rule = GOOD_RULE.replace("assert: {field: days_to_expiry, op: gt, value: {param: days}}",
                             "assert: {field: domain, op: matches, value: '(unclosed'}")
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(rule))),
                       "rule T-001", "rules[0].assert.value", "does not compile")


def test_unknown_control_id(cli, write_file):
    rule = GOOD_RULE.replace('["4.2.1"]', '["99.9.9"]')
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(rule))),
                       "rule T-001", "unknown control id '99.9.9' in framework pci-dss-4.0")


def test_unknown_framework(cli, write_file):
    rule = GOOD_RULE.replace("pci-dss-4.0:", "pci-dss-9:")
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(rule))), "unknown framework 'pci-dss-9'")


@pytest.mark.parametrize("condition, fragment", [
    ("{field: key_size, op: contains, value: x}", "key_size holds a number: 'contains' looks inside text"),
    ("{field: status, op: lt, value: 5}", "status holds text, so it cannot be ordered against 5"),
    ("{field: key_size, op: ge, value: '2048'}", "key_size holds a number, so it cannot be ordered against '2048'"),
    ("{field: in_use, op: eq, value: 'true'}", "in_use holds true or false, so 'eq' 'true' can never match"),
    ("{field: key_algorithm, op: in, value: [RSA, 2048]}", "'in' 2048 can never match"),
    ("{field: not_after, op: eq, value: '2026-06-01T00:00:00Z'}", "compare timestamps with lt, le, gt or ge"),
    ("{field: tags, op: eq, value: owner}", "compare its items with 'contains' or a quantifier"),
    ("{field: domain.x, op: eq, value: y}", "only a mapping field (tags) takes a dotted name"),
])
def test_a_field_compared_with_the_wrong_kind_of_value(cli, write_file, tmp_path, condition, fragment):
    """Caught when the pack is loaded: in a scan it would raise, or silently never match."""
    rule = GOOD_RULE.replace("assert: {field: days_to_expiry, op: gt, value: {param: days}}", f"assert: {condition}")
    path = write_file("p.yaml", pack(rule))
    assert_clean_error(cli("validate", "--rules", path), "rule T-001", "rules[0].assert", fragment)
    result = cli("scan", "--inventory", LANDING_ZONE, "--rules", path, "--output-dir", tmp_path / "out")
    assert_clean_error(result, fragment)


def test_unknown_control_id_is_exit_2_for_scan_too(cli, write_file, tmp_path):
    rule = GOOD_RULE.replace('["4.2.1"]', '["99.9.9"]')
    result = cli("scan", "--inventory", LANDING_ZONE, "--rules", write_file("p.yaml", pack(rule)),
                 "--output-dir", tmp_path / "out")
    assert_clean_error(result, "unknown control id")
    assert not (tmp_path / "out").exists()  # nothing evaluated, nothing written


def test_unknown_severity(cli, write_file):
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(GOOD_RULE.replace("severity: medium", "severity: urgent")))),
                       "rules[0].severity", "'urgent' is not one of", "'critical'")


def test_unknown_parameter_in_rule(cli, write_file):
    rule = GOOD_RULE.replace("{param: days}", "{param: dayz}")
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(rule))), "unknown parameter 'dayz'")


def test_unknown_parameter_and_rule_on_command_line(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE))
    assert_clean_error(cli("validate", "--rules", path, "--param", "T-001.weeks=3"), "--param", "no parameter 'weeks'")
    assert_clean_error(cli("validate", "--rules", path, "--param", "NOPE-1.days=3"), "no loaded rule has id NOPE-1")
    assert_clean_error(cli("validate", "--rules", path, "--param", "T-001.days=soon"), "T-001.days expects a value like 30")
    assert_clean_error(cli("validate", "--rules", path, "--param", "garbage"), "expected RULE.KEY=VALUE")


def test_unknown_message_field(cli, write_file):
    rule = GOOD_RULE.replace("{days_to_expiry} days", "{dayz} days")
    assert_clean_error(cli("validate", "--rules", write_file("p.yaml", pack(rule))), "message field {dayz}")


def test_every_problem_in_a_file_is_reported(cli, write_file):
    bad1 = GOOD_RULE.replace("op: gt", "op: bigger")
    bad2 = GOOD_RULE.replace("T-001", "T-002").replace("severity: medium", "severity: urgent")
    bad3 = GOOD_RULE.replace("T-001", "T-003").replace('["4.2.1"]', '["0.0"]')
    result = cli("validate", "--rules", write_file("p.yaml", pack(bad1, bad2, bad3)))
    assert_clean_error(result, "rule T-001", "rule T-002", "bigger", "urgent")
    # T-003 passes the schema; its control problem is found once the schema errors are fixed
    result = cli("validate", "--rules", write_file("q.yaml", pack(GOOD_RULE.replace("op: gt", "op: gtt"))),
                 "--rules", write_file("r.yaml", pack(bad3)))
    assert_clean_error(result, "q.yaml", "r.yaml", "rule T-003", "'0.0'")


def test_missing_pack_path(cli, tmp_path):
    assert_clean_error(cli("validate", "--rules", tmp_path / "nope.yaml"), "no such rule pack file or folder")


WAIVERS = """\
apiVersion: certscan/v1
kind: Waivers
waivers:
  - id: W-1
    rule: WILDCARD-001
    resource: "arn:aws:acm:*"
    justification: shared wildcard for internal services, tracked in SEC-42
    approved_by: ciso@example.com
"""


def test_waiver_without_expiry(cli, write_file):
    path = write_file("w.yaml", WAIVERS)
    assert_clean_error(cli("validate", "--waivers", path), f"{path}:4", "waivers[0]", "missing required key 'expires'")


def test_waiver_with_naive_expiry(cli, write_file):
    path = write_file("w.yaml", WAIVERS + "    expires: 2026-07-01T00:00:00\n")
    assert_clean_error(cli("validate", "--waivers", path), "waivers[0].expires")


@pytest.mark.parametrize("value, fragment", [
    ("2026-06-01T00:00:00", "has no time zone"),
    ("next tuesday", "is not a date like 2026-06-01 or an ISO 8601 timestamp"),
    ("2026-13-01", "is not a date like 2026-06-01 or an ISO 8601 timestamp"),
])
def test_as_of_must_be_a_zoned_timestamp(cli, value, fragment, tmp_path):
    assert_clean_error(cli("scan", "--inventory", LANDING_ZONE, "--as-of", value, "--output-dir", tmp_path), "--as-of", fragment)


def test_bad_inventory_names_json_path(cli, write_inventory, tmp_path):
    path = write_inventory([{"id": "x", "source": "aws.acm", "not_after": "2026-07-01T00:00:00"}])
    assert_clean_error(cli("scan", "--inventory", path, "--output-dir", tmp_path / "o"), str(path), "certificates[0].not_after")
    path.write_text("{not json")
    assert_clean_error(cli("scan", "--inventory", path, "--output-dir", tmp_path / "o"), "invalid JSON", f"{path}:1")


def test_bad_options(cli, tmp_path):
    assert_clean_error(cli("scan", "--inventory", LANDING_ZONE, "--fail-on", "severe", "--output-dir", tmp_path), "--fail-on")
    assert_clean_error(cli("scan", "--inventory", LANDING_ZONE, "--format", "pdf", "--output-dir", tmp_path), "unknown format(s) pdf")
    assert_clean_error(cli("scan", "--output-dir", tmp_path), "nothing to scan")
    assert_clean_error(cli("scan", "--inventory", LANDING_ZONE, "--shard", "3/2"), "--shard")
    assert cli("scan", "--no-such-option").code == 2


def test_bad_config(cli, write_file):
    path = write_file("c.yaml", "apiVersion: certscan/v1\nkind: Config\nfail_on: sometimes\nunknown_key: 1\n")
    assert_clean_error(cli("validate", "--config", path), f"{path}:3", "fail_on", "unknown key 'unknown_key'")


def test_yaml_duplicate_keys_are_refused(cli, write_file):
    path = write_file("p.yaml", pack(GOOD_RULE.replace("    severity: medium\n", "    severity: medium\n    severity: low\n")))
    assert_clean_error(cli("validate", "--rules", path), "duplicate key 'severity'")


