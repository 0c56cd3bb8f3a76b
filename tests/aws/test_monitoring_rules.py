"""MON-001 / MON-002 over a moto Organization with planted gaps: ACM's expiry events set late
in one account x region, and in-use certificates without a DaysToExpiry alarm that acts."""

from __future__ import annotations

import boto3
import pytest

from aws_helpers import small_org
from scanner.cli import run
from scanner.report import results_json


def member_client(account: str, service: str, region: str):
    creds = boto3.Session(profile_name="mgmt").client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="plant")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def alarm(cloudwatch, arn: str, *, threshold: float, actions: bool = True, name: str = "expiry") -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:cert-owners"
    cloudwatch.put_metric_alarm(AlarmName=f"{name}-{arn.rsplit('/', 1)[-1]}", Namespace="AWS/CertificateManager",
                                MetricName="DaysToExpiry", Dimensions=[{"Name": "CertificateArn", "Value": arn}],
                                Statistic="Minimum", Period=86400, EvaluationPeriods=1, Threshold=threshold,
                                ComparisonOperator="LessThanThreshold", ActionsEnabled=actions,
                                AlarmActions=[topic] if actions else [])


@pytest.fixture
def planted(moto):
    lz = small_org(accounts=3, imported_in_use=3)
    late_account = lz.accounts[1]
    member_client(late_account, "acm", "eu-west-1").put_account_configuration(
        IdempotencyToken="certscan", ExpiryEvents={"DaysBeforeExpiry": 30})
    in_use = sorted((c for c in lz.certificates if c.in_use and c.source == "aws.acm"), key=lambda c: c.arn)
    assert len(in_use) >= 3
    gaps = set()
    for n, cert in enumerate(in_use):
        cloudwatch = member_client(cert.account, "cloudwatch", cert.region) if cert.account != lz.management_account \
            else boto3.Session(profile_name="mgmt").client("cloudwatch", region_name=cert.region)
        if n == 0:
            alarm(cloudwatch, cert.arn, threshold=7)  # too late
            gaps.add(cert.arn)
        elif n == 1:
            alarm(cloudwatch, cert.arn, threshold=30, actions=False)  # nobody is told
            gaps.add(cert.arn)
        else:
            alarm(cloudwatch, cert.arn, threshold=7, name="late")
            alarm(cloudwatch, cert.arn, threshold=45)
    late = {c.arn for c in lz.certificates if c.source == "aws.acm" and c.account == late_account
            and c.region == "eu-west-1"}
    return lz, late, gaps


def scan(tmp_path, *extra: str) -> list:
    code = run(["scan", "--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1",
                "--quiet", "--output-dir", str(tmp_path), "--fail-on", "none", "--as-of", "2026-06-01", *extra])
    assert code == 0
    return results_json.read(tmp_path / "certscan-results.json").results


def test_mon_rules_fail_exactly_the_planted_gaps(planted, tmp_path):
    lz, late, gaps = planted
    results = scan(tmp_path)
    failing = {rule: {r.resource_id for r in results if r.rule_id == rule and r.status == "fail"}
               for rule in ("MON-001", "MON-002")}
    assert late and failing["MON-001"] == late
    assert failing["MON-002"] == gaps
    judged = {r.resource_id for r in results if r.rule_id == "MON-002" and r.status in ("pass", "fail")}
    assert judged == {c.arn for c in lz.certificates if c.in_use and c.source == "aws.acm"}  # unused: not applicable
    acm = {c.arn for c in lz.certificates if c.source == "aws.acm"}
    assert {r.resource_id for r in results if r.rule_id == "MON-001" and r.status in ("pass", "fail")} == acm


def test_unselected_monitoring_rules_cost_no_call(planted, tmp_path, faults):
    results = scan(tmp_path, "--skip-check", "MON-*")
    assert not [r for r in results if r.rule_id.startswith("MON-")]
    called = {c.operation for c in faults.calls}
    assert "DescribeAlarmsForMetric" not in called and "GetAccountConfiguration" not in called
    scan(tmp_path / "again")
    alarm_calls = [c for c in faults.calls if c.operation == "DescribeAlarmsForMetric"]
    assert len(alarm_calls) == len({c.arn for c in planted[0].certificates if c.in_use and c.source == "aws.acm"})
