"""Validation records: Route 53 (moto) and a real DNS resolver on loopback (dnspython)."""

from __future__ import annotations

import boto3
import pytest

from aws_helpers import LoopbackDns

from scanner.collect.aws_dns import (CnameResolver, HostedZone, ValidationChecker, classify, normalize_name,
                                     parse_resolver_address, zones_for)
from scanner.model import Certificate, ValidationRecord
from scanner.inputs.problems import InputError

VALUE = "_abc.acm-validations.aws."


@pytest.fixture
def dns_server():
    server = LoopbackDns({"_ok.outside.test.": VALUE, "_wrong.outside.test.": "_other.acm-validations.aws."})
    yield server
    server.stop()


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.2", ("10.0.0.2", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("::1", ("::1", 53)),
    ("[::1]:5300", ("::1", 5300)), ("[2001:db8::1]", ("2001:db8::1", 53))])
def test_resolver_addresses(text, expected):
    assert parse_resolver_address(text) == expected


@pytest.mark.parametrize("text", ["dns.example.com", "127.0.0.1:0", "127.0.0.1:99999", "1.2.3.4:x", "[::1]x", ""])
def test_bad_resolver_addresses_name_the_option(text):
    with pytest.raises(InputError) as info:
        parse_resolver_address(text)
    assert "--dns-resolver" in str(info.value)


def test_names_compare_without_case_or_trailing_dot():
    assert normalize_name("_X.Example.COM.") == "_x.example.com"
    assert normalize_name("\\052.example.com.") == "*.example.com"
    assert classify("_V.acm-validations.aws", ["_v.ACM-validations.aws."]) == "present"
    assert classify(VALUE, ["_other.acm-validations.aws."]) == "mismatch"
    assert classify(VALUE, []) == "missing"


def test_the_longest_zone_wins_and_equal_names_in_two_accounts_are_both_kept():
    zones = [HostedZone("1", "Z1", "example.com", 10), HostedZone("2", "Z2", "sub.example.com", 10),
             HostedZone("3", "Z3", "sub.example.com", 10), HostedZone("4", "Z4", "ample.com", 10)]
    assert [z.id for z in zones_for("_a.sub.example.com", zones)] == ["Z2", "Z3"]
    assert [z.id for z in zones_for("_a.other.example.com", zones)] == ["Z1"]
    assert zones_for("_a.example.org", zones) == []


def cert(*records: tuple[str, str]) -> Certificate:
    return Certificate(id=f"arn:{records[0][0]}", source="aws.acm", validation_method="DNS", validation=[
        ValidationRecord(domain=name.split(".", 1)[1], record_name=name, record_type="CNAME", record_value=value)
        for name, value in records])


def upsert(route53, zone_id: str, name: str, value: str) -> None:
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": value}]}}]})


