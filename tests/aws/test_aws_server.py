"""Against a real moto_server on 127.0.0.1, reached through AWS_ENDPOINT_URL as a user would:
certscan runs as a subprocess (``python -m scanner``) and in-process with a fault."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import boto3

from aws_helpers import MISSION_RULES, inventory_of
from scanner.cli import run
from scanner.model import parse_time
from scanner.simulate.aws_landing_zone import LandingZoneSpec, Problems, build_landing_zone

ROOT = Path(__file__).resolve().parents[2]


def landing_zone():
    spec = LandingZoneSpec(accounts=4, imported_per_unit=1, amazon_issued=2, iam_per_account=1, imported_in_use=1,
                           iam_in_use=1, problems=Problems(expired_in_use=0, iam_expired=1, wildcard=1, untagged=1))
    return build_landing_zone(spec, boto3.Session(profile_name="mgmt"))


def test_scan_as_a_subprocess_against_moto_server(moto_server, tmp_path):
    lz = landing_zone()
    command = [sys.executable, "-m", "scanner", "scan", "--aws", "--all-accounts", "--management-profile", "mgmt",
               "--regions", "us-east-1,eu-west-1", "--rules", str(MISSION_RULES), "--format", "json",
               "--output-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # IAM-001 (high) fails on the expired IAM certificate
    inventory = inventory_of(tmp_path / "certscan-inventory.json")
    assert inventory["errors"] == []
    assert len(inventory["coverage"]) == 4 * 2 + 4 and all(c["complete"] for c in inventory["coverage"])
    certs = {c["id"]: c for c in inventory["certificates"]}
    assert set(certs) == lz.ids()
    now = datetime.now(timezone.utc)
    assert {i for i, c in certs.items() if parse_time(c["not_after"]) <= now} == lz.ids(problem="expired")
    assert {i for i, c in certs.items() if c["is_wildcard"]} == lz.ids(problem="wildcard")
    assert {i for i, c in certs.items() if c["in_use"]} == lz.ids(in_use=True)
    assert {r["dns_status"] for c in certs.values() for r in c["validation"]} == {"present"}
    assert "PRIVATE KEY" not in (tmp_path / "certscan-inventory.json").read_text()


def test_a_denied_region_against_moto_server(moto_server, faults, tmp_path):
    lz = landing_zone()
    faults.add(lambda call: call.service == "acm" and call.region == "eu-west-1", status=400, code="AccessDeniedException")
    code = run(["inventory", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                "--quiet", "--export-json", str(tmp_path / "inv.json")])
    assert code == 3
    inventory = inventory_of(tmp_path / "inv.json")
    assert sorted(e["account"] for e in inventory["errors"]) == sorted(lz.accounts)
    assert {e["region"] for e in inventory["errors"]} == {"eu-west-1"}
    assert {c["id"] for c in inventory["certificates"]} == lz.ids() - {
        c.arn for c in lz.certificates if c.region == "eu-west-1"}
