"""Scaling out: N sharded collections of one moto Organization, merged with ``certscan merge``,
evaluate to exactly what one unsharded collection of the same Organization evaluates to —
results, coverage (each unit once) and errors — including DNS validation records whose
Route 53 zone lives in an account another shard collects, and an account that cannot be
entered. (That the partition ignores the order units are listed in: tests/test_runner.py.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

from aws_helpers import LoopbackDns, inventory_of
from scanner.cli import run
from scanner.collect.runner import in_shard
from scanner.model import format_time
from scanner.simulate.aws_landing_zone import LandingZone, LandingZoneSpec, Problems, build_landing_zone, \
    freezegun_clock
from tests.results_support import load_results

REGIONS = ("us-east-1", "eu-west-1")
COLLECT = ["--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", ",".join(REGIONS), "--quiet"]
# Six accounts: a01 holds the shared zone corp.example; a02 and a04 delegate their own
# sub-zones; the Amazon-issued certificates of a03 and a05 validate through a01's zone.
SPEC = LandingZoneSpec(accounts=6, regions=REGIONS, imported_per_unit=1, amazon_issued=8, iam_per_account=1,
                       imported_in_use=1, iam_in_use=1,
                       problems=Problems(expired_in_use=1, iam_expired=1, wildcard=1, untagged=1))


def units_of(lz: LandingZone, account: str) -> list[str]:
    return [f"aws.acm/{account}/{region}" for region in lz.regions] + [f"aws.iam/{account}"]


def zone_account(lz: LandingZone, domain: str) -> str:
    """The account holding the Route 53 zone of ``domain`` (the longest matching zone)."""
    account, _ = max(((a, z) for a, z in lz.zones if domain == z or domain.endswith("." + z)), key=lambda az: len(az[1]))
    return account


def zone_elsewhere(lz: LandingZone, count: int, skip: str) -> bool:
    """Does some shard of ``count`` hold a DNS-validated certificate whose zone lives in an
    account none of whose units that shard collects? Only then can the test tell a checker
    that looks in every account of the Organization from one that looks in the shard's."""
    for cert in lz.certificates:
        amazon_issued = cert.label.rsplit("/", 1)[-1].startswith(("issued-", "expired-in-use-"))
        if not amazon_issued or cert.account == skip:
            continue
        shard = next(i for i in range(1, count + 1) if in_shard(f"aws.acm/{cert.account}/{cert.region}", (i, count)))
        holder = zone_account(lz, cert.domain)
        if holder != cert.account and not any(in_shard(u, (shard, count)) for u in units_of(lz, holder)):
            return True
    return False


@pytest.fixture
def empty_dns():
    """A loopback resolver that knows no name: a record not read from Route 53 comes back
    missing, so a zone the collection failed to find shows in the results."""
    server = LoopbackDns({})
    yield server
    server.stop()


def scan(*argv: str | Path) -> int:
    return run([str(a) for a in ("scan", *argv)])


