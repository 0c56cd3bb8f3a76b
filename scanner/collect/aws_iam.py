"""IAM server certificates of one account (a global service: one unit per account).

Expiry, subject, issuer, key and SANs come from the certificate body itself (the metadata's
Expiration is not trusted; it is also what moto fakes). GetServerCertificate, one call per
certificate, gives the body and the tags together. Users are found from the listeners and
distributions that reference the certificate (see aws_usage); when an index could not be
built, in_use is left unknown rather than reported False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography import x509

from scanner.collect import UnitResult
from scanner.collect.aws_errors import AWS_ERRORS, aws_error, expect, expect_items
from scanner.collect.aws_usage import UsageIndex, iam_id_key
from scanner.collect.x509facts import certificate_facts
from scanner.model import Certificate, CollectionError, Coverage

SOURCE = "aws.iam"
GLOBAL_REGION = "us-east-1"  # IAM is global; its calls (and so its errors) go to this region


def parse_body(body: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(body.encode("ascii"))


def certificate_record(metadata: dict[str, Any], server_certificate: dict[str, Any] | None, *,
                       account: str) -> Certificate:
    record = Certificate(id=metadata["Arn"], source=SOURCE, account=account,
                         name=metadata.get("ServerCertificateName"))
    if server_certificate is not None:
        facts = certificate_facts(parse_body(server_certificate["CertificateBody"]))
        for key, value in facts.items():
            setattr(record, key, value)
        record.tags = {t["Key"]: t.get("Value") or "" for t in server_certificate.get("Tags") or []}
    return record


def apply_usage(records: list[tuple[Certificate, dict[str, Any]]], indexes: list[UsageIndex]) -> None:
    complete = all(index.complete for index in indexes)
    for record, metadata in records:
        users: set[str] = set()
        for index in indexes:
            users |= index.users.get(metadata["Arn"], set())
            users |= index.users.get(iam_id_key(metadata.get("ServerCertificateId", "")), set())
        record.in_use_by = sorted(users)
        record.in_use = True if users else (False if complete else None)


def collect_account(iam: Any, usage: Callable[[], list[UsageIndex]], *, account: str, unit: str) -> UnitResult:
    """Every IAM server certificate of the account. Never raises for a provider error."""
    errors: list[CollectionError] = []
    try:
        listed = [m for page in iam.get_paginator("list_server_certificates").paginate()
                  for m in expect_items(expect(page, "ServerCertificateMetadataList", list, "ListServerCertificates"),
                                        ("Arn", "ServerCertificateName"), "ListServerCertificates")]
    except AWS_ERRORS as exc:
        errors.append(aws_error(exc, source=SOURCE, service="iam", account=account, region=GLOBAL_REGION, unit=unit))
        return UnitResult(errors=errors, coverage=[_coverage(unit, account, 0, False)])

    pairs: list[tuple[Certificate, dict[str, Any]]] = []
    for metadata in listed:
        body = None
        try:
            body = expect(iam.get_server_certificate(ServerCertificateName=metadata["ServerCertificateName"]),
                          "ServerCertificate", dict, "GetServerCertificate")
            expect(body, "CertificateBody", str, "GetServerCertificate")
        except AWS_ERRORS as exc:
            errors.append(aws_error(exc, source=SOURCE, service="iam", account=account, region=GLOBAL_REGION, unit=unit,
                                    resource=metadata["Arn"]))
        try:
            record = certificate_record(metadata, body, account=account)
        except ValueError as exc:  # a body cryptography cannot parse
            errors.append(CollectionError(source=SOURCE, code="CertificateParseError", account=account, region=GLOBAL_REGION,
                                          service="iam", resource=metadata["Arn"], unit=unit,
                                          message=f"certificate body could not be parsed: {exc}"))
            record = certificate_record(metadata, None, account=account)
        pairs.append((record, metadata))

    if pairs:
        indexes = usage()
        apply_usage(pairs, indexes)
        for index in indexes:
            if index.failure:
                code, message = index.failure
                errors.append(CollectionError(
                    source=SOURCE, code=code, account=account, service=index.service, unit=unit,
                    region=GLOBAL_REGION if index.service == "cloudfront" else index.scope,
                    message=f"finding which listeners use IAM server certificates: {message}"))
    records = [record for record, _ in pairs]
    return UnitResult(certificates=records, errors=errors,
                      coverage=[_coverage(unit, account, len(records), not errors)])


def _coverage(unit: str, account: str, count: int, complete: bool) -> Coverage:
    return Coverage(unit=unit, source=SOURCE, service="iam", account=account, count=count, complete=complete)