def test_route53_then_the_resolver(moto, dns_server):
    route53 = boto3.client("route53", region_name="us-east-1")
    parent = route53.create_hosted_zone(Name="example.com.", CallerReference="1")["HostedZone"]["Id"]
    child = route53.create_hosted_zone(Name="sub.example.com", CallerReference="2")["HostedZone"]["Id"]
    private = route53.create_hosted_zone(Name="example.com", CallerReference="3", VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-1"},
                                         HostedZoneConfig={"PrivateZone": True, "Comment": ""})["HostedZone"]["Id"]
    upsert(route53, child, "_present.sub.example.com.", VALUE.upper().rstrip("."))
    upsert(route53, parent, "_present.sub.example.com.", "_stale.acm-validations.aws.")  # shadowed by the child zone
    upsert(route53, parent, "_wrong.example.com.", "_other.acm-validations.aws.")
    upsert(route53, private, "_missing.example.com.", VALUE)  # private zones do not count for ACM

    certificates = [
        cert(("_Present.Sub.Example.com", VALUE), ("_missing.example.com.", VALUE)),
        cert(("_wrong.example.com.", VALUE)),
        cert(("_ok.outside.test.", VALUE), ("_wrong.outside.test", VALUE), ("_gone.outside.test.", VALUE)),
        cert(("exists.outside.test.", VALUE), ("_x.servfail.test.", VALUE)),
        Certificate(id="arn:email", source="aws.acm", validation_method="EMAIL"),
    ]
    checker = ValidationChecker(accounts=lambda: ["123456789012"], route53_for=lambda account: route53,
                                resolver=CnameResolver(dns_server.address), concurrency=4)
    errors = checker.check(certificates)

    assert errors == []
    status = {normalize_name(r.record_name): r.dns_status for c in certificates for r in c.validation}
    assert status == {
        "_present.sub.example.com": "present", "_missing.example.com": "missing", "_wrong.example.com": "mismatch",
        "_ok.outside.test": "present", "_wrong.outside.test": "mismatch", "_gone.outside.test": "missing",
        "exists.outside.test": "missing", "_x.servfail.test": "unknown",
    }
    details = {normalize_name(r.record_name): r.detail for c in certificates for r in c.validation}
    assert "sub.example.com." in details["_present.sub.example.com"] and "Route 53" in details["_present.sub.example.com"]
    assert "NXDOMAIN" in details["_gone.outside.test"]
    assert "resolver 127.0.0.1" in details["_x.servfail.test"]
    # Route 53 answered for its zones: only the names outside them went to the resolver.
    assert {normalize_name(q) for q in dns_server.queries} == {
        "_ok.outside.test", "_wrong.outside.test", "_gone.outside.test", "exists.outside.test", "_x.servfail.test"}


def test_many_names_in_one_zone_list_the_zone_instead_of_one_call_each(moto, faults):
    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="1")["HostedZone"]["Id"]
    names = [f"_v{n}.app{n}.example.com." for n in range(40)]
    for name in names[:30]:
        upsert(route53, zone, name, VALUE)
    certificates = [cert((name, VALUE)) for name in names]
    checker = ValidationChecker(accounts=lambda: ["123456789012"], route53_for=lambda account: route53,
                                resolver=CnameResolver("127.0.0.1:9"))
    faults.calls.clear()
    assert checker.check(certificates) == []
    assert sorted(r.dns_status for c in certificates for r in c.validation) == ["missing"] * 10 + ["present"] * 30
    listings = [c for c in faults.calls if c.operation == "ListResourceRecordSets"]
    assert len(listings) == 1  # 32 records: one page, not 40 point lookups


def test_a_zone_that_cannot_be_read_is_an_error_and_the_resolver_decides(moto, faults, dns_server):
    route53 = boto3.client("route53", region_name="us-east-1")
    route53.create_hosted_zone(Name="outside.test", CallerReference="1")
    faults.add(lambda call: call.operation == "ListResourceRecordSets", status=403, code="AccessDenied")
    certificates = [cert(("_ok.outside.test.", VALUE))]
    checker = ValidationChecker(accounts=lambda: ["123456789012"], route53_for=lambda account: route53,
                                resolver=CnameResolver(dns_server.address))
    [error] = checker.check(certificates)
    assert (error.service, error.code, error.account) == ("route53", "AccessDenied", "123456789012")
    assert certificates[0].validation[0].dns_status == "present"


def test_no_resolver_at_all_is_unknown_never_missing():
    resolver = CnameResolver(None)
    resolver._resolver = None  # as on a host with no resolv.conf
    resolver._error = "no DNS resolver configured here"
    certificates = [cert(("_a.nowhere.test.", VALUE))]
    checker = ValidationChecker(accounts=lambda: [], route53_for=lambda account: None, resolver=resolver)
    assert checker.check(certificates) == []
    assert certificates[0].validation[0].dns_status == "unknown"
    assert "no DNS resolver" in certificates[0].validation[0].detail
