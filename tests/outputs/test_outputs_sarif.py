"""certscan.sarif: valid SARIF 2.1.0 that GitHub code scanning accepts."""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path

import jsonschema
import pytest

from scanner.model import Result, parse_time
from scanner.report import ScanReport, results_json, sarif
from tests.outputs.outputs_support import AS_OF, REPO, run_in_repo, sarif_schema, scan_argv

SEVERITY_SCORE = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def walk(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")
    yield path, value


def test_sarif_validates_against_the_oasis_schema(full_scan):
    log = load(full_scan.dir / "certscan.sarif")
    validator = jsonschema.Draft4Validator(sarif_schema())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    assert log["version"] == "2.1.0"
    assert log["$schema"] == sarif.SARIF_SCHEMA_URI
    assert log["$schema"] == sarif_schema()["id"]
    assert not [p for p, v in walk(log) if v is None], "None values must be dropped"


def test_every_rule_has_what_github_requires(full_scan):
    log = load(full_scan.dir / "certscan.sarif")
    report_rules = {r["id"]: r for r in full_scan.json("certscan-results.json")["rules"]}
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(report_rules)
    for rule in rules:
        source = report_rules[rule["id"]]
        assert rule["name"] and re.fullmatch(r"[A-Za-z0-9]+", rule["name"])
        assert rule["shortDescription"]["text"] == source["title"]
        assert rule["fullDescription"]["text"]
        assert source["remediation"].strip() in rule["help"]["text"]
        assert source["remediation"].strip() in rule["help"]["markdown"]
        for framework, refs in source["controls"].items():
            for ref in refs:
                assert ref["id"] in rule["help"]["text"] and ref["id"] in rule["help"]["markdown"]
            assert framework in rule["properties"]["tags"]
        if source.get("help_uri"):
            assert rule["helpUri"] == source["help_uri"]
        else:
            assert "helpUri" not in rule  # no made-up links
        assert "security" in rule["properties"]["tags"]
        assert len(rule["properties"]["tags"]) <= 20
        score = rule["properties"]["security-severity"]
        assert isinstance(score, str)
        low, high = SEVERITY_SCORE[source["severity"]]
        assert low <= float(score) <= high


def test_every_result_names_its_resource_and_points_at_the_rule_definition(full_scan):
    log = load(full_scan.dir / "certscan.sarif")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"]
    for result in run["results"]:
        resource = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        assert resource in result["message"]["text"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:", "..")), uri
        pack_file = REPO / uri
        assert pack_file.is_file()
        line = pack_file.read_text(encoding="utf-8").splitlines()[physical["region"]["startLine"] - 1]
        assert f"id: {result['ruleId']}" in line
        assert re.fullmatch(r"[0-9a-f]{32}", result["partialFingerprints"][sarif.FINGERPRINT_KEY])
        assert result["level"] in ("error", "warning", "note")


def test_sarif_holds_failing_unwaived_results_only(full_scan):
    log = load(full_scan.dir / "certscan.sarif")
    in_sarif = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"])
                for r in log["runs"][0]["results"]}
    failing = {(r["rule_id"], r["resource_id"]) for r in full_scan.results if r["status"] == "fail"}
    waived = {(r["rule_id"], r["resource_id"]) for r in full_scan.results if r["status"] == "waived"}
    assert waived, "the fixture must include a waived result"
    assert in_sarif == failing
    assert not any("suppressions" in r for r in log["runs"][0]["results"])


def test_evidence_copy_keeps_waived_results_as_suppressions(full_scan):
    with zipfile.ZipFile(full_scan.dir / "certscan-evidence.zip") as bundle:
        log = json.loads(bundle.read("certscan.sarif"))
    waived = {r["resource_id"]: r for r in full_scan.results if r["status"] == "waived"}
    suppressed = [r for r in log["runs"][0]["results"] if "suppressions" in r]
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in suppressed} == set(waived)
    for result in suppressed:
        waiver = waived[result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]]["waiver"]
        (suppression,) = result["suppressions"]
        assert suppression["kind"] == "external"
        assert suppression["status"] == "accepted"
        assert suppression["justification"] == waiver["justification"]
        assert suppression["properties"]["waiver"] == waiver["id"]
    assert jsonschema.Draft4Validator(sarif_schema()).is_valid(log)


def test_fingerprints_are_stable_across_runs_and_output_is_deterministic(tmp_path, full_scan):
    # Another day, another output folder: the same (rule, resource) keeps its fingerprint.
    later = tmp_path / "later"
    assert run_in_repo(scan_argv(later, formats="sarif")) == full_scan.code
    first = load(full_scan.dir / "certscan.sarif")["runs"][0]["results"]
    again_dir = tmp_path / "again"
    argv = scan_argv(again_dir, formats="sarif")
    argv[argv.index("--as-of") + 1] = "2026-06-03T00:00:00Z"
    run_in_repo(argv)
    second = load(again_dir / "certscan.sarif")["runs"][0]["results"]

    def prints(results):
        return {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]):
                r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results}

    common = prints(first).keys() & prints(second).keys()
    assert common
    assert all(prints(first)[key] == prints(second)[key] for key in common)
    assert (later / "certscan.sarif").read_bytes() == (full_scan.dir / "certscan.sarif").read_bytes()


