"""The acceptance scenario: a 31-account moto Organization with planted problems is scanned by
``certscan scan --aws --all-accounts``; every planted problem is found and nothing else."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import boto3

from aws_helpers import inventory_of
from aws_helpers import MISSION_RULES
from scanner.cli import run
from scanner.model import parse_time
from scanner.inputs.resources import builtin_pack_paths
from scanner.simulate.aws_landing_zone import LandingZoneSpec, Problems, build_landing_zone, freezegun_clock

MISSION_RULE_IDS = ("ACM-003", "IAM-001", "DNS-001", "WILDCARD-001", "TAG-001")


def scan(out, *rules: str) -> int:
    return run(["scan", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                "--concurrency", "8", "--quiet", *rules, "--format", "json", "--output-dir", str(out)])


def failing(results: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for result in results["results"]:
        if result["status"] == "fail" and result["rule_id"] in MISSION_RULE_IDS:
            out[result["rule_id"]].add(result["resource_id"])
    return dict(out)


def test_every_planted_problem_is_found_and_nothing_else(moto, tmp_path):
    spec = LandingZoneSpec(accounts=31, imported_per_unit=1, amazon_issued=6, iam_per_account=1,
                           imported_in_use=2, iam_in_use=2,
                           problems=Problems(expired_in_use=3, iam_expired=2, wildcard=3, untagged=3))
    lz = build_landing_zone(spec, boto3.Session(profile_name="mgmt"), backdate=freezegun_clock)
    assert len(lz.accounts) == 31

    assert scan(tmp_path, "--rules", str(MISSION_RULES)) == 1  # findings, collection complete
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    now = datetime.now(timezone.utc)

    # Complete and honest coverage: every account x region for ACM, every account for IAM.
    assert inventory["errors"] == []
    assert sorted(c["unit"] for c in inventory["coverage"]) == sorted(
        [f"aws.acm/{a}/{r}" for a in lz.accounts for r in lz.regions] + [f"aws.iam/{a}" for a in lz.accounts])
    assert all(c["complete"] for c in inventory["coverage"])
    assert sum(c["count"] for c in inventory["coverage"]) == len(lz.certificates)

    certs = {c["id"]: c for c in inventory["certificates"]}
    assert set(certs) == lz.ids()
    for cert in certs.values():
        assert cert["account"] == cert["id"].split(":")[4]  # each from its own account's session

    # The facts the mission rules read, exactly where the problems were planted.
    dns = {i for i, c in certs.items() if any(r["dns_status"] == "missing" for r in c["validation"])}
    assert dns == lz.ids(problem="dns_missing") and len(dns) == 3
    validated = [r for c in certs.values() for r in c["validation"]]
    assert {r["dns_status"] for r in validated} == {"present", "missing"}  # nothing unknown or mismatched
    assert len([c for c in certs.values() if c["validation_method"] == "DNS"]) == 6 + 3

    expired = {i for i, c in certs.items() if parse_time(c["not_after"]) <= now}
    assert expired == lz.ids(problem="expired") and len(expired) == 5
    assert {certs[i]["status"] for i in lz.ids(problem="expired", source="aws.acm")} == {"EXPIRED"}

    in_use = {i for i, c in certs.items() if c["in_use"] is True}
    assert in_use == lz.ids(in_use=True) and lz.ids(problem="dns_missing") <= in_use
    assert all(c["in_use"] is False for i, c in certs.items() if i not in in_use)  # known, not merely unseen
    assert all(certs[i]["in_use_by"] and ":listener/" in certs[i]["in_use_by"][0] for i in in_use)

    assert {i for i, c in certs.items() if c["is_wildcard"]} == lz.ids(problem="wildcard")

    untagged = {i for i, c in certs.items() if not any(k.lower() == "owner" and v for k, v in c["tags"].items())}
    assert untagged == lz.ids(problem="untagged")
    if not lz.iam_tags_kept:  # moto drops IAM tags: every IAM certificate reads as untagged, as planted
        assert lz.ids(source="aws.iam") <= untagged

    # The rules see the same: each mission rule fails exactly on its planted resources.
    results = inventory_of(tmp_path / "certscan-results.json")
    assert failing(results) == {
        "ACM-003": lz.ids(problem="expired", source="aws.acm"),
        "IAM-001": lz.ids(problem="expired", source="aws.iam"),
        "DNS-001": lz.ids(problem="dns_missing"),
        "WILDCARD-001": lz.ids(problem="wildcard"),
        "TAG-001": lz.ids(problem="untagged"),
    }
    assert not [r for r in results["results"] if r["status"] == "error"]

    # The shipped packs agree on the mission rules (other shipped rules may judge more, e.g. ACM-001).
    assert builtin_pack_paths(), "the shipped rule packs are part of this repository"
    shipped = tmp_path / "shipped"
    assert scan(shipped) == 1
    shipped_results = inventory_of(shipped / "certscan-results.json")
    assert {r["rule_id"] for r in shipped_results["results"]} >= set(MISSION_RULE_IDS)
    assert failing(shipped_results) == failing(results)
    assert not [r for r in shipped_results["results"] if r["status"] == "error"]
