"""ACM: paging, key types, which certificates get DescribeCertificate, bulk tags, mapping.

moto does not paginate ACM and its summaries lack SubjectAlternativeNameSummaries, so the
economy and paging paths run against botocore's Stubber with AWS-shaped answers; the
mapping of real moto answers is covered too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from cryptography import x509
from botocore.stub import ANY, Stubber

from scanner.collect import aws_acm
from scanner.simulate.certs import SimulatedCA

ACCOUNT, REGION, UNIT = "111111111111", "eu-west-1", "aws.acm/111111111111/eu-west-1"
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def arn(n: int) -> str:
    return f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{n:08d}-0000-0000-0000-000000000000"


def summary(n: int, **extra) -> dict:
    base = {
        "CertificateArn": arn(n), "DomainName": f"app{n}.example.com",
        "SubjectAlternativeNameSummaries": [f"app{n}.example.com"], "HasAdditionalSubjectAlternativeNames": False,
        "Status": "ISSUED", "Type": "IMPORTED", "KeyAlgorithm": "EC_prime256v1", "InUse": False,
        "RenewalEligibility": "INELIGIBLE", "NotBefore": NOW - timedelta(days=10), "NotAfter": NOW + timedelta(days=80),
    }
    base.update(extra)
    return base


@pytest.fixture
def clients():
    acm = boto3.client("acm", region_name=REGION)
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    with Stubber(acm) as acm_stub, Stubber(tagging) as tag_stub:
        yield acm, acm_stub, tagging, tag_stub
        acm_stub.assert_no_pending_responses()
        tag_stub.assert_no_pending_responses()


ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def test_every_page_and_every_key_type_is_listed_and_unused_imported_ones_cost_no_describe(clients):
    acm, acm_stub, tagging, tag_stub = clients
    acm_stub.add_response("list_certificates", {"CertificateSummaryList": [summary(1), summary(2)], "NextToken": "p2"},
                          {"Includes": {"keyTypes": ALL_KEY_TYPES}, "MaxItems": 1000})
    acm_stub.add_response("list_certificates", {"CertificateSummaryList": [summary(3, KeyAlgorithm="RSA_4096")]},
                          {"Includes": {"keyTypes": ALL_KEY_TYPES}, "MaxItems": 1000, "NextToken": "p2"})
    tag_stub.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": arn(1), "Tags": [{"Key": "owner", "Value": "team-a"}]}], "PaginationToken": "t2"},
        {"ResourceTypeFilters": ["acm:certificate"], "ResourcesPerPage": 100})
    tag_stub.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": arn(3), "Tags": [{"Key": "Owner", "Value": "team-b"}, {"Key": "env", "Value": "prod"}]}],
        "PaginationToken": ""},
        {"ResourceTypeFilters": ["acm:certificate"], "ResourcesPerPage": 100, "PaginationToken": "t2"})

    result = aws_acm.collect_region(acm, tagging, account=ACCOUNT, region=REGION, unit=UNIT)

    assert not result.errors
    by_id = {c.id: c for c in result.certificates}
    assert sorted(by_id) == [arn(1), arn(2), arn(3)]
    assert by_id[arn(1)].tags == {"owner": "team-a"}
    assert by_id[arn(2)].tags == {}  # GetResources does not return a never-tagged certificate
    assert by_id[arn(3)].tags == {"Owner": "team-b", "env": "prod"}
    assert (by_id[arn(3)].key_algorithm, by_id[arn(3)].key_size, by_id[arn(3)].key_curve) == ("RSA", 4096, None)
    assert (by_id[arn(1)].key_algorithm, by_id[arn(1)].key_size, by_id[arn(1)].key_curve) == ("EC", 256, "P-256")
    cov = result.coverage[0]
    assert (cov.unit, cov.service, cov.account, cov.region, cov.count, cov.complete) == (UNIT, "acm", ACCOUNT, REGION, 3, True)


def detail(n: int, **extra) -> dict:
    base = {
        "CertificateArn": arn(n), "DomainName": f"app{n}.example.com",
        "SubjectAlternativeNames": [f"app{n}.example.com", f"*.app{n}.example.com"],
        "Serial": "0a:1b:2c", "Subject": f"CN=app{n}.example.com", "Issuer": "Amazon",
        "Status": "ISSUED", "Type": "AMAZON_ISSUED", "KeyAlgorithm": "RSA_2048", "SignatureAlgorithm": "SHA256WITHRSA",
        "NotBefore": NOW - timedelta(days=10), "NotAfter": NOW + timedelta(days=355),
        "InUseBy": [f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/lb/1/2"],
        "RenewalEligibility": "ELIGIBLE", "RenewalSummary": {"RenewalStatus": "PENDING_AUTO_RENEWAL", "UpdatedAt": NOW, "DomainValidationOptions": [
            {"DomainName": f"app{n}.example.com", "ValidationMethod": "DNS", "ValidationStatus": "SUCCESS"}]},
        "Options": {"CertificateTransparencyLoggingPreference": "DISABLED"},
        "DomainValidationOptions": [
            {"DomainName": f"*.app{n}.example.com", "ValidationMethod": "DNS", "ValidationStatus": "SUCCESS",
             "ResourceRecord": {"Name": f"_x.app{n}.example.com.", "Type": "CNAME", "Value": "_y.acm-validations.aws."}},
            {"DomainName": f"app{n}.example.com", "ValidationMethod": "DNS", "ValidationStatus": "SUCCESS",
             "ResourceRecord": {"Name": f"_x.app{n}.example.com.", "Type": "CNAME", "Value": "_y.acm-validations.aws."}},
        ],
    }
    base.update(extra)
    return base


def test_details_only_where_the_summary_lacks_what_rules_need(clients):
    acm, acm_stub, tagging, tag_stub = clients
    summaries = [
        summary(1),  # imported, unused, all SANs: the summary is the record
        summary(2, Type="AMAZON_ISSUED"),  # validation records exist only in the details
        summary(3, InUse=True),  # InUseBy names the users
        summary(4, HasAdditionalSubjectAlternativeNames=True),  # more than 100 SANs
        {k: v for k, v in summary(5).items() if k != "SubjectAlternativeNameSummaries"},  # no SANs in the summary
        summary(6, Type="PRIVATE"),  # renewal status
    ]
    acm_stub.add_response("list_certificates", {"CertificateSummaryList": summaries},
                          {"Includes": ANY, "MaxItems": ANY})
    for n, kind in ((2, "AMAZON_ISSUED"), (3, "IMPORTED"), (4, "IMPORTED"), (5, "IMPORTED"), (6, "PRIVATE")):
        acm_stub.add_response("describe_certificate", {"Certificate": detail(n, Type=kind)}, {"CertificateArn": arn(n)})
    tag_stub.add_response("get_resources", {"ResourceTagMappingList": []}, {"ResourceTypeFilters": ANY, "ResourcesPerPage": ANY})

    result = aws_acm.collect_region(acm, tagging, account=ACCOUNT, region=REGION, unit=UNIT)

    by_id = {c.id: c for c in result.certificates}
    plain = by_id[arn(1)]
    assert plain.serial is None and plain.issuer is None and plain.validation == [] and plain.in_use is False
    issued = by_id[arn(2)]
    assert issued.validation_method == "DNS"
    assert [(r.domain, r.record_name, r.record_value, r.dns_status, r.validation_status) for r in issued.validation] == [
        ("*.app2.example.com", "_x.app2.example.com.", "_y.acm-validations.aws.", "unknown", "SUCCESS"),
        ("app2.example.com", "_x.app2.example.com.", "_y.acm-validations.aws.", "unknown", "SUCCESS")]
    assert issued.serial == "a1b2c"  # colon hex -> plain hex, as the X.509 parser writes it
    assert (issued.issuer, issued.subject, issued.signature_algorithm) == ("Amazon", "CN=app2.example.com", "SHA256WITHRSA")
    assert (issued.renewal_eligibility, issued.renewal_status, issued.ct_logging) == ("ELIGIBLE", "PENDING_AUTO_RENEWAL", "DISABLED")
    assert issued.in_use_by == [f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/lb/1/2"]
    assert by_id[arn(4)].sans == ["app4.example.com", "*.app4.example.com"] and by_id[arn(4)].is_wildcard
    assert by_id[arn(5)].is_wildcard
    assert by_id[arn(6)].renewal_status == "PENDING_AUTO_RENEWAL"


def test_a_failed_listing_is_an_error_and_an_incomplete_unit(clients):
    acm, acm_stub, tagging, _ = clients
    acm_stub.add_client_error("list_certificates", service_error_code="AccessDeniedException",
                              service_message="not authorized to perform acm:ListCertificates", http_status_code=400)
    result = aws_acm.collect_region(acm, tagging, account=ACCOUNT, region=REGION, unit=UNIT)
    assert result.certificates == []
    [error] = result.errors
    assert (error.source, error.account, error.region, error.service, error.code, error.unit) == (
        "aws.acm", ACCOUNT, REGION, "acm", "AccessDeniedException", UNIT)
    assert "acm:ListCertificates" in error.message
    assert result.coverage[0].complete is False and result.coverage[0].count == 0


def test_a_failed_describe_keeps_the_summary_record_and_marks_the_unit_incomplete(clients):
    acm, acm_stub, tagging, tag_stub = clients
    acm_stub.add_response("list_certificates", {"CertificateSummaryList": [summary(1, Type="AMAZON_ISSUED"), summary(2)]},
                          {"Includes": ANY, "MaxItems": ANY})
    acm_stub.add_client_error("describe_certificate", service_error_code="ThrottlingException",
                              service_message="Rate exceeded", http_status_code=400)
    tag_stub.add_response("get_resources", {"ResourceTagMappingList": []}, {"ResourceTypeFilters": ANY, "ResourcesPerPage": ANY})
    result = aws_acm.collect_region(acm, tagging, account=ACCOUNT, region=REGION, unit=UNIT)
    assert sorted(c.id for c in result.certificates) == [arn(1), arn(2)]
    [error] = result.errors
    assert (error.code, error.resource) == ("ThrottlingException", arn(1))
    assert result.coverage[0].complete is False and result.coverage[0].count == 2


def test_denied_bulk_tags_fall_back_to_each_certificate(clients):
    acm, acm_stub, tagging, tag_stub = clients
    acm_stub.add_response("list_certificates", {"CertificateSummaryList": [summary(1), summary(2)]},
                          {"Includes": ANY, "MaxItems": ANY})
    tag_stub.add_client_error("get_resources", service_error_code="AccessDeniedException", http_status_code=400)
    acm_stub.add_response("list_tags_for_certificate", {"Tags": [{"Key": "owner", "Value": "x"}]}, {"CertificateArn": arn(1)})
    acm_stub.add_client_error("list_tags_for_certificate", service_error_code="AccessDeniedException",
                              http_status_code=400, expected_params={"CertificateArn": arn(2)})
    result = aws_acm.collect_region(acm, tagging, account=ACCOUNT, region=REGION, unit=UNIT)
    by_id = {c.id: c for c in result.certificates}
    assert by_id[arn(1)].tags == {"owner": "x"}
    [error] = result.errors  # the certificate whose tags could not be read at all
    assert (error.code, error.resource) == ("AccessDeniedException", arn(2))
    assert result.coverage[0].complete is False


@pytest.mark.parametrize("word, expected", [
    ("RSA_1024", ("RSA", 1024, None)), ("RSA_3072", ("RSA", 3072, None)), ("EC_prime256v1", ("EC", 256, "P-256")),
    ("EC_secp384r1", ("EC", 384, "P-384")), ("EC_secp521r1", ("EC", 521, "P-521")), ("ML_DSA_65", ("ML_DSA_65", None, None)),
    (None, (None, None, None))])
def test_acm_key_words_map_to_the_normalized_key_fields(word, expected):
    assert aws_acm.acm_key(word) == expected


def test_real_moto_answers_map_to_records(moto):
    """Imported EC and RSA certificates and an Amazon-issued one, as moto answers them."""
    ca = SimulatedCA(now=datetime.now(timezone.utc))
    now = datetime.now(timezone.utc)
    acm = boto3.client("acm", region_name="us-east-1")
    ec = ca.issue("ec.example.com", sans=["*.ec.example.com"], not_before=now - timedelta(days=1), not_after=now + timedelta(days=90))
    rsa = ca.issue("rsa.example.com", not_before=now - timedelta(days=1), not_after=now + timedelta(days=20), rsa_bits=3072)
    ec_arn = acm.import_certificate(Certificate=ec.certificate_pem, PrivateKey=ec.private_key_pem,
                                    Tags=[{"Key": "owner", "Value": "web"}])["CertificateArn"]
    rsa_arn = acm.import_certificate(Certificate=rsa.certificate_pem, PrivateKey=rsa.private_key_pem)["CertificateArn"]
    issued_arn = acm.request_certificate(DomainName="www.example.com", ValidationMethod="DNS")["CertificateArn"]
    tagging = boto3.client("resourcegroupstaggingapi", region_name="us-east-1")

    result = aws_acm.collect_region(acm, tagging, account="123456789012", region="us-east-1", unit="u")

    by_id = {c.id: c for c in result.certificates}
    assert set(by_id) == {ec_arn, rsa_arn, issued_arn}  # the RSA-3072 and EC ones need Includes.keyTypes
    assert (by_id[ec_arn].key_algorithm, by_id[ec_arn].key_size, by_id[ec_arn].is_wildcard) == ("EC", 256, True)
    assert (by_id[rsa_arn].key_algorithm, by_id[rsa_arn].key_size) == ("RSA", 3072)
    assert by_id[ec_arn].tags == {"owner": "web"} and by_id[rsa_arn].tags == {}
    assert by_id[rsa_arn].not_after == x509.load_pem_x509_certificate(rsa.certificate_pem.encode()).not_valid_after_utc
    assert by_id[issued_arn].type == "AMAZON_ISSUED" and by_id[issued_arn].status == "ISSUED"
    assert by_id[issued_arn].validation_method == "DNS"
    assert [r.domain for r in by_id[issued_arn].validation] == ["www.example.com"]
    assert all(c.not_after.tzinfo is not None and c.not_after.utcoffset() == timedelta(0) for c in by_id.values())
