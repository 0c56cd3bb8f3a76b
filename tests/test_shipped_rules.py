"""The shipped packs, against the semantics DESIGN.md pins for the mission's rules."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from scanner.model import Certificate, ValidationRecord
from scanner.rules.engine import evaluate
from scanner.packs.loader import load_rules
from tests.conftest import LANDING_ZONE, REPO
from tests.results_support import load_results

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def result_of(rules, rule_id, cert):
    found = [r for r in evaluate([cert], rules, AS_OF) if r.rule_id == rule_id]
    assert len(found) <= 1
    return found[0] if found else None


def acm(**kw):
    base = dict(id="arn:aws:acm:us-east-1:111111111111:certificate/x", source="aws.acm", domain="a.example.com",
                status="ISSUED", type="AMAZON_ISSUED", not_after=AS_OF + timedelta(days=200), tags={"owner": "t"})
    base.update(kw)
    return Certificate(**base)


@pytest.mark.parametrize("days, status", [(31, "pass"), (30, "fail"), (29, "fail"), (0, "fail"), (-1, "fail")])
def test_acm_003_window(rules, days, status):
    for cert_type in ("AMAZON_ISSUED", "IMPORTED", "PRIVATE"):
        cert = acm(type=cert_type, not_after=AS_OF + timedelta(days=days, hours=1) if days >= 0 else AS_OF - timedelta(hours=12))
        assert result_of(rules, "ACM-003", cert).status == status


@pytest.mark.parametrize("offset, severity", [
    (timedelta(days=30), "medium"), (timedelta(days=7, hours=12), "high"), (timedelta(hours=12), "high"),
    (timedelta(0), "critical"), (timedelta(days=-40), "critical")])
def test_acm_003_escalation_matrix(rules, offset, severity):
    result = result_of(rules, "ACM-003", acm(status="ISSUED", not_after=AS_OF + offset))
    assert (result.status, result.severity) == ("fail", severity)


def test_acm_003_expired_status_and_not_applicable_statuses(rules):
    assert result_of(rules, "ACM-003", acm(status="EXPIRED", not_after=AS_OF - timedelta(days=3))).status == "fail"
    assert result_of(rules, "ACM-003", acm(status="PENDING_VALIDATION", not_after=None)).status == "not_applicable"
    # expiry comes from not_after, never from the status word
    assert result_of(rules, "ACM-003", acm(status="ISSUED", not_after=AS_OF - timedelta(days=3))).severity == "critical"


def test_acm_003_param_override():
    rules = load_rules(None, {"ACM-003": {"days": 45}})
    assert result_of(rules, "ACM-003", acm(not_after=AS_OF + timedelta(days=40))).status == "fail"


@pytest.mark.parametrize("days, status", [(31, "pass"), (30, "fail"), (1, "fail"), (-400, "fail")])
def test_iam_001_window_day_fails(rules, days, status):
    cert = Certificate(id="arn:aws:iam::1:server-certificate/c", source="aws.iam", name="c", domain="c.example.com",
                       not_after=AS_OF + timedelta(days=days))
    assert result_of(rules, "IAM-001", cert).status == status


def dns_cert(*statuses, **kw):
    records = [ValidationRecord(domain=f"d{i}.example.com", record_name=f"_r{i}.d{i}.example.com.",
                                record_value="_v.acm-validations.aws.", dns_status=s) for i, s in enumerate(statuses)]
    return acm(validation_method="DNS", validation=records, **kw)


@pytest.mark.parametrize("statuses, expected", [
    (("present",), "pass"),
    (("present", "missing"), "fail"),
    (("mismatch",), "fail"),
    (("unknown",), "error"),
    (("unknown", "missing"), "fail"),  # a definite problem outranks an unknown one
])
def test_dns_001(rules, statuses, expected):
    result = result_of(rules, "DNS-001", dns_cert(*statuses))
    assert result.status == expected
    if expected == "error":
        assert "_r0.d0.example.com." in result.message  # the error names the record


def test_dns_001_whatever_status_or_use(rules):
    for status in ("ISSUED", "EXPIRED", "PENDING_VALIDATION", "INACTIVE"):
        for in_use in (True, False):
            result = result_of(rules, "DNS-001", dns_cert("missing", status=status, in_use=in_use))
            assert result.status == "fail"
            assert "_r0.d0.example.com." in result.message and "missing" in result.message
    assert result_of(rules, "DNS-001", acm(validation_method="EMAIL")).status == "not_applicable"


@pytest.mark.parametrize("source", ["aws.acm", "aws.iam", "azure.keyvault", "file", "tls"])
def test_wildcard_all_sources(rules, source):
    assert result_of(rules, "WILDCARD-001", Certificate(id="x", source=source, domain="*.example.com")).status == "fail"
    assert result_of(rules, "WILDCARD-001", Certificate(id="x", source=source, domain="a.example.com",
                                                        sans=["a.example.com", "*.b.example.com"])).status == "fail"
    assert result_of(rules, "WILDCARD-001", Certificate(id="x", source=source, domain="a.example.com",
                                                        sans=["a.example.com"])).status == "pass"


@pytest.mark.parametrize("tags, status", [
    ({"owner": "team-a"}, "pass"), ({"Owner": "team-a"}, "pass"), ({"OWNER": "x"}, "pass"),
    ({"owner": ""}, "fail"), ({"owner": "   "}, "fail"), ({}, "fail"), ({"team": "a"}, "fail")])
def test_tag_001(rules, tags, status):
    assert result_of(rules, "TAG-001", acm(tags=tags)).status == status


def test_tag_001_keys_param_and_untaggable_sources():
    rules = load_rules(None, {"TAG-001": {"keys": "owner,team"}})
    assert result_of(rules, "TAG-001", acm(tags={"Team": "a"})).status == "pass"
    for source in ("file", "tls"):
        assert result_of(rules, "TAG-001", Certificate(id="x", source=source)).status == "not_applicable"


@pytest.mark.parametrize("alg, size, status", [("RSA", 1024, "fail"), ("RSA", 2048, "pass"), ("EC", 224, "fail"),
                                               ("EC", 256, "pass"), ("DSA", 2048, "fail"), ("ED25519", 256, "pass")])
def test_key_001(rules, alg, size, status):
    assert result_of(rules, "KEY-001", acm(key_algorithm=alg, key_size=size)).status == status


def test_exp_001_only_in_use(rules):
    expired = AS_OF - timedelta(days=2)
    assert result_of(rules, "EXP-001", acm(in_use=True, not_after=expired)).status == "fail"
    assert result_of(rules, "EXP-001", acm(in_use=False, not_after=expired)).status == "not_applicable"


def test_unknown_expiry_is_an_error_not_a_pass(rules):
    result = result_of(rules, "IAM-001", Certificate(id="x", source="aws.iam"))
    assert result.status == "error" and "days_to_expiry" in result.message


def test_landing_zone_fails_every_shipped_rule(cli, tmp_path, rules):
    result = cli("scan", "--inventory", LANDING_ZONE, "--as-of", "2026-06-01T00:00:00Z", "--fail-on", "none",
                 "--output-dir", tmp_path)
    assert result.code == 0, result
    data = load_results(tmp_path / "certscan-results.json")
    failing = {r["rule_id"] for r in data["results"] if r["status"] == "fail"}
    # the landing zone has no cluster: test_source_kubernetes fails K8S-001 on a simulated one;
    # nor a revocation check: test_revocation fails REV-001 against a live OCSP responder;
    # and its inventory predates the monitoring facts: tests/aws/test_monitoring_rules.py fails
    # MON-001 and MON-002 on a moto Organization
    assert failing == {r.id for r in rules} - {"K8S-001", "REV-001", "MON-001", "MON-002"}
    passing = {r["rule_id"] for r in data["results"] if r["status"] == "pass"}
    assert {"ACM-003", "DNS-001", "IAM-001", "TAG-001", "WILDCARD-001"} <= passing  # auditors need the passes too


def scan_in_subprocess(tmp_path, tz, name):
    out = tmp_path / name
    env = {**os.environ, "TZ": tz}
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "--inventory", str(LANDING_ZONE), "--as-of", "2026-06-01",
                           "--fail-on", "none", "--output-dir", str(out)], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return (out / "certscan-results.json").read_bytes(), (out / "certscan-inventory.json").read_bytes()


def test_same_inputs_same_bytes_in_any_time_zone(tmp_path):
    first = scan_in_subprocess(tmp_path, "Pacific/Kiritimati", "a")
    second = scan_in_subprocess(tmp_path, "America/Los_Angeles", "b")
    assert first == second
