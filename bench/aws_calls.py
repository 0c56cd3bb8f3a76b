"""API calls per certificate for a full AWS inventory of one account x region (not a test:
figures, no assertions beyond sanity).

    python -m bench.aws_calls [--certs 1000]

(a) N imported certificates, each tagged; (b) N Amazon-issued, DNS-validated certificates
with their validation CNAMEs in a Route 53 zone of the account. The whole scan is counted
(STS identity, ACM, tags, IAM, Route 53), every HTTP attempt, with a botocore before-send
hook. In-process moto; see bench.aws_support for the one moto answer made AWS-shaped."""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from datetime import datetime, timedelta, timezone

import boto3

from bench.aws_support import aws_shaped_summaries, counting_calls, one_rsa_key
from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from scanner.simulate.certs import SimulatedCA

REGION = "eu-west-1"
TARGETS = {"imported": 0.1, "dns-validated": 1.1}


def _import(count: int, in_use_every: int = 0) -> None:
    from moto.acm.models import acm_backends

    now = datetime.now(timezone.utc)
    ca = SimulatedCA(now=now)
    acm = boto3.client("acm", region_name=REGION)
    for n in range(count):
        cert = ca.issue(f"app{n}.bench.example", not_before=now - timedelta(days=1), not_after=now + timedelta(days=90 + n % 300))
        arn = acm.import_certificate(Certificate=cert.certificate_pem, PrivateKey=cert.private_key_pem,
                                     Tags=[{"Key": "owner", "Value": f"team-{n % 7}"}])["CertificateArn"]
        if in_use_every and n % in_use_every == 0:
            # As an ELBv2 listener would (TESTING.md: seed InUseBy through moto's backend).
            acm_backends[arn.split(":")[4]][REGION].set_certificate_in_use_by(
                arn, f"arn:aws:elasticloadbalancing:{REGION}:{arn.split(':')[4]}:listener/app/lb/{n}/1")


def _request(count: int) -> None:
    acm = boto3.client("acm", region_name=REGION)
    route53 = boto3.client("route53", region_name=REGION)
    zone = route53.create_hosted_zone(Name="bench.example", CallerReference="bench")["HostedZone"]["Id"]
    with one_rsa_key():
        arns = [acm.request_certificate(DomainName=f"web{n}.bench.example", ValidationMethod="DNS",
                                        Tags=[{"Key": "owner", "Value": f"team-{n % 7}"}])["CertificateArn"]
                for n in range(count)]
    changes = []
    for arn in arns:
        for option in acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]:
            rr = option["ResourceRecord"]
            changes.append({"Action": "UPSERT", "ResourceRecordSet": {"Name": rr["Name"], "Type": "CNAME", "TTL": 300,
                                                                      "ResourceRecords": [{"Value": rr["Value"]}]}})
    for start in range(0, len(changes), 500):
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes[start:start + 500]})


def measure(kind: str, count: int, aws_shaped: bool, in_use_every: int = 0) -> str:
    from moto import mock_aws

    with mock_aws(), (aws_shaped_summaries() if aws_shaped else contextlib.nullcontext()):
        if kind == "imported":
            _import(count, in_use_every)
        else:
            _request(count)
        with counting_calls() as counter:
            started = time.perf_counter()
            inventory = collect(SourceOptions(aws=True, regions=[REGION], quiet=True), datetime.now(timezone.utc))
            elapsed = time.perf_counter() - started
    assert not inventory.errors, inventory.errors
    assert len(inventory.certificates) == count
    if kind == "dns-validated":
        assert {r.dns_status for c in inventory.certificates for r in c.validation} == {"present"}
    per_cert = counter.total / count
    target = TARGETS[kind]
    breakdown = ", ".join(f"{op} {n}" for op, n in sorted(counter.calls.items(), key=lambda kv: -kv[1]))
    shape = "AWS-shaped summaries" if aws_shaped else "plain moto summaries"
    if in_use_every:
        shape += f", 1 in {in_use_every} in use"
    verdict = "meets" if per_cert <= target else "ABOVE"
    return (f"{kind:13} {count} certificates, {shape}: {counter.total} calls = {per_cert:.3f} per certificate "
            f"({verdict} target {target}); {elapsed:.1f} s in-process\n    {breakdown}")


def _environment() -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION,
                      MOTO_ACM_VALIDATION_WAIT="0", MOTO_EC2_LOAD_DEFAULT_AMIS="false")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
        os.environ.pop(name, None)
    from moto import settings
    settings.ACM_VALIDATION_WAIT = 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_calls")
    parser.add_argument("--certs", type=int, default=1000)
    args = parser.parse_args(argv or [])
    _environment()
    print(measure("imported", args.certs, aws_shaped=True), flush=True)
    print(measure("imported", args.certs, aws_shaped=True, in_use_every=10), flush=True)
    print(measure("imported", args.certs, aws_shaped=False), flush=True)
    print(measure("dns-validated", args.certs, aws_shaped=True), flush=True)


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
