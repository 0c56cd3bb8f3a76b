"""Scope and identity (issue 15.2): the principal each AWS account was read as (the STS caller
for the management account, the assumed role's session ARN for members) and the Organization
id reach the inventory, the evidence manifest's scope and the reports; nothing secret does."""

from __future__ import annotations

import json
import zipfile

import boto3

from aws_helpers import MISSION_RULES
from scanner.cli import run
from scanner.simulate.aws_landing_zone import LandingZoneSpec, build_landing_zone, freezegun_clock


def test_identities_and_organization_reach_manifest_and_reports(moto, tmp_path):
    spec = LandingZoneSpec(accounts=3, imported_per_unit=1, amazon_issued=0, iam_per_account=1)
    lz = build_landing_zone(spec, boto3.Session(profile_name="mgmt"), backdate=freezegun_clock)
    code = run(["scan", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "eu-west-1",
                "--quiet", "--rules", str(MISSION_RULES), "--format", "json,markdown,evidence", "--fail-on", "none",
                "--output-dir", str(tmp_path)])
    assert code == 0
    inventory = json.loads((tmp_path / "certscan-inventory.json").read_text())
    identities = {i["account"]: i for i in inventory["metadata"]["identities"]}
    assert set(identities) == set(lz.accounts)
    organization = identities[lz.accounts[0]]["organization_id"]
    assert organization and organization.startswith("o-")
    management = boto3.Session(profile_name="mgmt").client("sts", region_name="us-east-1").get_caller_identity()
    assert identities[management["Account"]] == {"source": "aws", "account": management["Account"],
                                                 "organization_id": organization, "arn": management["Arn"],
                                                 "via": "credentials"}
    for account in set(lz.accounts) - {management["Account"]}:
        member = identities[account]
        assert member["via"] == "assume-role" and member["arn"].startswith(f"arn:aws:sts::{account}:assumed-role/")
        assert member["role"] == f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"

    with zipfile.ZipFile(tmp_path / "certscan-evidence.zip") as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    scope = manifest["scope"]
    assert scope["aws_organizations"] == [organization]
    assert {a["account"]: a["identity"] for a in scope["aws_accounts"]} == {
        a: identities[a]["arn"] for a in lz.accounts}
    assert scope["regions"] == ["eu-west-1"] and scope["as_of"] == manifest["as_of"]
    assert scope["started_at"] and scope["finished_at"]
    assert [p["name"] for p in scope["rule_packs"]] and all(len(p["sha256"]) == 64 for p in scope["rule_packs"])
    text = json.dumps(manifest)
    for secret in ("SecretAccessKey", "SessionToken", "AccessKeyId", "secret_key", "FQoGZXIvYXdz"):
        assert secret not in text
    report = (tmp_path / "certscan-report.md").read_text()
    assert organization in report and management["Arn"] in report
