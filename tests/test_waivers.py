"""Waivers: active ones waive (and stay visible), expired ones stop waiving and are reported,
non-matching ones change nothing."""

import json

from tests.conftest import LANDING_ZONE
from tests.results_support import load_results

WILDCARD_ARN = "arn:aws:acm:eu-west-1:222222222222:certificate/00000000-0000-4000-8000-000000000004"


def waivers_file(write_file, *entries):
    body = "apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n"
    for wid, rule, resource, expires in entries:
        body += (f"  - id: {wid}\n    rule: \"{rule}\"\n    resource: \"{resource}\"\n"
                 f"    justification: internal wildcard, replacement tracked in SEC-42\n"
                 f"    approved_by: ciso@example.com\n    expires: {expires}\n")
    return write_file("waivers.yaml", body)


def scan(cli, tmp_path, waivers, fail_on="none"):
    result = cli("scan", "--inventory", LANDING_ZONE, "--as-of", "2026-06-01T00:00:00Z", "--waivers", waivers,
                 "--fail-on", fail_on, "--output-dir", tmp_path / "out")
    return result, load_results(tmp_path / "out" / "certscan-results.json")


def find(data, rule_id, resource_id):
    return next(r for r in data["results"] if r["rule_id"] == rule_id and r["resource_id"] == resource_id)


def test_active_waiver_waives_and_keeps_the_result(cli, tmp_path, write_file):
    path = waivers_file(write_file, ("W-1", "WILDCARD-001", "arn:aws:acm:eu-west-1:*", "2026-12-31"))
    result, data = scan(cli, tmp_path, path)
    assert result.code == 0, result
    waived = find(data, "WILDCARD-001", WILDCARD_ARN)
    assert waived["status"] == "waived"
    assert waived["waiver"]["id"] == "W-1" and waived["waiver"]["original_status"] == "fail"
    assert "SEC-42" in waived["waiver"]["justification"]
    assert [w["state"] for w in data["waivers"]] == ["active"] and data["waivers"][0]["matched"] == 1


def test_expired_waiver_stops_waiving_and_is_reported(cli, tmp_path, write_file):
    path = waivers_file(write_file, ("W-OLD", "WILDCARD-001", WILDCARD_ARN, "2026-05-31T23:59:59Z"))
    result, data = scan(cli, tmp_path, path)
    unwaived = find(data, "WILDCARD-001", WILDCARD_ARN)
    assert unwaived["status"] == "fail"
    assert unwaived["waiver"]["id"] == "W-OLD" and "expired" in unwaived["waiver"]["note"]
    assert data["waivers"][0]["state"] == "expired"
    assert "waiver W-OLD expired" in result.out


def test_waiver_expiring_exactly_at_as_of_has_expired(cli, tmp_path, write_file):
    path = waivers_file(write_file, ("W-EDGE", "WILDCARD-001", WILDCARD_ARN, "2026-06-01"))
    _, data = scan(cli, tmp_path, path)
    assert find(data, "WILDCARD-001", WILDCARD_ARN)["status"] == "fail"


def test_waiver_expiring_a_second_after_as_of_still_waives(cli, tmp_path, write_file):
    path = waivers_file(write_file, ("W-EDGE", "WILDCARD-001", WILDCARD_ARN, "2026-06-01T00:00:01Z"))
    _, data = scan(cli, tmp_path, path)
    assert find(data, "WILDCARD-001", WILDCARD_ARN)["status"] == "waived"
    assert [w["state"] for w in data["waivers"]] == ["active"]


def test_waiver_expiry_with_an_offset_is_compared_in_utc(cli, tmp_path, write_file):
    # 01:00 at +02:00 is 23:00 UTC the day before as_of: expired, although "2026-06-01" is in it
    path = waivers_file(write_file, ("W-TZ", "WILDCARD-001", WILDCARD_ARN, "2026-06-01T01:00:00+02:00"))
    _, data = scan(cli, tmp_path, path)
    assert find(data, "WILDCARD-001", WILDCARD_ARN)["status"] == "fail"
    assert [w["state"] for w in data["waivers"]] == ["expired"]
    path = waivers_file(write_file, ("W-TZ", "WILDCARD-001", WILDCARD_ARN, "2026-06-01T01:00:00-02:00"))
    _, data = scan(cli, tmp_path, path)
    assert find(data, "WILDCARD-001", WILDCARD_ARN)["status"] == "waived"


def test_non_matching_waiver_changes_nothing(cli, tmp_path, write_file):
    path = waivers_file(write_file, ("W-2", "WILDCARD-001", "arn:aws:acm:ap-south-1:*", "2026-12-31"),
                        ("W-3", "TAG-001", WILDCARD_ARN, "2026-12-31"))
    _, data = scan(cli, tmp_path, path)
    assert find(data, "WILDCARD-001", WILDCARD_ARN)["status"] == "fail"
    assert find(data, "TAG-001", WILDCARD_ARN)["status"] == "waived"
    assert {w["id"]: w["state"] for w in data["waivers"]} == {"W-2": "unused", "W-3": "active"}


def test_waivers_lower_the_gate(cli, tmp_path, write_file):
    # every critical/high finding waived by a glob -> the gate passes, results still say waived
    path = waivers_file(write_file, ("W-ALL", "*", "*", "2026-12-31"))
    result, data = scan(cli, tmp_path, path, fail_on="low")
    assert result.code == 0
    assert not [r for r in data["results"] if r["status"] == "fail"]
    assert any(r["status"] == "waived" for r in data["results"])
