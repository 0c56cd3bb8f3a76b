"""Accounts, credentials and regions: profiles, the Organization, role assumption, shards."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from scanner.cli import run
from scanner.collect.aws_org import Account, organization_accounts
from aws_helpers import inventory_of, small_org


def test_only_active_accounts_of_every_page():
    org = boto3.client("organizations", region_name="us-east-1")

    def account(n: int, state: str) -> dict:
        return {"Id": f"{n:012d}", "Name": f"acct-{n}", "Arn": f"arn:aws:organizations::1:account/o-x/{n:012d}",
                "Email": f"a{n}@example.com", "State": state, "Status": "ACTIVE" if state == "ACTIVE" else "SUSPENDED"}

    with Stubber(org) as stub:
        stub.add_response("list_accounts", {"Accounts": [account(3, "ACTIVE"), account(2, "SUSPENDED")], "NextToken": "n"}, {})
        stub.add_response("list_accounts", {"Accounts": [account(1, "ACTIVE"), account(4, "PENDING_CLOSURE")]}, {"NextToken": "n"})
        accounts = organization_accounts(org)
        stub.assert_no_pending_responses()
    assert accounts == [Account("000000000001", "acct-1"), Account("000000000003", "acct-3")]


def test_a_single_account_from_a_profile_in_the_profiles_region(moto, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # it would win over the profile's region
    boto3.client("acm", region_name="eu-west-1")  # nothing there: count 0 must still be listed
    out = tmp_path / "inv.json"
    code = run(["inventory", "--aws", "--profile", "dev", "--quiet", "--export-json", str(out)])
    assert code == 0
    inventory = inventory_of(out)
    assert [(c["unit"], c["count"], c["complete"]) for c in inventory["coverage"]] == [
        ("aws.acm/123456789012/eu-west-1", 0, True), ("aws.iam/123456789012", 0, True)]


def test_every_active_account_is_entered_through_its_role(moto, tmp_path):
    lz = small_org(accounts=4)
    boto3.Session(profile_name="mgmt").client("organizations").close_account(AccountId=lz.accounts[3])
    out = tmp_path / "inv.json"
    code = run(["inventory", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                "--quiet", "--export-json", str(out)])
    assert code == 0
    inventory = inventory_of(out)
    reached = {c["account"] for c in inventory["coverage"]}
    assert reached == set(lz.accounts[:3])  # the closed (SUSPENDED) account is not scanned
    # moto isolates accounts by credentials: each account's certificates came from its own session.
    for cert in inventory["certificates"]:
        assert cert["account"] == cert["id"].split(":")[4]
    assert {c["id"] for c in inventory["certificates"]} == {c.arn for c in lz.certificates if c.account != lz.accounts[3]}


def test_the_old_ops_profile_spelling_still_works(moto, tmp_path):
    lz = small_org(accounts=2)
    out = tmp_path / "inv.json"
    assert run(["inventory", "--aws", "--all-accounts", "--ops-profile", "mgmt", "--regions", "us-east-1", "--quiet",
                "--export-json", str(out)]) == 0
    assert {c["account"] for c in inventory_of(out)["coverage"]} == set(lz.accounts)


def test_a_denied_role_is_an_error_for_that_account_and_the_rest_goes_on(moto, faults, tmp_path, capsys):
    lz = small_org(accounts=3)
    denied = lz.accounts[2]
    faults.add(lambda call: call.operation == "AssumeRole" and f"{denied}%3Arole" in call.body, status=403, code="AccessDenied",
               message=f"not authorized to perform sts:AssumeRole on arn:aws:iam::{denied}:role/OrganizationAccountAccessRole")
    out = tmp_path / "inv.json"
    code = run(["inventory", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                "--quiet", "--export-json", str(out)])
    assert code == 3
    inventory = inventory_of(out)
    errors = inventory["errors"]
    assert {(e["account"], e["service"], e["code"]) for e in errors} == {(denied, "sts", "AccessDenied")}
    assert sorted(e["unit"] for e in errors) == [f"aws.acm/{denied}/eu-west-1", f"aws.acm/{denied}/us-east-1", f"aws.iam/{denied}"]
    assert all("cannot assume arn:aws:iam::" + denied in e["message"] for e in errors)
    incomplete = {c["unit"] for c in inventory["coverage"] if not c["complete"]}
    assert incomplete == {e["unit"] for e in errors}
    assert {c["account"] for c in inventory["certificates"]} == set(lz.accounts[:2])
    assert faults.faults[0].hits == 1  # the failure is remembered, not retried by every unit
    assert "AccessDenied" in capsys.readouterr().err

    assert run(["inventory", "--inventory", str(out), "--allow-partial"]) == 0


def test_regions_all_resolves_the_enabled_regions(moto, tmp_path):
    out = tmp_path / "inv.json"
    assert run(["inventory", "--aws", "--regions", "all", "--quiet", "--export-json", str(out)]) == 0
    regions = {c["region"] for c in inventory_of(out)["coverage"] if c["source"] == "aws.acm"}
    expected = {r["RegionName"] for r in boto3.client("ec2", region_name="us-east-1").describe_regions()["Regions"]}
    assert regions == expected and {"us-east-1", "eu-west-1", "ap-southeast-2"} <= regions


def test_shards_partition_the_units(moto, tmp_path):
    lz = small_org(accounts=3)
    units = []
    for shard in ("1/2", "2/2"):
        out = tmp_path / f"inv-{shard[0]}.json"
        assert run(["inventory", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                    "--shard", shard, "--quiet", "--export-json", str(out)]) == 0
        units.append({c["unit"] for c in inventory_of(out)["coverage"]})
    assert units[0] and units[1] and not units[0] & units[1]
    assert units[0] | units[1] == {f"aws.acm/{a}/{r}" for a in lz.accounts for r in ("us-east-1", "eu-west-1")} | {
        f"aws.iam/{a}" for a in lz.accounts}


@pytest.mark.parametrize("args, option", [
    (["--aws", "--profile", "nope"], "--profile"),
    (["--aws", "--all-accounts", "--management-profile", "nope"], "--management-profile"),
    (["--aws", "--regions", "mars-1,eu-west-1"], "--regions"),
    (["--aws", "--dns-resolver", "resolver.example.com"], "--dns-resolver"),
])
def test_bad_input_is_exit_2_naming_the_option(moto, capsys, args, option):
    assert run(["inventory", *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


def test_no_region_anywhere_is_bad_input(moto, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert run(["expiring", "--days", "30", "--aws", "--quiet"]) == 2
    assert "--regions" in capsys.readouterr().err