def test_sarif_from_a_saved_results_file_matches_the_fresh_one(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    assert report.inventory is None
    assert sarif.dumps(sarif.build(report)) == (full_scan.dir / "certscan.sarif").read_bytes()


def _many_failures(count: int) -> ScanReport:
    severities = ["low", "critical", "medium", "high", "info"]
    results = [Result("ACM-003", f"arn:aws:acm:eu-west-1:111111111111:certificate/c{i:05d}", "fail",
                      severities[i % len(severities)], f"certificate c{i:05d} expires soon",
                      {"soc2": ["CC6.7"]}, {"source": "aws.acm", "account": "111111111111"})
               for i in range(count)]
    rule = {"id": "ACM-003", "title": "ACM certificate renewed", "description": "d", "severity": "medium",
            "controls": {"soc2": [{"id": "CC6.7", "basis": "judgment"}]}, "remediation": "Renew it.",
            "help_uri": None, "tags": [], "pack": {"name": "p", "version": "1.0.0", "file": "policies/aws.yaml", "line": 3}}
    return ScanReport(scan_id="s", as_of=parse_time(AS_OF), rules=[rule], packs=[], results=results,
                      coverage=[], errors=[])


def test_result_count_limit_keeps_the_most_severe_and_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sarif, "MAX_RESULTS", 7)
    report = _many_failures(20)  # 4 of each severity
    paths = sarif.write(report, tmp_path)
    log = load(paths[0])
    kept = log["runs"][0]["results"]
    assert len(kept) == 7
    assert [r["properties"]["severity"] for r in kept].count("critical") == 4
    assert {r["properties"]["severity"] for r in kept} == {"critical", "high"}
    truncated = log["runs"][0]["properties"]["truncated"]
    assert truncated["total"] == 20 and truncated["kept"] == 7 and truncated["omitted"] == 13
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "13 omitted" in notes[0]["message"]["text"]
    assert "13 omitted" in capsys.readouterr().err
    assert jsonschema.Draft4Validator(sarif_schema()).is_valid(log)


def test_gzip_size_limit_keeps_the_most_severe_within_the_limit(monkeypatch, tmp_path):
    report = _many_failures(400)
    full = sarif.dumps(sarif.build(report))
    limit = len(gzip.compress(full, mtime=0)) // 2
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", limit)
    log = load(sarif.write(report, tmp_path)[0])
    assert len(gzip.compress((tmp_path / "certscan.sarif").read_bytes(), mtime=0)) <= limit
    kept = log["runs"][0]["results"]
    assert 0 < len(kept) < 400
    ranks = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    lowest_kept = min(ranks[r["properties"]["severity"]] for r in kept)
    kept_ids = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in kept}
    dropped = [r for r in report.results if r.resource_id not in kept_ids]
    assert all(ranks[r.severity] <= lowest_kept for r in dropped)
    assert log["runs"][0]["properties"]["truncated"]["kept"] == len(kept)


def test_pack_outside_the_repository_gets_an_absolute_file_uri(tmp_path):
    assert sarif.artifact_uri("policies/aws.yaml") == "policies/aws.yaml"
    assert sarif.artifact_uri(str(tmp_path / "mine.yaml")).startswith("file:///")
    assert sarif.artifact_uri("../elsewhere/mine.yaml").startswith("file:///")


@pytest.mark.parametrize("severity,level", [("critical", "error"), ("high", "error"), ("medium", "warning"),
                                            ("low", "note"), ("info", "note")])
def test_result_level_follows_the_result_severity(severity, level):
    report = _many_failures(5)
    report.results = [result._replace(severity=severity) for result in report.results]
    log = sarif.build(report)
    assert {r["level"] for r in log["runs"][0]["results"]} == {level}


def test_undecided_results_and_collection_errors_become_capped_notifications(monkeypatch, full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    log = sarif.build(report)
    notes = [n["message"]["text"] for n in log["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert any("DNS-001 could not decide" in n for n in notes)
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False
    monkeypatch.setattr(sarif, "MAX_NOTIFICATIONS", 3)
    report.errors = [{"source": "aws.acm", "account": f"{i:012d}", "region": "eu-west-1", "code": "AccessDenied",
                      "message": "denied"} for i in range(10)]
    notes = sarif.build(report)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    errors = [n for n in notes if n["level"] == "error"]
    assert len(errors) == 4 and "7 more collection errors" in errors[-1]["message"]["text"]
    assert len(notes) == 5
