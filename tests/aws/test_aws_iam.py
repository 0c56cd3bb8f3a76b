"""IAM server certificates: facts from the body, tags, paging, and who uses them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from scanner.collect import aws_iam
from scanner.collect.aws_usage import UsageIndex, cloudfront_usage, iam_id_key, usage_indexes
from scanner.simulate.certs import SimulatedCA

ACCOUNT = "123456789012"
NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def ca():
    return SimulatedCA(now=NOW)


def metadata(n: int) -> dict:
    return {"Path": "/", "ServerCertificateName": f"cert-{n}", "ServerCertificateId": f"ASCA{n:017d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:server-certificate/cert-{n}",
            "UploadDate": datetime(2020, 1, 1, tzinfo=timezone.utc), "Expiration": datetime(2012, 5, 8, tzinfo=timezone.utc)}


def test_paging_tags_and_facts_from_the_body_not_the_metadata(ca):
    iam = boto3.client("iam", region_name="us-east-1")
    first = ca.issue("old.example.com", sans=["old.example.com", "*.old.example.com"],
                     not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=5))
    second = ca.issue("new.example.com", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=200), rsa_bits=2048)
    with Stubber(iam) as stub:
        stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [metadata(1)], "IsTruncated": True,
                                                       "Marker": "m2"}, {})
        stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [metadata(2)], "IsTruncated": False},
                          {"Marker": "m2"})
        stub.add_response("get_server_certificate", {"ServerCertificate": {
            "ServerCertificateMetadata": metadata(1), "CertificateBody": first.certificate_pem,
            "Tags": [{"Key": "owner", "Value": "payments"}]}}, {"ServerCertificateName": "cert-1"})
        stub.add_response("get_server_certificate", {"ServerCertificate": {
            "ServerCertificateMetadata": metadata(2), "CertificateBody": second.certificate_pem}},
            {"ServerCertificateName": "cert-2"})
        result = aws_iam.collect_account(iam, lambda: [UsageIndex("us-east-1", "elasticloadbalancing")],
                                         account=ACCOUNT, unit=f"aws.iam/{ACCOUNT}")
        stub.assert_no_pending_responses()

    assert not result.errors
    one, two = sorted(result.certificates, key=lambda c: c.name)
    assert one.id == metadata(1)["Arn"] and one.source == "aws.iam" and one.region is None
    assert one.not_after < NOW  # from the body: the metadata says 2012
    assert one.not_after.year != 2012
    assert (one.domain, one.sans, one.is_wildcard) == ("old.example.com", ["old.example.com", "*.old.example.com"], True)
    assert one.issuer == "CN=certscan Simulated Issuing CA,O=certscan simulation"
    assert (one.key_algorithm, one.key_size, one.key_curve) == ("EC", 256, "P-256")
    assert one.tags == {"owner": "payments"} and two.tags == {}
    assert (two.key_algorithm, two.key_size) == ("RSA", 2048)
    assert one.in_use is False and two.in_use_by == []  # the (complete) index names no user
    assert result.coverage[0].count == 2 and result.coverage[0].complete


def test_users_from_load_balancers_and_cloudfront_and_unknown_when_an_index_failed():
    records = [(aws_iam.Certificate(id=metadata(n)["Arn"], source="aws.iam"), metadata(n)) for n in (1, 2, 3)]
    elb = UsageIndex("eu-west-1", "elasticloadbalancing", users={metadata(1)["Arn"]: {"arn:listener/1"}})
    cloudfront = UsageIndex("cloudfront", "cloudfront", users={iam_id_key(metadata(2)["ServerCertificateId"]): {"arn:dist/2"}})
    aws_iam.apply_usage(records, [elb, cloudfront])
    assert [(r.in_use, r.in_use_by) for r, _ in records] == [
        (True, ["arn:listener/1"]), (True, ["arn:dist/2"]), (False, [])]

    failed = UsageIndex("us-east-1", "elasticloadbalancing", failure=("AccessDenied", "no"))
    aws_iam.apply_usage(records, [elb, failed])
    assert [r.in_use for r, _ in records] == [True, None, None]  # not seen, but not known unused either


def test_in_use_by_an_elbv2_listener_against_moto(moto, ca):
    iam = boto3.client("iam", region_name="us-east-1")
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    elbv2 = boto3.client("elbv2", region_name="eu-west-1")
    body = ca.issue("lb.example.com", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=60))
    used = iam.upload_server_certificate(ServerCertificateName="used", CertificateBody=body.certificate_pem,
                                         PrivateKey=body.private_key_pem)["ServerCertificateMetadata"]["Arn"]
    iam.upload_server_certificate(ServerCertificateName="idle", CertificateBody=body.certificate_pem,
                                  PrivateKey=body.private_key_pem)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{n}.0/24", AvailabilityZone=f"eu-west-1{z}")["Subnet"]["SubnetId"]
               for n, z in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name="web", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": used}],
                                     DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]
                                     )["Listeners"][0]["ListenerArn"]
    session = boto3.Session()
    client_for = lambda account, service, region: session.client(service, region_name=region)  # noqa: E731
    result = aws_iam.collect_account(
        iam, lambda: [i for scope in ("eu-west-1", "us-east-1", "cloudfront") for i in usage_indexes(client_for, ACCOUNT, scope)],
        account=ACCOUNT, unit="u")
    assert not result.errors
    by_name = {c.name: c for c in result.certificates}
    assert (by_name["used"].in_use, by_name["used"].in_use_by) == (True, [listener])
    assert (by_name["idle"].in_use, by_name["idle"].in_use_by) == (False, [])
    assert by_name["used"].not_after.date() == (NOW + timedelta(days=60)).date()  # moto's metadata says 2012


def test_cloudfront_distributions_name_acm_arns_and_iam_ids():
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(cloudfront) as stub:
        stub.add_response("list_distributions", {"DistributionList": {
            "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 2, "Items": [
                _distribution("d1", {"IAMCertificateId": "ASCAONE", "CloudFrontDefaultCertificate": False}),
                _distribution("d2", {"ACMCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"})]}}, {})
        users = cloudfront_usage(cloudfront)
    assert users == {iam_id_key("ASCAONE"): {"arn:aws:cloudfront::1:distribution/d1"},
                     "arn:aws:acm:us-east-1:1:certificate/x": {"arn:aws:cloudfront::1:distribution/d2"}}


def _distribution(dist_id: str, viewer: dict) -> dict:
    return {
        "Id": dist_id, "ARN": f"arn:aws:cloudfront::1:distribution/{dist_id}", "Status": "Deployed",
        "LastModifiedTime": NOW, "DomainName": f"{dist_id}.cloudfront.net", "Aliases": {"Quantity": 0},
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "o.example.com"}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all"},
        "CacheBehaviors": {"Quantity": 0}, "CustomErrorResponses": {"Quantity": 0}, "Comment": "", "PriceClass": "PriceClass_All",
        "Enabled": True, "ViewerCertificate": viewer, "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "", "HttpVersion": "http2", "IsIPV6Enabled": True, "Staging": False,
    }
