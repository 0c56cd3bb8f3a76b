"""validate and the loaders report every problem of every file in one run, in words
(issue 18: errors revealed in rounds, a `feild` typo giving 4 misleading lines, a regex shown
for a bad date, a waiver for a mistyped rule id passing silently, no warning for expired
waivers)."""

from __future__ import annotations

import re

from tests.conftest import LANDING_ZONE
from tests.test_everyday import AS_OF, certscan

HEADER = "apiVersion: certscan/v1\nkind: RulePack\nmetadata: {name: t, version: 1.0.0}\nrules:\n"


def rule(rule_id: str, assertion: str = "{field: domain, op: exists}", severity: str = "low",
         message: str = "m", mapping: str = "{id: CC6.7, basis: judgment}") -> str:
    return (f"  - id: {rule_id}\n    title: t\n    severity: {severity}\n    resource: file\n"
            f"    assert: {assertion}\n    message: \"{message}\"\n    controls:\n      soc2:\n        - {mapping}\n")


def waiver(waiver_id: str, rule_id: str, expires: str = "2027-01-01", justification: str = "accepted for a while") -> str:
    return (f"  - id: {waiver_id}\n    rule: \"{rule_id}\"\n    resource: \"*\"\n    justification: {justification}\n"
            f"    approved_by: me\n    expires: \"{expires}\"\n")


def errors(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_every_problem_of_every_file_in_one_run(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(HEADER + rule("T-001", "{feild: domain, op: exists}") + rule("T-002", severity="hgih")
                    + rule("T-003", "{field: domian, op: exists}", message="{domian}",
                           mapping="{id: CC6.77, basis: judgment}"))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n" + waiver("W-1", "T-00x", justification="short")
                       + waiver("W-2", "T-003", expires="31/12/2026"))
    config = tmp_path / "certscan.yaml"
    config.write_text("apiVersion: certscan/v1\nkind: Config\nfail_on: sometimes\n")
    proc = certscan("validate", "--rules", pack, "--waivers", waivers, "--config", config)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    found = errors(proc)
    expected = [
        (f"{config}:3", "fail_on", "'sometimes' is not one of"),
        (f"{pack}:9", "rule T-001: rules[0].assert", "unknown key 'feild'; did you mean 'field'?"),
        (f"{pack}:", "rule T-002: rules[1].severity", "'hgih' is not one of 'info', 'low', 'medium', 'high', 'critical'; did you mean 'high'?"),
        (f"{pack}:", "rule T-003: rules[2].assert.field", "unknown certificate field 'domian'; did you mean 'domain'?"),
        (f"{pack}:", "rule T-003: rules[2].message", "did you mean {domain}?"),
        (f"{pack}:", "rule T-003: rules[2].controls.soc2[0]", "unknown control id 'CC6.77'"),
        (f"{waivers}:", "waivers[0].justification", "'short' is too short: at least 10 characters"),
        (f"{waivers}:", "waivers[1].expires", "'31/12/2026' should be a date like 2026-12-31 or a timestamp with a zone"),
    ]
    for fragments in expected:
        assert any(all(f in line for f in fragments) for line in found), (fragments, proc.stderr)
    assert len(found) == len(expected), proc.stderr


def test_a_typo_of_field_is_one_line_that_names_the_fix(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(HEADER + rule("T-001", "{feild: domain, op: exists}"))
    found = errors(certscan("validate", "--rules", pack))
    assert len(found) == 1 and "did you mean 'field'?" in found[0], found
    assert "'op' is not" not in found[0]


def test_a_condition_without_field_says_so(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(HEADER + rule("T-001", "{op: exists}") + rule("T-002", "{field: domain, op: eq, where: {field: x, op: exists}}"))
    found = errors(certscan("validate", "--rules", pack))
    assert any("rules[0].assert: missing key 'field' (or write exactly one of 'all', 'any', 'not')" in line for line in found), found
    assert any("rules[1].assert: 'where' not allowed when op is 'eq'" in line for line in found), found


def test_a_stated_mapping_without_source_names_the_missing_key(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(HEADER + rule("T-001", mapping="{id: CC6.7, basis: stated}"))
    found = errors(certscan("validate", "--rules", pack))
    assert len(found) == 1 and "controls.soc2[0]: missing required key 'source'" in found[0], found
    assert "is not of type" not in found[0]


def test_a_bad_waiver_date_is_described_not_shown_as_a_regex(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n" + waiver("W-1", "ACM-003", expires="next week"))
    found = errors(certscan("validate", "--waivers", waivers))
    assert len(found) == 1 and "a date like 2026-12-31" in found[0], found
    assert not re.search(r"\[0-9\]|\^|\$'", found[0])


def test_a_huge_value_is_cut_in_the_message(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(HEADER + rule("T-001", severity="x" * 100_000))
    proc = certscan("validate", "--rules", pack)
    assert proc.returncode == 2 and len(proc.stderr) < 2000, len(proc.stderr)
    assert "xxx…" in proc.stderr


def test_a_waiver_for_a_mistyped_rule_is_an_error_in_validate_and_scan(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n" + waiver("W-1", "WILDCARD-01")
                       + waiver("W-2", "ACM-*"))
    proc = certscan("validate", "--waivers", waivers)
    assert proc.returncode == 2
    assert errors(proc) == [f"error: {waivers}:4: waiver W-1: rule 'WILDCARD-01' matches no loaded rule; "
                            "did you mean 'WILDCARD-001'?"], proc.stderr
    scan = certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--waivers", waivers, "--output-dir", tmp_path / "o")
    assert scan.returncode == 2 and "W-1: rule 'WILDCARD-01' matches no loaded rule" in scan.stderr
    assert not (tmp_path / "o").exists()
    # a waiver for a loaded rule that --skip-check leaves out is not a mistake
    fine = tmp_path / "fine.yaml"
    fine.write_text("apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n" + waiver("W-2", "ACM-*"))
    assert certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--waivers", fine, "--skip-check", "ACM-*",
                    "--fail-on", "none", "--output-dir", tmp_path / "o").returncode == 0


def test_an_expired_waiver_is_a_warning_in_validate_and_in_the_scan(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n" + waiver("W-OLD", "WILDCARD-001", expires="2026-01-01"))
    proc = certscan("validate", "--waivers", waivers, "--as-of", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {waivers}:4: waiver W-OLD expired 2026-01-01T00:00:00Z" in proc.stderr
    assert "1 waiver(s)" in proc.stdout
    assert "warning" not in certscan("validate", "--waivers", waivers, "--as-of", "2025-12-01").stderr
    scan = certscan("scan", "--inventory", LANDING_ZONE, *AS_OF, "--waivers", waivers, "--fail-on", "none",
                    "--output-dir", tmp_path / "o")
    assert scan.returncode == 0 and "waiver W-OLD expired" in scan.stdout, scan.stdout[-2000:]