def test_sharded_and_merged_equals_unsharded(moto, faults, empty_dns, tmp_path):
    collect = [*COLLECT, "--dns-resolver", empty_dns.address]
    lz = build_landing_zone(SPEC, boto3.Session(profile_name="mgmt"), backdate=freezegun_clock)
    as_of = format_time(datetime.now(timezone.utc).replace(microsecond=0))
    # One member account's access role cannot be assumed: its units are errors in whichever shard has them.
    denied = lz.accounts[2]
    faults.add(lambda call: call.operation == "AssumeRole" and denied in call.body, status=403, code="AccessDenied",
               message=f"not authorized to perform: sts:AssumeRole on {denied}")
    # N = 3, or the first N above it where a shard must read a Route 53 zone of an account it does not collect.
    count = next(n for n in range(3, 12) if zone_elsewhere(lz, n, skip=denied))

    whole = tmp_path / "whole"
    assert scan(*collect, "--as-of", as_of, "--format", "json", "--output-dir", whole) == 3  # the denied account
    shard_files = []
    for index in range(1, count + 1):
        out = tmp_path / f"shard-{index}"
        code = scan(*collect, "--shard", f"{index}/{count}", "--as-of", as_of, "--format", "json", "--output-dir", out)
        holds_denied = any(in_shard(u, (index, count)) for u in units_of(lz, denied))
        assert (code == 3) == holds_denied  # a shard that met the denied account is partial, the others are not
        shard_files.append(out / "certscan-inventory.json")
    merged = tmp_path / "merged.json"
    assert run(["merge", *map(str, shard_files), "--output", str(merged)]) == 0
    evaluated = tmp_path / "evaluated"
    assert scan("--inventory", merged, "--as-of", as_of, "--format", "json", "--output-dir", evaluated) == 3

    expected = inventory_of(whole / "certscan-results.json")
    got = inventory_of(evaluated / "certscan-results.json")
    assert got["results"] == expected["results"]
    assert got["errors"] == expected["errors"]
    assert got["gate"] == expected["gate"]

    # Each unit exactly once, across the shards and in the merged inventory; nothing lost.
    every_unit = sorted(u for account in lz.accounts for u in units_of(lz, account))
    shard_units = [c["unit"] for f in shard_files for c in inventory_of(f)["coverage"]]
    assert sorted(shard_units) == every_unit
    assert sorted(c["unit"] for c in got["coverage"]) == every_unit == sorted(c["unit"] for c in expected["coverage"])
    assert got["coverage"] == expected["coverage"]
    merged_doc = inventory_of(merged)
    assert [c["id"] for c in merged_doc["certificates"]] == [c["id"] for c in inventory_of(whole / "certscan-inventory.json")["certificates"]]
    assert [s["shard"] for s in merged_doc["metadata"]["merged_from"]] == [f"{i}/{count}" for i in range(1, count + 1)]

    # What makes the comparison worth having: the planted problems fail, DNS records were read
    # from Route 53 (a zone in an account of another shard included), the denied account shows.
    failing = {(r["rule_id"], r["resource_id"]) for r in got["results"] if r["status"] == "fail"}
    reachable = {c.arn for c in lz.certificates if c.account != denied}
    assert {("DNS-001", arn) for arn in lz.ids(problem="dns_missing") & reachable} <= failing
    assert {("WILDCARD-001", arn) for arn in lz.ids(problem="wildcard") & reachable} <= failing
    assert lz.ids(problem="dns_missing") & reachable, "the landing zone plants a reachable missing CNAME"
    statuses = [r["dns_status"] for c in merged_doc["certificates"] for r in c["validation"]]
    assert set(statuses) == {"present", "missing"}
    assert empty_dns.queries == []  # every record was found in Route 53
    assert {(e["account"], e["code"]) for e in got["errors"]} == {(denied, "AccessDenied")}
    assert sorted(e["unit"] for e in got["errors"]) == sorted(units_of(lz, denied))


def test_an_error_of_the_whole_estate_is_in_every_shard_and_merged_once(moto, faults, tmp_path):
    boto3.Session(profile_name="mgmt").client("organizations").create_organization(FeatureSet="ALL")
    faults.add(lambda call: call.operation == "ListAccounts", status=400, code="AccessDeniedException",
               message="not authorized to perform: organizations:ListAccounts")
    whole = tmp_path / "whole"
    assert scan(*COLLECT, "--format", "json", "--output-dir", whole) == 3
    shard_files = []
    for index in (1, 2):
        out = tmp_path / f"shard-{index}"
        assert scan(*COLLECT, "--shard", f"{index}/2", "--format", "json", "--output-dir", out) == 3
        shard_files.append(out / "certscan-inventory.json")
        assert [e["code"] for e in inventory_of(shard_files[-1])["errors"]] == ["AccessDeniedException"]
    merged = tmp_path / "merged.json"
    assert run(["merge", *map(str, shard_files), "--output", str(merged)]) == 0
    assert inventory_of(merged)["errors"] == inventory_of(whole / "certscan-inventory.json")["errors"]
    assert len(inventory_of(merged)["errors"]) == 1
    # The merged inventory cannot see either: evaluating it is a partial scan (exit 3), never green.
    assert scan("--inventory", merged, "--format", "json", "--output-dir", tmp_path / "evaluated") == 3
    assert load_results(tmp_path / "evaluated" / "certscan-results.json")["gate"]["exit_code"] == 3
