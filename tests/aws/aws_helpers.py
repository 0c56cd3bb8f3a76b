"""Helpers shared by the AWS tests (not fixtures: plain functions)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from scanner.simulate.aws_landing_zone import LandingZone, LandingZoneSpec, Problems, build_landing_zone

NO_PROBLEMS = Problems(expired_in_use=0, iam_expired=0, wildcard=0, untagged=0)


def small_org(accounts: int = 3, backdate=None, **spec) -> LandingZone:
    """An Organization with one healthy imported certificate per account x region and one IAM
    server certificate per account, built with the management profile's credentials."""
    options = dict(accounts=accounts, regions=("us-east-1", "eu-west-1"), imported_per_unit=1, iam_per_account=1,
                   amazon_issued=0, imported_in_use=0, iam_in_use=0, problems=NO_PROBLEMS)
    options.update(spec)
    return build_landing_zone(LandingZoneSpec(**options), boto3.Session(profile_name="mgmt"), backdate=backdate)


def inventory_of(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
