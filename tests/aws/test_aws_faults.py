"""Faults injected ahead of moto (botocore before-send): every denied, throttled, failing or
unreachable call is a CollectionError in the inventory and the results, the unit's coverage
says so, the other units go on, and ``scan`` exits 3 unless --allow-partial."""

from __future__ import annotations

import pytest

from aws_helpers import inventory_of, small_org
from aws_helpers import MISSION_RULES, free_port
from scanner.cli import run
from scanner.collect.aws_org import TOTAL_ATTEMPTS

REGIONS = "us-east-1,eu-west-1"


def scan(tmp_path, *extra: str) -> int:
    return run(["scan", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", REGIONS, "--quiet",
                "--rules", str(MISSION_RULES), "--format", "json", "--output-dir", str(tmp_path), *extra])


def results(tmp_path) -> dict:
    return inventory_of(tmp_path / "certscan-results.json")


def test_access_denied_in_one_account(moto, faults, tmp_path):
    lz = small_org(accounts=3)
    denied = lz.accounts[1]
    faults.add(lambda call: call.service == "acm" and call.operation == "ListCertificates" and call.account() == denied,
               status=400, code="AccessDeniedException",
               message=f"User: arn:aws:sts::{denied}:assumed-role/OrganizationAccountAccessRole/certscan is not "
                       "authorized to perform: acm:ListCertificates")
    assert scan(tmp_path) == 3
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    errors = inventory["errors"]
    assert sorted((e["account"], e["region"], e["service"], e["code"]) for e in errors) == [
        (denied, "eu-west-1", "acm", "AccessDeniedException"), (denied, "us-east-1", "acm", "AccessDeniedException")]
    assert all("acm:ListCertificates" in e["message"] and e["source"] == "aws.acm" for e in errors)
    assert {c["unit"] for c in inventory["coverage"] if not c["complete"]} == {
        f"aws.acm/{denied}/us-east-1", f"aws.acm/{denied}/eu-west-1"}
    # Everything else was collected: the other accounts' ACM, and every IAM unit.
    assert {c["id"] for c in inventory["certificates"]} == lz.ids() - lz.ids(source="aws.acm") | {
        c.arn for c in lz.certificates if c.source == "aws.acm" and c.account != denied}
    assert results(tmp_path)["errors"] == errors
    assert results(tmp_path)["gate"]["exit_code"] == 3

    assert scan(tmp_path, "--allow-partial") == 0  # nothing planted: no findings


def test_access_denied_in_one_region_of_every_account(moto, faults, tmp_path):
    lz = small_org(accounts=2)
    faults.add(lambda call: call.service == "acm" and call.region == "eu-west-1", status=400, code="AccessDeniedException")
    assert scan(tmp_path) == 3
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    assert sorted((e["account"], e["region"]) for e in inventory["errors"]) == sorted((a, "eu-west-1") for a in lz.accounts)
    assert {c["region"] for c in inventory["certificates"] if c["source"] == "aws.acm"} == {"us-east-1"}
    counts = {c["unit"]: c["count"] for c in inventory["coverage"]}
    assert all(counts[f"aws.acm/{a}/us-east-1"] == 1 for a in lz.accounts)


def test_throttling_that_ends_is_retried_and_leaves_no_error(moto, faults, tmp_path):
    lz = small_org(accounts=1)
    throttle = faults.add(lambda call: call.operation == "ListCertificates" and call.region == "us-east-1",
                          status=400, code="ThrottlingException", message="Rate exceeded", times=3)
    assert scan(tmp_path) == 0
    assert throttle.hits == 3
    listings = [c for c in faults.calls if c.operation == "ListCertificates" and c.region == "us-east-1"]
    assert len(listings) == 4  # three throttled attempts, then the answer
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    assert inventory["errors"] == [] and all(c["complete"] for c in inventory["coverage"])
    assert lz.ids(source="aws.acm") == {c["id"] for c in inventory["certificates"] if c["source"] == "aws.acm"}


def test_throttling_that_outlasts_the_retries_is_an_error(moto, faults, tmp_path):
    small_org(accounts=1)
    faults.add(lambda call: call.operation == "GetResources", status=400, code="ThrottlingException", message="Rate exceeded")
    faults.add(lambda call: call.operation == "ListTagsForCertificate", status=400, code="ThrottlingException",
               message="Rate exceeded")
    assert scan(tmp_path) == 3
    errors = inventory_of(tmp_path / "certscan-inventory.json")["errors"]
    assert {e["code"] for e in errors} == {"ThrottlingException"}
    assert all(f"after {TOTAL_ATTEMPTS - 1} retries" in e["message"] for e in errors)
    assert len([c for c in faults.calls if c.operation == "GetResources"]) == 2 * TOTAL_ATTEMPTS  # two regions


def test_a_server_error_is_recorded_with_its_code(moto, faults, tmp_path):
    lz = small_org(accounts=2)
    faults.add(lambda call: call.operation == "ListServerCertificates" and call.account() == lz.accounts[0],
               status=500, code="ServiceUnavailable", message="internal failure")
    assert scan(tmp_path) == 3
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    [error] = inventory["errors"]
    assert (error["source"], error["account"], error["service"], error["code"], error["unit"]) == (
        "aws.iam", lz.accounts[0], "iam", "ServiceUnavailable", f"aws.iam/{lz.accounts[0]}")
    assert {c["id"] for c in inventory["certificates"] if c["source"] == "aws.iam"} == {
        c.arn for c in lz.certificates if c.source == "aws.iam" and c.account != lz.accounts[0]}


def test_an_unreachable_endpoint_is_an_error_not_a_crash(moto, monkeypatch, fast_retries, tmp_path, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    code = run(["scan", "--aws", "--regions", "us-east-1", "--quiet", "--rules", str(MISSION_RULES), "--format", "json",
                "--output-dir", str(tmp_path)])
    assert code == 3
    [error] = inventory_of(tmp_path / "certscan-inventory.json")["errors"]
    assert (error["service"], error["code"]) == ("sts", "EndpointConnectionError")
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["inventory"], ["expiring", "--days", "30"], ["dns-check"]])
def test_read_only_commands_exit_3_on_a_partial_collection(moto, faults, tmp_path, command):
    small_org(accounts=1)
    faults.add(lambda call: call.service == "acm" and call.region == "eu-west-1", status=400, code="AccessDeniedException")
    base = [*command, "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", REGIONS, "--quiet"]
    assert run(base) == 3
    assert run([*base, "--allow-partial"]) == 0


def test_an_organization_that_cannot_be_listed_is_an_error_and_exit_3(moto, faults, tmp_path):
    small_org(accounts=2)
    faults.add(lambda call: call.operation == "ListAccounts", status=400, code="AccessDeniedException",
               message="not authorized to perform organizations:ListAccounts")
    assert scan(tmp_path) == 3
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    [error] = inventory["errors"]
    assert (error["source"], error["service"], error["code"], error["account"]) == (
        "aws", "organizations", "AccessDeniedException", "123456789012")
    assert inventory["coverage"] == [] and inventory["certificates"] == []
