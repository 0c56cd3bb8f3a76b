"""ACM EventBridge events for tests: the documented event shapes (tests/fixtures/events, one
per detail type) pointed at a real certificate, and the SQS / SNS deliveries that carry them
(the Lambda event shapes of those services)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: notify_support
from notify_support import serve_webhooks  # noqa: E402

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
FIXTURES = {
    "ACM Certificate Approaching Expiration": "approaching-expiration.json",
    "ACM Certificate Expired": "expired.json",
    "ACM Certificate Renewal Action Required": "renewal-action-required.json",
    "ACM Certificate Available": "available.json",
}
DOCUMENTED_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/CERTIFICATE_ID"


def event_for(detail_type: str, arn: str) -> dict:
    """The documented event of this detail type, about the certificate ``arn``."""
    event = json.loads((EVENTS / FIXTURES[detail_type]).read_text())
    _, _, _, region, account, _ = arn.split(":", 5)
    event.update(account=account, region=region, resources=[arn])
    return event


def in_sqs(*bodies: dict) -> dict:
    """An SQS batch as Lambda receives it; each body is the EventBridge event (or an SNS notification)."""
    return {"Records": [{
        "messageId": f"059f36b4-87a3-44ab-83d2-66197573181{n}", "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": json.dumps(body), "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
        "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:certscan-events", "awsRegion": "eu-west-1",
    } for n, body in enumerate(bodies)]}


def sns_notification(event: dict) -> dict:
    return {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:acm-events", "Subject": None,
            "Message": json.dumps(event), "Timestamp": "2026-05-31T12:00:01.000Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE", "SigningCertUrl": "https://sns.eu-west-1.amazonaws.com/x.pem",
            "UnsubscribeUrl": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": {}}


def in_sns(event: dict) -> dict:
    """An SNS delivery as Lambda receives it."""
    return {"Records": [{"EventVersion": "1.0", "EventSource": "aws:sns",
                         "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:acm-events:2bcfbf39",
                         "Sns": sns_notification(event)}]}


def wrappings(event: dict) -> dict[str, object]:
    return {"direct": event, "list": [event], "sqs": in_sqs(event), "sns": in_sns(event),
            "sns-in-sqs": in_sqs(sns_notification(event))}


def dns_certificate(name: str, zone_id: str, *, owner: str = "web-team", cname: bool = True) -> str:
    """A DNS-validated ACM certificate (eu-west-1) whose validation CNAME is in the zone, or not."""
    acm = boto3.client("acm", region_name="eu-west-1")
    arn = acm.request_certificate(DomainName=name, ValidationMethod="DNS",
                                  Tags=[{"Key": "owner", "Value": owner}])["CertificateArn"]
    record = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"][0]["ResourceRecord"]
    if cname:
        boto3.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                                                      "ResourceRecords": [{"Value": record["Value"]}]}}]})
    return arn


def zone(name: str = "corp.example") -> str:
    return boto3.client("route53").create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"]


@pytest.fixture
def webhooks():
    """A loopback webhook server (notify_support's), stopped after the test."""
    server, thread, hooks = serve_webhooks()
    yield hooks
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
